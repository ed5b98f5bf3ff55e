#include <algorithm>
#include <cmath>

#include "models/ties/ties.hpp"

namespace schoolsim::models {

namespace {

struct DissolutionParams {
  double review_rate, cost, trust_min, carry_trust, movement_persistence;
};

using R = ParamType;
const ParamTable<DissolutionParams> kTable = {
    {{"review_rate", R::real, 0.1, 0, 1, "per term",
      "chance that the partners review a tie this term",
      calibrated(0.03, 0.34, "partners review a partnership every few years; no published "
                 "frequency: 0.1 a term is about once in three years, 0.33 once a year")},
     &DissolutionParams::review_rate},
    {{"cost", R::real, 0.05, 0, 5, "benefit units per unit strength",
      "leadership time a tie costs; a reviewed voluntary tie whose benefit is below it ends",
      calibrated(0, 0.2, "ties are not free (Muijs, West & Ainscow 2010); no published cost "
                 "in these benefit units (trust x capacity and practice differences)")},
     &DissolutionParams::cost},
    {{"trust_min", R::real, 0.1, 0, 1, "[0,1]", "a reviewed tie whose trust has fallen below this ends",
      calibrated(0, 0.3, "partners who no longer trust each other stop working together; no "
                 "published trust level")},
     &DissolutionParams::trust_min},
    {{"carry_trust", R::real, 0.5, 0, 1, "[0,1]",
      "a programme tie survives the end of its network's funding only with at least this trust",
      calibrated(0.2, 0.8, "what survives funding is what partners valued (Townsend 2013); no "
                 "published trust level")},
     &DissolutionParams::carry_trust},
    {{"movement_persistence", R::real, 0.8, 0, 1, "share",
      "share of the cost that committed partners on a movement tie discount: their ties last longer",
      calibrated(0.3, 1, "value-based networks outlast instrumental ones (Townsend 2013); no "
                 "published share of the cost that commitment discounts")},
     &DissolutionParams::movement_persistence},
};

class Dissolution final : public MechanismWith<DissolutionParams> {
 public:
  using MechanismWith::MechanismWith;

  void step(const State& in, State&, const StepContext& ctx) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    ended_.clear();
    ctx.collect(ties.slot_bound(), ended_,
                [&](std::int32_t, std::size_t begin, std::size_t end, auto& part) {
                  for (auto s = static_cast<TieStore::Slot>(begin); s < end; ++s)
                    if (ties.alive[s]) review(in, p, ctx, s, part);
                });
    for (const auto& [s, reason] : ended_) ctx.ties.remove(s, reason);
  }

 private:
  using Ended = std::vector<std::pair<TieStore::Slot, TieReason>>;

  // Whether tie s ends this term, and why (added to `ended`).
  static void review(const State& in, const DissolutionParams& p, const StepContext& ctx,
                     TieStore::Slot s, Ended& ended) {
    const TieStore& ties = in.ties;
    const std::int32_t a = ties.a[s], b = ties.b[s];
    const std::int32_t net = ties.network[s];
    // Funding ends at a known term: programme ties without the trust to carry them end then.
    if (ties.kind[s] == TieKind::programme && net >= 0 &&
        in.networks.funded_until_term[static_cast<std::size_t>(net)] == ctx.clock.term &&
        ties.trust[s] < p.carry_trust) {
      ended.emplace_back(s, TieReason::funding_ended);
      return;
    }
    Stream rng = ctx.stream(ties.id[s]);
    if (rng.uniform() >= p.review_rate) return;
    if (ties.trust[s] < p.trust_min) {
      ended.emplace_back(s, TieReason::trust_lost);
      return;
    }
    if (ties.kind[s] != TieKind::voluntary && ties.kind[s] != TieKind::movement) return;
    // Benefit: what each can learn from the other (the capacity gap and the
    // diversity of practice), as far as trust lets it through.
    const double diversity = (in.practice.col(a) - in.practice.col(b)).norm() / 2.0;
    const double benefit = ties.trust[s] * (std::abs(in.capacity[a] - in.capacity[b]) + diversity);
    double cost = p.cost * ties.strength[s];
    if (ties.kind[s] == TieKind::movement) cost *= 1.0 - p.movement_persistence;
    if (benefit < cost) ended.emplace_back(s, TieReason::benefit_below_cost);
  }

  Ended ended_;
};

}  // namespace

MechanismInfo tie_dissolution_info() {
  MechanismInfo m;
  m.name = "tie_dissolution";
  m.family = "ties";
  m.summary =
      "Ties end when trust has gone, when a voluntary tie's benefit no longer covers its cost "
      "(movement ties discount the cost), or when a programme's funding ends without the trust "
      "to carry them.";
  m.phase = Phase::tie_dissolution;
  m.reads = {Field::capacity, Field::practice, Store::ties, Store::networks};
  m.writes = {Store::ties};
  m.params = kTable.specs();
  m.make = factory<Dissolution>(kTable);
  return m;
}

}  // namespace schoolsim::models
