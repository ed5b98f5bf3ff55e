#include <algorithm>
#include <boost/random/normal_distribution.hpp>

#include "models/school/school.hpp"

namespace schoolsim::models {

namespace {

struct TurnoverParams {
  double reversion, target, crisis_loss, noise_sd;
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
    {{"crisis_loss", R::real, 0.03, 0, 1, "per term at full crisis",
      "share of capacity lost per term to an immediate problem of severity 1",
      "stated reason: a severe crisis costs a school a third of its capacity over a few years"},
     &TurnoverParams::crisis_loss},
    {{"noise_sd", R::real, 0.01, 0, 1, "[0,1] per term", "random change of capacity each term",
      "stated reason: individual arrivals and departures of staff"},
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
      const double next = c + p.reversion * (p.target - c) - p.crisis_loss * in.crisis[i] * c + noise(rng);
      out.capacity[i] = std::clamp(next, 0.0, 1.0);
    }
  }
};

}  // namespace

MechanismInfo turnover_info() {
  MechanismInfo m;
  m.name = "turnover";
  m.family = "school";
  m.summary =
      "Staff turnover pulls capacity toward the system's typical level, crises erode it, and "
      "arrivals and departures add noise.";
  m.cadence = Cadence::term;
  m.reads = {Field::capacity, Field::crisis};
  m.writes = {Field::capacity};
  m.params = kTable.specs();
  m.make = [](std::span<const double> v) { return std::make_unique<Turnover>(kTable, v); };
  return m;
}

}  // namespace schoolsim::models
