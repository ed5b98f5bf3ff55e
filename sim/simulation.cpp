#include "sim/simulation.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <span>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace schoolsim {

namespace {

// Copies the columns `w` names of `from` into `to` (sized as in `from`), and
// the rivalry rows when it names them, cut into pieces copied side by side on
// the team: the same bytes however cut.
void copy_written(const Access& w, const State& from, State& to, const Team& team) {
  struct Piece {
    std::byte* to;
    const std::byte* from;
    std::size_t bytes;
  };
  constexpr std::size_t kPieceBytes = std::size_t{64} * 1024;
  std::vector<Piece> pieces;
  const auto cut = [&](void* t, const void* s, std::size_t bytes) {
    for (std::size_t at = 0; at < bytes; at += kPieceBytes) {
      pieces.push_back({static_cast<std::byte*>(t) + at, static_cast<const std::byte*>(s) + at,
                        std::min(kPieceBytes, bytes - at)});
    }
  };
  if (w.has(Store::rivalry)) {
    to.near.rivalry.resize(from.near.rivalry.size());
    cut(to.near.rivalry.data(), from.near.rivalry.data(), from.near.rivalry.size() * sizeof(double));
  }
  for (Field f : w.fields()) {
    visit_field(to, f, [&](auto& col) {
      visit_field(from, f, [&](const auto& src) {
        if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::decay_t<decltype(src)>>) {
          col.resize(src.rows(), src.cols());
          cut(col.data(), src.data(), static_cast<std::size_t>(src.size()) * sizeof(*src.data()));
        }
      });
    });
  }
  team.for_chunks(pieces.size(), 1, [&](std::int32_t, std::size_t begin, std::size_t end) {
    for (std::size_t k = begin; k < end; ++k) std::memcpy(pieces[k].to, pieces[k].from, pieces[k].bytes);
  });
}

}  // namespace

