#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo social_movement_info();

}  // namespace schoolsim::models
