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
      "stated reason: staff turnover of about 15% a year pulls a school toward the system mean "
      "slowly"},
     &TurnoverParams::reversion},
    {{"target", R::real, 0.5, 0, 1, "[0,1]",
      "capacity that staff turnover drifts toward (the system's typical know-how)",
      "stated reason: the midpoint of the scale, as the initial mean"},
     &TurnoverParams::target},
    {{"recruitment_slope", R::real, -0.8, -2, 2, "capacity per unit share",
      "how the capacity a school can recruit falls with its share of disadvantaged pupils",
      "schools in challenging circumstances struggle to recruit and keep staff (Ainscow, Muijs & "
      "West 2006); the same slope as the generated world's, so the world is in balance"},
     &TurnoverParams::recruitment_slope},
    {{"reference_disadvantaged", R::real, 0.24, 0, 1, "share",
      "share of disadvantaged pupils at which a school recruits at the target capacity",
      "the world's mean share of disadvantaged pupils"},
     &TurnoverParams::reference_disadvantaged},
    {{"crisis_loss", R::real, 0.03, 0, 1, "per term at full crisis",
      "share of capacity lost per term to an immediate problem of severity 1",
      "stated reason: a severe crisis costs a school a third of its capacity over a few years"},
     &TurnoverParams::crisis_loss},
    {{"expectations_target", R::real, 0.5, 0, 1, "[0,1]",
      "expectations that new staff bring, at the reference share of disadvantaged pupils",
      "the world's mean initial expectations"},
     &TurnoverParams::expectations_target},
    {{"expectations_slope", R::real, -0.4, -2, 2, "expectations per unit share",
      "how the expectations new staff bring fall with the share of disadvantaged pupils",
      "the world's slope, so the world is in balance"},
     &TurnoverParams::expectations_slope},
    {{"noise_sd", R::real, 0.032, 0, 1, "[0,1] per term", "random change of capacity each term",
      "stated reason: arrivals and departures of staff; with reversion 0.02 it keeps the spread "
      "of capacity around its target at the world's 0.16"},
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
  m.cadence = Cadence::term;
  m.reads = {Field::capacity, Field::crisis, Field::disadvantaged, Field::expectations};
  m.writes = {Field::capacity, Field::expectations};
  m.burn_in = true;
  m.params = kTable.specs();
  m.make = factory<Turnover>(kTable);
  return m;
}

}  // namespace schoolsim::models
