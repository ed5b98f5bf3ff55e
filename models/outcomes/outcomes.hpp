#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo crises_info();
MechanismInfo attainment_info();

// Expected attainment of one pupil group (docs/ODD.md), before cohort noise.
struct AttainmentParams {
  double intercept, beta_capacity, beta_expectations, beta_opportunity, beta_disadvantaged,
      penalty_dis, noise_sd;
};
double expected_attainment(const AttainmentParams& p, double capacity, double crisis,
                           double expectations, double opportunity, double disadvantaged,
                           bool disadvantaged_group);
// The attainment parameter defaults, for world generation's baseline year.
AttainmentParams default_attainment_params();

}  // namespace schoolsim::models
