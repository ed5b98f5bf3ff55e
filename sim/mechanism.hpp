// Mechanisms: the steps of the pipeline, and the parameter tables that describe them.
//
// A mechanism holds only its parsed parameters. Each term it computes a function
// of (state at the start of its turn, parameters, keyed random streams) into the
// next state. It declares its phase of the process overview (docs/ODD.md,
// section 3) and, in one list each, what it reads and what it writes: school
// columns, ties, rivalry, formal networks and area strategies. The pipeline
// hands it a scratch state in which exactly what it writes starts as a copy of
// the current state, so every school reads the state as it was at the start of
// the mechanism's turn whatever the order of visits. Ties are never copied or
// written by a mechanism: it records its changes to them in the phase's
// TieChanges (StepContext::ties), and the kernel applies them when the phase
// ends, so every mechanism of a phase reads the ties as they were at the start
// of the phase. Checked builds (SCHOOLSIM_CHECKS) fill whatever it does not
// declare with NaN, so that an undeclared read or write shows.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sim/fields.hpp"
#include "sim/parallel.hpp"
#include "sim/register.hpp"
#include "sim/rng.hpp"
#include "sim/state.hpp"

namespace schoolsim {

// ---------------------------------------------------------------- parameters

// A choice parameter is written in YAML as one of its `choices` and held as
// the index of that choice.
enum class ParamType { real, integer, boolean, choice };

// Where a parameter's value comes from. Either a published figure that supports
// the number itself, with the conversion to the model's unit shown in `text`;
// or no such figure, in which case the parameter is `calibrated`: the value is a
// starting point inside a prior range [prior_lo, prior_hi], `text` says why the
// range is what it is, and calibration (schoolsim calibrate) fits it.
struct Source {
  std::string text;
  bool calibrated = false;
  double prior_lo = 0;
  double prior_hi = 0;
  Source() = default;
  Source(const char* t) : text(t) {}  // NOLINT(google-explicit-constructor): a sourced value
  Source(std::string t) : text(std::move(t)) {}  // NOLINT(google-explicit-constructor)
};

// A parameter with no published figure for its value: its prior range and the
// reason for that range.
inline Source calibrated(double prior_lo, double prior_hi, std::string reason) {
  Source s{std::move(reason)};
  s.calibrated = true;
  s.prior_lo = prior_lo;
  s.prior_hi = prior_hi;
  return s;
}

// "source: ...", "calibrated, prior [lo, hi]: ..." or "scenario choice: ..." as
// describe prints it.
std::string source_text(const Source& s);

// A parameter that is a modelling switch or scale choice (how many schools a
// generated world has, whether a policy runs, the unit of money) is neither
// estimated nor calibrated: its source text starts with this.
inline constexpr std::string_view kScenarioChoice = "scenario choice:";

// What kind of basis a parameter's value has.
enum class Basis { sourced, calibrated, scenario_choice };
Basis basis_of(const Source& s);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::real;
  double def = 0;
  double lo = 0;
  double hi = 1;
  std::string unit;
  std::string meaning;
  Source source;  // a published figure for the value, or calibrated with a prior range
  std::vector<std::string> choices = {};  // names of the values of a choice parameter
};

// The text of a parameter value as a scenario writes it.
std::string value_text(const ParamSpec& spec, double value);

// The names of a choice parameter's values live with its enum: an enum E is a
// choice when `choice_names(E{})`, found next to E, returns them in the order
// of E's values (0, 1, ...). The table copies them into the ParamSpec, so the
// YAML names, describe's output and the code's enum agree.
template <class E>
concept ChoiceEnum = std::is_enum_v<E> && requires(E e) {
  { choice_names(e) } -> std::convertible_to<std::span<const std::string_view>>;
};

// The index of the choice `name` of a choice parameter, as the value travels
// (scenarios, timeline, calibration): throws std::invalid_argument for a name
// that is not one of its choices.
double choice_index(const ParamSpec& spec, std::string_view name);

