#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo tie_formation_info();
MechanismInfo tie_dissolution_info();

// A tie is bridging when it links schools of different areas or phases, and
// bonding otherwise (Putnam 2000; Muijs, West & Ainscow 2010).
inline bool bridging(const State& s, std::int32_t a, std::int32_t b) {
  return s.area[a] != s.area[b] || s.phase[a] != s.phase[b];
}

// Whether a school counts as committed to the shared cause.
inline constexpr double kCommitted = 0.5;

}  // namespace schoolsim::models
