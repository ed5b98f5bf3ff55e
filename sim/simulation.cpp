#include "sim/simulation.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace schoolsim {

#ifdef SCHOOLSIM_CHECKS
constexpr bool kChecks = true;
namespace {

// Kernel checks (debug and sanitizer builds): a mechanism writes only what it
// declares, writes no NaN, and leaves the tie store consistent.
void check_step(const MechanismInfo& info, const State& before, const State& after, const TieStore& ties) {
  for (const auto& fi : kFields) {
    const bool declared = std::find(info.writes.begin(), info.writes.end(), fi.field) != info.writes.end();
    visit_field(before, fi.field, [&](const auto& b) {
      visit_field(after, fi.field, [&](const auto& a) {
        if constexpr (std::is_same_v<std::decay_t<decltype(a)>, std::decay_t<decltype(b)>>) {
          if (!declared && !(a.size() == b.size() && (a.array() == b.array()).all()))
            throw std::logic_error("mechanism '" + info.name + "' wrote '" + std::string(fi.name) +
                                   "', which it does not declare");
          if constexpr (!std::is_integral_v<typename std::decay_t<decltype(a)>::Scalar>)
            if (declared && a.hasNaN())
              throw std::logic_error("mechanism '" + info.name + "' wrote NaN to '" +
                                     std::string(fi.name) + "'");
        }
      });
    });
  }
  if (!info.writes_rivalry && after.near.rivalry != before.near.rivalry)
    throw std::logic_error("mechanism '" + info.name + "' wrote rivalry, which it does not declare");
  if (info.writes_ties) {
    const std::string problems = ties.check_invariants();
    if (!problems.empty())
      throw std::logic_error("mechanism '" + info.name + "' broke the tie store: " + problems);
  }
}

}  // namespace
#else
constexpr bool kChecks = false;
#endif

State generate_world(const Scenario& scenario, const Registry& registry, std::int32_t replicate) {
  State s;
  const Streams streams(scenario.seed, static_cast<std::uint32_t>(replicate));
  if (scenario.register_data)  // a world read from a school register (docs/DATA.md)
    registry.world().build_register(scenario.world, *scenario.register_data, streams, s);
  else
    registry.world().build(scenario.world, streams, s);
  const int at = param_index(registry.world().params, "burn_in_years");
  if (at < 0) return s;
  Scenario warm;
  warm.seed = scenario.seed;
  warm.years = static_cast<std::int32_t>(scenario.world[static_cast<std::size_t>(at)]);
  warm.world = scenario.world;
  for (const auto& entry : scenario.pipeline)
    if (entry.info->burn_in) warm.pipeline.push_back(entry);
  if (warm.years <= 0 || warm.pipeline.empty()) return s;
  Simulation sim(warm, registry, replicate, std::move(s), 0, stream_key("burn_in"));
  while (!sim.finished()) sim.step();
  s = sim.release_state();
  s.terms_done = 0;
  // The burn-in is before time begins: ties the world started with are new at year 0.
  s.ties.for_each([&](TieStore::Slot t) { s.ties.age[t] = 0; });
  return s;
}

Simulation::Simulation(const Scenario& scenario, const Registry& registry, std::int32_t replicate)
    : Simulation(scenario, registry, replicate, generate_world(scenario, registry, replicate)) {}

Simulation::Simulation(const Scenario& scenario, const Registry&, std::int32_t replicate,
                       State initial, std::int32_t terms_done, std::uint32_t key_salt)
    : scenario_(scenario),
      streams_(scenario.seed, static_cast<std::uint32_t>(replicate)),
      state_(std::move(initial)),
      terms_done_(terms_done) {
  state_.terms_done = terms_done;
  // The scratch state holds a column only while a mechanism writes it: each
  // step first copies in the columns, ties and rows its mechanism declares.
  // Mechanisms write only the rivalry column of the neighbour rows, which
  // are fixed: the scratch state does not need its own copy of them.
  scratch_.n_areas = state_.n_areas;
  scratch_.terms_done = state_.terms_done;
  PipelineInfo pipeline;
  for (const auto& entry : scenario.pipeline) {
    pipeline.names.push_back(entry.info->name);
    pipeline.specs.push_back(entry.info->params);
    pipeline.values.push_back(entry.values);
  }
  for (const auto& entry : scenario.pipeline) {
    mechanisms_.push_back(entry.info->make(entry.values, pipeline));
    keys_.push_back(stream_key(entry.info->name) ^ key_salt);
  }
  // Parameter changes the timeline made before the start.
  for (const auto& ev : scenario.timeline)
    if (ev.absolute_term() < terms_done) mechanisms_[ev.entry]->set_param(ev.param, ev.value);
}

