#include <algorithm>
#include <cmath>

#include "models/social_capital/social_capital.hpp"

namespace schoolsim::models {

std::vector<double> tie_strength_totals(const State& s) {
  std::vector<double> totals(static_cast<std::size_t>(s.n_schools()), 0.0);
  s.ties.for_each([&](TieStore::Slot t) {
    totals[static_cast<std::size_t>(s.ties.a[t])] += s.ties.strength[t];
    totals[static_cast<std::size_t>(s.ties.b[t])] += s.ties.strength[t];
  });
  return totals;
}

double burt_constraint(const State& s, std::int32_t i, std::vector<double>& mark,
                       const std::vector<double>& totals) {
  const TieStore& ties = s.ties;
  const double total = totals[static_cast<std::size_t>(i)];
  if (total <= 0) return 0.0;
  // mark[j] = p_ij for i's partners.
  ties.for_each_tie(i, [&](TieStore::Slot t, std::int32_t j) { mark[static_cast<std::size_t>(j)] = ties.strength[t] / total; });
  double constraint = 0;
  ties.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) {
    // Sum over q, partners of both i and j, of p_iq p_qj (p_qj over q's ties).
    double indirect = 0;
    ties.for_each_tie(j, [&](TieStore::Slot t, std::int32_t q) {
      const double p_iq = q == i ? 0.0 : mark[static_cast<std::size_t>(q)];
      if (p_iq > 0) indirect += p_iq * ties.strength[t] / totals[static_cast<std::size_t>(q)];
    });
    const double direct = mark[static_cast<std::size_t>(j)];
    constraint += (direct + indirect) * (direct + indirect);
  });
  ties.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) { mark[static_cast<std::size_t>(j)] = 0; });
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
      "Putnam (2000); Muijs, West & Ainscow (2010): trust is built by reciprocal exchange"},
     &SocialCapitalParams::trust_growth},
    {{"trust_decay", R::real, 0.02, 0, 1, "per term", "decay of trust without exchange",
      "stated reason: trust fades over a few years of inactivity"},
     &SocialCapitalParams::trust_decay},
    {{"rivalry_decay", R::real, 0.05, 0, 1, "per term per unit rivalry",
      "extra decay of trust between rivals (schools competing for the same families)",
      "Townsend (2013): competition undermines trust"},
     &SocialCapitalParams::rivalry_decay},
    {{"facilitation_gain", R::real, 1.0, 0, 10, "factor",
      "extra trust growth on ties of a facilitated network, per unit facilitation",
      "Networked Learning Communities funded facilitators to build trust (Townsend 2013)"},
     &SocialCapitalParams::facilitation_gain},
};

class SocialCapital final : public MechanismWith<SocialCapitalParams> {
 public:
  using MechanismWith::MechanismWith;

  void step(const State& in, State& out, const StepContext&) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    ties.for_each([&](TieStore::Slot s) {
      const std::int32_t a = ties.a[s], b = ties.b[s];
      // Two-way exchange: both partners must bring agency and time.
      const double give_a = in.autonomy[a] * (1 - in.crisis[a]);
      const double give_b = in.autonomy[b] * (1 - in.crisis[b]);
      const double exchange = ties.strength[s] * std::min(give_a, give_b);
      const std::int32_t net = ties.network[s];
      const double facilitation = net >= 0 ? in.networks.facilitation[static_cast<std::size_t>(net)] : 0.0;
      const double tau = ties.trust[s];
      const double next = tau + p.trust_growth * (1 + p.facilitation_gain * facilitation) * exchange * (1 - tau) -
                          p.trust_decay * (1 - exchange) * tau -
                          p.rivalry_decay * in.near.rivalry_between(a, b) * tau;
      out.ties.trust[s] = std::clamp(next, 0.0, 1.0);
    });
    mark_.assign(static_cast<std::size_t>(in.n_schools()), 0.0);
    const auto totals = tie_strength_totals(in);
    for (std::int32_t i = 0; i < in.n_schools(); ++i)
      out.brokerage[i] =
          in.ties.degree(i) == 0 ? 0.0 : std::clamp(1.0 - burt_constraint(in, i, mark_, totals), 0.0, 1.0);
  }

 private:
  std::vector<double> mark_;
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
  m.cadence = Cadence::term;
  m.reads = {Field::autonomy, Field::crisis};
  m.writes = {Field::brokerage};
  m.writes_ties = true;
  m.params = kTable.specs();
  m.make = [](std::span<const double> v, const PipelineInfo& pl) {
    return std::make_unique<SocialCapital>(kTable, v, pl);
  };
  return m;
}

}  // namespace schoolsim::models
