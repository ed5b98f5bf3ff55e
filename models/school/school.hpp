#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo turnover_info();

// Similar intake, defined once for every mechanism, measure and test that
// compares schools "like us": disadvantaged shares within this band of each
// other. The band is about one standard deviation of the schools' shares of
// disadvantaged pupils (0.16 in the default world; England's free-school-meal
// shares across schools have a similar spread), so "similar" means "within one
// SD", as families of schools grouped like intakes.
inline constexpr double kSimilarIntakeBand = 0.15;

// 1 for identical intakes, falling linearly to 0 at the band.
inline double intake_similarity(double d_a, double d_b) {
  const double gap = d_a > d_b ? d_a - d_b : d_b - d_a;
  return gap < kSimilarIntakeBand ? 1.0 - gap / kSimilarIntakeBand : 0.0;
}
inline bool similar_intake(double d_a, double d_b) { return intake_similarity(d_a, d_b) > 0; }

}  // namespace schoolsim::models
