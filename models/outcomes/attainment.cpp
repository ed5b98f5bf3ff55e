#include <cmath>
#include <algorithm>
#include <boost/random/normal_distribution.hpp>

#include "sim/measures.hpp"
#include "models/outcomes/outcomes.hpp"

namespace schoolsim::models {

namespace {

using R = ParamType;
const ParamTable<AttainmentParams> kTable = {
    {{"intercept", R::real, -0.75, -5, 5, "pupil SD",
      "attainment of a school with zero capacity, expectations and opportunity and no disadvantage",
      calibrated(-2, 0.5, "a level, not an effect: fitted so that the default world's mean "
                 "result is 0 pupil SD, results being measured from the national mean; it "
                 "absorbs the levels of the other terms")},
     &AttainmentParams::intercept},
    {{"beta_capacity", R::real, 1.8, 0, 5, "pupil SD per unit classroom practice",
      "effect of classroom practice (the stock that capacity, less what a crisis takes, fills) on attainment",
      calibrated(1, 3, "fitted with the world's spreads to about 40% of the variance of pupil "
                 "results between schools and a gap of 0.5 to 0.8 pupil SD (docs/ODD.md "
                 "calibration scales); results identify only its product with "
                 "world.capacity_sd, so at 1.8 one SD of capacity (0.2) is worth 0.36 pupil "
                 "SD")},
     &AttainmentParams::beta_capacity},
    {{"beta_expectations", R::real, 0.5, 0, 5, "pupil SD per unit expectations",
      "effect of staff expectations on attainment",
      calibrated(0, 1.5, "non-negative: expectations shape what pupils achieve (Ainscow, "
                 "Muijs & West 2006); no published size on this scale: at 0.5 one SD of "
                 "expectations (0.1) is worth 0.05 pupil SD")},
     &AttainmentParams::beta_expectations},
    {{"beta_opportunity", R::real, 0.2, 0, 5, "pupil SD per unit opportunity",
      "effect of the breadth of learning opportunities on attainment",
      calibrated(0, 0.8, "non-negative: collaboration widens learning opportunities (Ainscow, "
                 "Muijs & West 2006); no published effect of breadth on results on this scale")},
     &AttainmentParams::beta_opportunity},
    {{"beta_disadvantaged", R::real, 1.0, 0, 5, "pupil SD per unit share",
      "peer effect: attainment of all pupils falls with the school's share of disadvantaged pupils",
      calibrated(0.3, 2, "compositional (peer) effects: fitted with the world to the "
                 "between-school variance and the gap (docs/ODD.md); at 1 a school of all "
                 "disadvantaged pupils trails one of none by 1 pupil SD for all its pupils")},
     &AttainmentParams::beta_disadvantaged},
    {{"penalty_dis", R::real, 0.4, 0, 3, "pupil SD",
      "penalty of disadvantage: how far disadvantaged pupils trail others in the same school",
      calibrated(0.2, 0.8, "fitted so that the national gap, school composition plus this "
                 "within-school penalty, is about 0.75 pupil SD, inside England's 0.5 to 0.8 "
                 "(docs/ODD.md calibration scales)")},
     &AttainmentParams::penalty_dis},
    {{"practice_lag_years", R::real, 2.0, 0.05, 20, "years",
      "time constant with which classroom practice, and so results, follow capacity: a step in "
      "capacity is 1 - exp(-t / lag) of the way through to results after t years",
      calibrated(1, 4,
                 "Chapman, Muijs & MacAllister (2011): federations' effects on results appear two to "
                 "four years after they start; Sammons et al. (2007): networks raise staff learning "
                 "well before results. A lag of 1 to 4 years passes 22% to 63% of a step in capacity "
                 "to results after one year and 63% to 98% after four")},
     &AttainmentParams::practice_lag_years},
    {{"pressure_effort", R::real, 0.05, 0, 1, "capacity units at full pressure",
      "how far league-table pressure raises the classroom practice a school sustains (effort on "
      "teaching and on the tested subjects); acts through the same lag",
      calibrated(0.02, 0.12,
                 "Burgess, Wilson & Worth (2013): abolishing league tables in Wales cost 1.92 GCSE "
                 "grades per pupil per year in the lower three quarters of schools and nothing in "
                 "the top quarter. At beta_capacity 1.8 and the mean pressure of the lower three "
                 "quarters (about 0.5) the prior spans about 0.02 to 0.11 pupil SD; the conversion "
                 "of grades to pupil SD is itself uncertain, hence calibration")},
     &AttainmentParams::pressure_effort},
    {{"inspection_effort", R::real, 0.2, 0, 2, "capacity units at full scrutiny",
      "how far the scrutiny that follows a failed inspection raises the classroom practice a "
      "school sustains; scrutiny fades (market.scrutiny_decay), so the gain is transient",
      calibrated(0.05, 0.5,
                 "Allen & Burgess (2012): schools that just fail an inspection gain about 0.10 pupil "
                 "SD over the next two to three years, peaking at two years and gone by four. Through "
                 "the lag (2 years) and scrutiny halving yearly, the stock reaches about 0.3 of the "
                 "effort at its peak: 0.10 / 1.8 / 0.3 = 0.19; the prior allows for the crisis a "
                 "failed inspection also brings")},
     &AttainmentParams::inspection_effort},
    {{"mitigation_expectations", R::real, 0.5, 0, 5, "share per unit expectations above 0.5",
      "how far expectations above the midpoint reduce the penalty of disadvantage",
      calibrated(0, 1.5, "non-negative: high expectations help vulnerable learners (Ainscow, "
                 "Muijs & West 2006); no published size")},
     &AttainmentParams::mitigation_expectations},
    {{"mitigation_ties", R::real, 0.5, 0, 5, "share per unit w tau",
      "how far ties of networks whose goal is vulnerable learners reduce the penalty",
      calibrated(0, 1.5, "non-negative: collaboration addresses the needs of vulnerable "
                 "groups (Ainscow, Muijs & West 2006); no published size on this scale")},
     &AttainmentParams::mitigation_ties},
    {{"mitigation_area", R::real, 0.5, 0, 5, "share per unit strategy",
      "how far the area's beyond-school strategy reduces the penalty",
      calibrated(0, 1.5, "non-negative: the ecology of equity reaches beyond schools (Ainscow "
                 "et al. 2012); the Greater Manchester Challenge's disadvantaged schools "
                 "improved about three times as fast as the national rate (pattern 4), which "
                 "calibration fits")},
     &AttainmentParams::mitigation_area},
    {{"noise_sd", R::real, 0.1, 0, 2, "pupil SD", "year-to-year cohort noise in a school's results",
      calibrated(0.05, 0.2, "the sampling noise of a group's mean is sqrt(0.6 / n) pupil SD "
                 "with the model's within-group variance 0.6: 0.14 for 30 pupils, 0.06 for "
                 "150; real cohorts differ by more than sampling")},
     &AttainmentParams::noise_sd},
};

class Attainment final : public MechanismWith<AttainmentParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    boost::random::normal_distribution<double> noise(0.0, p.noise_sd);
    const double step = practice_step(p);
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      Stream rng = ctx.stream(static_cast<std::uint64_t>(i));
      const double d = in.disadvantaged[i];
      // Reputation is last year's published result (league tables lag a year).
      out.reputation[i] = school_result(in, i);
      // Classroom practice moves toward what capacity and accountability focus
      // sustain; results follow practice, not capacity itself.
      const double target = practice_target(p, in.capacity[i] * (1.0 - in.crisis[i]), in.pressure[i], in.scrutiny[i]);
      out.teaching[i] = in.teaching[i] + step * (target - in.teaching[i]);
      SchoolInputs school{out.teaching[i], in.expectations[i], in.opportunity[i], d};
      in.ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t) {
        const std::int32_t net = in.ties.network[s];
        if (net >= 0 && in.networks.goal[static_cast<std::size_t>(net)] == NetworkGoal::vulnerable_learners)
          school.vulnerable_ties += in.ties.strength[s] * in.ties.trust[s];
      });
      if (in.area_strategy.size() > 0) school.area_strategy = in.area_strategy[in.area[i]];
      out.attainment_dis[i] = expected_attainment(p, school, true) + noise(rng);
      out.attainment_adv[i] = expected_attainment(p, school, false) + noise(rng);
    }
  }
};

}  // namespace

