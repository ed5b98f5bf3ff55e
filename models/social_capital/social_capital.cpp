#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "models/social_capital/social_capital.hpp"

namespace schoolsim::models {

namespace {

// x with its bits and-ed with keep (all ones or all zeros). By memcpy, not
// std::bit_cast, since the web build's libc++ (emscripten 3.1.6) has none;
// the compiler makes the same two moves of a register either way.
double masked(double x, std::uint64_t keep) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  bits &= keep;
  double out = 0;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

}  // namespace

void build_adjacency(const State& s, Adjacency& adj, const Team& team) {
  const auto n = static_cast<std::size_t>(s.n_schools());
  const TieStore& t = s.ties;
  adj.offsets.resize(n + 1);
  adj.offsets[0] = 0;
  for (std::size_t i = 0; i < n; ++i) adj.offsets[i + 1] = adj.offsets[i] + t.degree(static_cast<std::int32_t>(i));
  adj.partner.resize(static_cast<std::size_t>(adj.offsets[n]));
  adj.strength.resize(adj.partner.size());
  adj.total.assign(n, 0.0);
  adj.fill.assign(adj.offsets.begin(), adj.offsets.end() - 1);
  // Each part of the schools walks the ties in slot order and fills its own
  // schools' rows and totals: every row, and every total's sum, is in slot
  // order, whatever the parts.
  const auto parts = static_cast<std::size_t>(team.threads());
  const std::size_t bound = t.slot_bound();
  const auto add = [&adj](std::int32_t i, std::int32_t j, double w) {
    const auto at = static_cast<std::size_t>(adj.fill[static_cast<std::size_t>(i)]++);
    adj.partner[at] = j, adj.strength[at] = w;
    adj.total[static_cast<std::size_t>(i)] += w;
  };
  team.for_chunks(parts, 1, [&](std::int32_t, std::size_t part, std::size_t) {
    const auto lo = static_cast<std::int32_t>(n * part / parts), hi = static_cast<std::int32_t>(n * (part + 1) / parts);
    for (TieStore::Slot slot = 0; slot < bound; ++slot) {
      if (!t.alive[slot]) continue;
      const std::int32_t a = t.a[slot], b = t.b[slot];
      const double w = t.strength[slot];
      if (a >= lo && a < hi) add(a, b, w);
      if (b >= lo && b < hi) add(b, a, w);
    }
  });
}

Adjacency adjacency(const State& s) {
  Adjacency adj;
  build_adjacency(s, adj, lone_team());
  return adj;
}

double burt_constraint(const Adjacency& adj, std::int32_t i, std::vector<double>& mark) {
  const auto ui = static_cast<std::size_t>(i);
  const double total = adj.total[ui];
  if (total <= 0) return 0.0;
  const auto begin = static_cast<std::size_t>(adj.offsets[ui]), end = static_cast<std::size_t>(adj.offsets[ui + 1]);
  for (std::size_t e = begin; e < end; ++e) mark[static_cast<std::size_t>(adj.partner[e])] = adj.strength[e] / total;
  double constraint = 0;
  for (std::size_t e = begin; e < end; ++e) {
    const auto j = static_cast<std::size_t>(adj.partner[e]);
    // Sum over q, partners of both i and j, of p_iq p_qj (p_qj over q's ties).
    // Without a branch: whether q is also i's partner is a coin toss for the
    // branch predictor. mark[i] is 0 (no school is its own partner), and a
    // term whose p_iq is 0 is masked to +0 (bits, since the compiler turns a
    // select back into a branch), so the sum is the same, bit for bit, as
    // adding only the common partners' terms (a partner with no strength at
    // all gives 0 / 0, which the mask drops too).
    double indirect = 0;
    for (auto f = static_cast<std::size_t>(adj.offsets[j]); f < static_cast<std::size_t>(adj.offsets[j + 1]); ++f) {
      const auto q = static_cast<std::size_t>(adj.partner[f]);
      const double p_iq = mark[q];
      const double term = p_iq * adj.strength[f] / adj.total[q];
      const std::uint64_t keep = 0 - static_cast<std::uint64_t>(p_iq > 0);
      indirect += masked(term, keep);
    }
    const double direct = mark[j];
    constraint += (direct + indirect) * (direct + indirect);
  }
  for (std::size_t e = begin; e < end; ++e) mark[static_cast<std::size_t>(adj.partner[e])] = 0;
  return constraint;
}

namespace {

struct SocialCapitalParams {
  double trust_growth, trust_decay, rivalry_decay, facilitation_gain;
};

using R = ParamType;
const ParamTable<SocialCapitalParams> kTable = {
    {{"trust_growth", R::real, 0.08, 0, 1, "per term",
      "growth of trust with two-way exchange, toward 1",
      calibrated(0.02, 0.2, "trust is built by reciprocal exchange (Putnam 2000; Muijs, West "
                 "& Ainscow 2010) over a year or more: at 0.08 a term a tie closes half its "
                 "distance to full trust in about 8 terms; no published rate")},
     &SocialCapitalParams::trust_growth},
    {{"trust_decay", R::real, 0.02, 0, 1, "per term", "decay of trust without exchange",
      calibrated(0.005, 0.1, "trust fades without exchange, with no published rate: at 0.02 a "
                 "term it halves in about 34 terms (11 years); the prior spans 2 to 45 years")},
     &SocialCapitalParams::trust_decay},
    {{"rivalry_decay", R::real, 0.05, 0, 1, "per term per unit rivalry",
      "extra decay of trust between rivals (schools competing for the same families)",
      calibrated(0, 0.2, "non-negative: competition undermines trust (Townsend 2013); no "
                 "published size")},
     &SocialCapitalParams::rivalry_decay},
    {{"facilitation_gain", R::real, 1.0, 0, 10, "factor",
      "extra trust growth on ties of a facilitated network, per unit facilitation",
      calibrated(0, 3, "non-negative: the Networked Learning Communities funded facilitators "
                 "to build trust (Townsend 2013); no published size: at 1 full facilitation "
                 "doubles trust growth")},
     &SocialCapitalParams::facilitation_gain},
};

class SocialCapital final : public MechanismWith<SocialCapitalParams> {
 public:
  using MechanismWith::MechanismWith;

