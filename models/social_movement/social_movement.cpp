#include <algorithm>
#include <array>
#include <boost/random/normal_distribution.hpp>

#include "models/social_movement/social_movement.hpp"
#include "models/ties/ties.hpp"

namespace schoolsim::models {

namespace {

struct MovementParams {
  std::int32_t seed_term;
  double seed_share, threshold_mean, threshold_sd, adopt_rate, lapse, expectation_gain,
      mobilisation_share, mobilisation_gain;
};

using R = ParamType;
const ParamTable<MovementParams> kTable = {
    {{"seed_share", R::real, 0.0, 0, 1, "share",
      "share of schools committed to equity when the run starts (the movement's seed)",
      "scenario choice: 0, no movement; social-movement scenarios seed a few committed "
      "schools (Townsend 2013)"},
     &MovementParams::seed_share},
    {{"seed_term", R::integer, 0, 0, 600, "term (0 = first)",
      "term at whose start the seed schools commit (0: when the run starts)",
      "scenario choice: 0 commits the seed schools when the run starts; teaching mode may "
      "start a movement later"},
     &MovementParams::seed_term},
    {{"threshold_mean", R::real, 0.3, 0, 1, "share",
      "mean share of committed partners (by tie strength) at which a school adopts the commitment",
      calibrated(0.1, 0.6, "threshold models of collective behaviour (Granovetter 1978), with "
                 "no measured thresholds for schools: at 0.3 a school adopts when partners "
                 "holding 30% of its tie strength are committed")},
     &MovementParams::threshold_mean},
    {{"threshold_sd", R::real, 0.1, 0, 1, "share", "spread of schools' adoption thresholds",
      calibrated(0.02, 0.25, "schools differ in readiness; no published spread of thresholds")},
     &MovementParams::threshold_sd},
    {{"adopt_rate", R::real, 0.3, 0, 1, "per term", "rate at which a school above threshold becomes committed",
      calibrated(0.1, 0.7, "adoption takes about a year, with no published rate: at 0.3 a "
                 "term a school above threshold goes two thirds of the way to full commitment "
                 "in three terms")},
     &MovementParams::adopt_rate},
    {{"lapse", R::real, 0.01, 0, 1, "per term", "rate at which commitment lapses below threshold",
      calibrated(0.002, 0.05, "commitment fades over several years without support; no "
                 "published rate: at 0.01 a term half lapses in about 69 terms")},
     &MovementParams::lapse},
    {{"expectation_gain", R::real, 0.02, 0, 1, "per term at full commitment",
      "rise of expectations for all learners with commitment",
      calibrated(0, 0.06, "non-negative: shared commitment to equity raises expectations "
                 "(Townsend 2013; Ainscow et al. 2012); no published size")},
     &MovementParams::expectation_gain},
    {{"mobilisation_share", R::real, 0.3, 0, 1, "share",
      "share of an area's schools committed at which the movement mobilises the area",
      calibrated(0.1, 0.6, "movements change what lies beyond schools (Townsend 2013); no "
                 "published share of committed schools at which an area mobilises")},
     &MovementParams::mobilisation_share},
    {{"mobilisation_gain", R::real, 0.05, 0, 1, "per term",
      "rate at which a mobilised area's strategy strengthens toward 1",
      calibrated(0.01, 0.2, "an area strategy builds over a few years (as "
                 "area_strategy.build_rate); no published rate")},
     &MovementParams::mobilisation_gain},
};

class Movement final : public MechanismWith<MovementParams> {
 public:
  using MechanismWith::MechanismWith;

  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    fixed_draws(in.n_schools(), ctx);
    std::vector<double> committed_in_area(static_cast<std::size_t>(in.n_areas), 0.0),
        schools_in_area(static_cast<std::size_t>(in.n_areas), 0.0);
    ctx.for_each(in.n_schools(), [&](std::int32_t i) {
      const auto k = static_cast<std::size_t>(i);
      const double seed_draw = seed_draw_[k];
      const double threshold = std::clamp(p.threshold_mean + p.threshold_sd * normal_draw_[k], 0.0, 1.0);
      double m = in.commitment[i];
      if (ctx.clock.term == p.seed_term && seed_draw < p.seed_share) m = 1.0;
      double total = 0, committed = 0;
      ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        total += ties.strength[s];
        if (in.commitment[j] > kCommitted) committed += ties.strength[s];
      });
      if (committed > 0 && committed / total >= threshold) {
        m += p.adopt_rate * (1 - m);
      } else {
        m -= p.lapse * m;
      }
      out.commitment[i] = std::clamp(m, 0.0, 1.0);
      out.expectations[i] = std::clamp(in.expectations[i] + p.expectation_gain * m * (1 - in.expectations[i]), 0.0, 1.0);
    });
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      const auto a = static_cast<std::size_t>(in.area[i]);
      schools_in_area[a] += 1;
      committed_in_area[a] += out.commitment[i] > kCommitted ? 1 : 0;
    }
    for (std::size_t a = 0; a < schools_in_area.size(); ++a) {
      if (schools_in_area[a] > 0 && committed_in_area[a] / schools_in_area[a] >= p.mobilisation_share) {
        out.area_strategy[static_cast<Eigen::Index>(a)] +=
            p.mobilisation_gain * (1 - in.area_strategy[static_cast<Eigen::Index>(a)]);
      }
    }
  }

 private:
  // A school's threshold is its own, the same every term: drawn from the
  // stream of term 0. The draws are made once per replicate and kept (drawing
  // them again every term cost a Philox block and a normal draw per school).
  void fixed_draws(std::int32_t n, const StepContext& ctx) {
    if (drawn_ && drawn_key_ == ctx.streams.key() && drawn_mechanism_ == ctx.key &&
        seed_draw_.size() == static_cast<std::size_t>(n))
      return;
    boost::random::normal_distribution<double> normal;
    seed_draw_.resize(static_cast<std::size_t>(n));
    normal_draw_.resize(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) {
      Stream fixed = ctx.streams.stream(ctx.key, 0, static_cast<std::uint64_t>(i));
      seed_draw_[static_cast<std::size_t>(i)] = fixed.uniform();
      normal_draw_[static_cast<std::size_t>(i)] = normal(fixed);
    }
    drawn_ = true;
    drawn_key_ = ctx.streams.key();
    drawn_mechanism_ = ctx.key;
  }

  bool drawn_ = false;
  std::array<std::uint32_t, 2> drawn_key_{};
  std::uint32_t drawn_mechanism_ = 0;
  std::vector<double> seed_draw_, normal_draw_;
};

}  // namespace

MechanismInfo social_movement_info() {
  MechanismInfo m;
  m.name = "social_movement";
  m.family = "social_movement";
  m.summary =
      "Commitment to equity spreads by threshold contagion along ties and lapses slowly "
      "otherwise; it raises expectations for all learners; an area where enough schools are "
      "committed mobilises its area strategy; with it on, ties form around shared values.";
  m.phase = Phase::interaction;
  m.reads = {Field::commitment, Field::expectations, Field::area, Store::ties, Store::area_strategy};
  m.writes = {Field::commitment, Field::expectations, Store::area_strategy};
  m.params = kTable.specs();
  m.make = factory<Movement>(kTable);
  return m;
}

}  // namespace schoolsim::models
