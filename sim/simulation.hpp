// The term/year loop (docs/ODD.md, process overview) over a pipeline of mechanisms.
#pragma once

#include <array>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "sim/parallel.hpp"
#include "sim/recording.hpp"
#include "sim/registry.hpp"
#include "sim/scenario.hpp"
#include "sim/state.hpp"

namespace schoolsim {

// One replicate of a scenario, stepped one term at a time.
class Simulation {
 public:
  Simulation(const Scenario& scenario, const Registry& registry, std::int32_t replicate);
  // Starts from a given state instead of a generated world (tests, restarts):
  // after `terms_done` terms, with the timeline's earlier changes applied.
  // `key_salt` changes every mechanism's stream key (the world's burn-in draws
  // from streams of its own).
  Simulation(const Scenario& scenario, const Registry& registry, std::int32_t replicate,
             State initial, std::int32_t terms_done = 0, std::uint32_t key_salt = 0);

  // Simulates the next term: the phases of the process overview in order
  // (docs/ODD.md, section 3), each mechanism of a phase in the order listed.
  void step();

  [[nodiscard]] const State& state() const { return state_; }
  // Hands over the current state without copying it; the simulation cannot
  // be stepped afterwards.
  State release_state() {
    scratch_ = State();
    return std::move(state_);
  }
  [[nodiscard]] std::int32_t terms_done() const { return terms_done_; }
  [[nodiscard]] bool finished() const { return terms_done_ >= scenario_.terms(); }
  // Tie events of the last step.
  [[nodiscard]] const std::vector<TieEvent>& last_events() const { return events_; }
  // The threads the mechanisms' loops run on from the next step (none: the
  // calling thread alone). The results do not depend on it.
  void use_team(const Team* team) { team_ = team; }

 private:
  void apply_timeline(const Clock& clock);
  void run_phase(Phase phase, const Clock& clock);
  void run_mechanism(std::size_t i, const Clock& clock);

  const Scenario& scenario_;
  Streams streams_;
  State state_, scratch_;
#ifdef SCHOOLSIM_CHECKS
  State input_;  // what a mechanism reads in checked builds: the state, undeclared inputs NaN
#endif
  // The scenario's pipeline, then the mechanisms that run in every pipeline.
  std::vector<const MechanismInfo*> infos_;
  // Each phase's mechanisms (indices into infos_), in pipeline order.
  std::array<std::vector<std::size_t>, kPhaseNames.size()> phases_;
  std::vector<std::unique_ptr<Mechanism>> mechanisms_;
  std::vector<std::uint32_t> keys_;
  std::vector<TieEvent> events_;
  // The ties' changes recorded by the mechanisms of the phase being run.
  TieChanges tie_changes_;
  const Team* team_ = nullptr;
  std::int32_t terms_done_ = 0;
};

// Builds the initial world of one replicate: the generator's draws, then
// `world.burn_in_years` years of the scenario's own school processes (the
// mechanisms marked burn_in: crises, staff turnover, attainment, opportunities),
// with no levers, market or ties acting, so that year 0 is at the model's
// stationary state and follows the scenario's own equations.
// `team`, when given, runs the burn-in's loops on its threads (same results).
State generate_world(const Scenario& scenario, const Registry& registry, std::int32_t replicate,
                     const Team* team = nullptr);

// What the mechanisms of a scenario (and its world generator) may know of its
// pipeline: the names of the mechanisms listed, their tables and their values.
PipelineInfo pipeline_info(const Scenario& scenario);

struct RunOptions {
  // Threads for the replicates (run_all runs that many at once).
  std::int32_t threads = 1;
  // Threads for the loops inside each replicate's steps (run_replicate and
  // continue_replicate; run_all sets it from `threads` when there are fewer
  // replicates than threads). The results do not depend on it.
  std::int32_t step_threads = 1;
  // Changes the scenario of one replicate before it runs (`--posterior`: its
  // parameters drawn from a calibration posterior).
  std::function<void(std::int32_t replicate, Scenario& scenario)> per_replicate;
  // Called from worker threads after each term of any replicate (must be thread-safe).
  std::function<void()> on_term;
  // When set to true, the run stops at the next term and throws Interrupted.
  const std::atomic<bool>* cancel = nullptr;
  // A second such flag: the thread pool's own, raised when another task failed
  // (sim/parallel.hpp). See with_stop.
  const std::atomic<bool>* stop = nullptr;

  [[nodiscard]] bool cancelled() const {
    return (cancel && cancel->load(std::memory_order_relaxed)) || (stop && stop->load(std::memory_order_relaxed));
  }
  // Called once the run has completed this many terms (checkpoints).
  std::int32_t checkpoint_term = -1;
  std::function<void(const State&, const Recording&)> on_checkpoint;
  // Where run_replicate sends each replicate's series and attainment rows as
  // they are recorded (OutputFile::row_sink), instead of holding them; the
  // Recording it returns is then `streamed`. run_all uses it only when the
  // replicates run one at a time, and run_replicate not with checkpoints
  // (a checkpoint holds the rows so far). Null: the rows are held.
  RowSink* rows = nullptr;
};

// `options` for a task of a pool: it also stops when the pool stops.
inline RunOptions with_stop(RunOptions options, const Stop& stop) {
  if (stop.caller()) options.cancel = stop.caller();
  options.stop = stop.own();
  return options;
}

// Runs one replicate to the end and returns what it recorded.
Recording run_replicate(const Scenario& scenario, const Registry& registry, std::int32_t replicate,
                        const RunOptions& options);

// Continues a replicate from a state after `terms_done` terms. With `so_far`
// (a restart) the recording continues; without it (a branch) a new recording
// starts from that state.
Recording continue_replicate(const Scenario& scenario, const Registry& registry, std::int32_t replicate,
                             State state, std::int32_t terms_done, std::optional<Recording> so_far,
                             const RunOptions& options);

// Runs every replicate of the scenario on up to options.threads threads and
// hands each Recording to `sink` in replicate order (0, 1, 2, ...), on the
// calling thread, so whatever the sink writes does not depend on the thread count.
void run_all(const Scenario& scenario, const Registry& registry, const RunOptions& options,
             const std::function<void(Recording&&)>& sink);

}  // namespace schoolsim
