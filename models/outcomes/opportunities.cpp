#include <algorithm>

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
};

class Opportunities final : public MechanismWith<OpportunityParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext&) override {
    for (std::int32_t i = 0; i < in.n_schools(); ++i)
      out.opportunity[i] = own_opportunity(params(), in.pupils[i], in.phase[i]);
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
      "Breadth of learning opportunities a school offers its pupils, growing with its size; "
      "partners' joint provision adds to it when collaboration is on.";
  m.cadence = Cadence::year;
  m.reads = {Field::pupils, Field::phase};
  m.writes = {Field::opportunity};
  m.params = kTable.specs();
  m.make = [](std::span<const double> v) { return std::make_unique<Opportunities>(kTable, v); };
  return m;
}

}  // namespace schoolsim::models
