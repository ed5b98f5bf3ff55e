#include <algorithm>
#include <cmath>

#include "models/outcomes/outcomes.hpp"

namespace schoolsim::models {

namespace {

using R = ParamType;
const ParamTable<OpportunityParams> kTable = {
    {{"base", R::real, 0.3, 0, 1, "[0,1]", "breadth of opportunities of the smallest school",
      "stated reason: every school offers a core curriculum"},
     &OpportunityParams::base},
    {{"size_gain", R::real, 0.4, 0, 1, "[0,1]",
      "extra breadth a school of full size offers over the smallest",
      "stated reason: larger schools can staff more subjects, clubs and specialist provision"},
     &OpportunityParams::size_gain},
    {{"full_size_primary", R::real, 400, 1, 5000, "pupils",
      "primary roll at which breadth stops growing with size", "stated reason: two forms of entry"},
     &OpportunityParams::full_size_primary},
    {{"full_size_secondary", R::real, 1200, 1, 5000, "pupils",
      "secondary roll at which breadth stops growing with size",
      "stated reason: a sixth-form-sized secondary can staff a full option range"},
     &OpportunityParams::full_size_secondary},
    {{"joint_gain", R::real, 0.5, 0, 10, "per unit of partners' breadth",
      "how much joint provision with partners widens a school's opportunities: "
      "o = own + (1 - own)(1 - exp(-joint_gain x sum of w tau own_j over joint-provision ties))",
      "Ainscow, Muijs & West (2006): collaboration widens learning opportunities"},
     &OpportunityParams::joint_gain},
};

class Opportunities final : public MechanismWith<OpportunityParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext&) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      const double own = own_opportunity(p, in.pupils[i], in.phase[i]);
      double shared = 0;
      ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        if (ties.activities[s] & joint_provision)
          shared += ties.strength[s] * ties.trust[s] * own_opportunity(p, in.pupils[j], in.phase[j]);
      });
      out.opportunity[i] = own + (1 - own) * (1 - std::exp(-p.joint_gain * shared));
    }
  }
};

}  // namespace

double own_opportunity(const OpportunityParams& p, int pupils, int phase) {
  const double full = phase == 1 ? p.full_size_secondary : p.full_size_primary;
  return std::clamp(p.base + p.size_gain * std::min(1.0, pupils / full), 0.0, 1.0);
}

OpportunityParams default_opportunity_params() { return kTable.make({}); }

MechanismInfo opportunities_info() {
  MechanismInfo m;
  m.name = "opportunities";
  m.family = "outcomes";
  m.summary =
      "Breadth of learning opportunities open to a school's pupils: its own, growing with its "
      "size, widened by partners' breadth over ties with joint provision.";
  m.cadence = Cadence::year;
  m.reads = {Field::pupils, Field::phase};  // and ties with joint provision
  m.writes = {Field::opportunity};
  m.burn_in = true;
  m.params = kTable.specs();
  m.make = factory<Opportunities>(kTable);
  return m;
}

}  // namespace schoolsim::models
