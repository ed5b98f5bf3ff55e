#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo federations_info();
MechanismInfo programme_info();
MechanismInfo area_strategy_info();
MechanismInfo prescription_info();

// The school mean result: pupil-weighted over its two groups.
inline double school_result(const State& s, std::int32_t i) {
  const double d = s.disadvantaged[i];
  return d * s.attainment_dis[i] + (1 - d) * s.attainment_adv[i];
}

// Schools eligible as "weak" for a federation: the bottom `share` of their
// phase by result, in index order. Shared with the tests that match them.
std::vector<std::int32_t> weakest_schools(const State& s, double share);

}  // namespace schoolsim::models
