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
      calibrated(0.01, 0.15, "gains from school-to-school support show after two to four "
                 "years (Chapman, Muijs & MacAllister 2011); no published rate of transfer: "
                 "at 0.05 a term, with the absorptive factor about 0.6, a tie of full "
                 "strength and trust closes about a quarter of the capacity gap in three "
                 "years")},
     &ConstructivismParams::alpha},
    {{"c_half", R::real, 0.3, 0.001, 10, "[0,1]",
      "capacity at which a school absorbs half of what it could (absorptive capacity, c_1/2)",
      calibrated(0.1, 1, "learning needs prior knowledge (Cohen & Levinthal 1990); no "
                 "published value on this scale: at 0.3 a school of capacity 0.3 absorbs half "
                 "of what it could")},
     &ConstructivismParams::c_half},
    {{"alpha_construct", R::real, 0.03, 0, 1, "per term",
      "rate at which partners make new knowledge together, per unit of tie strength x trust x "
      "both autonomies x difference of practice (alpha_K)",
      calibrated(0, 0.1, "co-construction needs agency and different practice (Muijs, West & "
                 "Ainscow 2010); no published rate: the prior runs from none to twice alpha "
                 "(0.05), the rate of transfer from a stronger partner")},
     &ConstructivismParams::alpha_construct},
    {{"eta", R::real, 0.05, 0, 1, "per term",
      "rate at which partners' practices grow alike (convergence)",
      calibrated(0.01, 0.2, "positive: partners' practices grow alike, so dense networks use "
                 "up their own diversity (Lazer & Friedman 2007); no published rate")},
     &ConstructivismParams::eta},
    {{"cost", R::real, 0.002, 0, 1, "capacity per term per unit strength",
      "leadership time a tie takes from the school (gamma)",
      calibrated(0, 0.01, "ties take leadership time (Muijs, West & Ainscow 2010), with no "
                 "published figure: at 0.002 a term a tie of full strength costs 0.6% of "
                 "capacity a year")},
     &ConstructivismParams::cost},
    {{"lead_gain", R::real, 1.0, 0, 10, "factor",
      "on a tie with a lead school, extra transfer from the leader (the led school learns "
      "1 + lead_gain times as fast, the leader nothing from the led)",
      calibrated(0, 3, "in performance federations the strong school leads improvement "
                 "(Chapman & Muijs 2014); no published size: at 1 the led school learns twice "
                 "as fast")},
     &ConstructivismParams::lead_gain},
    {{"brokerage_gain", R::real, 0.5, 0, 10, "factor",
      "extra co-construction of a school spanning structural holes, per unit brokerage; only "
      "with social_capital in the pipeline",
      calibrated(0, 2, "non-negative: brokers see more good ideas (Burt 1992, 2004); no "
                 "published size on this scale")},
     &ConstructivismParams::brokerage_gain},
};

class Constructivism final : public MechanismWith<ConstructivismParams> {
 public:
  Constructivism(const ParamTable<ConstructivismParams>& t, std::span<const double> v, const PipelineInfo& pl)
      : MechanismWith(t, v, pl), brokerage_(pl.has("social_capital")) {}

  // Tie by tie, in slot order (a fixed order, so results are reproducible):
  // each tie adds to both of its schools' sums, reading only the state at the
  // start of the term. This walks the tie arrays in memory order instead of
  // chasing each school's list.
  void step(const State& in, State& out, const StepContext&) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    const auto n = static_cast<Eigen::Index>(in.n_schools());
    const bool construct_on = p.alpha_construct > 0, converge_on = p.eta > 0;
    transfer_.setZero(n);
    construct_.setZero(n);
    strength_.setZero(n);
    if (converge_on) pull_.setZero(in.practice.rows(), n);
    const double lead_factor = 1.0 + p.lead_gain;
    for (TieStore::Slot s = 0; s < ties.slot_bound(); ++s) {
      if (!ties.alive[s]) continue;
      const std::int32_t a = ties.a[s], b = ties.b[s];
      const double w = ties.strength[s], wt = w * ties.trust[s];
      const double ca = in.capacity[a], cb = in.capacity[b];
      // On a led tie, only the led school learns, and faster.
      const TieLead lead = ties.lead[s];
      const double to_a = lead == TieLead::none ? 1.0 : lead == TieLead::b ? lead_factor : 0.0;
      const double to_b = lead == TieLead::none ? 1.0 : lead == TieLead::a ? lead_factor : 0.0;
      transfer_[a] += to_a * wt * std::max(0.0, cb - ca);
      transfer_[b] += to_b * wt * std::max(0.0, ca - cb);
      strength_[a] += w;
      strength_[b] += w;
      if (construct_on) {
        const double made = wt * in.autonomy[a] * in.autonomy[b] * (in.practice.col(a) - in.practice.col(b)).norm();
        construct_[a] += made;
        construct_[b] += made;
      }
      if (converge_on) {
        pull_.col(a) += w * (in.practice.col(b) - in.practice.col(a));
        pull_.col(b) += w * (in.practice.col(a) - in.practice.col(b));
      }
    }
    const Eigen::ArrayXd& c = in.capacity;
    Eigen::ArrayXd broker = Eigen::ArrayXd::Ones(n);
    if (brokerage_) broker += p.brokerage_gain * in.brokerage;
    out.capacity = (c + p.alpha * transfer_ * c / (c + p.c_half) +
                    p.alpha_construct * broker * construct_ * (1.0 - c) - p.cost * strength_)
                       .max(0.0)
                       .min(1.0);
    if (!converge_on) return;
    // One vector reused for every school (a fresh one per school cost a heap
    // allocation and two copies each); the same arithmetic on the same type.
    pi_.resize(in.practice.rows());
    for (Eigen::Index i = 0; i < n; ++i) {
      pi_ = in.practice.col(i) + p.eta * pull_.col(i);
      const double norm = pi_.norm();
      if (norm > 0)
        out.practice.col(i) = pi_ / norm;
      else
        out.practice.col(i) = in.practice.col(i);
    }
  }

 private:
  bool brokerage_;
  // Per-school sums, reused from term to term.
  Eigen::ArrayXd transfer_, construct_, strength_;
  Eigen::MatrixXd pull_;
  Eigen::VectorXd pi_;
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
  m.make = factory<Constructivism>(kTable);
  return m;
}

}  // namespace schoolsim::models
