#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo social_capital_info();

// Burt's (1992) constraint of school i over tie strengths: sum over partners j
// of (p_ij + sum over q of p_iq p_qj)^2, with p_ij = w_ij / sum_k w_ik.
// 0 for a school without ties. `mark` is scratch of n_schools doubles, all 0.

// Each school's ties as contiguous rows (partner, strength), built in O(ties):
// the constraint walks partners' partners, which is far faster in contiguous
// memory than along the tie store's lists.
struct Adjacency {
  std::vector<std::int64_t> offsets;
  std::vector<std::int32_t> partner;
  std::vector<double> strength;
  std::vector<double> total;  // summed tie strength of each school
  std::vector<std::int64_t> fill;  // scratch of the build
};
Adjacency adjacency(const State& s);
// The same into `adj` (its memory reused), the rows filled on the team.
void build_adjacency(const State& s, Adjacency& adj, const Team& team);
double burt_constraint(const Adjacency& adj, std::int32_t i, std::vector<double>& mark);

}  // namespace schoolsim::models
