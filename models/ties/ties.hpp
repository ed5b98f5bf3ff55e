#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo tie_formation_info();
MechanismInfo tie_dissolution_info();
MechanismInfo tie_ageing_info();

// A tie is bridging or bonding by schoolsim::bridging (sim/state.hpp).

// Whether a school counts as committed to the shared cause.
inline constexpr double kCommitted = 0.5;

}  // namespace schoolsim::models
