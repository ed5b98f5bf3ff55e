#pragma once

#include "sim/measures.hpp"
#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo federations_info();
MechanismInfo programme_info();
MechanismInfo area_strategy_info();
MechanismInfo prescription_info();

// Schools eligible as "weak" for a federation: the bottom `share` of their
// phase by result, in index order. Shared with the tests that match them.
std::vector<std::int32_t> weakest_schools(const State& s, double share);

}  // namespace schoolsim::models