// The value of choice `c` as it travels: its index.
template <ChoiceEnum E>
constexpr double choice_value(E c) {
  return static_cast<double>(static_cast<std::underlying_type_t<E>>(c));
}

// A parameter table bound to the members of a plain parameter struct P.
// The table is the single place a parameter's default, range and meaning live.
// A member is a double (ParamType::real), an std::int32_t (integer), a bool
// (boolean) or a ChoiceEnum (choice); the spec's type must say the same, and
// constructing a table whose spec and member disagree throws
// std::logic_error (the tables are built when the program starts, so such a
// table stops every run and test). Values travel as doubles (scenarios,
// timeline, calibration, sweeps) and are converted here, once: an integer
// rounds to the nearest, a boolean is true when not 0, a choice is the enum
// value of that index.
template <class P>
class ParamTable {
 public:
  struct Entry {
    ParamSpec spec;
    ParamType bound;  // the type of the member
    std::function<void(P&, double)> assign;
    std::function<double(const P&)> read;

    Entry(ParamSpec s, double P::*m)
        : spec(std::move(s)),
          bound(ParamType::real),
          assign([m](P& p, double v) { p.*m = v; }),
          read([m](const P& p) { return p.*m; }) {}
    Entry(ParamSpec s, std::int32_t P::*m)
        : spec(std::move(s)),
          bound(ParamType::integer),
          assign([m](P& p, double v) { p.*m = static_cast<std::int32_t>(std::lround(v)); }),
          read([m](const P& p) { return static_cast<double>(p.*m); }) {}
    Entry(ParamSpec s, bool P::*m)
        : spec(std::move(s)),
          bound(ParamType::boolean),
          assign([m](P& p, double v) { p.*m = v != 0; }),
          read([m](const P& p) { return p.*m ? 1.0 : 0.0; }) {}
    template <ChoiceEnum E>
    Entry(ParamSpec s, E P::*m)
        : spec(std::move(s)),
          bound(ParamType::choice),
          assign([m, name = spec.name](P& p, double v) {
            if (!(v >= 0 && v < static_cast<double>(choice_names(E{}).size())) || v != std::floor(v)) {
              throw std::invalid_argument("parameter " + name + ": " + std::to_string(v) +
                                          " is not the index of one of its choices");
            }
            p.*m = static_cast<E>(static_cast<std::underlying_type_t<E>>(v));
          }),
          read([m](const P& p) { return choice_value(p.*m); }) {
      const std::span<const std::string_view> names = choice_names(E{});
      std::vector<std::string> from_enum(names.begin(), names.end());
      if (!spec.choices.empty() && spec.choices != from_enum)
        throw std::logic_error("parameter " + spec.name + ": its choices differ from its enum's names");
      spec.choices = std::move(from_enum);
      if (spec.lo != 0 || spec.hi != static_cast<double>(names.size() - 1))
        throw std::logic_error("parameter " + spec.name + ": a choice's range is 0 to its number of choices - 1");
    }
  };

  ParamTable(std::initializer_list<Entry> entries) : entries_(entries) {
    for (const Entry& e : entries_) {
      if (e.spec.type != e.bound)
        throw std::logic_error("parameter " + e.spec.name + ": its spec's type differs from its member's type");
    }
  }

