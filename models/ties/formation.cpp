#include <algorithm>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>

#include "models/school/school.hpp"
#include "models/ties/ties.hpp"

namespace schoolsim::models {

namespace {

struct FormationParams {
  std::int32_t max_ties, candidates;
  double search_rate, bridge_chance, spread_km, w_proximity, w_complement,
      w_similar, w_closure, w_commitment, w_rivalry, commitment_shield, threshold, strength,
      trust, bridging_trust, closure_trust;
};

using R = ParamType;
const ParamTable<FormationParams> kTable = {
    {{"search_rate", R::real, 0.15, 0, 1, "per term",
      "chance that a school with free collaboration time looks for a partner this term",
      calibrated(0.05, 0.4, "no published rate at which schools seek partners: 0.15 a term is "
                 "about one search every two years; 0.33 would be a search a year")},
     &FormationParams::search_rate},
    {{"max_ties", R::integer, 4, 0, 50, "ties",
      "ties a school's leadership has time for (collaboration time per school)",
      calibrated(2, 8, "heads report sustaining a handful of active partnerships (Ainscow, "
                 "Muijs & West 2006); no national count of partners per school")},
     &FormationParams::max_ties},
    {{"candidates", R::integer, 6, 1, 100, "schools", "schools a search considers",
      calibrated(2, 15, "a head knows a few possible partners at a time: about six other "
                 "schools lie within ten minutes' drive of a typical English school "
                 "(docs/ODD.md calibration scales)")},
     &FormationParams::candidates},
    {{"bridge_chance", R::real, 0.2, 0, 1, "share",
      "share of candidates drawn from anywhere in the system rather than within reach",
      calibrated(0.05, 0.5, "most partners are local (Muijs, West & Ainscow 2010 on spread); "
                 "no published share of partners from beyond reach")},
     &FormationParams::bridge_chance},
    {{"spread_km", R::real, 10, 0.1, 1000, "km", "distance over which proximity's pull halves (times ln 2)",
      calibrated(3, 30, "partners are mostly within half an hour's travel; no published "
                 "distribution of partnership distances")},
     &FormationParams::spread_km},
    {{"w_proximity", R::real, 1.0, 0, 20, "score", "weight of proximity exp(-distance / spread_km)",
      calibrated(0.2, 5, "positive: nearby schools meet more easily; no published size, and "
                 "the weights are identified only relative to each other and to the threshold")},
     &FormationParams::w_proximity},
    {{"w_complement", R::real, 1.0, 0, 20, "score per unit capacity",
      "weight of complementary capacity |c_i - c_j| (one has what the other lacks)",
      calibrated(0, 5, "non-negative: constructivist networks pair different strengths "
                 "(Muijs, West & Ainscow 2010); no published size")},
     &FormationParams::w_complement},
    {{"w_similar", R::real, 1.0, 0, 20, "score",
      "weight of similar intake (intake_similarity: 1 - |d_i - d_j| / 0.15, 0 beyond; families of schools)",
      calibrated(0, 5, "non-negative: schools with similar intakes learn from each other "
                 "(Ainscow, Muijs & West 2006); no published size")},
     &FormationParams::w_similar},
    {{"w_closure", R::real, 1.5, 0, 20, "score",
      "weight of a shared partner (triadic closure); only with social_capital in the pipeline",
      calibrated(0, 5, "non-negative: a shared partner makes a tie likelier (triadic closure: "
                 "Granovetter 1973; Burt 1992); no published size on this score")},
     &FormationParams::w_closure},
    {{"w_commitment", R::real, 2.0, 0, 20, "score",
      "weight of shared commitment m_i m_j; only with social_movement in the pipeline",
      calibrated(0, 6, "non-negative: movement networks form around shared values (Townsend "
                 "2013); no published size")},
     &FormationParams::w_commitment},
    {{"w_rivalry", R::real, 3.0, 0, 50, "score per unit rivalry",
      "how much rivalry (choice x catchment overlap) deters a tie",
      calibrated(0.5, 10, "positive: the market limits collaboration (Muijs, West & Ainscow "
                 "2010; Townsend 2013); no published size: at 3 full rivalry outweighs a "
                 "neighbour's proximity three times over")},
     &FormationParams::w_rivalry},
    {{"commitment_shield", R::real, 0.7, 0, 1, "share",
      "share of rivalry's deterrence that shared commitment removes; only with social_movement",
      calibrated(0.2, 1, "committed schools put shared values before competition (Townsend "
                 "2013); no published share of rivalry they set aside")},
     &FormationParams::commitment_shield},
    {{"threshold", R::real, 2.0, -20, 20, "score",
      "a candidate is taken with probability logistic(score - threshold)",
      calibrated(0, 4, "fitted with search_rate to the number of ties per school; at 2, with "
                 "the default weights, about one search in three succeeds")},
     &FormationParams::threshold},
    {{"strength", R::real, 0.5, 0, 1, "[0,1]", "strength of a new voluntary tie",
      calibrated(0.2, 0.8, "new partnerships start with occasional joint work, below a "
                 "programme's funded tie (0.6); no published measure of tie strength on this "
                 "scale")},
     &FormationParams::strength},
    {{"trust", R::real, 0.4, 0, 1, "[0,1]", "starting trust of a new bonding tie",
      calibrated(0.2, 0.6, "partners start cautiously; no published measure of trust on this "
                 "scale")},
     &FormationParams::trust},
    {{"bridging_trust", R::real, 0.25, 0, 1, "[0,1]",
      "starting trust of a new bridging tie (across areas or phases)",
      calibrated(0.1, 0.4, "below a bonding tie's 0.4: bridging ties start with less trust "
                 "(Putnam 2000); no published size")},
     &FormationParams::bridging_trust},
    {{"closure_trust", R::real, 0.15, 0, 1, "[0,1]",
      "extra starting trust when the two schools share a partner; only with social_capital",
      calibrated(0, 0.3, "non-negative: closure builds trust (Coleman 1988); no published "
                 "size")},
     &FormationParams::closure_trust},
};

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

class Formation final : public MechanismWith<FormationParams> {
 public:
  Formation(const ParamTable<FormationParams>& t, std::span<const double> v, const PipelineInfo& pl)
      : MechanismWith(t, v, pl),
        closure_(pl.has("social_capital")),
        commitment_(pl.has("social_movement")) {}

