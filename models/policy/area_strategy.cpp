#include <algorithm>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>

#include "models/school/school.hpp"

#include "models/policy/policy.hpp"

namespace schoolsim::models {

namespace {

struct AreaStrategyParams {
  std::int32_t area, year;
  double strength, build_rate, broker_rate, tie_strength, trust;
};

using R = ParamType;
const ParamTable<AreaStrategyParams> kTable = {
    {{"area", R::integer, -1, -1, 10000, "area index", "the area that runs the strategy (-1: every area)",
      "scenario choice: -1 runs the strategy in every area; a scenario names one area to "
      "compare it with the others, as the Greater Manchester Challenge was one area's "
      "strategy (Ainscow et al. 2012)"},
     &AreaStrategyParams::area},
    {{"year", R::integer, 0, 0, 200, "year (0 = first)", "year from whose start the strategy runs",
      "scenario choice: 0 starts the strategy when the run starts"},
     &AreaStrategyParams::year},
    {{"strength", R::real, 0.8, 0, 1, "[0,1]",
      "strength the area strategy builds up to (mitigates the penalty of disadvantage through "
      "attainment.mitigation_area)",
      "scenario choice: how strong a strategy the scenario models, 0.8 of the most an area "
      "could do; what a unit of it does to results is attainment.mitigation_area, which is "
      "calibrated"},
     &AreaStrategyParams::strength},
    {{"build_rate", R::real, 0.1, 0, 1, "per term", "rate at which the strategy builds toward its strength",
      calibrated(0.03, 0.3, "an area strategy takes a few years to build: at 0.1 a term it "
                 "reaches 63% of its strength in about 9 terms (3 years), the length of the "
                 "Greater Manchester Challenge, 2008 to 2011 (Ainscow 2012); the prior spans "
                 "about 1 to 10 years")},
     &AreaStrategyParams::build_rate},
    {{"broker_rate", R::real, 0.1, 0, 1, "per school per term",
      "chance per term that the strategy brokers a tie for a school of the area with room for one",
      calibrated(0.02, 0.3, "brokers link schools of similar intake (Ainscow 2012, 'Moving "
                 "knowledge around'), with no published rate: at 0.1 a term a school with "
                 "room gets a brokered partner about every 10 terms (3 years)")},
     &AreaStrategyParams::broker_rate},
    {{"tie_strength", R::real, 0.6, 0, 1, "[0,1]", "strength of a brokered tie",
      calibrated(0.3, 1, "brokered partnerships come with facilitated joint work, like a "
                 "programme tie (0.6); no published measure of tie strength on this scale")},
     &AreaStrategyParams::tie_strength},
    {{"trust", R::real, 0.5, 0, 1, "[0,1]", "starting trust of a brokered tie",
      calibrated(0.2, 0.8, "a trusted local broker vouches for both sides, so above a new "
                 "voluntary tie's 0.4; no published measure of trust on this scale")},
     &AreaStrategyParams::trust},
};

// Ties a brokered school may have: the strategy does not crowd out a school's
// own partnerships beyond this.
constexpr std::int32_t kMaxBrokered = 6;

class AreaStrategy final : public MechanismWith<AreaStrategyParams> {
 public:
  using MechanismWith::MechanismWith;

  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    if (ctx.clock.year() < p.year) return;
    const std::int32_t target = p.area;
    auto runs = [&](std::int32_t a) { return target < 0 || a == target; };
    for (Eigen::Index a = 0; a < in.area_strategy.size(); ++a) {
      if (runs(static_cast<std::int32_t>(a)))
        out.area_strategy[a] = in.area_strategy[a] + p.build_rate * (p.strength - in.area_strategy[a]);
    }
    // Brokering: a school of the area is introduced to a school of the same
    // area with a similar intake.
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      // ctx.ties answers for the ties with those made so far in the phase.
      if (!runs(in.area[i]) || ctx.ties.degree(i) >= kMaxBrokered) continue;
      Stream rng = ctx.stream(static_cast<std::uint64_t>(i));
      if (rng.uniform() >= p.broker_rate) continue;
      std::int32_t best = -1;
      double best_gap = kSimilarIntakeBand;
      for (std::int64_t e = in.near.begin(i) + 1; e < in.near.end(i); ++e) {
        const std::int32_t j = in.near.school[static_cast<std::size_t>(e)];
        const double gap = std::abs(in.disadvantaged[i] - in.disadvantaged[j]);
        if (gap < best_gap && ctx.ties.degree(j) < kMaxBrokered && !ctx.ties.tied(i, j))
          best_gap = gap, best = j;
      }
      if (best < 0 || ctx.ties.degree(i) >= kMaxBrokered) continue;
      ctx.ties.add({.a = std::min(i, best),
                    .b = std::max(i, best),
                    .strength = p.tie_strength,
                    .trust = p.trust,
                    .kind = TieKind::voluntary,
                    .activities = staff_development | shared_data | joint_provision},
                   TieReason::brokered);
    }
  }
};

struct PrescriptionParams {
  double level, erosion;
};

const ParamTable<PrescriptionParams> kPrescription = {
    {{"level", R::real, 0.0, 0, 1, "[0,1]", "how prescriptive central policy is",
      "scenario choice: 0, no central prescription; a scenario or the timeline raises it to "
      "model a prescriptive regime (Townsend 2013: prescriptive policy de-professionalises "
      "teachers)"},
     &PrescriptionParams::level},
    {{"erosion", R::real, 0.03, 0, 1, "per term at full prescription",
      "share of a school's autonomy that full prescription erodes each term",
      calibrated(0.005, 0.1, "prescriptive policy de-professionalises teachers over years, "
                 "not terms (Townsend 2013), with no published rate: at 0.03 a term full "
                 "prescription halves autonomy in 23 terms (about 8 years); the prior spans "
                 "about 2 to 45 years")},
     &PrescriptionParams::erosion},
};

class Prescription final : public MechanismWith<PrescriptionParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext&) override {
    const auto& p = params();
    out.autonomy = (in.autonomy * (1.0 - p.erosion * p.level)).max(0.0);
  }
};

}  // namespace

MechanismInfo area_strategy_info() {
  MechanismInfo m;
  m.name = "area_strategy";
  m.family = "policy";
  m.in_default_pipeline = false;
  m.summary =
      "An area-wide, beyond-school strategy (the ecology of equity): it builds up in one area or "
      "all, mitigating the penalty of disadvantage there, and brokers ties between schools of "
      "the area with similar intakes.";
  m.phase = Phase::policy;
  m.reads = {Field::area, Field::disadvantaged, Store::ties, Store::area_strategy};
  m.writes = {Store::ties, Store::area_strategy};
  m.params = kTable.specs();
  m.make = factory<AreaStrategy>(kTable);
  return m;
}

MechanismInfo prescription_info() {
  MechanismInfo m;
  m.name = "prescription";
  m.family = "policy";
  m.in_default_pipeline = false;
  m.summary = "Central prescription erodes schools' professional autonomy (de-professionalisation).";
  m.phase = Phase::policy;
  m.reads = {Field::autonomy};
  m.writes = {Field::autonomy};
  m.params = kPrescription.specs();
  m.make = factory<Prescription>(kPrescription);
  return m;
}

}  // namespace schoolsim::models
