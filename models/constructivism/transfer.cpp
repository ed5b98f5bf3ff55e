#include <algorithm>

#include "models/constructivism/constructivism.hpp"

namespace schoolsim::models {

namespace {

struct TransferParams {
  double alpha, c_half;
};

using R = ParamType;
const ParamTable<TransferParams> kTable = {
    {{"alpha", R::real, 0.05, 0, 1, "per term",
      "share of a stronger partner's capacity lead passed on per term over a tie of full strength "
      "and trust (alpha_T)",
      "stated reason: closes about half the gap over a three-year programme on a strong tie; "
      "Chapman & Muijs (2014) report gains after about two years"},
     &TransferParams::alpha},
    {{"c_half", R::real, 0.3, 0.001, 10, "[0,1]",
      "capacity at which a school absorbs half of what it could (absorptive capacity, c_1/2)",
      "Cohen & Levinthal (1990): learning needs prior knowledge"},
     &TransferParams::c_half},
};

class Transfer final : public MechanismWith<TransferParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext&) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      const double ci = in.capacity[i];
      double gain = 0;
      ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        gain += ties.strength[s] * ties.trust[s] * std::max(0.0, in.capacity[j] - ci);
      });
      out.capacity[i] = std::min(1.0, ci + p.alpha * gain * ci / (ci + p.c_half));
    }
  }
};

}  // namespace

MechanismInfo transfer_info() {
  MechanismInfo m;
  m.name = "transfer";
  m.family = "constructivism";
  m.summary =
      "Know-how moves along ties from stronger to weaker partners, in proportion to tie "
      "strength and trust and to the receiver's absorptive capacity.";
  m.cadence = Cadence::term;
  m.reads = {Field::capacity};
  m.writes = {Field::capacity};
  m.params = kTable.specs();
  m.make = [](std::span<const double> v) { return std::make_unique<Transfer>(kTable, v); };
  return m;
}

}  // namespace schoolsim::models
