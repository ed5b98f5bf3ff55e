#include <algorithm>

#include "sim/measures.hpp"
#include "models/outcomes/outcomes.hpp"
#include "models/school/school.hpp"

namespace schoolsim::models {

namespace {

struct ExpectationParams {
  double gain, trust_min;
};

using R = ParamType;
const ParamTable<ExpectationParams> kTable = {
    {{"gain", R::real, 0.2, 0, 5, "per pupil SD of the partner's lead",
      "yearly rise of expectations per pupil SD by which a trusted, similar partner does better",
      calibrated(0, 0.6, "non-negative: seeing a similar school do better raises expectations "
                 "(Ainscow, Muijs & West 2006); no published size: at 0.2 a partner 0.5 pupil "
                 "SD ahead raises expectations by up to 0.1 of their distance to 1 a year")},
     &ExpectationParams::gain},
    {{"trust_min", R::real, 0.5, 0, 1, "[0,1]",
      "trust below which a partner's results do not change expectations",
      calibrated(0.2, 0.8, "expectations rise only under certain conditions, trust among them "
                 "(Ainscow, Muijs & West 2006); no published trust level")},
     &ExpectationParams::trust_min},
};

class Expectations final : public MechanismWith<ExpectationParams> {
 public:
  using MechanismWith::MechanismWith;
  void step(const State& in, State& out, const StepContext&) override {
    const auto& p = params();
    const TieStore& ties = in.ties;
    for (std::int32_t i = 0; i < in.n_schools(); ++i) {
      double rise = 0;
      ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        if (ties.trust[s] < p.trust_min) return;
        const double similar = intake_similarity(in.disadvantaged[i], in.disadvantaged[j]);
        rise += ties.strength[s] * ties.trust[s] * similar * std::max(0.0, school_result(in, j) - school_result(in, i));
      });
      out.expectations[i] = std::clamp(in.expectations[i] + p.gain * rise * (1 - in.expectations[i]), 0.0, 1.0);
    }
  }
};

}  // namespace

MechanismInfo expectations_info() {
  MechanismInfo m;
  m.name = "expectations";
  m.family = "outcomes";
  m.summary =
      "Expectations rise when a trusted partner with a similar intake does better, and only "
      "then: ties as such do not raise them.";
  m.phase = Phase::yearly;
  m.reads = {Field::expectations, Field::disadvantaged, Field::attainment_dis, Field::attainment_adv,
             Store::ties};
  m.writes = {Field::expectations};
  m.params = kTable.specs();
  m.make = factory<Expectations>(kTable);
  return m;
}

}  // namespace schoolsim::models