#ifdef SCHOOLSIM_CHECKS
namespace {

// Kernel checks (SCHOOLSIM_CHECKS: the checks, debug and sanitizer builds). The
// scratch state is copied exactly as in release; on top of that, whatever a
// mechanism does not declare is poisoned. An undeclared input (of `in`, or of
// what `out` starts as) is NaN, or kInputInt for integer columns, so that a
// result computed from it is NaN; an undeclared output column of `out` is
// filled with another NaN, kOutputNaN, so that writing it shows. After the step
// nothing written may be NaN and every undeclared output must be untouched.
const double kInputNaN = std::bit_cast<double>(std::uint64_t{0x7ff8'0000'0000'0a11});
const double kOutputNaN = std::bit_cast<double>(std::uint64_t{0x7ff8'0000'0000'0b22});
constexpr std::int32_t kInputInt = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kOutputInt = std::numeric_limits<std::int32_t>::min() + 1;

template <class Col>
void fill(Col& col, double nan, std::int32_t integer) {
  if constexpr (std::is_integral_v<typename Col::Scalar>)
    col.setConstant(integer);
  else
    col.setConstant(nan);
}

template <class Col>
bool all_poison(const Col& col, double nan, std::int32_t integer) {
  for (Eigen::Index k = 0; k < col.size(); ++k) {
    if constexpr (std::is_integral_v<typename Col::Scalar>) {
      if (col.data()[k] != integer) return false;
    } else if (std::bit_cast<std::uint64_t>(col.data()[k]) != std::bit_cast<std::uint64_t>(nan)) {
      return false;
    }
  }
  return true;
}

template <class Col>
bool any_poison(const Col& col) {
  if constexpr (std::is_integral_v<typename Col::Scalar>)
    return (col.array() == kInputInt).any() || (col.array() == kOutputInt).any();
  else
    return col.hasNaN();
}

bool any_nan(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}

void poison_ties(TieStore& ties) {
  std::fill(ties.strength.begin(), ties.strength.end(), kInputNaN);
  std::fill(ties.trust.begin(), ties.trust.end(), kInputNaN);
  std::fill(ties.age.begin(), ties.age.end(), kInputInt);
}

void poison_networks(Networks& n) {
  std::fill(n.facilitation.begin(), n.facilitation.end(), kInputNaN);
  for (auto* v : {&n.hub, &n.start_term, &n.funded_until_term}) std::fill(v->begin(), v->end(), kInputInt);
}

// The input a mechanism reads: the state with every undeclared input poisoned.
void poison_inputs(const MechanismInfo& info, const State& state, State& input) {
  input = state;
  const Access& r = info.reads;
  for (const auto& fi : kFields)
    if (!r.has(fi.field)) visit_field(input, fi.field, [](auto& col) { fill(col, kInputNaN, kInputInt); });
  if (!r.has(Store::ties)) poison_ties(input.ties);
  if (!r.has(Store::rivalry)) std::fill(input.near.rivalry.begin(), input.near.rivalry.end(), kInputNaN);
  if (!r.has(Store::networks)) poison_networks(input.networks);
  if (!r.has(Store::area_strategy)) input.area_strategy.setConstant(kInputNaN);
}

// After the release copying: what `out` starts as but the mechanism does not
// declare reading is poisoned as an input; what it does not declare writing,
// as an output.
void poison_outputs(const MechanismInfo& info, const State& state, State& out) {
  const Access &r = info.reads, &w = info.writes;
  for (const auto& fi : kFields) {
    visit_field(out, fi.field, [&](auto& col) {
      visit_field(state, fi.field, [&](const auto& cur) {
        if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::decay_t<decltype(cur)>>) {
          if (!w.has(fi.field)) {
            col.resize(cur.rows(), cur.cols());
            fill(col, kOutputNaN, kOutputInt);
          } else if (!r.has(fi.field)) {
            fill(col, kInputNaN, kInputInt);
          }
        }
      });
    });
  }
  // No mechanism writes a tie store (it records tie changes instead): the
  // scratch state's is empty, so that writing it shows.
  out.ties.reset(state.ties.n_schools());
  if (!w.has(Store::rivalry))
    out.near.rivalry.assign(state.near.rivalry.size(), kOutputNaN);
  else if (!r.has(Store::rivalry))
    std::fill(out.near.rivalry.begin(), out.near.rivalry.end(), kInputNaN);
  if (!w.has(Store::networks))
    out.networks = Networks();
  else if (!r.has(Store::networks))
    poison_networks(out.networks);
  if (!w.has(Store::area_strategy))
    out.area_strategy = Eigen::ArrayXd::Constant(state.area_strategy.size(), kOutputNaN);
  else if (!r.has(Store::area_strategy))
    out.area_strategy.setConstant(kInputNaN);
}

[[noreturn]] void fail(const MechanismInfo& info, const std::string& what) {
  throw std::logic_error("mechanism '" + info.name + "' " + what);
}

std::string nan_written(std::string_view what) {
  return "wrote NaN to " + std::string(what) +
         ": it reads an input it does not declare (checked builds fill those with NaN), or computes NaN";
}

// `changes` holds the tie changes of the phase so far; this mechanism's are
// those from `first` on.
void check_outputs(const MechanismInfo& info, const State& out, const TieChanges& changes, std::size_t first) {
  const Access& w = info.writes;
  for (const auto& fi : kFields) {
    visit_field(out, fi.field, [&](const auto& col) {
      if (!w.has(fi.field) && !all_poison(col, kOutputNaN, kOutputInt))
        fail(info, "wrote '" + std::string(fi.name) + "', which it does not declare");
      if (w.has(fi.field) && any_poison(col)) fail(info, nan_written("'" + std::string(fi.name) + "'"));
    });
  }
  const auto untouched = [](const auto& v) {
    return std::all_of(v.begin(), v.end(), [](double x) {
      return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(kOutputNaN);
    });
  };
  if (out.ties.size() != 0 || out.ties.next_id() != 0)
    fail(info, "wrote the tie store of its output: ties change only through the changes it records (StepContext::ties)");
  if (!w.has(Store::ties) && changes.size() != first) fail(info, "wrote ties, which it does not declare");
  if (!w.has(Store::rivalry) && !untouched(out.near.rivalry)) fail(info, "wrote rivalry, which it does not declare");
  if (!w.has(Store::networks) && out.networks.size() != 0) fail(info, "wrote networks, which it does not declare");
  if (!w.has(Store::area_strategy) && !untouched(out.area_strategy))
    fail(info, "wrote area_strategy, which it does not declare");
  for (std::size_t k = first; k < changes.size(); ++k) {
    const TieChanges::Change& c = changes.changes()[k];
    const bool nan = c.op == TieChanges::Op::add
                         ? std::isnan(changes.added()[c.slot].strength) || std::isnan(changes.added()[c.slot].trust)
                         : (c.op == TieChanges::Op::set_trust || c.op == TieChanges::Op::set_strength) && std::isnan(c.value);
    if (c.op == TieChanges::Op::set_trust_all) {
      const TieStore& base = *changes.base();
      const std::span<const double> trust = changes.trust_all(c.slot);
      for (TieStore::Slot s = 0; s < base.slot_bound(); ++s)
        if (base.alive[s] && std::isnan(trust[s])) fail(info, nan_written("a tie"));
    }
    if (nan) fail(info, nan_written("a tie"));
  }
  if (w.has(Store::rivalry) && any_nan(out.near.rivalry)) fail(info, nan_written("rivalry"));
  if (w.has(Store::area_strategy) && out.area_strategy.hasNaN()) fail(info, nan_written("area_strategy"));
  if (w.has(Store::networks) && any_nan(out.networks.facilitation)) fail(info, nan_written("networks"));
}

}  // namespace
#endif

PipelineInfo pipeline_info(const Scenario& scenario) {
  PipelineInfo pipeline;
  for (const auto& entry : scenario.pipeline) {
    pipeline.names.push_back(entry.info->name);
    pipeline.specs.push_back(entry.info->params);
    pipeline.values.push_back(entry.values);
  }
  return pipeline;
}

State generate_world(const Scenario& scenario, const Registry& registry, std::int32_t replicate,
                     const Team* team) {
  State s;
  const Streams streams(scenario.seed, static_cast<std::uint32_t>(replicate));
  // The generator's first results, opportunity and budget follow the
  // equations of the scenario's own mechanisms, with its parameters.
  const PipelineInfo pipeline = pipeline_info(scenario);
  if (scenario.register_data) {  // a world read from a school register (docs/DATA.md)
    registry.world().build_register(scenario.world, *scenario.register_data, pipeline, streams, s, team);
  } else {
    registry.world().build(scenario.world, pipeline, streams, s, team);
  }
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
  sim.use_team(team);
  while (!sim.finished()) sim.step();
  s = sim.release_state();
  s.terms_done = 0;
  // The burn-in is before time begins: ties the world started with are new at year 0.
  s.ties.for_each([&](TieStore::Slot t) { s.ties.age[t] = 0; });
  return s;
}

Simulation::Simulation(const Scenario& scenario, const Registry& registry, std::int32_t replicate)
    : Simulation(scenario, registry, replicate, generate_world(scenario, registry, replicate)) {}

Simulation::Simulation(const Scenario& scenario, const Registry& registry, std::int32_t replicate,
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
  const PipelineInfo pipeline = pipeline_info(scenario);
  std::vector<std::span<const double>> values;
  for (const auto& entry : scenario.pipeline) {
    infos_.push_back(entry.info);
    values.emplace_back(entry.values);
  }
  // Mechanisms of the model itself (tie ageing) run in every pipeline. They are
  // of the last phase, so appending them keeps the phase order and the indices
  // the timeline refers to.
  for (const MechanismInfo& m : registry.mechanisms()) {
    if (m.every_pipeline && !pipeline.has(m.name)) {
      infos_.push_back(&m);
      values.emplace_back();
    }
  }
  for (std::size_t i = 0; i < infos_.size(); ++i) {
    mechanisms_.push_back(infos_[i]->make(values[i], pipeline));
    keys_.push_back(stream_key(infos_[i]->name) ^ key_salt);
    // Scenario files list their pipelines in phase order (validate refuses any
    // other); a pipeline built in code is run in phase order all the same.
    phases_[static_cast<std::size_t>(infos_[i]->phase)].push_back(i);
  }
  // Parameter changes the timeline made before the start.
  for (const auto& ev : scenario.timeline)
    if (ev.absolute_term() < terms_done) mechanisms_[ev.entry]->set_param(ev.param, ev.value);
}

// One term, as the process overview describes it (docs/ODD.md, section 3).
void Simulation::step() {
  const Clock clock{terms_done_};
  events_.clear();
  apply_timeline(clock);                      // the timeline's parameter changes due this term
  run_phase(Phase::policy, clock);            // programmes, area strategies, prescription
  run_phase(Phase::shocks, clock);            // crises arrive and fade
  run_phase(Phase::tie_formation, clock);     // schools search for partners
  run_phase(Phase::interaction, clock);       // what flows along ties, one mechanism per framework
  run_phase(Phase::school_update, clock);     // staff turnover
  run_phase(Phase::tie_dissolution, clock);   // ties reviewed and ended
  if (clock.year_end())
    run_phase(Phase::yearly, clock);          // results, admissions, funding, accountability
  run_phase(Phase::record, clock);            // ties age a term
  ++terms_done_;
  state_.terms_done = terms_done_;
  // The recorder (the rest of the record phase) then stores the state: finish_run.
}

void Simulation::apply_timeline(const Clock& clock) {
  for (const auto& ev : scenario_.timeline)
    if (ev.absolute_term() == clock.term) mechanisms_[ev.entry]->set_param(ev.param, ev.value);
}

// The mechanisms of a phase all read the ties as they were at the start of the
// phase; their changes to the ties are applied, in the order recorded, when the
// phase ends. Their events are of the term being simulated: its number is the
// terms completed once it ends, the axis of the recorded series.
void Simulation::run_phase(Phase phase, const Clock& clock) {
  const std::vector<std::size_t>& mechanisms = phases_[static_cast<std::size_t>(phase)];
  if (mechanisms.empty()) return;
  tie_changes_.begin(state_.ties);
  for (std::size_t i : mechanisms) run_mechanism(i, clock);
  tie_changes_.apply(state_.ties, clock.term + 1, events_, team_);
#ifdef SCHOOLSIM_CHECKS
  const std::string problems = state_.ties.check_invariants();
  if (!problems.empty())
    throw std::logic_error("the tie changes of phase '" + std::string(phase_name(phase)) +
                           "' broke the tie store: " + problems);
#endif
}

// One mechanism's turn: the scratch state starts as a copy of what it writes,
// it reads the current state, and what it wrote replaces the current state.
// Its tie changes wait in tie_changes_ for the end of the phase.
void Simulation::run_mechanism(std::size_t i, const Clock& clock) {
  const MechanismInfo& info = *infos_[i];
  const Access& w = info.writes;
  copy_written(w, state_, scratch_, team_ ? *team_ : lone_team());
  if (w.has(Store::area_strategy)) scratch_.area_strategy = state_.area_strategy;
  if (w.has(Store::networks)) scratch_.networks = state_.networks;
  const StepContext ctx{clock, streams_, keys_[i], tie_changes_, team_};
#ifdef SCHOOLSIM_CHECKS
  const std::size_t first = tie_changes_.size();
  poison_inputs(info, state_, input_);
  poison_outputs(info, state_, scratch_);
  mechanisms_[i]->step(input_, scratch_, ctx);
  check_outputs(info, scratch_, tie_changes_, first);
#else
  mechanisms_[i]->step(state_, scratch_, ctx);
#endif
  // The scratch state keeps nothing between mechanisms: what it held for this
  // one (the old columns, after the swap) is freed for the next one's to reuse,
  // so that the peak holds one mechanism's written columns, not every one's.
  for (Field f : w.fields()) {
    state_.swap_field(f, scratch_);
    scratch_.release_field(f);
  }
  if (w.has(Store::rivalry)) {
    state_.near.rivalry.swap(scratch_.near.rivalry);
    // Rivalry changes at most yearly: the old rows need not be kept until then.
    std::vector<double>().swap(scratch_.near.rivalry);
  }
  if (w.has(Store::area_strategy)) state_.area_strategy.swap(scratch_.area_strategy);
  if (w.has(Store::networks)) std::swap(state_.networks, scratch_.networks);
}

namespace {

Recording finish_run(Simulation& sim, Recorder& recorder, std::int32_t total_terms, const RunOptions& options) {
  recorder.reserve(sim.terms_done() + 1, total_terms);
  while (!sim.finished()) {
    if (options.cancelled()) throw Interrupted();
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
  const Team team(options.step_threads);
  Simulation sim(scenario, registry, replicate,
                 generate_world(scenario, registry, replicate, &team));
  sim.use_team(&team);
  Recorder recorder(scenario.record, sim.state(), replicate);
  recorder.use_team(&team);
  if (options.rows && !options.on_checkpoint)
    recorder.stream_to(*options.rows, 0, scenario.terms());
  recorder.capture(sim.state(), 0, true);
  return finish_run(sim, recorder, scenario.terms(), options);
}

Recording continue_replicate(const Scenario& scenario_in, const Registry& registry, std::int32_t replicate,
                             State state, std::int32_t terms_done, std::optional<Recording> so_far,
                             const RunOptions& options) {
  std::optional<Scenario> own;
  if (options.per_replicate) options.per_replicate(replicate, own.emplace(scenario_in));
  const Scenario& scenario = own ? *own : scenario_in;
  const Team team(options.step_threads);
  Simulation sim(scenario, registry, replicate, std::move(state), terms_done);
  sim.use_team(&team);
  std::optional<Recorder> recorder;
  if (so_far) {
    recorder.emplace(scenario.record, std::move(*so_far));
    recorder->use_team(&team);
  } else {
    recorder.emplace(scenario.record, sim.state(), replicate);
    recorder->use_team(&team);
    recorder->capture(sim.state(), terms_done, terms_done % kTermsPerYear == 0);
  }
  return finish_run(sim, *recorder, scenario.terms(), options);
}

void run_all(const Scenario& scenario, const Registry& registry, const RunOptions& options,
             const std::function<void(Recording&&)>& sink) {
  Parallel pool;
  const std::int32_t replicates = std::max(0, scenario.replicates);
  pool.threads = std::max(1, std::min(options.threads, replicates));
  pool.cancel = options.cancel;
  // Threads the replicates cannot use go to the loops inside each replicate.
  RunOptions each = options;
  each.step_threads = std::max(options.step_threads, std::max(1, options.threads) / pool.threads);
  // Rows can be streamed only by one replicate at a time, in order.
  if (pool.threads > 1) each.rows = nullptr;
  run_ordered(
      static_cast<std::size_t>(replicates), pool,
      [&](std::size_t r, const Stop& stop) {
        return run_replicate(scenario, registry, static_cast<std::int32_t>(r),
                             with_stop(each, stop));
      },
      [&](std::size_t, Recording&& rec) { sink(std::move(rec)); });
}

}  // namespace schoolsim
