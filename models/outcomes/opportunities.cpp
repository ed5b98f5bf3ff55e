#include <algorithm>
#include <cmath>

#include "models/outcomes/outcomes.hpp"

namespace schoolsim::models {

namespace {

using R = ParamType;
const ParamTable<OpportunityParams> kTable = {
    {{"base", R::real, 0.3, 0, 1, "[0,1]", "breadth of opportunities of the smallest school",
      calibrated(0.1, 0.5, "every school offers the core curriculum; no published measure of "
                 "breadth on this scale")},
     &OpportunityParams::base},
    {{"size_gain", R::real, 0.4, 0, 1, "[0,1]",
      "extra breadth a school of full size offers over the smallest",
      calibrated(0.1, 0.7, "larger schools can staff more subjects, clubs and specialist "
                 "provision; no published measure of breadth on this scale")},
     &OpportunityParams::size_gain},
    {{"full_size_primary", R::real, 400, 1, 5000, "pupils",
      "primary roll at which breadth stops growing with size",
      calibrated(200, 630, "two forms of entry, 2 x 30 pupils x 7 year groups = 420 (infant "
                 "classes are limited to 30), staff a full primary offer; one to three forms "
                 "span 210 to 630; no published roll at which breadth stops growing")},
     &OpportunityParams::full_size_primary},
    {{"full_size_secondary", R::real, 1200, 1, 5000, "pupils",
      "secondary roll at which breadth stops growing with size",
      calibrated(600, 2000, "eight forms of 30 in years 7 to 11 (1,200 pupils) staff a full "
                 "option range; no published roll at which breadth stops growing")},
     &OpportunityParams::full_size_secondary},
    {{"joint_gain", R::real, 0.5, 0, 10, "per unit of partners' breadth",
      "how much joint provision with partners widens a school's opportunities: "
      "o = own + (1 - own)(1 - exp(-joint_gain x sum of w tau own_j over joint-provision ties))",
      calibrated(0, 2, "non-negative: collaboration widens learning opportunities (Ainscow, "
                 "Muijs & West 2006); no published size")},
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
OpportunityParams opportunity_params(const PipelineInfo& pipeline) {
  return kTable.make(pipeline.values_of("opportunities"));
}

MechanismInfo opportunities_info() {
  MechanismInfo m;
  m.name = "opportunities";
  m.family = "outcomes";
  m.summary =
      "Breadth of learning opportunities open to a school's pupils: its own, growing with its "
      "size, widened by partners' breadth over ties with joint provision.";
  m.phase = Phase::yearly;
  m.reads = {Field::pupils, Field::phase, Store::ties};  // ties with joint provision
  m.writes = {Field::opportunity};
  m.burn_in = true;
  m.params = kTable.specs();
  m.make = factory<Opportunities>(kTable);
  return m;
}

}  // namespace schoolsim::models
