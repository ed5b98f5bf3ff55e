#include <algorithm>
#include <boost/random/normal_distribution.hpp>

#include "models/school/school.hpp"

namespace schoolsim::models {

namespace {

struct TurnoverParams {
  double reversion, target, recruitment_slope, reference_disadvantaged, crisis_loss, noise_sd,
      expectations_target, expectations_slope;
};

using R = ParamType;
const ParamTable<TurnoverParams> kTable = {
    {{"reversion", R::real, 0.02, 0, 1, "per term",
      "share of the distance to the target capacity closed each term as staff come and go",
      calibrated(0.005, 0.08, "staff turnover replaces know-how slowly with what a school can "
                 "recruit: about one teacher in ten leaves state schools each year (DfE, "
                 "School workforce in England), but no published rate ties this to capacity; "
                 "at 0.02 a term a school closes half its distance to the target in about 34 "
                 "terms")},
     &TurnoverParams::reversion},
    {{"target", R::real, 0.5, 0, 1, "[0,1]",
      "capacity that staff turnover drifts toward (the system's typical know-how)",
      calibrated(0.3, 0.7, "equal to world.capacity_mean (the scale's midpoint), so that the "
                 "world starts where staff turnover holds it; calibrate the two together")},
     &TurnoverParams::target},
    {{"recruitment_slope", R::real, -0.8, -2, 2, "capacity per unit share",
      "how the capacity a school can recruit falls with its share of disadvantaged pupils",
      calibrated(-1.5, 0, "negative: schools in challenging circumstances struggle to recruit "
                 "and keep staff (Ainscow, Muijs & West 2006); equal to "
                 "world.capacity_disadvantage_slope so that the world starts in balance; "
                 "calibrate the two together")},
     &TurnoverParams::recruitment_slope},
    {{"reference_disadvantaged", R::real, 0.24, 0, 1, "share",
      "share of disadvantaged pupils at which a school recruits at the target capacity",
      "equal to world.mean_disadvantaged: 23.8% of pupils in England's state-funded schools "
      "were eligible for free school meals in January 2023 (DfE, Schools, pupils and their "
      "characteristics 2022/23; 24.6% in January 2024)"},
     &TurnoverParams::reference_disadvantaged},
    {{"crisis_loss", R::real, 0.03, 0, 1, "per term at full crisis",
      "share of capacity lost per term to an immediate problem of severity 1",
      calibrated(0.005, 0.08, "a severe crisis costs a school much of its capacity over a few "
                 "years; no published size: at 0.03 a term a crisis of severity 1 costs 9% a "
                 "year")},
     &TurnoverParams::crisis_loss},
    {{"expectations_target", R::real, 0.5, 0, 1, "[0,1]",
      "expectations that new staff bring, at the reference share of disadvantaged pupils",
      calibrated(0.3, 0.7, "equal to world.expectations_mean, so that the world starts where "
                 "new staff hold it; calibrate the two together")},
     &TurnoverParams::expectations_target},
    {{"expectations_slope", R::real, -0.4, -2, 2, "expectations per unit share",
      "how the expectations new staff bring fall with the share of disadvantaged pupils",
      calibrated(-1, 0, "negative: staff expect less of disadvantaged intakes (Ainscow, Muijs "
                 "& West 2006); equal to world.expectations_disadvantage_slope so that the "
                 "world starts in balance; calibrate the two together")},
     &TurnoverParams::expectations_slope},
    {{"noise_sd", R::real, 0.032, 0, 1, "[0,1] per term", "random change of capacity each term",
      calibrated(0.01, 0.06, "arrivals and departures of staff; set with reversion so that "
                 "the stationary spread of capacity, noise_sd / sqrt(1 - (1 - reversion)^2) = "
                 "0.032 / 0.199 = 0.16, matches the world's; calibrate with reversion and "
                 "world.capacity_sd")},
     &TurnoverParams::noise_sd},
};

class Turnover final : public MechanismWith<TurnoverParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    boost::random::normal_distribution<double> noise(0.0, p.noise_sd);
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      Stream rng = ctx.stream(static_cast<std::uint64_t>(i));
      const double c = in.capacity[i];
      const double target =
          p.target + p.recruitment_slope * (in.disadvantaged[i] - p.reference_disadvantaged);
      const double next = c + p.reversion * (target - c) - p.crisis_loss * in.crisis[i] * c + noise(rng);
      out.capacity[i] = std::clamp(next, 0.0, 1.0);
      // New staff bring the expectations typical of schools like this one.
      const double e_target =
          p.expectations_target + p.expectations_slope * (in.disadvantaged[i] - p.reference_disadvantaged);
      out.expectations[i] = std::clamp(in.expectations[i] + p.reversion * (e_target - in.expectations[i]), 0.0, 1.0);
    }
  }
};

}  // namespace

MechanismInfo turnover_info() {
  MechanismInfo m;
  m.name = "turnover";
  m.family = "school";
  m.summary =
      "Staff turnover pulls capacity and expectations toward what a school can recruit, lower "
      "where intakes are more disadvantaged; crises erode capacity, and arrivals and "
      "departures add noise.";
  m.phase = Phase::school_update;
  m.reads = {Field::capacity, Field::crisis, Field::disadvantaged, Field::expectations};
  m.writes = {Field::capacity, Field::expectations};
  m.burn_in = true;
  m.params = kTable.specs();
  m.make = factory<Turnover>(kTable);
  return m;
}

}  // namespace schoolsim::models