double mitigation(const AttainmentParams& p, const SchoolInputs& s) {
  return std::clamp(p.mitigation_expectations * std::max(0.0, s.expectations - 0.5) +
                        p.mitigation_ties * s.vulnerable_ties + p.mitigation_area * s.area_strategy,
                    0.0, 1.0);
}

double practice_step(const AttainmentParams& p) { return 1.0 - std::exp(-1.0 / p.practice_lag_years); }

double practice_target(const AttainmentParams& p, double effective_capacity, double pressure, double scrutiny) {
  return std::clamp(effective_capacity + p.pressure_effort * pressure + p.inspection_effort * scrutiny, 0.0, 1.0);
}

double expected_attainment(const AttainmentParams& p, const SchoolInputs& s, bool disadvantaged_group) {
  return p.intercept + p.beta_capacity * s.teaching +
         p.beta_expectations * s.expectations + p.beta_opportunity * s.opportunity -
         p.beta_disadvantaged * s.disadvantaged -
         (disadvantaged_group ? p.penalty_dis * (1.0 - mitigation(p, s)) : 0.0);
}

AttainmentParams default_attainment_params() { return kTable.make({}); }
AttainmentParams attainment_params(const PipelineInfo& pipeline) {
  return kTable.make(pipeline.values_of("attainment"));
}

MechanismInfo attainment_info() {
  MechanismInfo m;
  m.name = "attainment";
  m.family = "outcomes";
  m.summary =
      "Yearly results of disadvantaged and other pupils from classroom practice (a stock that "
      "capacity and accountability focus fill with a lag of about two years), crises, "
      "expectations, opportunities and intake; reputation becomes last year's results.";
  m.phase = Phase::yearly;
  m.reads = {Field::capacity, Field::crisis, Field::expectations, Field::opportunity,
             Field::disadvantaged, Field::pressure, Field::scrutiny, Field::teaching,
             Field::attainment_dis, Field::attainment_adv, Field::area, Store::ties, Store::networks,
             Store::area_strategy};
  m.writes = {Field::attainment_dis, Field::attainment_adv, Field::reputation, Field::teaching};
  m.burn_in = true;
  m.params = kTable.specs();
  m.make = factory<Attainment>(kTable);
  return m;
}

}  // namespace schoolsim::models
