#include <algorithm>
#include <cmath>

#include "models/constructivism/constructivism.hpp"

namespace schoolsim::models {

namespace {

struct ConstructivismParams {
  double alpha, c_half, alpha_construct, eta, cost, lead_gain, brokerage_gain;
};

using R = ParamType;
const ParamTable<ConstructivismParams> kTable = {
    {{"alpha", R::real, 0.05, 0, 1, "per term",
      "share of a stronger partner's capacity lead passed on per term over a tie of full strength "
      "and trust (alpha_T)",
      "stated reason: closes about half the gap over a three-year programme on a strong tie; "
      "Chapman & Muijs (2014) report gains after about two years"},
     &ConstructivismParams::alpha},
    {{"c_half", R::real, 0.3, 0.001, 10, "[0,1]",
      "capacity at which a school absorbs half of what it could (absorptive capacity, c_1/2)",
      "Cohen & Levinthal (1990): learning needs prior knowledge"},
     &ConstructivismParams::c_half},
    {{"alpha_construct", R::real, 0.03, 0, 1, "per term",
      "rate at which partners make new knowledge together, per unit of tie strength x trust x "
      "both autonomies x difference of practice (alpha_K)",
      "Muijs, West & Ainscow (2010): co-construction needs agency and different practice"},
     &ConstructivismParams::alpha_construct},
    {{"eta", R::real, 0.05, 0, 1, "per term",
      "rate at which partners' practices grow alike (convergence)",
      "Lazer & Friedman (2007): dense networks use up their own diversity"},
     &ConstructivismParams::eta},
    {{"cost", R::real, 0.002, 0, 1, "capacity per term per unit strength",
      "leadership time a tie takes from the school (gamma)",
      "stated reason: a strong tie costs about 0.6% of capacity a year"},
     &ConstructivismParams::cost},
    {{"lead_gain", R::real, 1.0, 0, 10, "factor",
      "on a tie with a lead school, extra transfer from the leader (the led school learns "
      "1 + lead_gain times as fast, the leader nothing from the led)",
      "Chapman & Muijs (2014): in performance federations the strong school leads improvement"},
     &ConstructivismParams::lead_gain},
    {{"brokerage_gain", R::real, 0.5, 0, 10, "factor",
      "extra co-construction of a school spanning structural holes, per unit brokerage; only "
      "with social_capital in the pipeline",
      "Burt (1992, 2004): brokers see more good ideas"},
     &ConstructivismParams::brokerage_gain},
};

class Constructivism final : public MechanismWith<ConstructivismParams> {
 public:
  Constructivism(const ParamTable<ConstructivismParams>& t, std::span<const double> v, const PipelineInfo& pl)
      : MechanismWith(t, v, pl), brokerage_(pl.has("social_capital")) {}

  void step(const State& in, State& out, const StepContext&) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    const Eigen::Index k = in.practice_dims();
    const bool construct_on = p.alpha_construct > 0, converge_on = p.eta > 0;
    Eigen::VectorXd pull(k);
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      const double ci = in.capacity[i];
      double transfer = 0, construct = 0, strength = 0;
      pull.setZero();
      ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        const double wt = ties.strength[s] * ties.trust[s];
        double lead = 1.0;
        if (ties.lead[s] != TieLead::none) {
          const bool i_leads = (ties.lead[s] == TieLead::a) == (ties.a[s] == i);
          lead = i_leads ? 0.0 : 1.0 + p.lead_gain;
        }
        transfer += lead * wt * std::max(0.0, in.capacity[j] - ci);
        if (construct_on)
          construct += wt * in.autonomy[i] * in.autonomy[j] * (in.practice.col(i) - in.practice.col(j)).norm();
        if (converge_on) pull += ties.strength[s] * (in.practice.col(j) - in.practice.col(i));
        strength += ties.strength[s];
      });
      const double broker = brokerage_ ? 1.0 + p.brokerage_gain * in.brokerage[i] : 1.0;
      const double next = ci + p.alpha * transfer * ci / (ci + p.c_half) +
                          p.alpha_construct * broker * construct * (1.0 - ci) - p.cost * strength;
      out.capacity[i] = std::clamp(next, 0.0, 1.0);
      if (!converge_on) continue;
      Eigen::VectorXd pi = in.practice.col(i) + p.eta * pull;
      const double norm = pi.norm();
      out.practice.col(i) = norm > 0 ? Eigen::VectorXd(pi / norm) : Eigen::VectorXd(in.practice.col(i));
    }
  }

 private:
  bool brokerage_;
};

}  // namespace

MechanismInfo constructivism_info() {
  MechanismInfo m;
  m.name = "constructivism";
  m.family = "constructivism";
  m.summary =
      "Along ties, know-how moves from stronger to weaker partners (absorptive capacity), partners "
      "with agency and different practice make new knowledge together, practices converge, and "
      "every tie costs leadership time.";
  m.cadence = Cadence::term;
  m.reads = {Field::capacity, Field::autonomy, Field::practice, Field::brokerage};
  m.writes = {Field::capacity, Field::practice};
  m.params = kTable.specs();
  m.make = [](std::span<const double> v, const PipelineInfo& pl) {
    return std::make_unique<Constructivism>(kTable, v, pl);
  };
  return m;
}

}  // namespace schoolsim::models
