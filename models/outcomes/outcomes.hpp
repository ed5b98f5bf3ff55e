#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo crises_info();
MechanismInfo attainment_info();
MechanismInfo opportunities_info();
MechanismInfo expectations_info();

// Expected attainment of one pupil group (docs/ODD.md), before cohort noise.
struct AttainmentParams {
  double intercept, beta_capacity, beta_expectations, beta_opportunity, beta_disadvantaged,
      penalty_dis, practice_lag_years, pressure_effort, inspection_effort, noise_sd,
      mitigation_expectations, mitigation_ties, mitigation_area;
};
struct SchoolInputs {
  // teaching: the classroom practice stock (State::teaching), not capacity itself.
  double teaching, expectations, opportunity, disadvantaged;
  double vulnerable_ties = 0;  // sum of w tau over ties of networks for vulnerable learners
  double area_strategy = 0;    // the area's beyond-school strategy
};
// Share of the disadvantage penalty removed (MODEL: expectations, ties whose
// goal is vulnerable learners, the area strategy), in [0,1].
double mitigation(const AttainmentParams& p, const SchoolInputs& s);
double expected_attainment(const AttainmentParams& p, const SchoolInputs& s, bool disadvantaged_group);
// A school's own breadth of opportunities from its size .
struct OpportunityParams {
  double base, size_gain, full_size_primary, full_size_secondary, joint_gain;
};
double own_opportunity(const OpportunityParams& p, int pupils, int phase);
OpportunityParams default_opportunity_params();
// The opportunities parameters of the pipeline (its defaults when not listed).
OpportunityParams opportunity_params(const PipelineInfo& pipeline);

// The attainment parameter defaults.
AttainmentParams default_attainment_params();
// The attainment parameters of the pipeline (its defaults when not listed):
// what world generation's first results use.
AttainmentParams attainment_params(const PipelineInfo& pipeline);

// Classroom practice (State::teaching) follows what the school's capacity and
// accountability focus would sustain, with a first-order lag of time constant
// practice_lag_years: the share of the gap closed in one year.
double practice_step(const AttainmentParams& p);
// What classroom practice moves toward: the capacity a crisis leaves,
// c (1 - crisis), plus the effort that league-table pressure and a failed
// inspection's scrutiny focus on teaching.
double practice_target(const AttainmentParams& p, double effective_capacity, double pressure, double scrutiny);

}  // namespace schoolsim::models
