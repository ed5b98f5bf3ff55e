#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <span>
#include <string_view>

#include "models/policy/policy.hpp"

namespace schoolsim::models {

std::vector<std::int32_t> weakest_schools(const State& s, double share) {
  std::vector<std::int32_t> out;
  for (int phase = 0; phase < 2; ++phase) {
    std::vector<std::int32_t> ranked;
    for (std::int32_t i = 0; i < s.n_schools(); ++i)
      if (s.phase[i] == phase) ranked.push_back(i);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](std::int32_t a, std::int32_t b) { return school_result(s, a) < school_result(s, b); });
    const auto take = static_cast<std::size_t>(std::floor(share * static_cast<double>(ranked.size())));
    out.insert(out.end(), ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(take));
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Whom a weak school is paired with: the nearest strong school of its area, a
// random school of the area, or the school of the area whose results are closest.
enum class PairingRule : std::uint8_t { weak_strong, random, similar };
constexpr std::array<std::string_view, 3> kPairingRuleNames = {"weak_strong", "random", "similar"};
constexpr std::span<const std::string_view> choice_names(PairingRule) { return kPairingRuleNames; }

struct FederationParams {
  std::int32_t year;
  double weak_share, strong_share, treated;
  PairingRule rule;
  double strength, trust;
  bool lead;
  double lead_margin;
};

using R = ParamType;
const ParamTable<FederationParams> kTable = {
    {{"year", R::integer, 2, 0, 200, "year (0 = first)",
      "year at whose end weak schools are paired (after that year's results)",
      "scenario choice: 2 leaves two years of results before the policy, so that treated and "
      "comparison schools can be compared before it"},
     &FederationParams::year},
    {{"weak_share", R::real, 0.1, 0, 0.5, "share",
      "schools in this bottom share of their phase's results are eligible as the weaker partner",
      "scenario choice: the policy's eligibility rule, the bottom 10% of each phase, as "
      "performance federations targeted struggling schools (Chapman & Muijs 2014)"},
     &FederationParams::weak_share},
    {{"strong_share", R::real, 0.3, 0, 1, "share",
      "schools in this top share of their phase's results may lead a federation",
      "scenario choice: the policy's rule for lead schools, the top 30% of each phase, as "
      "lead schools were judged good or outstanding"},
     &FederationParams::strong_share},
    {{"treated", R::real, 0.5, 0, 1, "share",
      "share of eligible weak schools that are paired; the rest are the matched comparison",
      "scenario choice: 0.5 treats half the eligible schools, giving a comparison group of "
      "the same size"},
     &FederationParams::treated},
    {{"rule", R::choice, choice_value(PairingRule::weak_strong), 0, 2, "weak_strong / random / similar",
      "pairing rule: with the nearest strong school, with a random school of the area, or with "
      "the school of the area whose results are closest (which may be another weak school)",
      "scenario choice: 0 (weak_strong), the performance federation that Chapman & Muijs "
      "(2014) compare with other kinds"},
     &FederationParams::rule},
    {{"strength", R::real, 1.0, 0, 1, "[0,1]", "strength of a federation tie",
      "scenario choice: 1, the top of the strength scale, since federations share governance "
      "and staff, the strongest kind of tie"},
     &FederationParams::strength},
    {{"trust", R::real, 0.3, 0, 1, "[0,1]", "starting trust of a federation tie",
      calibrated(0.1, 0.5, "a pairing arranged from outside starts with little trust, one "
                 "reason gains take two to four years (Chapman, Muijs & MacAllister 2011); no "
                 "published measure of trust on this scale")},
     &FederationParams::trust},
    {{"lead", R::boolean, 1, 0, 1, "true/false",
      "the stronger school leads the federation, where it really is stronger (lead_margin)",
      "scenario choice: true, the stronger school leads, as executive heads came from the "
      "lead school (Chapman & Muijs 2014)"},
     &FederationParams::lead},
    {{"lead_margin", R::real, 0.2, 0, 5, "pupil SD",
      "how much better a partner's results must be for it to lead; partners closer than this "
      "federate as equals",
      calibrated(0.05, 0.5,
                 "Chapman & Muijs (2014): performance federations pair a high-performing school "
                 "with a low-performing one, and the lead school's head becomes executive head; "
                 "the prior spans from a small to about one SD of schools' results")},
     &FederationParams::lead_margin},
};

class Federations final : public MechanismWith<FederationParams> {
 public:
  using MechanismWith::MechanismWith;