void Simulation::step() {
  const Clock clock{terms_done_};
  events_.clear();

  for (const auto& ev : scenario_.timeline)
    if (ev.absolute_term() == clock.term) mechanisms_[ev.entry]->set_param(ev.param, ev.value);

  for (std::size_t i = 0; i < mechanisms_.size(); ++i) {
    const MechanismInfo& info = *scenario_.pipeline[i].info;
    if (info.cadence == Cadence::year && !clock.year_end()) continue;
    if (kChecks) {
      // Start from a full copy so that writes to undeclared state can be caught.
      for (const auto& fi : kFields) scratch_.copy_field(fi.field, state_);
      scratch_.near.rivalry = state_.near.rivalry;
    } else {
      for (Field f : info.writes) scratch_.copy_field(f, state_);
      if (info.writes_rivalry) scratch_.near.rivalry = state_.near.rivalry;
    }
    // A mechanism that writes ties in place writes the current store; any
    // other gets a copy of it.
    const bool ties_copied = info.writes_ties && !info.ties_in_place;
    if (ties_copied) scratch_.ties = state_.ties;
    if (info.writes_areas) scratch_.area_strategy = state_.area_strategy;
    if (info.writes_networks) scratch_.networks = state_.networks;
    StepContext ctx{clock, streams_, keys_[i], events_};
    if (info.writes_ties && info.ties_in_place) ctx.ties_in_place = &state_.ties;
    mechanisms_[i]->step(state_, scratch_, ctx);
#ifdef SCHOOLSIM_CHECKS
    check_step(info, state_, scratch_, ctx.ties_out(scratch_));
#endif
    for (Field f : info.writes) state_.swap_field(f, scratch_);
    if (ties_copied) std::swap(state_.ties, scratch_.ties);
    if (info.writes_rivalry) {
      state_.near.rivalry.swap(scratch_.near.rivalry);
      // Rivalry changes at most yearly: the old rows need not be kept until then.
      if (!kChecks) std::vector<double>().swap(scratch_.near.rivalry);
    }
    if (info.writes_areas) state_.area_strategy.swap(scratch_.area_strategy);
    if (info.writes_networks) std::swap(state_.networks, scratch_.networks);
  }

  state_.ties.for_each([&](TieStore::Slot s) { ++state_.ties.age[s]; });
  ++terms_done_;
  state_.terms_done = terms_done_;
}

namespace {

Recording finish_run(Simulation& sim, Recorder& recorder, std::int32_t total_terms, const RunOptions& options) {
  recorder.reserve(sim.terms_done() + 1, total_terms);
  while (!sim.finished()) {
    if (options.cancel && options.cancel->load()) throw Interrupted();
    sim.step();
    recorder.add_events(sim.last_events());
    recorder.capture(sim.state(), sim.terms_done(), sim.terms_done() % kTermsPerYear == 0);
    if (options.on_term) options.on_term();
    if (options.on_checkpoint && sim.terms_done() == options.checkpoint_term)
      options.on_checkpoint(sim.state(), recorder.so_far());
  }
  return std::move(recorder).finish(sim.release_state());
}

}  // namespace

Recording run_replicate(const Scenario& scenario_in, const Registry& registry, std::int32_t replicate,
                        const RunOptions& options) {
  std::optional<Scenario> own;
  if (options.per_replicate) options.per_replicate(replicate, own.emplace(scenario_in));
  const Scenario& scenario = own ? *own : scenario_in;
  Simulation sim(scenario, registry, replicate);
  Recorder recorder(scenario.record, sim.state(), replicate);
  recorder.capture(sim.state(), 0, true);
  return finish_run(sim, recorder, scenario.terms(), options);
}

Recording continue_replicate(const Scenario& scenario_in, const Registry& registry, std::int32_t replicate,
                             State state, std::int32_t terms_done, std::optional<Recording> so_far,
                             const RunOptions& options) {
  std::optional<Scenario> own;
  if (options.per_replicate) options.per_replicate(replicate, own.emplace(scenario_in));
  const Scenario& scenario = own ? *own : scenario_in;
  Simulation sim(scenario, registry, replicate, std::move(state), terms_done);
  std::optional<Recorder> recorder;
  if (so_far) {
    recorder.emplace(scenario.record, std::move(*so_far));
  } else {
    recorder.emplace(scenario.record, sim.state(), replicate);
    recorder->capture(sim.state(), terms_done, terms_done % kTermsPerYear == 0);
  }
  return finish_run(sim, *recorder, scenario.terms(), options);
}

void run_all(const Scenario& scenario, const Registry& registry, const RunOptions& options,
             const std::function<void(Recording&&)>& sink) {
  const std::int32_t n = scenario.replicates;
  const std::int32_t n_threads = std::max(1, std::min(options.threads, n));
  if (n_threads == 1) {
    for (std::int32_t r = 0; r < n; ++r) sink(run_replicate(scenario, registry, r, options));
    return;
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Recording>> done(static_cast<std::size_t>(n));
  std::exception_ptr error;
  std::atomic<std::int32_t> next{0};
  std::atomic<bool> stop{false};
  RunOptions worker_options = options;
  // Workers stop early when the caller cancels or another worker failed.
  std::atomic<bool> cancel{false};
  worker_options.cancel = &cancel;

  auto worker = [&] {
    for (std::int32_t r; !stop && (r = next++) < n;) {
      try {
        if (options.cancel && options.cancel->load()) cancel = true;
        Recording rec = run_replicate(scenario, registry, r, worker_options);
        std::lock_guard lock(mu);
        done[static_cast<std::size_t>(r)] = std::move(rec);
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
        stop = true;
        cancel = true;
      }
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  for (std::int32_t t = 0; t < n_threads; ++t) pool.emplace_back(worker);

  std::exception_ptr sink_error;
  for (std::int32_t r = 0; r < n; ++r) {
    std::optional<Recording> rec;
    {
      std::unique_lock lock(mu);
      while (!done[r] && !error) {
        // Forward the caller's cancel flag to the workers while waiting.
        if (options.cancel && options.cancel->load()) cancel = true;
        cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done[r] || error; });
      }
      if (error) break;
      rec = std::move(done[r]);
      done[r].reset();
    }
    try {
      sink(std::move(*rec));
    } catch (...) {
      sink_error = std::current_exception();
      stop = true;
      cancel = true;
      break;
    }
  }
  for (auto& t : pool) t.join();
  if (sink_error) std::rethrow_exception(sink_error);
  if (error) std::rethrow_exception(error);
}

}  // namespace schoolsim