  [[nodiscard]] std::vector<ParamSpec> specs() const {
    std::vector<ParamSpec> out;
    for (const auto& e : entries_) out.push_back(e.spec);
    return out;
  }
  [[nodiscard]] P make(std::span<const double> values) const {
    P p{};
    for (std::size_t i = 0; i < entries_.size(); ++i) set(p, i, i < values.size() ? values[i] : entries_[i].spec.def);
    return p;
  }
  void set(P& p, std::size_t i, double v) const {
    entries_.at(i).assign(p, v);
  }
  // The value of parameter i of p, as it travels.
  [[nodiscard]] double get(const P& p, std::size_t i) const {
    return entries_.at(i).read(p);
  }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

std::vector<double> defaults(std::span<const ParamSpec> specs);

// ---------------------------------------------------------------- time

inline constexpr std::int32_t kTermsPerYear = 3;

struct Clock {
  std::int32_t term = 0;  // 0-based index of the term being simulated
  [[nodiscard]] std::int32_t year() const { return term / kTermsPerYear; }
  [[nodiscard]] std::int32_t term_of_year() const { return term % kTermsPerYear + 1; }  // 1, 2 or 3
  [[nodiscard]] bool year_end() const { return term_of_year() == kTermsPerYear; }
};

// ---------------------------------------------------------------- mechanisms

// The phases of a term, in the order Simulation::step runs them (docs/ODD.md,
// section 3, process overview). A pipeline lists its mechanisms in phase order.
enum class Phase : std::uint8_t {
  policy,           // policy events: the timeline's changes, programmes, area strategies, prescription
  shocks,           // crises arrive and fade
  tie_formation,    // schools search for partners
  interaction,      // what flows along ties, one mechanism per framework
  school_update,    // processes within a school (staff turnover)
  tie_dissolution,  // ties reviewed and ended
  yearly,           // after the third term only: results, admissions, funding, accountability
  record,           // end of term: ties age a term; then the recorder stores the state
};
inline constexpr std::array<std::string_view, 8> kPhaseNames = {
    "policy events", "shocks", "tie formation", "interaction", "school update", "tie dissolution", "yearly",
    "record"};
inline constexpr std::string_view phase_name(Phase p) { return kPhaseNames[static_cast<std::size_t>(p)]; }

// How often a mechanism runs: every term, or once a year after the third term
// (the mechanisms of the yearly phase).
enum class Cadence { term, year };

// The state beyond the per-school columns that a mechanism may read or write.
enum class Store : std::uint8_t {
  ties,           // State::ties
  rivalry,        // State::near.rivalry (the neighbour rows themselves are fixed and free to read)
  networks,       // State::networks
  area_strategy,  // State::area_strategy
};
inline constexpr std::array<std::string_view, 4> kStoreNames = {"ties", "rivalry", "networks", "area_strategy"};

// One item of state: a school column or one of the stores.
struct Datum {
  constexpr Datum(Field f) : field(f) {}                    // NOLINT(google-explicit-constructor)
  constexpr Datum(Store s) : store(s), is_store(true) {}    // NOLINT(google-explicit-constructor)
  Field field{};
  Store store{};
  bool is_store = false;
};

// What a mechanism reads, or what it writes: one list of school columns and
// stores, written {Field::capacity, Store::ties}. Iterating it visits the
// school columns.
class Access {
 public:
  Access() = default;
  Access(std::initializer_list<Datum> items) {
    for (const Datum& d : items) {
      if (d.is_store) {
        stores_[static_cast<std::size_t>(d.store)] = true;
      } else if (!has(d.field)) {
        fields_.push_back(d.field);
      }
    }
  }
  [[nodiscard]] bool has(Field f) const { return std::find(fields_.begin(), fields_.end(), f) != fields_.end(); }
  [[nodiscard]] bool has(Store s) const { return stores_[static_cast<std::size_t>(s)]; }
  [[nodiscard]] const std::vector<Field>& fields() const { return fields_; }
  [[nodiscard]] auto begin() const { return fields_.begin(); }
  [[nodiscard]] auto end() const { return fields_.end(); }
  // "capacity, practice, ties": the columns in table order, then the stores
  // ("" when empty).
  [[nodiscard]] std::string text() const {
    std::string out;
    for (const auto& fi : kFields)
      if (has(fi.field)) out += (out.empty() ? "" : ", ") + std::string(fi.name);
    for (std::size_t s = 0; s < kStoreNames.size(); ++s)
      if (stores_[s]) out += (out.empty() ? "" : ", ") + std::string(kStoreNames[s]);
    return out;
  }