  void step(const State& in, State& out, const StepContext& ctx) override {
    // Brokerage, from the ties' strengths and degrees at the start of the phase.
    // Scratch for burt_constraint, one per member of the team (left all zero).
    marks_.resize(static_cast<std::size_t>(ctx.members()));
    for (auto& m : marks_) m.resize(static_cast<std::size_t>(in.n_schools()), 0.0);
    build_adjacency(in, adj_, ctx.team ? *ctx.team : lone_team());
    const Adjacency& adj = adj_;
    ctx.for_chunks(static_cast<std::size_t>(in.n_schools()), [&](std::int32_t member, std::size_t b,
                                                                 std::size_t e) {
      std::vector<double>& mark = marks_[static_cast<std::size_t>(member)];
      for (auto i = static_cast<std::int32_t>(b); i < static_cast<std::int32_t>(e); ++i) {
        out.brokerage[i] = in.ties.degree(i) == 0
                               ? 0.0
                               : std::clamp(1.0 - burt_constraint(adj, i, mark), 0.0, 1.0);
      }
    });
    // Freed, for the arrays below and the mechanisms after this one to reuse,
    // rather than held between terms (about 3 MB at England scale).
    adj_ = Adjacency();
    marks_.clear();
    // The new trust of every tie, from the trust at the start of the phase,
    // handed over to the phase's changes.
    const TieStore& ties = in.ties;
    std::vector<double> trust(ties.slot_bound());
    // The schools of a tie some way ahead are known: what next_trust reads of
    // them (autonomy, crisis, the start of a's neighbour row) is fetched while
    // this tie's arithmetic runs (hints only; they change no value).
    const Neighbours& near = in.near;
    const bool rows = !near.offsets.empty();
    ctx.for_chunks(ties.slot_bound(), [&](std::int32_t, std::size_t begin, std::size_t end) {
      for (auto s = static_cast<TieStore::Slot>(begin); s < end; ++s) {
        if (s + kFar < end && ties.alive[s + kFar]) {
          const auto a = static_cast<std::size_t>(ties.a[s + kFar]);
          const auto b = static_cast<std::size_t>(ties.b[s + kFar]);
          __builtin_prefetch(in.autonomy.data() + a);
          __builtin_prefetch(in.crisis.data() + a);
          __builtin_prefetch(in.autonomy.data() + b);
          __builtin_prefetch(in.crisis.data() + b);
          if (rows) __builtin_prefetch(near.offsets.data() + a);
        }
        if (rows && s + kNear < end && ties.alive[s + kNear]) {
          const auto e =
              static_cast<std::size_t>(near.offsets[static_cast<std::size_t>(ties.a[s + kNear])]);
          __builtin_prefetch(near.school.data() + e);
          __builtin_prefetch(near.rivalry.data() + e);
        }
        if (ties.alive[s]) trust[s] = next_trust(in, s);
      }
    });
    ctx.ties.set_trust_all(std::move(trust));
  }

 private:
  [[nodiscard]] double next_trust(const State& in, TieStore::Slot s) const {
    const auto& p = params();
    const TieStore& ties = in.ties;
    const std::int32_t a = ties.a[s], b = ties.b[s];
    // Two-way exchange: both partners must bring agency and time.
    const double give_a = in.autonomy[a] * (1 - in.crisis[a]);
    const double give_b = in.autonomy[b] * (1 - in.crisis[b]);
    const double exchange = ties.strength[s] * std::min(give_a, give_b);
    const std::int32_t net = ties.network[s];
    const double facilitation =
        net >= 0 ? in.networks.facilitation[static_cast<std::size_t>(net)] : 0.0;
    const double tau = ties.trust[s];
    const double next =
        tau + p.trust_growth * (1 + p.facilitation_gain * facilitation) * exchange * (1 - tau) -
        p.trust_decay * (1 - exchange) * tau -
        p.rivalry_decay * in.near.rivalry_between(a, b) * tau;
    return std::clamp(next, 0.0, 1.0);
  }

  // How far ahead the trust loop fetches a tie's schools, and their rows.
  static constexpr TieStore::Slot kFar = 16, kNear = 8;
  std::vector<std::vector<double>> marks_;
  Adjacency adj_;  // built each term, freed after use
};

}  // namespace

MechanismInfo social_capital_info() {
  MechanismInfo m;
  m.name = "social_capital";
  m.family = "social_capital";
  m.summary =
      "Trust grows with two-way exchange, faster in facilitated networks, and decays without it "
      "or between rivals; brokerage (1 - Burt's constraint) rewards schools spanning structural "
      "holes; with it on, tie formation favours partners' partners.";
  m.phase = Phase::interaction;
  // Trust grows with joint work and facilitation and is eroded by rivalry.
  m.reads = {Field::autonomy, Field::crisis, Store::ties, Store::rivalry, Store::networks};
  m.writes = {Field::brokerage, Store::ties};
  m.params = kTable.specs();
  m.make = factory<SocialCapital>(kTable);
  return m;
}

}  // namespace schoolsim::models