  void step(const State& in, State&, const StepContext& ctx) override {
    const auto& p = params();
    const std::int32_t n = in.n_schools();
    const std::int32_t max_ties = p.max_ties;
    proposals_.clear();
    // Scratch for marking a school's partners, one per member of the team.
    marks_.resize(static_cast<std::size_t>(ctx.members()));
    if (closure_)
      for (auto& m : marks_) m.assign(static_cast<std::size_t>(n), 0);

    // Each school with free time proposes at most one partner, from the state
    // at the start of the term.
    ctx.collect(
        static_cast<std::size_t>(n), proposals_,
        [&](std::int32_t member, std::size_t begin, std::size_t end, auto& part) {
          std::vector<std::int32_t>& mark = marks_[static_cast<std::size_t>(member)];
          boost::random::uniform_int_distribution<std::int32_t> anyone(0, std::max(0, n - 1));
          for (auto i = static_cast<std::int32_t>(begin); i < static_cast<std::int32_t>(end); ++i) {
            if (in.ties.degree(i) >= max_ties) continue;
            Stream rng = ctx.stream(static_cast<std::uint64_t>(i));
            if (rng.uniform() >= p.search_rate) continue;
            if (closure_) {
              in.ties.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) {
                mark[static_cast<std::size_t>(j)] = i + 1;
              });
            }
            std::int32_t best = -1;
            double best_score = -1e300;
            bool best_closure = false;
            const auto reach = in.near.end(i) - in.near.begin(i);
            for (std::int32_t c = 0; c < p.candidates; ++c) {
              std::int32_t j;
              if (reach > 1 && rng.uniform() >= p.bridge_chance) {
                boost::random::uniform_int_distribution<std::int64_t> pick(in.near.begin(i) + 1,
                                                                           in.near.end(i) - 1);
                j = in.near.school[static_cast<std::size_t>(pick(rng))];
              } else {
                j = anyone(rng);
              }
              if (j == i || in.ties.degree(j) >= max_ties || in.ties.find(i, j) != TieStore::kNone)
                continue;
              bool shared = false;
              if (closure_) {
                in.ties.for_each_tie(j, [&](TieStore::Slot, std::int32_t q) {
                  shared = shared || mark[static_cast<std::size_t>(q)] == i + 1;
                });
              }
              const double score = score_of(in, p, i, j, shared);
              if (score > best_score) best_score = score, best = j, best_closure = shared;
            }
            if (best >= 0 && rng.uniform() < logistic(best_score - p.threshold))
              part.push_back({i, best, best_closure});
          }
        });

