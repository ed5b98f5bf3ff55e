#include <algorithm>
#include <cmath>

#include "models/durkheim/durkheim.hpp"

namespace schoolsim::models {

namespace {

struct DurkheimParams {
  double g0, regulation, anomie_turnover, anomie_expectations, withdrawal, over_regulation,
      autonomy_recovery, autonomy_baseline;
};

using R = ParamType;
const ParamTable<DurkheimParams> kTable = {
    {{"g0", R::real, 1.5, 0.01, 100, "tie strength",
      "summed tie strength at which integration reaches 1 - 1/e (g = 1 - exp(-sum w / g0))",
      calibrated(0.5, 4, "no published measure of integration: at 1.5 three ties of strength "
                 "0.5 give integration 1 - e^-1 = 0.63")},
     &DurkheimParams::g0},
    {{"regulation", R::real, 0.05, 0, 1, "per term",
      "rate at which expectations move toward the trust-weighted norm of partners (up or down)",
      calibrated(0.01, 0.2, "partners' norms regulate expectations (Durkheim, after Muijs, "
                 "West & Ainscow 2010); no published rate: at 0.05 a term expectations close "
                 "half the gap to the norm in about 14 terms")},
     &DurkheimParams::regulation},
    {{"anomie_turnover", R::real, 0.02, 0, 1, "capacity per term at anomie 1",
      "capacity lost to staff turnover in an isolated school under pressure",
      calibrated(0, 0.06, "non-negative: pressured, isolated schools lose staff (Daly & "
                 "Finnigan 2010); no published size on the capacity scale: at 0.02 full "
                 "anomie costs 6% of capacity a year")},
     &DurkheimParams::anomie_turnover},
    {{"anomie_expectations", R::real, 0.01, 0, 1, "per term at anomie 1",
      "fall of expectations in an isolated school under pressure",
      calibrated(0, 0.05, "non-negative: anomie lowers what staff believe pupils can achieve; "
                 "no published size")},
     &DurkheimParams::anomie_expectations},
    {{"withdrawal", R::real, 0.1, 0, 1, "per tie per term at anomie 1",
      "chance that an anomic school withdraws from each of its voluntary ties",
      calibrated(0, 0.3, "non-negative: under accountability pressure weak schools lose ties "
                 "(Daly & Finnigan 2010); no published rate")},
     &DurkheimParams::withdrawal},
    {{"over_regulation", R::real, 0.02, 0, 1, "autonomy per term",
      "loss of autonomy of an integrated school whose ties are mandated",
      calibrated(0, 0.06, "non-negative: mandated, dense networks over-regulate (Muijs, West "
                 "& Ainscow 2010); no published rate")},
     &DurkheimParams::over_regulation},
    {{"autonomy_recovery", R::real, 0.01, 0, 1, "per term", "rate at which autonomy returns to its baseline",
      calibrated(0.002, 0.05, "agency recovers slowly once pressure is off; no published "
                 "rate: at 0.01 a term half the loss returns in about 69 terms (23 years)")},
     &DurkheimParams::autonomy_recovery},
    {{"autonomy_baseline", R::real, 0.6, 0, 1, "[0,1]", "autonomy a school returns to",
      calibrated(0.3, 0.9, "equal to world.autonomy_mean, so that the world starts where "
                 "autonomy settles; calibrate the two together")},
     &DurkheimParams::autonomy_baseline},
};

class Durkheim final : public MechanismWith<DurkheimParams> {
 public:
  using MechanismWith::MechanismWith;

  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    ctx.for_each(in.n_schools(), [&](std::int32_t i) {
      double strength = 0, weight = 0, norm = 0, mandated = 0;
      ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        strength += ties.strength[s];
        const double wt = ties.strength[s] * ties.trust[s];
        weight += wt;
        norm += wt * in.expectations[j];
        const std::int32_t net = ties.network[s];
        if (net >= 0 && in.networks.entry[static_cast<std::size_t>(net)] == NetworkEntry::mandated)
          mandated += ties.strength[s];
      });
      const double g = 1.0 - std::exp(-strength / p.g0);
      const double anomie = (1.0 - g) * in.pressure[i];
      out.integration[i] = g;
      out.anomie[i] = anomie;
      double e = in.expectations[i] - p.anomie_expectations * anomie;
      if (weight > 0) e += p.regulation * (norm / weight - in.expectations[i]);
      out.expectations[i] = std::clamp(e, 0.0, 1.0);
      out.capacity[i] = std::clamp(in.capacity[i] - p.anomie_turnover * anomie * in.capacity[i], 0.0, 1.0);
      const double mandated_share = strength > 0 ? mandated / strength : 0.0;
      out.autonomy[i] = std::clamp(in.autonomy[i] + p.autonomy_recovery * (p.autonomy_baseline - in.autonomy[i]) -
                                       p.over_regulation * mandated_share * g,
                                   0.0, 1.0);
    });
    // Anomic schools withdraw from voluntary ties.
    withdrawn_.clear();
    ctx.collect(ties.slot_bound(), withdrawn_,
                [&](std::int32_t, std::size_t begin, std::size_t end, auto& part) {
                  for (auto s = static_cast<TieStore::Slot>(begin); s < end; ++s) {
                    if (!ties.alive[s] || ties.kind[s] != TieKind::voluntary) continue;
                    const double a =
                        std::max((1 - out.integration[ties.a[s]]) * in.pressure[ties.a[s]],
                                 (1 - out.integration[ties.b[s]]) * in.pressure[ties.b[s]]);
                    if (a <= 0) continue;
                    Stream rng = ctx.stream(ties.id[s]);
                    if (rng.uniform() < p.withdrawal * a) part.push_back(s);
                  }
                });
    for (auto s : withdrawn_) ctx.ties.remove(s, TieReason::withdrawal);
  }

 private:
  std::vector<TieStore::Slot> withdrawn_;
};

}  // namespace

MechanismInfo durkheim_info() {
  MechanismInfo m;
  m.name = "durkheim";
  m.family = "durkheim";
  m.summary =
      "Integration from tie strength; expectations regulated toward partners' trust-weighted "
      "norm; anomie (isolation under pressure) drives staff turnover, falling expectations and "
      "withdrawal from ties; mandated networks over-regulate autonomy.";
  m.phase = Phase::interaction;
  m.reads = {Field::expectations, Field::pressure, Field::capacity, Field::autonomy, Store::ties, Store::networks};
  m.writes = {Field::integration, Field::anomie, Field::expectations, Field::capacity, Field::autonomy, Store::ties};
  m.params = kTable.specs();
  m.make = factory<Durkheim>(kTable);
  return m;
}

}  // namespace schoolsim::models