 private:
  std::vector<Field> fields_;
  std::array<bool, kStoreNames.size()> stores_{};
};

struct StepContext {
  Clock clock;
  const Streams& streams;
  std::uint32_t key;  // this mechanism's stream key
  // Where a mechanism that declares writing Store::ties records its changes to
  // the ties. `in.ties` stays the store as it was at the start of the phase;
  // the kernel applies the changes, and logs the tie events, when the phase
  // ends (TieChanges, sim/ties.hpp). No mechanism writes a tie store.
  TieChanges& ties;
  // The threads this step's loops may use (none: the calling thread alone).
  // A loop over schools or ties runs in chunks of kLoopChunk; each index writes
  // only its own results and draws from its own keyed stream, so the results
  // are the same at any thread count (sim/parallel.hpp, Team).
  const Team* team = nullptr;
  static constexpr std::size_t kLoopChunk = 512;

  [[nodiscard]] Stream stream(std::uint64_t entity) const {
    return streams.stream(key, static_cast<std::uint32_t>(clock.term), entity);
  }
  // Members of the team (1 without one): the number of scratch spaces a loop
  // that keeps scratch per member needs.
  [[nodiscard]] std::int32_t members() const { return team ? team->threads() : 1; }
  // body(member, begin, end) for every chunk of [0, n) (`chunk` indices each),
  // on the team.
  template <class Body>
  void for_chunks(std::size_t n, Body&& body, std::size_t chunk = kLoopChunk) const {
    (team ? *team : lone_team()).for_chunks(n, chunk, body);
  }
  // body(member, begin, end, part) for every chunk of [0, n), on the team, each
  // chunk appending to a `part` of its own; the parts are then appended to
  // `out` in chunk order, so `out` is what one loop over [0, n) would give.
  template <class T, class Body>
  void collect(std::size_t n, std::vector<T>& out, Body&& body) const {
    std::vector<std::vector<T>> parts(chunk_count(n, kLoopChunk));
    for_chunks(n, [&](std::int32_t member, std::size_t b, std::size_t e) {
      body(member, b, e, parts[b / kLoopChunk]);
    });
    for (auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  }
  // body(i) for every i of [0, n), on the team.
  template <class Body>
  void for_each(std::int32_t n, Body&& body) const {
    for_chunks(static_cast<std::size_t>(std::max(0, n)),
               [&](std::int32_t, std::size_t b, std::size_t e) {
                 for (auto i = static_cast<std::int32_t>(b); i < static_cast<std::int32_t>(e); ++i)
                   body(i);
               });
  }
};

class Mechanism {
 public:
  virtual ~Mechanism() = default;
  // Reads only what it declares of `in`; writes only what it declares of `out`.
  virtual void step(const State& in, State& out, const StepContext& ctx) = 0;
  // Changes one parameter during a run (timeline events).
  virtual void set_param(std::size_t index, double value) = 0;
};

// What a mechanism may know, at construction, of the pipeline it runs in: the
// names of the mechanisms listed (a framework's contribution to another's
// equations is on only when that framework is in the pipeline).
struct PipelineInfo {
  std::vector<std::string> names;
  // The parameter tables and values of the mechanisms listed, where known
  // (one per name): a mechanism that must respect another's limit reads it
  // here rather than keeping a copy of its own.
  std::vector<std::vector<ParamSpec>> specs = {};
  std::vector<std::vector<double>> values = {};
  [[nodiscard]] bool has(std::string_view name) const {
    for (const auto& n : names)
      if (n == name) return true;
    return false;
  }
  // The parameter values of `mechanism` in this pipeline, or none (its
  // table's defaults) when it is not listed.
  [[nodiscard]] std::span<const double> values_of(std::string_view mechanism) const {
    for (std::size_t m = 0; m < names.size() && m < values.size(); ++m)
      if (names[m] == mechanism) return values[m];
    return {};
  }
  // The value of mechanism.param in this pipeline, or `otherwise` when that
  // mechanism is not listed.
  [[nodiscard]] double param(std::string_view mechanism, std::string_view param, double otherwise) const {
    for (std::size_t m = 0; m < names.size() && m < specs.size(); ++m) {
      if (names[m] != mechanism) continue;
      for (std::size_t i = 0; i < specs[m].size(); ++i)
        if (specs[m][i].name == param) return i < values[m].size() ? values[m][i] : specs[m][i].def;
    }
    return otherwise;
  }
};

// A mechanism whose parameters are the struct P described by a ParamTable.
template <class P>
class MechanismWith : public Mechanism {
 public:
  MechanismWith(const ParamTable<P>& table, std::span<const double> values,
                PipelineInfo pipeline = {})
      : table_(table), p_(table.make(values)), pipeline_(std::move(pipeline)) {}
  void set_param(std::size_t index, double value) override { table_.set(p_, index, value); }
  [[nodiscard]] const P& params() const { return p_; }

