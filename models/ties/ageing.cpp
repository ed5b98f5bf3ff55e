// Ties age a term at the end of every term: a process of the model itself, not
// a framework a scenario chooses, so it runs in every pipeline (docs/ODD.md,
// section 3, the record phase).

#include "models/ties/ties.hpp"

namespace schoolsim::models {

namespace {

class Ageing final : public Mechanism {
 public:
  void step(const State&, State&, const StepContext& ctx) override { ctx.ties.age_all(); }
  void set_param(std::size_t, double) override {}
};

}  // namespace

MechanismInfo tie_ageing_info() {
  MechanismInfo m;
  m.name = "tie_ageing";
  m.family = "ties";
  m.summary = "Every live tie ages by one term at the end of the term; it runs in every pipeline, listed or not.";
  m.phase = Phase::record;
  m.reads = {Store::ties};
  m.writes = {Store::ties};  // every live tie's age a term more, when the record phase ends
  m.in_default_pipeline = false;  // the kernel adds it to every pipeline
  m.every_pipeline = true;
  m.make = [](std::span<const double>, const PipelineInfo&) -> std::unique_ptr<Mechanism> {
    return std::make_unique<Ageing>();
  };
  return m;
}

}  // namespace schoolsim::models
