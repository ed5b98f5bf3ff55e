#include <boost/random/normal_distribution.hpp>

#include "models/outcomes/outcomes.hpp"

namespace schoolsim::models {

namespace {

using R = ParamType;
const ParamTable<AttainmentParams> kTable = {
    {{"intercept", R::real, -0.57, -5, 5, "pupil SD",
      "attainment of a school with zero capacity, expectations and opportunity and no disadvantage",
      "stated reason: centres mean attainment near 0 at the default world"},
     &AttainmentParams::intercept},
    {{"beta_capacity", R::real, 1.0, 0, 5, "pupil SD per unit capacity",
      "effect of effective capacity c*(1-crisis) on attainment",
      "stated reason: a school at the top of the capacity scale is about one pupil SD ahead of "
      "one at the bottom, near the range of school effects in England"},
     &AttainmentParams::beta_capacity},
    {{"beta_expectations", R::real, 0.5, 0, 5, "pupil SD per unit expectations",
      "effect of staff expectations on attainment", "Ainscow, Muijs & West (2006): expectations shape what pupils achieve"},
     &AttainmentParams::beta_expectations},
    {{"beta_opportunity", R::real, 0.2, 0, 5, "pupil SD per unit opportunity",
      "effect of the breadth of learning opportunities on attainment",
      "Ainscow, Muijs & West (2006): collaboration widens learning opportunities"},
     &AttainmentParams::beta_opportunity},
    {{"beta_disadvantaged", R::real, 0.5, 0, 5, "pupil SD per unit share",
      "peer effect: attainment of all pupils falls with the school's share of disadvantaged pupils",
      "stated reason: school composition effects of about 0.5 SD between all-disadvantaged and no-disadvantaged intakes"},
     &AttainmentParams::beta_disadvantaged},
    {{"penalty_dis", R::real, 0.6, 0, 3, "pupil SD",
      "penalty of disadvantage: how far disadvantaged pupils trail others in the same school",
      "the attainment gap in England is about 0.5 to 0.8 pupil SD (Education Endowment Foundation attainment gap reports)"},
     &AttainmentParams::penalty_dis},
    {{"noise_sd", R::real, 0.1, 0, 2, "pupil SD", "year-to-year cohort noise in a school's results",
      "stated reason: cohorts of a few dozen pupils give school means that vary by about 0.1 SD"},
     &AttainmentParams::noise_sd},
};

class Attainment final : public MechanismWith<AttainmentParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    boost::random::normal_distribution<double> noise(0.0, p.noise_sd);
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      Stream rng = ctx.stream(static_cast<std::uint64_t>(i));
      const double d = in.disadvantaged[i];
      // Reputation is last year's published result (league tables lag a year).
      out.reputation[i] = d * in.attainment_dis[i] + (1 - d) * in.attainment_adv[i];
      out.attainment_dis[i] = expected_attainment(p, in.capacity[i], in.crisis[i], in.expectations[i],
                                                  in.opportunity[i], d, true) +
                              noise(rng);
      out.attainment_adv[i] = expected_attainment(p, in.capacity[i], in.crisis[i], in.expectations[i],
                                                  in.opportunity[i], d, false) +
                              noise(rng);
    }
  }
};

}  // namespace

double expected_attainment(const AttainmentParams& p, double capacity, double crisis,
                           double expectations, double opportunity, double disadvantaged,
                           bool disadvantaged_group) {
  return p.intercept + p.beta_capacity * capacity * (1.0 - crisis) +
         p.beta_expectations * expectations + p.beta_opportunity * opportunity -
         p.beta_disadvantaged * disadvantaged - (disadvantaged_group ? p.penalty_dis : 0.0);
}

AttainmentParams default_attainment_params() { return kTable.make({}); }

MechanismInfo attainment_info() {
  MechanismInfo m;
  m.name = "attainment";
  m.family = "outcomes";
  m.summary =
      "Yearly results of disadvantaged and other pupils from effective capacity, expectations, "
      "opportunities and intake; reputation becomes last year's results.";
  m.cadence = Cadence::year;
  m.reads = {Field::capacity, Field::crisis, Field::expectations, Field::opportunity,
             Field::disadvantaged, Field::attainment_dis, Field::attainment_adv};
  m.writes = {Field::attainment_dis, Field::attainment_adv, Field::reputation};
  m.params = kTable.specs();
  m.make = [](std::span<const double> v) { return std::make_unique<Attainment>(kTable, v); };
  return m;
}

}  // namespace schoolsim::models