 protected:
  const ParamTable<P>& table_;
  P p_;
  PipelineInfo pipeline_;
};

// The factory of a mechanism class M whose constructor takes its table, the
// parameter values and the pipeline: what MechanismInfo::make holds.
template <class M, class P>
auto factory(const ParamTable<P>& table) {
  return [&table](std::span<const double> values, const PipelineInfo& pipeline) -> std::unique_ptr<Mechanism> {
    return std::make_unique<M>(table, values, pipeline);
  };
}

struct MechanismInfo {
  std::string name;
  std::string family;   // the models/ folder it lives in
  std::string summary;  // one line: what it does, in the model's words
  Phase phase = Phase::interaction;
  [[nodiscard]] Cadence cadence() const { return phase == Phase::yearly ? Cadence::year : Cadence::term; }
  // Everything of the state it reads (of `in`, or of what `out` starts as) and
  // everything it writes (of `out`; for Store::ties, what it records in
  // StepContext::ties, applied when its phase ends).
  Access reads;
  Access writes;
  std::vector<ParamSpec> params;
  // Listed when a scenario gives no pipeline (policies are chosen explicitly).
  bool in_default_pipeline = true;
  // Runs in the world's burn-in (generate_world): a school process that acts
  // with no lever, market or tie, such as crises or staff turnover.
  bool burn_in = false;
  // Runs in every pipeline, listed or not (the kernel adds it in its phase):
  // a process of the model itself rather than a framework a scenario chooses,
  // such as ties ageing a term. Must be of the last phase, record.
  bool every_pipeline = false;
  std::function<std::unique_ptr<Mechanism>(std::span<const double>, const PipelineInfo&)> make;
};

// ---------------------------------------------------------------- world

// Builds the initial state of one replicate from the world parameters. The
// generator also receives the scenario's pipeline (PipelineInfo: names and
// resolved values): where it sets a column by a mechanism's equation (the
// first results by attainment's, opportunity by opportunities', the budget by
// the market's funding), it uses that mechanism's parameters in this scenario,
// so that year 0 follows the same equations as the years after it.
struct WorldInfo {
  std::string summary;
  std::vector<ParamSpec> params;
  // `team` (none: the calling thread alone) runs the generator's loops that
  // have no draws, such as the neighbour rows; the world is the same at any
  // thread count.
  std::function<void(std::span<const double>, const PipelineInfo&, const Streams&, State&, const Team*)> build;
  // The indices of the world parameters that set the number of schools and areas.
  std::size_t schools_param = 0;
  std::size_t areas_param = 1;
  // A world from a school register (docs/DATA.md): reads and checks the file
  // once, then builds each replicate from its schools, drawing only what the
  // register lacks by the generator's rules.
  std::function<RegisterLoad(const RegisterSource&)> load_register;
  std::function<void(std::span<const double>, const SchoolRegister&, const PipelineInfo&, const Streams&, State&,
                     const Team*)>
      build_register;
};

// Stream keys used by world generation, distinct from any mechanism name's key.
inline constexpr std::uint32_t kWorldStreamKey = stream_key("world");

}  // namespace schoolsim
