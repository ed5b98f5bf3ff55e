// Throughput of the term loop at England scale: 24,000 schools in 150 areas,
// about 8 ties each, 90 terms (30 years) of the skeleton pipeline.
// Prints school-terms per second. Run: bash tools/dev bench
#include <benchmark/benchmark.h>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/simulation.hpp"

using namespace schoolsim;

namespace {

Scenario england() {
  const char* text = R"(
years: 30
world: {schools: 24000, areas: 150, initial_ties_per_school: 8}
pipeline: [crises, constructivism, turnover, attainment]
record: {every: year}
)";
  auto r = parse_scenario(text, "bench.yaml", models::registry());
  if (!r.scenario) throw std::runtime_error(r.errors.at(0).str());
  return *r.scenario;
}

void BM_EnglandTerms(benchmark::State& bs) {
  const Scenario sc = england();
  const State world = generate_world(sc, models::registry(), 0);
  std::int64_t school_terms = 0;
  for (auto _ : bs) {
    bs.PauseTiming();
    Simulation sim(sc, models::registry(), 0, world);
    bs.ResumeTiming();
    while (!sim.finished()) sim.step();
    benchmark::DoNotOptimize(sim.state().capacity.data());
    school_terms += static_cast<std::int64_t>(sc.terms()) * world.n_schools();
  }
  bs.counters["schools"] = world.n_schools();
  bs.counters["mean_degree"] = 2.0 * static_cast<double>(world.ties.size()) / world.n_schools();
  bs.counters["school_terms_per_s"] =
      benchmark::Counter(static_cast<double>(school_terms), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EnglandTerms)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The whole replicate as a user runs it, recording included (no file I/O).
void BM_EnglandReplicate(benchmark::State& bs) {
  const Scenario sc = england();
  for (auto _ : bs) {
    Recording rec = run_replicate(sc, models::registry(), 0, {});
    benchmark::DoNotOptimize(rec.series.data());
  }
  bs.counters["school_terms_per_s"] = benchmark::Counter(
      static_cast<double>(sc.terms()) * 24000.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EnglandReplicate)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The constructivist transfer step alone (co-construction, convergence and
// cost off), against a hand-written loop over the same tie arrays.
State transfer_world() {
  static const State world = [] {
    Scenario sc = england();
    return generate_world(sc, models::registry(), 0);
  }();
  return world;
}

void BM_TransferMechanism(benchmark::State& bs) {
  const State in = transfer_world();
  State out = in;
  const MechanismInfo& info = *models::registry().find("constructivism");
  auto values = defaults(info.params);
  for (const char* off : {"alpha_construct", "eta", "cost"})
    values[static_cast<std::size_t>(param_index(info.params, off))] = 0;
  auto m = info.make(values, {});
  const Streams streams(1, 0);
  TieChanges changes(in.ties);
  const StepContext ctx{Clock{0}, streams, stream_key("constructivism"), changes};
  for (auto _ : bs) {
    m->step(in, out, ctx);
    benchmark::DoNotOptimize(out.capacity.data());
  }
  bs.counters["ties"] = static_cast<double>(in.ties.size());
}
BENCHMARK(BM_TransferMechanism)->Unit(benchmark::kMicrosecond);

void BM_TransferHandLoop(benchmark::State& bs) {
  const State in = transfer_world();
  const TieStore& t = in.ties;
  Eigen::ArrayXd gain(in.n_schools()), out(in.n_schools());
  const double alpha = 0.05, c_half = 0.3;
  for (auto _ : bs) {
    gain.setZero();
    for (std::size_t s = 0; s < t.slot_bound(); ++s) {
      if (!t.alive[s]) continue;
      const double wt = t.strength[s] * t.trust[s];
      const double ca = in.capacity[t.a[s]], cb = in.capacity[t.b[s]];
      gain[t.a[s]] += wt * std::max(0.0, cb - ca);
      gain[t.b[s]] += wt * std::max(0.0, ca - cb);
    }
    out = (in.capacity + alpha * gain * in.capacity / (in.capacity + c_half)).min(1.0);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_TransferHandLoop)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