  // Arms (State::arm): eligible weak schools are drawn for pairing with chance
  // `treated`; those not drawn are the matched comparison. A drawn school that
  // finds no partner is reported as unmatched and belongs to neither group, so
  // that it cannot bias the comparison.
  enum Arm : int { not_eligible = 0, paired = 1, comparison = 2, unmatched = 3 };

  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    if (ctx.clock.year() != p.year) return;
    const std::int32_t n = in.n_schools();
    const auto weak = weakest_schools(in, p.weak_share);
    // The strong: top share of each phase.
    std::vector<std::uint8_t> strong(static_cast<std::size_t>(n), 0);
    for (int phase = 0; phase < 2; ++phase) {
      std::vector<std::int32_t> ranked;
      for (std::int32_t i = 0; i < n; ++i)
        if (in.phase[i] == phase) ranked.push_back(i);
      std::stable_sort(ranked.begin(), ranked.end(),
                       [&](std::int32_t a, std::int32_t b) { return school_result(in, a) > school_result(in, b); });
      const auto top = static_cast<std::size_t>(std::floor(p.strong_share * static_cast<double>(ranked.size())));
      for (std::size_t r = 0; r < top; ++r) strong[static_cast<std::size_t>(ranked[r])] = 1;
    }
    // Draw the arms first, so the comparison group is fixed before any pairing.
    std::vector<std::int32_t> drawn;
    std::vector<std::uint8_t> drawn_flag(static_cast<std::size_t>(n), 0);
    for (std::int32_t w : weak) {
      Stream rng = ctx.stream(static_cast<std::uint64_t>(w));
      const bool treat = rng.uniform() < p.treated;
      out.arm[w] = treat ? unmatched : comparison;  // unmatched until a partner is found
      if (treat) drawn.push_back(w), drawn_flag[static_cast<std::size_t>(w)] = 1;
    }
    // A comparison school for which the rule would have found no partner at
    // all (none of its area and phase qualifies) is unmatched too: the
    // comparison holds only schools that could have been paired.
    auto could_pair = [&](std::int32_t w) {
      for (std::int32_t j = 0; j < n; ++j) {
        if (j != w && in.area[j] == in.area[w] && in.phase[j] == in.phase[w] &&
            (p.rule != PairingRule::weak_strong || strong[static_cast<std::size_t>(j)]))
          return true;
      }
      return false;
    };
    for (std::int32_t w : weak)
      if (out.arm[w] == comparison && !could_pair(w)) out.arm[w] = unmatched;
    // Partners: never a comparison school, nor a school already federated
    // (counting the federations made so far: they wait in ctx.ties until the
    // phase ends).
    auto federated = [&](std::int32_t j) {
      bool any = false;
      in.ties.for_each_tie(j, [&](TieStore::Slot s, std::int32_t) {
        any = any || (in.ties.kind[s] == TieKind::federation && !ctx.ties.removed(s));
      });
      ctx.ties.for_each_added(j, [&](const NewTie& t) { any = any || t.kind == TieKind::federation; });
      return any;
    };
    // Eligible schools not drawn for pairing are never partners.
    auto available = [&](std::int32_t j) {
      const bool undrawn_weak = out.arm[j] != not_eligible && !drawn_flag[static_cast<std::size_t>(j)];
      return !undrawn_weak && out.arm[j] != paired && !federated(j);
    };
    const PairingRule rule = p.rule;
    for (std::int32_t w : drawn) {
      if (out.arm[w] == paired) continue;  // already chosen as another drawn school's partner
      Stream rng = ctx.stream(static_cast<std::uint64_t>(w));
      rng.uniform();  // the draw of its arm
      const double rw = school_result(in, w);
      std::int32_t best = -1;
      double best_score = 1e300;
      for (std::int32_t j = 0; j < n; ++j) {
        if (j == w || in.area[j] != in.area[w] || in.phase[j] != in.phase[w] || !available(j)) continue;
        if (rule == PairingRule::weak_strong && !strong[static_cast<std::size_t>(j)]) continue;
        double score = 0;
        if (rule == PairingRule::weak_strong) score = std::hypot(in.x[w] - in.x[j], in.y[w] - in.y[j]);
        if (rule == PairingRule::random) score = rng.uniform();
        if (rule == PairingRule::similar) score = std::abs(rw - school_result(in, j));
        if (score < best_score) best_score = score, best = j;
      }
      if (best < 0 || ctx.ties.tied(w, best)) continue;  // stays unmatched
      out.arm[w] = paired;
      if (out.arm[best] == unmatched) out.arm[best] = paired;  // a drawn weak school as the partner
      const std::int32_t a = std::min(w, best), b = std::max(w, best);
      // The lead goes only to a partner that really is stronger.
      TieLead lead = TieLead::none;
      const double gap = school_result(in, best) - rw;
      if (p.lead && std::abs(gap) >= p.lead_margin) {
        const std::int32_t leader = gap > 0 ? best : w;
        lead = leader == a ? TieLead::a : TieLead::b;
      }
      ctx.ties.add({.a = a,
                    .b = b,
                    .strength = p.strength,
                    .trust = p.trust,
                    .kind = TieKind::federation,
                    .lead = lead,
                    .activities = staff_development | staff_exchange | shared_data | shared_governance},
                   TieReason::federation);
    }
  }
};

}  // namespace

MechanismInfo federations_info() {
  MechanismInfo m;
  m.name = "federations";
  m.family = "policy";
  m.in_default_pipeline = false;
  m.summary =
      "School-to-school support: in a given year, a share of the weakest schools of each phase "
      "are paired (with the nearest strong school, at random, or by closest results) in "
      "federation ties of full strength, led by the partner that really is stronger; eligible "
      "schools not drawn are the matched comparison, and drawn schools that find no partner are "
      "reported as unmatched (State::arm) and kept out of both groups.";
  m.phase = Phase::yearly;
  m.reads = {Field::attainment_dis, Field::attainment_adv, Field::disadvantaged, Field::area,
             Field::phase, Field::x, Field::y, Field::arm, Store::ties};
  m.writes = {Field::arm, Store::ties};
  m.params = kTable.specs();
  m.make = factory<Federations>(kTable);
  return m;
}

}  // namespace schoolsim::models
