#include <algorithm>
#include <boost/random/uniform_real_distribution.hpp>

#include "models/outcomes/outcomes.hpp"

namespace schoolsim::models {

namespace {

struct CrisisParams {
  double rate, rate_exponent, severity_min, fade, support;
};

using R = ParamType;
const ParamTable<CrisisParams> kTable = {
    {{"rate", R::real, 0.06, 0, 1, "per term",
      "chance per term that a school of zero capacity meets an immediate problem",
      calibrated(0.02, 0.15, "no national count of immediate problems (leadership loss, "
                 "staffing, a failed inspection; Ainscow, Muijs & West 2006) exists: at 0.06 "
                 "a school of capacity 0.5 meets one with chance 0.015 a term, about 4.4% a "
                 "year; the prior spans about 1.5% to 11% a year")},
     &CrisisParams::rate},
    {{"rate_exponent", R::real, 2, 0, 10, "exponent",
      "arrival chance is rate * (1 - capacity)^rate_exponent: crises come more often to weak schools",
      calibrated(0.5, 4, "positive: immediate problems beset schools in challenging "
                 "circumstances most (Ainscow, Muijs & West 2006); no published size: at 2 a "
                 "school of capacity 0.25 meets them 2.25 times as often as one of capacity "
                 "0.5")},
     &CrisisParams::rate_exponent},
    {{"severity_min", R::real, 0.3, 0, 1, "[0,1]",
      "a new crisis has severity drawn uniformly from [severity_min, 1]",
      calibrated(0, 0.6, "only problems that disrupt teaching are modelled; no published "
                 "scale of severity")},
     &CrisisParams::severity_min},
    {{"fade", R::real, 0.2, 0, 1, "per term", "share of crisis severity that fades each term",
      calibrated(0.1, 0.4, "a typical crisis is mostly over within about two years: at 0.2 a "
                 "term half its severity fades in a year and three quarters in two; the prior "
                 "spans from a quarter to four fifths faded in a year; no published duration")},
     &CrisisParams::fade},
    {{"support", R::real, 0.3, 0, 1, "per term",
      "extra fading of a crisis with help from stronger partners: support x min(1, 2 x sum of "
      "w tau (c_j - c_i)+)",
      calibrated(0, 1, "positive: collaboration helps schools resolve immediate problems "
                 "(Ainscow, Muijs & West 2006); no published size")},
     &CrisisParams::support},
};

class Crises final : public MechanismWith<CrisisParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    ctx.for_each(in.n_schools(), [&](std::int32_t i) {
      boost::random::uniform_real_distribution<double> severity(p.severity_min, 1.0);
      Stream rng = ctx.stream(static_cast<std::uint64_t>(i));
      const double weak = 1.0 - in.capacity[i];
      // The default exponent of 2 by one multiplication: pow took about 3% of
      // an England run. It may differ from pow in the last bit, in about one
      // school-term in a thousand; the draw below is then compared with a
      // chance one part in 10^16 away.
      const double chance =
          p.rate * (p.rate_exponent == 2 ? weak * weak : std::pow(weak, p.rate_exponent));
      double help = 0;
      in.ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        help += in.ties.strength[s] * in.ties.trust[s] * std::max(0.0, in.capacity[j] - in.capacity[i]);
      });
      const double fade = std::min(1.0, p.fade + p.support * std::min(1.0, 2 * help));
      const double faded = in.crisis[i] * (1.0 - fade);
      out.crisis[i] = rng.uniform() < chance ? std::max(faded, severity(rng)) : faded;
    });
  }
};

}  // namespace

MechanismInfo crises_info() {
  MechanismInfo m;
  m.name = "crises";
  m.family = "outcomes";
  m.summary =
      "Immediate problems (leadership loss, staffing, a failed inspection) arrive more often in "
      "low-capacity schools and fade over time, faster with help from stronger partners.";
  m.phase = Phase::shocks;
  m.reads = {Field::capacity, Field::crisis, Store::ties};
  m.writes = {Field::crisis};
  m.burn_in = true;
  m.params = kTable.specs();
  m.make = factory<Crises>(kTable);
  return m;
}

}  // namespace schoolsim::models