    // Proposals are taken in school order while both sides still have time
    // (counting the ties taken before them).
    TieChanges& ties = ctx.ties;
    for (const auto& pr : proposals_) {
      if (ties.degree(pr.a) >= max_ties || ties.degree(pr.b) >= max_ties) continue;
      if (ties.tied(pr.a, pr.b)) continue;
      const bool both_committed = commitment_ && in.commitment[pr.a] > kCommitted && in.commitment[pr.b] > kCommitted;
      double trust = bridging(in, pr.a, pr.b) ? p.bridging_trust : p.trust;
      if (pr.closure) trust = std::min(1.0, trust + p.closure_trust);
      ties.add({.a = std::min(pr.a, pr.b),
                .b = std::max(pr.a, pr.b),
                .strength = p.strength,
                .trust = trust,
                .kind = both_committed ? TieKind::movement : TieKind::voluntary,
                .activities = staff_development | shared_data},
               TieReason::search);
    }
  }

 private:
  struct Proposal {
    std::int32_t a, b;
    bool closure;
  };

  [[nodiscard]] double score_of(const State& in, const FormationParams& p, std::int32_t i, std::int32_t j, bool shared) const {
    const double dist = std::hypot(in.x[i] - in.x[j], in.y[i] - in.y[j]);
    double score = p.w_proximity * std::exp(-dist / p.spread_km) +
                   p.w_complement * std::abs(in.capacity[i] - in.capacity[j]) +
                   p.w_similar * intake_similarity(in.disadvantaged[i], in.disadvantaged[j]);
    if (closure_ && shared) score += p.w_closure;
    double deterrence = p.w_rivalry * in.near.rivalry_between(i, j);
    if (commitment_) {
      const double shared_commitment = in.commitment[i] * in.commitment[j];
      score += p.w_commitment * shared_commitment;
      deterrence *= 1.0 - p.commitment_shield * shared_commitment;
    }
    return score - deterrence;
  }

  bool closure_, commitment_;
  std::vector<Proposal> proposals_;
  std::vector<std::vector<std::int32_t>> marks_;
};

}  // namespace

MechanismInfo tie_formation_info() {
  MechanismInfo m;
  m.name = "tie_formation";
  m.family = "ties";
  m.summary =
      "Schools with free collaboration time look for partners, scoring candidates by proximity, "
      "complementary capacity and similar intake, a shared partner (with social_capital) and "
      "shared commitment (with social_movement), less rivalry.";
  m.phase = Phase::tie_formation;
  m.reads = {Field::capacity, Field::disadvantaged, Field::commitment, Field::x, Field::y,
             Field::area, Field::phase, Store::ties, Store::rivalry};
  m.writes = {Store::ties};
  m.params = kTable.specs();
  m.make = factory<Formation>(kTable);
  return m;
}

}  // namespace schoolsim::models
