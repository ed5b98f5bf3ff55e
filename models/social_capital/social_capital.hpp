#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo social_capital_info();

// Burt's (1992) constraint of school i over tie strengths: sum over partners j
// of (p_ij + sum over q of p_iq p_qj)^2, with p_ij = w_ij / sum_k w_ik.
// 0 for a school without ties. `mark` is scratch of n_schools doubles, all 0;
// `totals` holds each school's summed tie strength (tie_strength_totals).
double burt_constraint(const State& s, std::int32_t i, std::vector<double>& mark,
                       const std::vector<double>& totals);
std::vector<double> tie_strength_totals(const State& s);

}  // namespace schoolsim::models
