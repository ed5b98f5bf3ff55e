#include "sim/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

namespace schoolsim {

std::string Diagnostic::str() const {
  std::ostringstream out;
  out << file;
  if (line > 0) out << ':' << line << ':' << column;
  out << ": error: " << message;
  return out.str();
}

namespace {

// std::from_chars for a double. The web build's standard library (libc++ 14) has
// none, so there strtod reads it, with what from_chars refuses refused first:
// leading space and hexadecimal.
std::from_chars_result number_from_chars(const char* first, const char* last, double& v) {
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  return std::from_chars(first, last, v);
#else
  const std::string text(first, last);
  const std::size_t digits = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.empty() || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0])) ||
      (text.size() > digits + 1 && text[digits] == '0' && (text[digits + 1] == 'x' || text[digits + 1] == 'X')))
    return {first, std::errc::invalid_argument};
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return {first, std::errc::invalid_argument};
  return {first + (end - text.c_str()), std::errc()};
#endif
}

const std::vector<std::string> kTopKeys = {"extends", "name",     "description", "seed",
                                           "replicates", "years", "world",     "pipeline",
                                           "without", "set",   "timeline",  "record"};
const std::vector<std::string> kTimelineKeys = {"year", "term", "set"};
const std::vector<std::string> kRecordKeys = {"every", "schools", "attainment", "system", "ties"};

constexpr std::int32_t kMaxYears = 200;
constexpr std::int32_t kMaxReplicates = 100000;
// Scenario and experiment files are read whole; none needs to be larger.
constexpr std::uintmax_t kMaxInputBytes = std::uintmax_t{4} * 1024 * 1024;

const std::vector<Field> kDefaultRecordedFields = {Field::capacity, Field::expectations,
                                                   Field::crisis, Field::pupils,
                                                   Field::disadvantaged};

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

std::string fmt(double v) { return format_number(v); }

// A message from its parts, in one string: no temporary per `+` (the messages
// of a loop over a scenario's entries).
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (out += ... += parts);
  return out;
}

// The text being parsed, and the place just after its last visible character
// (1-based line and column), for Checker::error.
thread_local const std::string* g_text = nullptr;
thread_local std::pair<int, int> g_text_end{0, 0};

void set_text(const std::string* text) {
  g_text = text;
  g_text_end = {1, 1};
  if (!text) return;
  std::size_t end = text->find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return;
  const std::size_t line_start = text->rfind('\n', end);
  const int line = 1 + static_cast<int>(std::count(text->begin(), text->begin() + static_cast<std::ptrdiff_t>(end), '\n'));
  const int column = static_cast<int>(end - (line_start == std::string::npos ? 0 : line_start + 1)) + 2;
  g_text_end = {line, column};
}

// Scalars quoted in messages are cut short: a file named by mistake (say by
// extends:) is not echoed back.
std::string excerpt(const std::string& s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (unsigned char ch : s.substr(0, kMax)) out += ch < 0x20 ? ' ' : static_cast<char>(ch);
  return s.size() > kMax ? out + "..." : out;
}

class Checker {
 public:
  Checker(std::string file, std::vector<Diagnostic>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Mark& mark, const std::string& msg) {
    if (mark.is_null()) {
      errors_.push_back({file_, 0, 0, msg});
      return;
    }
    // yaml-cpp places a value left empty at the end of the file past its last
    // line; report it just after the text it follows instead.
    int line = mark.line + 1, column = mark.column + 1;
    if (g_text && (line > g_text_end.first || (line == g_text_end.first && column > g_text_end.second)))
      std::tie(line, column) = g_text_end;
    errors_.push_back({file_, line, column, msg});
  }
  void error(const YAML::Node& node, const std::string& msg) { error(node.Mark(), msg); }
  // A problem in another file (a school register), at its line and column.
  void external(const std::string& file, int line, int column, const std::string& msg) {
    errors_.push_back({file, line, column, msg});
  }

  static std::string prefix(const std::string& path) { return path.empty() ? "" : path + ": "; }

  // Checks that `node` is a map whose keys are scalars, unique and among
  // `valid`; reports each problem. Returns false if `node` is not a map.
  bool check_map(const YAML::Node& node, const std::string& path,
                 const std::vector<std::string>& valid, const std::string& noun = "key") {
    if (!node.IsMap()) {
      error(node, prefix(path) + "expected a mapping of keys to values, found " + describe(node));
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar()) {
        error(key, prefix(path) + "keys must be plain names");
        continue;
      }
      const std::string k = key.Scalar();
      if (!seen.insert(k).second) error(key, prefix(path) + "key '" + k + "' appears twice");
      if (std::find(valid.begin(), valid.end(), k) == valid.end()) unknown(key, path, k, valid, noun);
    }
    return true;
  }

  // "unknown parameter 'x' of crises; did you mean 'y'?" or "...; valid
  // parameters of crises are: a, b".
  void unknown(const YAML::Node& at, const std::string& path, const std::string& word,
               const std::vector<std::string>& valid, const std::string& noun = "key",
               const std::string& of = "") {
    std::string msg = prefix(path) + "unknown " + noun + " '" + word + "'" + of;
    const std::string guess = nearest(word, valid);
    if (!guess.empty()) {
      msg += "; did you mean '" + guess + "'?";
    } else if (valid.empty()) {
      msg += "; there are none to choose from";
    } else {
      msg += "; valid " + noun + "s" + of + " are: " + join(valid);
    }
    error(at, msg);
  }

  static std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null: return "nothing";
      case YAML::NodeType::Scalar: return "'" + excerpt(n.Scalar()) + "'";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Map: return "a mapping";
      default: return "an undefined value";
    }
  }

  // A plain (unquoted) number, checked against its range.
  std::optional<double> number(const YAML::Node& n, const std::string& path, ParamType type,
                               double lo, double hi, const std::string& unit = "") {
    const char* kind = type == ParamType::integer ? "an integer" : "a number";
    if (type == ParamType::boolean) return boolean(n, path);
    if (quoted(n)) {
      error(n, path + ": expected " + std::string(kind) + ", found the " +
                   (n.Tag() == "!" ? "quoted" : "tagged (" + n.Tag() + ")") + " text \"" + excerpt(n.Scalar()) +
                   "\"; write numbers without quotes or tags");
      return std::nullopt;
    }
    if (!n.IsScalar()) {
      error(n, path + ": expected " + std::string(kind) + ", found " + describe(n));
      return std::nullopt;
    }
    const std::string& s = n.Scalar();
    double v = 0;
    const char* first = s.data();
    if (!s.empty() && s[0] == '+') ++first;
    auto res = number_from_chars(first, s.data() + s.size(), v);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(v)) {
      error(n, path + ": expected " + std::string(kind) + ", found " + describe(n));
      return std::nullopt;
    }
    if (type == ParamType::integer && v != std::floor(v)) {
      error(n, path + ": expected an integer, found '" + s + "'");
      return std::nullopt;
    }
    if (v < lo || v > hi) {
      error(n, path + ": " + s + " is out of range [" + fmt(lo) + ", " + fmt(hi) + "]" +
                   (unit.empty() ? "" : " (" + unit + ")"));
      return std::nullopt;
    }
    return v;
  }

  // Quoted ("5") or tagged as something else (!!str 5): text, not a number or a boolean.
  static bool quoted(const YAML::Node& n) {
    return n.IsScalar() && n.Tag() != "?" && n.Tag() != "tag:yaml.org,2002:int" &&
           n.Tag() != "tag:yaml.org,2002:float" && n.Tag() != "tag:yaml.org,2002:bool";
  }

  std::optional<double> boolean(const YAML::Node& n, const std::string& path) {
    if (quoted(n)) {
      error(n, path + ": expected true or false, found the " +
                   (n.Tag() == "!" ? "quoted" : "tagged (" + n.Tag() + ")") + " text \"" + excerpt(n.Scalar()) +
                   "\"; write true or false without quotes or tags");
      return std::nullopt;
    }
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return 1.0;
      if (s == "false" || s == "False" || s == "FALSE") return 0.0;
    }
    error(n, path + ": expected true or false, found " + describe(n));
    return std::nullopt;
  }

  std::optional<std::string> text(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      error(n, path + ": expected text, found " + describe(n));
      return std::nullopt;
    }
    return n.Scalar();
  }

  // A parameter's value: a number, a boolean, or one of its named choices.
  std::optional<double> value(const YAML::Node& n, const std::string& path, const ParamSpec& spec) {
    if (spec.type != ParamType::choice) return number(n, path, spec.type, spec.lo, spec.hi, spec.unit);
    if (!n.IsScalar()) {
      error(n, path + ": expected one of " + join(spec.choices) + ", found " + describe(n));
      return std::nullopt;
    }
    for (std::size_t i = 0; i < spec.choices.size(); ++i)
      if (spec.choices[i] == n.Scalar()) return static_cast<double>(i);
    unknown(n, path, n.Scalar(), spec.choices, "value");
    return std::nullopt;
  }

  // Fills `values` from a map of parameters described by `specs`.
  // With `inherit`, values already filled (from a scenario this one extends)
  // are kept unless the node sets them.
  void params(const YAML::Node& node, const std::string& path, const std::vector<ParamSpec>& specs,
              std::vector<double>& values, bool inherit = false) {
    if (!inherit || values.size() != specs.size()) values = defaults(specs);
    if (!node || node.IsNull()) return;
    std::vector<std::string> names;
    names.reserve(specs.size());
for (const auto& s : specs) names.push_back(s.name);
    if (!check_map(node, path, names, "parameter")) return;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) continue;
      const int i = param_index(specs, kv.first.Scalar());
      if (i < 0) continue;
      const ParamSpec& spec = specs[static_cast<std::size_t>(i)];
      if (auto v = value(kv.second, path + "." + spec.name, spec))
        values[static_cast<std::size_t>(i)] = *v;
    }
  }

  [[nodiscard]] const std::string& file() const { return file_; }

  // The mechanisms this file's `without:` removed from the inherited pipeline,
  // each with the name it was removed by, so that a change to one says why it
  // is gone.
  std::vector<std::pair<std::string, std::string>> removed;

 private:
  std::string file_;
  std::vector<Diagnostic>& errors_;
};

// A mechanism listed after one of a later phase (docs/ODD.md, section 3) is an
// error, reported at the later mechanism's name: Simulation::step runs a term
// as its phases, so a pipeline that lists them in another order cannot say what
// it runs.
void phase_order_problem(Checker& c, const YAML::Node& name_node, const std::string& path,
                         const MechanismInfo& info, const MechanismInfo& latest) {
  if (info.phase >= latest.phase) return;
  std::string order;
  for (const auto& p : kPhaseNames) order += (order.empty() ? "" : ", ") + std::string(p);
  c.error(name_node, path + ": '" + info.name + "' (" + std::string(phase_name(info.phase)) +
                         " phase) is listed after '" + latest.name + "' (" + std::string(phase_name(latest.phase)) +
                         " phase); a term's phases are " + order + " (docs/ODD.md, section 3), so list it before '" +
                         latest.name + "'");
}

// Returns false when any entry could not be resolved, so that timeline events
// naming mechanisms are not blamed for the pipeline's problems.
bool parse_pipeline(Checker& c, const YAML::Node& node, const Registry& registry, Scenario& sc) {
  if (!node || node.IsNull()) {
    for (const auto& m : registry.mechanisms())
      if (m.in_default_pipeline) sc.pipeline.push_back({&m, defaults(m.params)});
    return true;
  }
  if (!node.IsSequence()) {
    c.error(node, "pipeline: expected a list of mechanisms, found " + Checker::describe(node));
    return false;
  }
  bool ok = true;
  const auto names = registry.names();
  std::set<std::string> seen;
  const MechanismInfo* latest = nullptr;  // of the latest phase so far
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string path = "pipeline[" + std::to_string(i) + "]";
    YAML::Node name_node, params;
    if (item.IsScalar()) {
      name_node = item;
    } else if (item.IsMap() && item.size() == 1) {
      name_node = item.begin()->first;
      params = item.begin()->second;
    } else {
      std::string found = Checker::describe(item);
      if (item.IsMap()) {
        found = "a mapping with keys";
        for (const auto& kv : item) found += " '" + (kv.first.IsScalar() ? kv.first.Scalar() : "?") + "'";
        found += " (indent a mechanism's parameters under its name)";
      }
      c.error(
          item,
          concat(path, ": expected a mechanism name, or one name mapped to its parameters; found ",
                 found));
      ok = false;
      continue;
    }
    if (!name_node.IsScalar()) {
      c.error(name_node, path + ": expected a mechanism name");
      ok = false;
      continue;
    }
    const std::string name = name_node.Scalar();
    const MechanismInfo* info = registry.find(name);
    if (!info) {
      c.unknown(name_node, path, name, names, "mechanism");
      ok = false;
      continue;
    }
    if (!seen.insert(name).second) {
      c.error(name_node, concat(path, ": mechanism '", name, "' is listed twice"));
      continue;
    }
    if (latest) phase_order_problem(c, name_node, path, *info, *latest);
    if (!latest || info->phase >= latest->phase) latest = info;
    PipelineEntry entry{info, {}};
    c.params(params, name, info->params, entry.values);
    sc.pipeline.push_back(std::move(entry));
  }
  return ok;
}

// Resolves "mechanism.parameter" against the scenario's pipeline to (entry,
// parameter index); reports what is wrong and returns nothing then.
std::optional<std::pair<std::size_t, std::size_t>> resolve_name(Checker& c, const YAML::Node& key_node,
                                                                const std::string& path, const Registry& registry,
                                                                const Scenario& sc, bool pipeline_known) {
  const std::string key = key_node.IsScalar() ? key_node.Scalar() : "";
  const auto dot = key.find('.');
  if (dot == std::string::npos) {
    c.error(key_node, path + ": '" + key + "' should be mechanism.parameter");
    return std::nullopt;
  }
  const std::string mech = key.substr(0, dot), param = key.substr(dot + 1);
  std::size_t entry = sc.pipeline.size();
  std::vector<std::string> in_pipeline;
  for (std::size_t e = 0; e < sc.pipeline.size(); ++e) {
    in_pipeline.push_back(sc.pipeline[e].info->name);
    if (sc.pipeline[e].info->name == mech) entry = e;
  }
  if (entry == sc.pipeline.size()) {
    if (!pipeline_known) return std::nullopt;  // the pipeline's own error says why
    const auto gone = std::find_if(c.removed.begin(), c.removed.end(), [&](const auto& r) { return r.first == mech; });
    if (gone != c.removed.end()) {
      c.error(key_node, path + ": '" + mech + "' is removed from the pipeline by without: [" + gone->second +
                            "]; remove this change, or take '" + gone->second + "' out of without");
    } else if (registry.find(mech)) {
      c.error(key_node, path + ": '" + mech +
                            "' is not in the pipeline of this scenario; add it to the pipeline "
                            "or remove this change");
    } else {
      c.unknown(key_node, path, mech, in_pipeline, "mechanism");
    }
    return std::nullopt;
  }
  const auto& specs = sc.pipeline[entry].info->params;
  const int pi = param_index(specs, param);
  if (pi < 0) {
    std::vector<std::string> pnames;
    pnames.reserve(specs.size());
for (const auto& sp : specs) pnames.push_back(sp.name);
    c.unknown(key_node, path, param, pnames, "parameter", " of " + mech);
    return std::nullopt;
  }
  return std::pair{entry, static_cast<std::size_t>(pi)};
}

// Resolves one "mechanism.parameter: value" of a `set` map and checks the value.
std::optional<std::tuple<std::size_t, std::size_t, double>> resolve_param(
    Checker& c, const YAML::Node& key_node, const YAML::Node& value_node, const std::string& path,
    const Registry& registry, const Scenario& sc, bool pipeline_known) {
  const auto target = resolve_name(c, key_node, path, registry, sc, pipeline_known);
  if (!target) return std::nullopt;
  const auto [entry, pi] = *target;
  const std::string& key = key_node.Scalar();
  const auto v = c.value(value_node, path + "." + key, sc.pipeline[entry].info->params[pi]);
  if (!v) return std::nullopt;
  return std::tuple{entry, pi, *v};
}

void parse_timeline(Checker& c, const YAML::Node& node, const Registry& registry, Scenario& sc,
                    bool years_known, bool pipeline_known) {
  std::set<std::tuple<std::int32_t, std::size_t, std::size_t>> changed;  // (term, entry, param)
  if (!node || node.IsNull()) return;
  if (!node.IsSequence()) {
    c.error(node, "timeline: expected a list of events, found " + Checker::describe(node));
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node ev = node[i];
    const std::string path = "timeline[" + std::to_string(i) + "]";
    if (!c.check_map(ev, path, kTimelineKeys)) continue;
    TimelineEvent base;
    bool ok = true;
    if (!ev["year"]) {
      c.error(ev, path + ": missing key 'year'");
      ok = false;
    } else if (auto y = c.number(ev["year"], path + ".year", ParamType::integer, 0,
                                 years_known ? sc.years - 1 : kMaxYears - 1,
                                 "years from the start, 0 = first year")) {
      base.year = static_cast<std::int32_t>(*y);
    } else {
      ok = false;
    }
    if (ev["term"]) {
      if (auto t = c.number(ev["term"], path + ".term", ParamType::integer, 1, kTermsPerYear)) {
        base.term = static_cast<std::int32_t>(*t);
      } else {
        ok = false;
      }
    }
    const YAML::Node set = ev["set"];
    if (!set) {
      c.error(ev, path + ": missing key 'set' (parameters to change, as mechanism.parameter: value)");
      continue;
    }
    if (!set.IsMap()) {
      c.error(set, path + ".set: expected a mapping of mechanism.parameter to value");
      continue;
    }
    if (set.size() == 0) {
      c.error(set, path + ".set: no parameters to change");
      continue;
    }
    std::set<std::string> keys;
    for (const auto& kv : set) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!keys.insert(key).second) {
        c.error(kv.first, concat(path, ".set: '", key, "' appears twice"));
        continue;
      }
      const auto target = resolve_param(c, kv.first, kv.second, path + ".set", registry, sc, pipeline_known);
      if (!target || !ok) continue;
      const auto [entry, pi, v] = *target;
      TimelineEvent e = base;
      e.entry = entry;
      e.param = pi;
      e.value = v;
      if (!changed.insert({e.absolute_term(), e.entry, e.param}).second) {
        c.error(kv.first, concat(path, ".set: '", key, "' is already changed in year ",
                                 std::to_string(e.year), " term ", std::to_string(e.term)));
        continue;
      }
      sc.timeline.push_back(e);
    }
  }
}

void parse_record(Checker& c, const YAML::Node& node, RecordConfig& rec, bool inherit) {
  if (!inherit) rec.schools = kDefaultRecordedFields;
  if (!node || node.IsNull()) return;
  if (!c.check_map(node, "record", kRecordKeys)) return;
  if (const YAML::Node every = node["every"]) {
    if (auto s = c.text(every, "record.every")) {
      if (*s == "term") {
        rec.every = Cadence::term;
      } else if (*s == "year") {
        rec.every = Cadence::year;
      } else {
        c.unknown(every, "record.every", *s, {"term", "year"}, "rate");
      }
    }
  }
  if (const YAML::Node schools = node["schools"]) {
    std::vector<std::string> names;
    for (const auto& f : kFields)
      if (f.role == Role::dynamic) names.emplace_back(f.name);
    if (schools.IsScalar() && schools.Scalar() == "all") {
      rec.schools.clear();
      for (const auto& f : kFields)
        if (f.role == Role::dynamic) rec.schools.push_back(f.field);
    } else if (schools.IsSequence()) {
      rec.schools.clear();
      std::set<std::string> seen;
      for (std::size_t i = 0; i < schools.size(); ++i) {
        const std::string path = "record.schools[" + std::to_string(i) + "]";
        auto name = c.text(schools[i], path);
        if (!name) continue;
        const auto f = field_by_name(*name);
        if (!f) {
          c.unknown(schools[i], path, *name, names, "school variable");
        } else if (info(*f).role == Role::fixed) {
          c.error(schools[i], path + ": '" + *name +
                                   "' is fixed when the world is generated; it is always stored "
                                   "in /schools");
        } else if (!seen.insert(*name).second) {
          c.error(schools[i], path + ": '" + *name + "' is listed twice");
        } else {
          rec.schools.push_back(*f);
        }
      }
    } else if (schools.IsNull()) {
      rec.schools.clear();
    } else {
      c.error(schools, "record.schools: expected a list of school variables or 'all', found " +
                           Checker::describe(schools));
    }
  }
  const std::pair<const char*, bool*> flags[] = {
      {"attainment", &rec.attainment}, {"system", &rec.system}, {"ties", &rec.ties}};
  for (auto [key, target] : flags) {
    if (const YAML::Node n = node[key])
      if (auto v = c.boolean(n, std::string("record.") + key)) *target = *v != 0;
  }
}

std::string stem_of(const std::string& name) {
  auto slash = name.find_last_of('/');
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  auto dot = base.find_last_of('.');
  return dot == std::string::npos ? base : base.substr(0, dot);
}

// ---------------------------------------------------------------- world from a register
// `world.register` (docs/DATA.md): the file, and the keys that choose what is
// read from it, beside or inside it.
const std::vector<std::string> kRegisterKeys = {"path", "format", "missing", "areas", "around"};
const std::vector<std::string> kAroundKeys = {"urn", "easting", "northing", "radius_km"};
// World parameters the register replaces: an error to set beside it.
const std::vector<std::string> kRegisterReplaces = {
    "schools", "areas", "map_km", "area_radius_km", "secondary_share", "primary_places", "secondary_places",
    "occupancy", "area_disadvantage_sd", "school_disadvantage_sd", "initial_ties_per_school"};

bool is_register_key(const std::string& k) {
  return k == "register" || k == "format" || k == "missing" || k == "around";
}

// Parses the register keys of `world` into sc.world_register and reads the
// file; returns the world node without them, for the parameters.
YAML::Node parse_world_register(Checker& c, const YAML::Node& world, const std::string& scenario_file,
                                const Registry& registry, Scenario& sc, bool inherit) {
  if (!world || !world.IsMap()) return world;
  bool has_register = false;
  for (const auto& kv : world)
    if (kv.first.IsScalar() && kv.first.Scalar() == "register") has_register = true;
  const bool inherited = inherit && sc.world_register.has_value();
  if (!has_register && !inherited) return world;  // `areas` is the generator's count
  RegisterSource src = has_register ? RegisterSource{} : *sc.world_register;
  YAML::Node rest(YAML::NodeType::Map);
  YAML::Node anchor = world;
  std::set<std::string> given;
  const auto set_key = [&](const std::string& path, const std::string& k, const YAML::Node& v) {
    if (!given.insert(k).second) {
      c.error(v, path + ": '" + k + "' is given twice (beside and inside world.register)");
      return;
    }
    if (k == "path") {
      anchor.reset(v);  // rebinds: operator= would overwrite the world node itself
      if (auto t = c.text(v, path)) src.path = *t;
    } else if (k == "format") {
      if (auto t = c.text(v, path)) {
        if (*t != "gias") c.unknown(v, path, *t, {"gias"}, "format");
        src.format = *t;
      }
    } else if (k == "missing") {
      if (auto t = c.text(v, path)) {
        if (*t == "error") src.missing = RegisterMissing::error;
        else if (*t == "impute") src.missing = RegisterMissing::impute;
        else c.unknown(v, path, *t, {"error", "impute"}, "value");
      }
    } else if (k == "areas") {
      src.areas.clear();
      if (!v.IsSequence()) {
        c.error(v, path + ": expected a list of LA codes, such as [202, 203]");
      } else {
        for (const auto& a : v)
          if (auto t = c.text(a, path)) src.areas.push_back(*t);
      }
    } else if (k == "around") {
      src.around_urn = 0, src.around_easting = src.around_northing = 0, src.radius_km = 0;
      if (c.check_map(v, path, kAroundKeys)) {
        if (!v["radius_km"]) c.error(v, path + ": give radius_km, the radius of the circle in km");
        if (v["radius_km"]) {
          if (auto x = c.number(v["radius_km"], path + ".radius_km", ParamType::real, 0.1, 2000, "km"))
            src.radius_km = *x;
        }
        const bool urn = static_cast<bool>(v["urn"]), en = v["easting"] || v["northing"];
        if (urn == en) {
          c.error(v, path + ": give either urn (a school at the centre) or easting and northing (metres on the "
                            "British National Grid)");
        }
        if (urn) {
          if (auto x = c.number(v["urn"], path + ".urn", ParamType::integer, 1, 2147483647))
            src.around_urn = static_cast<std::int64_t>(*x);
        }
        if (en) {
          if (!v["easting"] || !v["northing"]) c.error(v, path + ": give both easting and northing");
          if (v["easting"]) {
            if (auto x = c.number(v["easting"], path + ".easting", ParamType::real, 0, 700000, "m"))
              src.around_easting = *x;
          }
          if (v["northing"]) {
            if (auto x = c.number(v["northing"], path + ".northing", ParamType::real, 0, 1300000, "m"))
              src.around_northing = *x;
          }
        }
      }
    }
  };
  for (const auto& kv : world) {
    if (!kv.first.IsScalar()) {
      rest.force_insert(kv.first, kv.second);
      continue;
    }
    const std::string k = kv.first.Scalar();
    if (k == "register") {
      const YAML::Node r = kv.second;
      if (r.IsMap()) {
        if (c.check_map(r, "world.register", kRegisterKeys)) {
          if (!r["path"]) c.error(r, "world.register: give path, the register file");
          for (const auto& e : r) {
            if (e.first.IsScalar() &&
                std::find(kRegisterKeys.begin(), kRegisterKeys.end(), e.first.Scalar()) != kRegisterKeys.end())
              set_key("world.register." + e.first.Scalar(), e.first.Scalar(), e.second);
          }
        }
      } else {
        set_key("world.register", "path", r);
      }
    } else if (is_register_key(k) || k == "areas") {
      set_key("world." + k, k, kv.second);
    } else {
      if (std::find(kRegisterReplaces.begin(), kRegisterReplaces.end(), k) != kRegisterReplaces.end()) {
        c.error(kv.first, "world." + k + ": not used with world.register, which gives the schools, areas, "
                          "locations, sizes and intakes (docs/DATA.md); leave it out");
      } else {
        rest.force_insert(kv.first, kv.second);
      }
    }
  }
  if (src.path.empty()) return rest;
  if (has_register && given.count("path")) {
    namespace fs = std::filesystem;
    const fs::path p(src.path);
    src.resolved = (p.is_absolute() ? p : fs::path(scenario_file).parent_path() / p).lexically_normal().string();
  }
  if (!registry.world().load_register) {
    c.error(anchor, "world.register: this build's world cannot read a register");
    return rest;
  }
  const RegisterLoad load = registry.world().load_register(src);
  for (const auto& e : load.errors) {
    if (e.line > 0) {
      c.external(src.resolved, e.line, std::max(1, e.column), e.message);
    } else {
      c.error(anchor, e.message);
    }
  }
  if (load.data) {
    sc.world_register = src;
    sc.register_data = load.data;
  }
  return rest;
}

// Reads a scenario or experiment file: regular files only (not a directory,
// FIFO or device such as /dev/zero), of at most kMaxInputBytes. On failure,
// `why` says what is wrong and nothing is returned.
std::optional<std::string> read_input_file(const std::string& path, std::string& why) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    why = ec && ec != std::errc::no_such_file_or_directory ? "cannot open it: " + ec.message() : "no such file";
    return std::nullopt;
  }
  if (fs::is_directory(st)) {
    why = "it is a directory, not a file";
    return std::nullopt;
  }
  if (!fs::is_regular_file(st)) {
    why = "it is not a regular file (a pipe, socket or device cannot be a scenario)";
    return std::nullopt;
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    why = "cannot read it: " + ec.message();
    return std::nullopt;
  }
  if (size > kMaxInputBytes) {
    why = "it is " + std::to_string(size) + " bytes; scenario and experiment files are at most " +
          std::to_string(kMaxInputBytes / (std::uintmax_t{1024} * 1024)) + " MiB";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot open it";
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    why = "cannot read it";
    return std::nullopt;
  }
  return text;
}

// The first place (1-based line and column) where `text` is not UTF-8, if any.
std::optional<std::pair<int, int>> not_utf8(const std::string& text) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > text.size()) return std::pair{line, column};
    std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d >> 6) != 0x2) return std::pair{line, column};
      cp = (cp << 6) | (d & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::pair{line, column};
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return std::nullopt;
}

// The line (1-based) of a '---' that starts a second YAML document, if any.
int second_document(const std::string& text) {
  bool content = false, started = false, ended = false;
  int line = 0;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    ++line;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    auto marker = [&](const char* m) { return l.rfind(m, 0) == 0 && (l.size() == 3 || l[3] == ' ' || l[3] == '\t'); };
    if (marker("---")) {
      if (content || started) return line;
      started = true;
      continue;
    }
    if (marker("...")) {
      ended = true;
      continue;
    }
    const std::size_t first = l.find_first_not_of(" \t");
    if (first == std::string::npos || l[first] == '#' || (l[first] == '%' && !content)) continue;
    if (ended) return line;
    content = true;
  }
  return 0;
}


// `without: [name, ...]` in a file that extends another: removes mechanisms
// from the inherited pipeline, each named itself or by its family (the models/
// folder it lives in: a framework such as durkheim, or policy). Every name
// must remove something still in the pipeline. Returns false when the list
// could not be applied, so that later changes are not blamed for it.
bool parse_without(Checker& c, const YAML::Node& node, const Registry& registry, Scenario& sc, bool inherit,
                   bool own_pipeline, const std::string& parent) {
  if (!inherit) {
    c.error(node, "without: removes mechanisms from the pipeline of the scenario this one extends, and this "
                  "file extends none; give extends, or leave the mechanisms out of pipeline");
    return false;
  }
  if (own_pipeline) {
    c.error(node, "without: removes mechanisms from the inherited pipeline, but this file gives a pipeline of "
                  "its own, which replaces it; leave the mechanisms out of that pipeline instead");
    return false;
  }
  std::vector<YAML::Node> items;
  if (node.IsScalar()) {
    items.push_back(node);
  } else if (node.IsSequence()) {
    for (const auto& i : node) items.push_back(i);
  } else {
    c.error(node, "without: expected a list of mechanism or framework names, such as [durkheim], found " +
                      Checker::describe(node));
    return false;
  }
  std::vector<std::string> known = registry.names();
  for (const auto& m : registry.mechanisms())
    if (std::find(known.begin(), known.end(), m.family) == known.end()) known.push_back(m.family);
  auto listed = [&] {
    std::vector<std::string> names;
    for (const auto& e : sc.pipeline) names.push_back(e.info->name);
    return names.empty() ? std::string("none left") : join(names);
  };
  bool ok = true;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const YAML::Node& item = items[i];
    const std::string path = node.IsSequence() ? "without[" + std::to_string(i) + "]" : "without";
    if (!item.IsScalar()) {
      c.error(item, path + ": expected a mechanism or framework name, found " + Checker::describe(item));
      ok = false;
      continue;
    }
    const std::string name = item.Scalar();
    if (!seen.insert(name).second) {
      c.error(item, concat(path, ": '", name, "' is listed twice"));
      continue;
    }
    const MechanismInfo* info = registry.find(name);
    std::vector<std::string> family;
    for (const auto& m : registry.mechanisms())
      if (m.family == name) family.push_back(m.name);
    if (!info && family.empty()) {
      std::string msg = path + ": unknown mechanism or framework '" + excerpt(name) + "'";
      const std::string guess = nearest(name, known);
      msg += guess.empty() ? "; valid names are: " + join(known) : "; did you mean '" + guess + "'?";
      c.error(item, msg);
      ok = false;
      continue;
    }
    // A mechanism's own name removes it; a family's name removes every one of its mechanisms.
    const std::vector<std::string> targets = info ? std::vector<std::string>{name} : family;
    std::size_t removed_here = 0;
    for (const auto& t : targets) {
      const auto at = std::find_if(sc.pipeline.begin(), sc.pipeline.end(),
                                   [&](const PipelineEntry& e) { return e.info->name == t; });
      if (at == sc.pipeline.end()) continue;
      sc.pipeline.erase(at);
      c.removed.emplace_back(t, name);
      ++removed_here;
    }
    if (removed_here > 0) continue;
    const auto before = std::find_if(c.removed.begin(), c.removed.end(), [&](const auto& r) {
      return std::find(targets.begin(), targets.end(), r.first) != targets.end();
    });
    if (before != c.removed.end()) {
      c.error(item, concat(path, ": '", name, "' is already removed by '", before->second,
                           "' in this list"));
    } else if (info) {
      c.error(item, concat(path, ": '", name, "' is not in the pipeline inherited from ", parent,
                           " (", listed(), ")"));
    } else {
      c.error(item, concat(path, ": no mechanism of '", name, "' (", join(family),
                           ") is in the pipeline inherited from ", parent, " (", listed(), ")"));
    }
    ok = false;
  }
  return ok;
}

LoadResult load_chain(const std::string& path, const Registry& registry, std::vector<std::string>& chain,
                      const ReadFile& read);
YAML::Mark unclosed_flow(const std::string& text, const YAML::Mark& stop);

LoadResult parse_node(const YAML::Node& root, const std::string& name, const Registry& registry,
                      std::vector<std::string>& chain, const ReadFile& read) {
  LoadResult result;
  Checker c(name, result.errors);
  Scenario sc;

  if (root.IsNull()) {
    c.error(root, "the scenario is empty; see docs/SCENARIOS.md for the keys it takes");
    return result;
  }
  if (!c.check_map(root, "", kTopKeys)) return result;

  // A scenario may start from another and override only what differs.
  bool inherit = false;
  std::string parent_name;
  if (const YAML::Node n = root["extends"]) {
    if (auto parent = c.text(n, "extends")) {
      namespace fs = std::filesystem;
      const fs::path path = fs::path(name).parent_path() / *parent;
      std::error_code ec;
      const fs::path canonical = read ? path.lexically_normal() : fs::weakly_canonical(path, ec);
      if (ec) {
        c.error(n, "extends: cannot read '" + excerpt(*parent) + "': " + ec.message());
        return result;
      }
      const std::string key = canonical.string();
      if (std::find(chain.begin(), chain.end(), key) != chain.end()) {
        std::string cycle;
        for (const auto& f : chain) cycle += fs::path(f).filename().string() + " -> ";
        c.error(n, "extends: '" + *parent + "' leads back to itself: " + cycle + fs::path(key).filename().string());
        return result;
      }
      // Files on disk are checked before they are read; built-in copies (read) are trusted.
      if (!read) {
        const fs::file_status st = fs::status(path, ec);
        if (ec && ec != std::errc::no_such_file_or_directory) {
          c.error(n, "extends: cannot read '" + excerpt(*parent) + "': " + ec.message());
          return result;
        }
        if (!fs::exists(st)) {
          c.error(n, "extends: cannot find '" + *parent + "' (looked for " + path.string() + ")");
          return result;
        }
        std::string why;
        const std::optional<std::string> parent_text = read_input_file(path.string(), why);
        if (!parent_text) {
          c.error(n, "extends: cannot use '" + excerpt(*parent) + "': " + why);
          return result;
        }
        // A file that is not a scenario at all is named, not echoed.
        bool mapping = false;
        try {
          mapping = !not_utf8(*parent_text) && YAML::Load(*parent_text).IsMap();
        } catch (const YAML::Exception&) {
          mapping = true;  // a scenario with a syntax error: its own errors say where
        }
        if (!mapping) {
          c.error(n, "extends: '" + excerpt(*parent) + "' is not a scenario (a YAML mapping of keys to values)");
          return result;
        }
      }
      LoadResult base = load_chain(path.string(), registry, chain, read);
      if (!base.scenario) {
        c.error(n, "extends: '" + *parent + "' has " + std::to_string(base.errors.size()) +
                       " problem(s), listed with its name");
        result.errors.insert(result.errors.end(), base.errors.begin(), base.errors.end());
        return result;
      }
      sc = std::move(*base.scenario);
      inherit = true;
      parent_name = *parent;
    }
  }
  sc.source = name;
  sc.name = stem_of(name);

  if (const YAML::Node n = root["name"])
    if (auto s = c.text(n, "name")) sc.name = *s;
  if (const YAML::Node n = root["description"]) {
    if (auto s = c.text(n, "description")) {
      // Without trailing line breaks, which a literal block adds: the resolved
      // scenario then reads back to the same text.
      sc.description = *s;
      while (!sc.description.empty() && (sc.description.back() == '\n' || sc.description.back() == ' '))
        sc.description.pop_back();
    }
  }
  if (const YAML::Node n = root["seed"]) {
    std::uint64_t seed = 0;
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    auto res = std::from_chars(s.data(), s.data() + s.size(), seed);
    if (!n.IsScalar() || n.Tag() == "!" || res.ec != std::errc() || res.ptr != s.data() + s.size()) {
      c.error(n, "seed: expected a whole number from 0 to 18446744073709551615, found " +
                     Checker::describe(n));
    } else {
      sc.seed = seed;
    }
  }
  if (const YAML::Node n = root["replicates"]) {
    if (auto v = c.number(n, "replicates", ParamType::integer, 1, kMaxReplicates))
      sc.replicates = static_cast<std::int32_t>(*v);
  }
  bool years_ok = true;
  if (const YAML::Node n = root["years"]) {
    if (auto v = c.number(n, "years", ParamType::integer, 1, kMaxYears)) {
      sc.years = static_cast<std::int32_t>(*v);
    } else {
      years_ok = false;
    }
  }
  const YAML::Node world = parse_world_register(c, root["world"], name, registry, sc, inherit);
  c.params(world, "world", registry.world().params, sc.world, inherit);
  if (sc.register_data) {  // the counts the register gives, for what reads them
    const auto& w = registry.world();
    sc.world[w.schools_param] = static_cast<double>(sc.register_data->schools.size());
    sc.world[w.areas_param] = static_cast<double>(sc.register_data->area_codes.size());
  }

  // The pipeline: a child's replaces its parent's; inherited timeline events
  // follow their mechanisms into it.
  const std::vector<PipelineEntry> inherited_pipeline = sc.pipeline;
  const std::vector<TimelineEvent> inherited_timeline = sc.timeline;
  bool pipeline_ok = true;
  if (!inherit || root["pipeline"]) {
    sc.pipeline.clear();
    pipeline_ok = parse_pipeline(c, root["pipeline"], registry, sc);
  }
  if (const YAML::Node n = root["without"]) {
    if (inherit || !root["extends"]) {
      pipeline_ok = parse_without(c, n, registry, sc, inherit, root["pipeline"].IsDefined(), parent_name) && pipeline_ok;
    } else {
      pipeline_ok = false;  // the extends key's own error says why
    }
  }
  if (const YAML::Node set = root["set"]) {
    if (!set.IsMap()) {
      c.error(set, "set: expected a mapping of mechanism.parameter to value");
    } else {
      std::set<std::string> keys;
      for (const auto& kv : set) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (!keys.insert(key).second) {
          c.error(kv.first, "set: '" + key + "' appears twice");
          continue;
        }
        if (auto t = resolve_param(c, kv.first, kv.second, "set", registry, sc, pipeline_ok)) {
          const auto [entry, pi, v] = *t;
          sc.pipeline[entry].values[pi] = v;
        }
      }
    }
  }
  sc.timeline.clear();
  if (root["timeline"]) {
    parse_timeline(c, root["timeline"], registry, sc, years_ok, pipeline_ok);
  } else if (pipeline_ok) {
    for (const auto& ev : inherited_timeline) {
      const PipelineEntry& old = inherited_pipeline[ev.entry];
      std::size_t e = 0;
      while (e < sc.pipeline.size() && sc.pipeline[e].info != old.info) ++e;
      const std::string what = old.info->name + "." + old.info->params[ev.param].name;
      // An event of a mechanism `without:` removed goes with it.
      if (e == sc.pipeline.size() &&
          std::any_of(c.removed.begin(), c.removed.end(), [&](const auto& r) { return r.first == old.info->name; }))
        continue;
      if (e == sc.pipeline.size()) {
        c.error(root["pipeline"], "the inherited timeline changes '" + what +
                                      "', but this pipeline has no '" + old.info->name + "'; give a timeline");
        continue;
      }
      if (years_ok && ev.year >= sc.years) {
        c.error(root["years"], "years: the inherited timeline changes '" + what + "' in year " +
                                   std::to_string(ev.year) + ", beyond the " + std::to_string(sc.years) +
                                   " years of this scenario; give a timeline");
        continue;
      }
      TimelineEvent moved = ev;
      moved.entry = e;
      sc.timeline.push_back(moved);
    }
  }
  parse_record(c, root["record"], sc.record, inherit);

  // Report in the order of the file.
  std::stable_sort(result.errors.begin(), result.errors.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::tuple(a.file != name, a.line, a.column) < std::tuple(b.file != name, b.line, b.column);
  });
  if (result.errors.empty()) result.scenario = std::move(sc);
  return result;
}

// yaml-cpp notices an unclosed '[' or '{' only where the flow should have
// ended; the place to fix is the opener. Returns the innermost bracket still
// open before `stop`, skipping quoted text and comments.
YAML::Mark unclosed_flow(const std::string& text, const YAML::Mark& stop) {
  std::vector<YAML::Mark> open;
  YAML::Mark at;
  at.line = 0, at.column = 0;
  char quote = 0;
  bool comment = false;
  char prev = '\n';
  for (char ch : text) {
    if (!stop.is_null() && (at.line > stop.line || (at.line == stop.line && at.column >= stop.column)))
      break;
    if (ch == '\n') {
      comment = false;
      ++at.line, at.column = 0;
      prev = ch;
      continue;
    }
    if (!comment) {
      if (quote) {
        if (ch == quote && !(quote == '"' && prev == '\\')) quote = 0;
      } else if (ch == '#' && (prev == ' ' || prev == '\t' || prev == '\n')) {
        comment = true;
      } else if (ch == '"' || ch == '\'') {
        quote = ch;
      } else if (ch == '[' || ch == '{') {
        open.push_back(at);
      } else if ((ch == ']' || ch == '}') && !open.empty()) {
        open.pop_back();
      }
    }
    prev = ch;
    ++at.column;
  }
  return open.empty() ? stop : open.back();
}

LoadResult parse_text(const std::string& text, const std::string& name, const Registry& registry,
                      std::vector<std::string>& chain, const ReadFile& read) {
  if (auto bad = not_utf8(text)) {
    LoadResult r;
    r.errors.push_back({name, bad->first, bad->second, "the file is not UTF-8 text; save it as UTF-8"});
    return r;
  }
  if (const int line = second_document(text)) {
    LoadResult r;
    r.errors.push_back({name, line, 1, "a second YAML document starts here; a scenario is one document "
                                       "(remove this '---' and what follows, or put it in a file of its own)"});
    return r;
  }
  const std::string* outer = g_text;
  const std::pair<int, int> outer_end = g_text_end;
  struct Restore {
    const std::string* text;
    std::pair<int, int> end;
    ~Restore() { g_text = text, g_text_end = end; }
  } restore{outer, outer_end};
  try {
    set_text(&text);
    YAML::Node root = YAML::Load(text);
    return parse_node(root, name, registry, chain, read);
  } catch (const YAML::Exception& e) {
    LoadResult r;
    Checker c(name, r.errors);
    if (e.msg.find("flow not found") != std::string::npos) {
      const bool seq = e.msg.find("sequence") != std::string::npos;
      c.error(unclosed_flow(text, e.mark),
              std::string("YAML syntax: this ") + (seq ? "'['" : "'{'") + " is never closed with " +
                  (seq ? "']'" : "'}'"));
    } else {
      c.error(e.mark, "YAML syntax: " + e.msg);
    }
    return r;
  }
}

LoadResult load_chain(const std::string& path, const Registry& registry, std::vector<std::string>& chain,
                      const ReadFile& read) {
  std::string text;
  if (read) {
    std::optional<std::string> t = read(path);
    if (!t) {
      LoadResult r;
      r.errors.push_back({path, 0, 0, "cannot find the scenario file"});
      return r;
    }
    text = std::move(*t);
    chain.push_back(std::filesystem::path(path).lexically_normal().string());
  } else {
    std::string why;
    std::optional<std::string> t = read_input_file(path, why);
    if (!t) {
      LoadResult r;
      r.errors.push_back({path, 0, 0, "cannot read the scenario file: " + why});
      return r;
    }
    text = std::move(*t);
    std::error_code ec;
    const std::filesystem::path key = std::filesystem::weakly_canonical(path, ec);
    chain.push_back(ec ? path : key.string());
  }
  LoadResult r = parse_text(text, path, registry, chain, read);
  chain.pop_back();
  return r;
}

}  // namespace

LoadResult parse_scenario(const std::string& text, const std::string& name,
                          const Registry& registry) {
  std::vector<std::string> chain;
  return parse_text(text, name, registry, chain, {});
}

LoadResult load_scenario(const std::string& path, const Registry& registry) {
  std::vector<std::string> chain;
  return load_chain(path, registry, chain, {});
}

LoadResult load_scenario(const std::string& path, const Registry& registry, const ReadFile& read) {
  std::vector<std::string> chain;
  return load_chain(path, registry, chain, read);
}

namespace {

const std::vector<std::string> kExperimentKeys = {"scenario", "name",    "design", "parameters",
                                                  "replicates", "outputs", "series", "bootstrap"};
const std::vector<std::string> kDesignKeys = {"method", "runs", "levels"};

void parse_experiment(Checker& c, const YAML::Node& root, const std::string& path, const Registry& registry,
                      ExperimentResult& result) {
  Experiment e;
  e.source = path;
  e.name = stem_of(path);
  if (root.IsNull()) {
    c.error(root, "the experiment is empty; see docs/EXPERIMENTS.md for the keys it takes");
    return;
  }
  if (!c.check_map(root, "", kExperimentKeys)) return;
  const YAML::Node sc_node = root["scenario"];
  if (!sc_node) {
    c.error(root, "missing key 'scenario' (the scenario file to sweep)");
    return;
  }
  const auto sc_path = c.text(sc_node, "scenario");
  if (!sc_path) return;
  const std::filesystem::path full = std::filesystem::path(path).parent_path() / *sc_path;
  LoadResult base = load_scenario(full.string(), registry);
  if (!base.scenario) {
    c.error(sc_node, "scenario: '" + *sc_path + "' has " + std::to_string(base.errors.size()) +
                         " problem(s), listed with its name");
    result.errors.insert(result.errors.end(), base.errors.begin(), base.errors.end());
    return;
  }
  e.base = std::move(*base.scenario);
  if (const YAML::Node n = root["name"])
    if (auto t = c.text(n, "name")) e.name = *t;
  if (const YAML::Node d = root["design"]) {
    if (c.check_map(d, "design", kDesignKeys)) {
      if (const YAML::Node m = d["method"]) {
        if (auto t = c.text(m, "design.method")) {
          std::vector<std::string> names(kDesignMethodNames.begin(), kDesignMethodNames.end());
          const auto it = std::find(names.begin(), names.end(), *t);
          if (it == names.end()) {
            c.unknown(m, "design.method", *t, names, "method");
          } else {
            e.method = static_cast<DesignMethod>(it - names.begin());
          }
        }
      }
      if (const YAML::Node n = d["runs"])
        if (auto v = c.number(n, "design.runs", ParamType::integer, 1, 1000000)) e.runs = static_cast<std::int32_t>(*v);
      if (const YAML::Node n = d["levels"]) {
        if (auto v = c.number(n, "design.levels", ParamType::integer, 2, 100)) e.levels = static_cast<std::int32_t>(*v);
        if (e.method == DesignMethod::morris && e.levels % 2 != 0)
          c.error(n, "design.levels: a Morris design needs an even number of levels (Morris 1991)");
      }
    }
  }
  const YAML::Node params = root["parameters"];
  if (!params || !params.IsMap() || params.size() == 0) {
    c.error(params ? params : root, "parameters: expected a mapping of parameter to [low, high], e.g. "
                                    "'market.choice: [0, 1]' or 'world.reach_km: [3, 10]'");
  } else {
    std::vector<std::string> world_names;
    for (const auto& sp : registry.world().params) world_names.push_back(sp.name);
    for (const auto& kv : params) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const std::string where = "parameters." + key;
      SweepParameter p;
      p.name = key;
      const ParamSpec* spec = nullptr;
      if (key.rfind("world.", 0) == 0) {
        const int i = param_index(registry.world().params, key.substr(6));
        if (i < 0) {
          c.unknown(kv.first, "parameters", key.substr(6), world_names, "parameter", " of world");
          continue;
        }
        p.world = true;
        p.param = static_cast<std::size_t>(i);
        spec = &registry.world().params[p.param];
      } else {
        const auto target = resolve_name(c, kv.first, "parameters", registry, e.base, true);
        if (!target) continue;
        p.entry = target->first;
        p.param = target->second;
        spec = &e.base.pipeline[p.entry].info->params[p.param];
      }
      if (spec->type == ParamType::boolean || spec->type == ParamType::choice) {
        c.error(kv.first, where + ": only numeric parameters can be swept");
        continue;
      }
      p.integer = spec->type == ParamType::integer;
      const YAML::Node range = kv.second;
      if (!range.IsSequence() || range.size() != 2) {
        c.error(range, where + ": expected [low, high]");
        continue;
      }
      const auto lo = c.number(range[0], where + "[0]", spec->type, spec->lo, spec->hi, spec->unit);
      const auto hi = c.number(range[1], where + "[1]", spec->type, spec->lo, spec->hi, spec->unit);
      if (!lo || !hi) continue;
      if (*lo >= *hi) {
        c.error(range, where + ": the low end must be below the high end");
        continue;
      }
      p.lo = *lo, p.hi = *hi;
      e.parameters.push_back(p);
    }
  }
  if (const YAML::Node n = root["replicates"])
    if (auto v = c.number(n, "replicates", ParamType::integer, 1, 10000)) e.replicates = static_cast<std::int32_t>(*v);
  if (const YAML::Node n = root["bootstrap"])
    if (auto v = c.number(n, "bootstrap", ParamType::integer, 10, 100000)) e.bootstrap = static_cast<std::int32_t>(*v);
  if (const YAML::Node n = root["series"])
    if (auto v = c.boolean(n, "series")) e.series = *v != 0;
  std::vector<std::string> measures;
  measures.reserve(kSystemMeasures.size());
for (const auto& m : kSystemMeasures) measures.emplace_back(m.name);
  if (const YAML::Node outs = root["outputs"]) {
    if (!outs.IsSequence()) {
      c.error(outs, "outputs: expected a list of system measures");
    } else {
      for (std::size_t i = 0; i < outs.size(); ++i) {
        const auto name = c.text(outs[i], "outputs[" + std::to_string(i) + "]");
        if (!name) continue;
        const auto it = std::find(measures.begin(), measures.end(), *name);
        if (it == measures.end()) {
          c.unknown(outs[i], "outputs[" + std::to_string(i) + "]", *name, measures, "measure");
        } else {
          e.outputs.push_back(static_cast<std::size_t>(it - measures.begin()));
        }
      }
    }
  } else {
    for (const char* m : {"mean_attainment", "attainment_gap"})
      e.outputs.push_back(static_cast<std::size_t>(std::find(measures.begin(), measures.end(), m) - measures.begin()));
  }
  if (result.errors.empty()) result.experiment = std::move(e);
}

}  // namespace

namespace {

// Reads a file that holds one YAML document (an experiment or a calibration)
// and hands its root to `parse`; what cannot be read, is not UTF-8 or is not
// one document is reported with its place.
template <class Parse>
void read_document(const std::string& path, const std::string& what, std::vector<Diagnostic>& errors, Parse&& parse) {
  Checker c(path, errors);
  std::string why;
  const std::optional<std::string> text = read_input_file(path, why);
  if (!text) {
    errors.push_back({path, 0, 0, "cannot read the " + what + " file: " + why});
    return;
  }
  if (auto bad = not_utf8(*text)) {
    errors.push_back({path, bad->first, bad->second, "the file is not UTF-8 text; save it as UTF-8"});
    return;
  }
  if (const int line = second_document(*text)) {
    errors.push_back({path, line, 1, "a second YAML document starts here; " + std::string(what == "experiment" ? "an " : "a ") +
                                         what + " is one document"});
    return;
  }
  try {
    parse(c, YAML::Load(*text));
  } catch (const YAML::Exception& e) {
    c.error(e.mark, "YAML syntax: " + e.msg);
  }
}

}  // namespace

ExperimentResult load_experiment(const std::string& path, const Registry& registry) {
  ExperimentResult r;
  read_document(path, "experiment", r.errors,
                [&](Checker& c, const YAML::Node& root) { parse_experiment(c, root, path, registry, r); });
  return r;
}

std::vector<Diagnostic> apply_overrides(Scenario& scenario, const std::vector<std::string>& overrides,
                                        const Registry& registry, const std::string& scenario_label) {
  std::vector<Diagnostic> errors;
  Scenario sc = scenario;
  std::set<std::string> seen;
  const auto& world_specs = registry.world().params;
  std::vector<std::string> world_names;
  world_names.reserve(world_specs.size());
for (const auto& sp : world_specs) world_names.push_back(sp.name);
  for (const std::string& text : overrides) {
    std::vector<Diagnostic> found;
    Checker c("--set " + excerpt(text), found);
    const auto eq = text.find('=');
    auto trim = [](const std::string& s) {
      const auto a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
      return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    const std::string key = trim(text.substr(0, eq)), value_text = eq == std::string::npos ? "" : trim(text.substr(eq + 1));
    const auto dot = key.find('.');
    YAML::Node value;
    if (eq == std::string::npos || key.empty() || dot == std::string::npos || dot == 0 || dot + 1 == key.size()) {
      c.error(YAML::Mark::null_mark(), "expected mechanism.parameter=value or world.parameter=value, such as "
                                       "market.choice=0.5 or world.schools=500");
    } else if (value_text.empty()) {
      c.error(YAML::Mark::null_mark(), key + ": no value after '='");
    } else if (!seen.insert(key).second) {
      c.error(YAML::Mark::null_mark(), key + ": given twice; give each parameter once");
    } else {
      try {
        value = YAML::Load(value_text);
      } catch (const YAML::Exception&) {
        c.error(YAML::Mark::null_mark(), key + ": '" + excerpt(value_text) + "' is not a value");
      }
    }
    if (found.empty()) {
      const std::string mech = key.substr(0, dot), param = key.substr(dot + 1);
      if (mech == "world") {
        const int i = param_index(world_specs, param);
        if (i < 0) {
          c.unknown(YAML::Node(param), "", param, world_names, "parameter", " of world");
        } else if (sc.register_data &&
                   std::find(kRegisterReplaces.begin(), kRegisterReplaces.end(), param) != kRegisterReplaces.end()) {
          c.error(YAML::Mark::null_mark(),
                  concat(key, ": ", scenario_label,
                         " reads its schools from a register, which gives this (docs/DATA.md)"));
        } else if (auto v = c.value(value, key, world_specs[static_cast<std::size_t>(i)])) {
          sc.world[static_cast<std::size_t>(i)] = *v;
        }
      } else {
        std::size_t entry = sc.pipeline.size();
        std::vector<std::string> in_pipeline;
        for (std::size_t e = 0; e < sc.pipeline.size(); ++e) {
          in_pipeline.push_back(sc.pipeline[e].info->name);
          if (sc.pipeline[e].info->name == mech) entry = e;
        }
        if (entry == sc.pipeline.size()) {
          if (registry.find(mech)) {
            c.error(YAML::Mark::null_mark(), concat("'", mech, "' is not in the pipeline of ",
                                                    scenario_label, " (", join(in_pipeline), ")"));
          } else {
            in_pipeline.emplace_back("world");
            c.unknown(YAML::Node(mech), "", mech, in_pipeline, "mechanism");
          }
        } else {
          const auto& specs = sc.pipeline[entry].info->params;
          const int pi = param_index(specs, param);
          std::vector<std::string> pnames;
          pnames.reserve(specs.size());
for (const auto& sp : specs) pnames.push_back(sp.name);
          if (pi < 0) {
            c.unknown(YAML::Node(param), "", param, pnames, "parameter", " of " + mech);
          } else if (auto v = c.value(value, key, specs[static_cast<std::size_t>(pi)])) {
            sc.pipeline[entry].values[static_cast<std::size_t>(pi)] = *v;
          }
        }
      }
    }
    // The option has no line or column: the messages name it instead.
    for (auto& d : found) d.line = d.column = 0;
    errors.insert(errors.end(), found.begin(), found.end());
  }
  if (errors.empty()) scenario = std::move(sc);
  return errors;
}

std::string to_yaml(const Scenario& sc, const Registry& registry) {
  YAML::Emitter out;
  auto param_map = [&](const std::vector<ParamSpec>& specs, const std::vector<double>& values) {
    out << YAML::BeginMap;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      out << YAML::Key << specs[i].name << YAML::Value << value_text(specs[i], values[i]);
    }
    out << YAML::EndMap;
  };
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << sc.name;
  // Without trailing line breaks (which a literal block would add on reading):
  // the resolved text then reads back to itself.
  std::string description = sc.description;
  while (!description.empty() && (description.back() == '\n' || description.back() == ' '))
    description.pop_back();
  if (!description.empty()) {
    out << YAML::Key << "description" << YAML::Value
        << (description.find('\n') != std::string::npos ? YAML::Literal : YAML::Auto) << description;
  }
  out << YAML::Key << "seed" << YAML::Value << std::to_string(sc.seed);
  out << YAML::Key << "replicates" << YAML::Value << std::to_string(sc.replicates);
  out << YAML::Key << "years" << YAML::Value << std::to_string(sc.years);
  out << YAML::Key << "world" << YAML::Value;
  if (sc.world_register) {
    // The register, with its path made absolute, and the parameters it leaves to the world.
    const RegisterSource& r = *sc.world_register;
    out << YAML::BeginMap << YAML::Key << "register" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "path" << YAML::Value << std::filesystem::absolute(r.resolved).lexically_normal().string();
    out << YAML::Key << "format" << YAML::Value << r.format;
    out << YAML::Key << "missing" << YAML::Value << (r.missing == RegisterMissing::impute ? "impute" : "error");
    if (!r.areas.empty()) {
      out << YAML::Key << "areas" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& a : r.areas) out << a;
      out << YAML::EndSeq;
    }
    if (r.has_radius()) {
      out << YAML::Key << "around" << YAML::Value << YAML::Flow << YAML::BeginMap;
      if (r.around_urn > 0) {
        out << YAML::Key << "urn" << YAML::Value << std::to_string(r.around_urn);
      } else {
        out << YAML::Key << "easting" << YAML::Value << fmt(r.around_easting);
        out << YAML::Key << "northing" << YAML::Value << fmt(r.around_northing);
      }
      out << YAML::Key << "radius_km" << YAML::Value << fmt(r.radius_km) << YAML::EndMap;
    }
    out << YAML::EndMap;
    const auto& specs = registry.world().params;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (std::find(kRegisterReplaces.begin(), kRegisterReplaces.end(), specs[i].name) == kRegisterReplaces.end())
        out << YAML::Key << specs[i].name << YAML::Value << value_text(specs[i], sc.world[i]);
    }
    out << YAML::EndMap;
  } else {
    param_map(registry.world().params, sc.world);
  }
  out << YAML::Key << "pipeline" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : sc.pipeline) {
    out << YAML::BeginMap << YAML::Key << e.info->name << YAML::Value;
    param_map(e.info->params, e.values);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "timeline" << YAML::Value << YAML::BeginSeq;
  for (const auto& ev : sc.timeline) {
    const PipelineEntry& e = sc.pipeline[ev.entry];
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "year" << YAML::Value << std::to_string(ev.year);
    out << YAML::Key << "term" << YAML::Value << std::to_string(ev.term);
    out << YAML::Key << "set" << YAML::Value << YAML::BeginMap << YAML::Key
        << e.info->name + "." + e.info->params[ev.param].name << YAML::Value
        << value_text(e.info->params[ev.param], ev.value);
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "record" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "every" << YAML::Value << (sc.record.every == Cadence::term ? "term" : "year");
  out << YAML::Key << "schools" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (Field f : sc.record.schools) out << std::string(info(f).name);
  out << YAML::EndSeq;
  out << YAML::Key << "attainment" << YAML::Value << (sc.record.attainment ? "true" : "false");
  out << YAML::Key << "system" << YAML::Value << (sc.record.system ? "true" : "false");
  out << YAML::Key << "ties" << YAML::Value << (sc.record.ties ? "true" : "false");
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

// ---------------------------------------------------------------- calibration files

namespace {

const std::vector<std::string> kCalibrationKeys = {"name",    "description", "seed",       "population",
                                                   "generations", "replicates", "quantile", "min_acceptance",
                                                   "batch",   "parameters",  "experiments", "targets"};
const std::vector<std::string> kCalibParamKeys = {"range", "prior", "in"};
const std::vector<std::string> kCalibExperimentKeys = {"scenario", "years", "world", "set"};
const std::vector<std::string> kTargetKeys = {"id",   "claim",       "source",   "experiment", "against",
                                              "measure", "year",     "from_year", "change",    "groups",
                                              "years_after", "ratio_to", "observed",  "sd"};
const std::vector<std::string> kGroupKeys = {"field", "treated", "control"};

std::optional<CalibParameter> parse_calib_parameter(Checker& c, const YAML::Node& key, const YAML::Node& value,
                                                    const Registry& registry) {
  CalibParameter p;
  p.name = key.IsScalar() ? key.Scalar() : "";
  const std::string where = "parameters." + p.name;
  const ParamSpec* spec = nullptr;
  if (p.name.rfind("world.", 0) == 0) {
    const int i = param_index(registry.world().params, p.name.substr(6));
    if (i < 0) {
      std::vector<std::string> names;
      for (const auto& sp : registry.world().params) names.push_back(sp.name);
      c.unknown(key, "parameters", p.name.substr(6), names, "parameter", " of world");
      return std::nullopt;
    }
    p.world = true;
    p.param = static_cast<std::size_t>(i);
    spec = &registry.world().params[p.param];
  } else {
    const auto dot = p.name.find('.');
    if (dot == std::string::npos) {
      c.error(key, where + ": expected mechanism.parameter or world.parameter");
      return std::nullopt;
    }
    p.mechanism = p.name.substr(0, dot);
    const MechanismInfo* info = registry.find(p.mechanism);
    if (!info) {
      c.unknown(key, "parameters", p.mechanism, registry.names(), "mechanism");
      return std::nullopt;
    }
    const int i = param_index(info->params, p.name.substr(dot + 1));
    if (i < 0) {
      std::vector<std::string> names;
      for (const auto& sp : info->params) names.push_back(sp.name);
      c.unknown(key, "parameters", p.name.substr(dot + 1), names, "parameter", " of " + p.mechanism);
      return std::nullopt;
    }
    p.param = static_cast<std::size_t>(i);
    spec = &info->params[p.param];
  }
  if (spec->type == ParamType::boolean || spec->type == ParamType::choice) {
    c.error(key, where + ": only numeric parameters can be calibrated");
    return std::nullopt;
  }
  p.integer = spec->type == ParamType::integer;
  p.source = source_text(spec->source);
  bool ranged = false;
  if (!value.IsNull() && c.check_map(value, where, kCalibParamKeys)) {
    if (const YAML::Node r = value["range"]) {
      if (!r.IsSequence() || r.size() != 2) {
        c.error(r, where + ".range: expected [low, high]");
        return std::nullopt;
      }
      const auto lo = c.number(r[0], where + ".range[0]", spec->type, spec->lo, spec->hi, spec->unit);
      const auto hi = c.number(r[1], where + ".range[1]", spec->type, spec->lo, spec->hi, spec->unit);
      if (!lo || !hi) return std::nullopt;
      if (*lo >= *hi) {
        c.error(r, where + ".range: the low end must be below the high end");
        return std::nullopt;
      }
      p.lo = *lo, p.hi = *hi;
      ranged = true;
    }
    if (const YAML::Node n = value["prior"]) {
      if (auto t = c.text(n, where + ".prior")) {
        std::vector<std::string> names(kPriorNames.begin(), kPriorNames.end());
        const auto it = std::find(names.begin(), names.end(), *t);
        if (it == names.end()) {
          c.unknown(n, where + ".prior", *t, names, "prior");
          return std::nullopt;
        }
        p.prior = static_cast<Prior>(it - names.begin());
      }
    }
  } else if (!value.IsNull()) {
    return std::nullopt;
  }
  if (!ranged) {
    if (!spec->source.calibrated) {
      c.error(key, where + ": the parameter table gives this parameter a source, not a prior range (" +
                       source_text(spec->source) + "); give a range to calibrate it anyway");
      return std::nullopt;
    }
    p.lo = spec->source.prior_lo, p.hi = spec->source.prior_hi;
  }
  if (p.prior == Prior::log_uniform && !(p.lo > 0)) {
    c.error(key, where + ": a log-uniform prior needs a range above zero");
    return std::nullopt;
  }
  return p;
}

std::optional<CalibExperiment> parse_calib_experiment(Checker& c, const YAML::Node& key, const YAML::Node& value,
                                                      const std::string& path, const Registry& registry,
                                                      std::vector<Diagnostic>& errors) {
  CalibExperiment e;
  e.name = key.IsScalar() ? key.Scalar() : "";
  const std::string where = "experiments." + e.name;
  if (!c.check_map(value, where, kCalibExperimentKeys)) return std::nullopt;
  const YAML::Node sc_node = value["scenario"];
  if (!sc_node) {
    c.error(value, where + ": missing key 'scenario' (the scenario file this experiment runs)");
    return std::nullopt;
  }
  const auto sc_path = c.text(sc_node, where + ".scenario");
  if (!sc_path) return std::nullopt;
  const std::filesystem::path full = std::filesystem::path(path).parent_path() / *sc_path;
  LoadResult base = load_scenario(full.string(), registry);
  if (!base.scenario) {
    c.error(sc_node, where + ".scenario: '" + *sc_path + "' has " + std::to_string(base.errors.size()) +
                         " problem(s), listed with its name");
    errors.insert(errors.end(), base.errors.begin(), base.errors.end());
    return std::nullopt;
  }
  e.scenario = std::move(*base.scenario);
  bool ok = true;
  if (const YAML::Node n = value["years"]) {
    if (auto v = c.number(n, where + ".years", ParamType::integer, 1, 200)) {
      e.scenario.years = static_cast<std::int32_t>(*v);
    } else {
      ok = false;
    }
  }
  if (const YAML::Node n = value["world"]) {
    const std::size_t before = errors.size();
    c.params(n, where + ".world", registry.world().params, e.scenario.world, true);
    ok = ok && errors.size() == before;
  }
  if (const YAML::Node set = value["set"]) {
    if (!set.IsMap()) {
      c.error(set, where + ".set: expected a mapping of mechanism.parameter to a value");
      ok = false;
    } else {
      for (const auto& kv : set) {
        const auto r = resolve_param(c, kv.first, kv.second, where + ".set", registry, e.scenario, true);
        if (!r) {
          ok = false;
          continue;
        }
        const auto [entry, param, v] = *r;
        e.scenario.pipeline[entry].values[param] = v;
      }
    }
  }
  if (!ok) return std::nullopt;
  return e;
}

void parse_calibration(Checker& c, const YAML::Node& root, const std::string& path, const Registry& registry,
                       CalibrationLoad& result) {
  Calibration cal;
  cal.source = path;
  cal.name = stem_of(path);
  if (root.IsNull()) {
    c.error(root, "the calibration is empty; see docs/EXPERIMENTS.md for the keys it takes");
    return;
  }
  if (!c.check_map(root, "", kCalibrationKeys)) return;
  if (const YAML::Node n = root["name"])
    if (auto t = c.text(n, "name")) cal.name = *t;
  auto integer = [&](const char* key, std::int32_t& to, double lo, double hi) {
    if (const YAML::Node n = root[key])
      if (auto v = c.number(n, key, ParamType::integer, lo, hi)) to = static_cast<std::int32_t>(*v);
  };
  if (const YAML::Node n = root["seed"])
    if (auto v = c.number(n, "seed", ParamType::integer, 0, 9007199254740992.0)) cal.seed = static_cast<std::uint64_t>(*v);
  integer("population", cal.population, 2, 100000);
  integer("generations", cal.generations, 1, 100);
  integer("replicates", cal.replicates, 1, 1000);
  integer("batch", cal.batch, 0, 1000000);
  if (const YAML::Node n = root["quantile"])
    if (auto v = c.number(n, "quantile", ParamType::real, 0.01, 0.99)) cal.quantile = *v;
  if (const YAML::Node n = root["min_acceptance"])
    if (auto v = c.number(n, "min_acceptance", ParamType::real, 1e-6, 1)) cal.min_acceptance = *v;

  const YAML::Node params = root["parameters"];
  if (!params || !params.IsMap() || params.size() == 0) {
    c.error(params ? params : root, "parameters: expected a mapping of the parameters to calibrate, e.g. "
                                    "'attainment.practice_lag_years: {}' (the prior range from the parameter "
                                    "table) or 'market.choice: {range: [0, 1], prior: uniform}'");
  } else {
    std::set<std::string> seen;
    for (const auto& kv : params) {
      if (auto p = parse_calib_parameter(c, kv.first, kv.second, registry)) {
        if (!seen.insert(p->name).second) c.error(kv.first, "parameters." + p->name + ": appears twice");
        cal.parameters.push_back(std::move(*p));
      }
    }
  }
  std::vector<std::string> names;
  const YAML::Node exps = root["experiments"];
  if (!exps || !exps.IsMap() || exps.size() == 0) {
    c.error(exps ? exps : root, "experiments: expected a mapping of experiment names to {scenario: FILE, ...}");
  } else {
    for (const auto& kv : exps) {
      names.push_back(kv.first.IsScalar() ? kv.first.Scalar() : "");
      if (auto e = parse_calib_experiment(c, kv.first, kv.second, path, registry, result.errors)) {
        cal.experiments.push_back(std::move(*e));
      } else {
        cal.experiments.push_back({names.back(), Scenario{}});
      }
    }
  }
  // Every mechanism parameter must act in some experiment (of those it is set in).
  if (!cal.experiments.empty()) {
    std::size_t at = 0;
    for (const auto& kv : params) {
      if (at >= cal.parameters.size()) break;
      CalibParameter& p = cal.parameters[at];
      if ((kv.first.IsScalar() ? kv.first.Scalar() : "") != p.name) continue;
      ++at;
      if (kv.second.IsMap() && kv.second["in"]) {
        const YAML::Node in = kv.second["in"];
        if (!in.IsSequence() || in.size() == 0) {
          c.error(in, "parameters." + p.name + ".in: expected a list of experiment names");
        } else {
          for (std::size_t k = 0; k < in.size(); ++k) {
            const auto v = c.text(in[k], "parameters." + p.name + ".in[" + std::to_string(k) + "]");
            if (!v) continue;
            const auto it = std::find(names.begin(), names.end(), *v);
            if (it == names.end()) {
              c.unknown(in[k], "parameters." + p.name + ".in", *v, names, "experiment");
            } else {
              p.only.push_back(static_cast<std::size_t>(it - names.begin()));
            }
          }
        }
      }
      if (p.world) continue;
      bool used = false;
      for (std::size_t e = 0; e < cal.experiments.size(); ++e) {
        if (!p.only.empty() && std::find(p.only.begin(), p.only.end(), e) == p.only.end()) continue;
        for (const auto& entry : cal.experiments[e].scenario.pipeline) used = used || entry.info->name == p.mechanism;
      }
      if (!used) {
        c.error(kv.first, "parameters." + p.name + ": no experiment's pipeline has '" + p.mechanism +
                              "', so the targets cannot inform it");
      }
    }
  }
  std::vector<std::string> measures;
  measures.reserve(kSystemMeasures.size());
for (const auto& m : kSystemMeasures) measures.emplace_back(m.name);
  const YAML::Node targets = root["targets"];
  if (!targets || !targets.IsSequence() || targets.size() == 0) {
    c.error(targets ? targets : root, "targets: expected a list of targets, each {id, experiment, measure or "
                                      "groups, observed, sd, source}");
  } else {
    std::set<std::string> ids;
    for (std::size_t k = 0; k < targets.size(); ++k) {
      const YAML::Node t = targets[k];
      const std::string where = "targets[" + std::to_string(k) + "]";
      if (!c.check_map(t, where, kTargetKeys)) continue;
      CalibTarget tg;
      bool ok = true;
      auto need = [&](const char* key) {
        if (t[key]) return true;
        c.error(t, where + ": missing key '" + key + "'");
        return false;
      };
      if (need("id")) {
        if (auto v = c.text(t["id"], where + ".id")) {
          tg.id = *v;
          if (!ids.insert(tg.id).second) c.error(t["id"], where + ".id: '" + tg.id + "' appears twice");
        }
      }
      if (need("source"))
        if (auto v = c.text(t["source"], where + ".source")) tg.source = *v;
      auto experiment = [&](const char* key) -> std::optional<std::size_t> {
        const auto v = c.text(t[key], where + "." + key);
        if (!v) return std::nullopt;
        const auto it = std::find(names.begin(), names.end(), *v);
        if (it == names.end()) {
          c.unknown(t[key], where + "." + key, *v, names, "experiment");
          return std::nullopt;
        }
        return static_cast<std::size_t>(it - names.begin());
      };
      if (const auto e = need("experiment") ? experiment("experiment") : std::nullopt) {
        tg.experiment = *e;
      } else {
        ok = false;
      }
      if (t["against"]) {
        if (auto e = experiment("against")) tg.against = *e; else ok = false;
      }
      Statistic& st = tg.statistic;
      const bool has_measure = bool(t["measure"]), has_groups = bool(t["groups"]);
      if (has_measure == has_groups) {
        c.error(t, where + ": give either 'measure' (a system measure) or 'groups' (a difference between groups "
                           "of schools)");
        ok = false;
      }
      if (has_measure) {
        st.kind = StatisticKind::measure;
        if (auto v = c.text(t["measure"], where + ".measure")) {
          const auto it = std::find(measures.begin(), measures.end(), *v);
          if (it == measures.end()) {
            c.unknown(t["measure"], where + ".measure", *v, measures, "measure");
            ok = false;
          } else {
            st.measure = static_cast<std::size_t>(it - measures.begin());
          }
        }
        for (const char* key : {"years_after", "ratio_to"})
          if (t[key]) c.error(t[key], where + "." + key + ": only a 'groups' target takes this key");
      }
      if (has_groups) {
        st.kind = StatisticKind::groups;
        st.change = true;
        const YAML::Node g = t["groups"];
        if (c.check_map(g, where + ".groups", kGroupKeys)) {
          if (const YAML::Node f = g["field"]) {
            if (auto v = c.text(f, where + ".groups.field")) {
              std::vector<std::string> ints;
              std::optional<Field> found;
              for (std::size_t i = 0; i < kFieldCount; ++i) {
                if (kFields[i].storage == Storage::integer) {
                  ints.emplace_back(kFields[i].name);
                  if (kFields[i].name == *v) found = static_cast<Field>(i);
                }
              }
              if (!found) {
                c.unknown(f, where + ".groups.field", *v, ints, "integer field");
                ok = false;
              } else {
                st.group_field = *found;
              }
            }
          }
          for (const char* key : {"treated", "control"}) {
            if (const YAML::Node n = g[key]) {
              if (auto v = c.number(n, where + ".groups." + key, ParamType::integer, -1e9, 1e9))
                (std::string(key) == "treated" ? st.treated : st.control) = static_cast<std::int32_t>(*v);
            }
          }
        }
        if (const YAML::Node n = t["years_after"])
          if (auto v = c.number(n, where + ".years_after", ParamType::integer, 0, 200)) st.years_after = static_cast<std::int32_t>(*v);
        if (const YAML::Node n = t["ratio_to"])
          if (auto v = c.number(n, where + ".ratio_to", ParamType::integer, 0, 200)) st.ratio_to = static_cast<std::int32_t>(*v);
        for (const char* key : {"year", "from_year"})
          if (t[key]) c.error(t[key], where + "." + key + ": a 'groups' target is timed by years_after");
        if (tg.against && st.ratio_to >= 0) c.error(t["against"], where + ": a ratio target cannot be a contrast");
      }
      if (const YAML::Node n = t["year"])
        if (auto v = c.number(n, where + ".year", ParamType::integer, 0, 200)) st.year = static_cast<std::int32_t>(*v);
      if (const YAML::Node n = t["from_year"])
        if (auto v = c.number(n, where + ".from_year", ParamType::integer, 0, 200)) st.from_year = static_cast<std::int32_t>(*v);
      if (const YAML::Node n = t["change"])
        if (auto v = c.boolean(n, where + ".change")) st.change = *v != 0;
      if (need("observed"))
        if (auto v = c.number(t["observed"], where + ".observed", ParamType::real, -1e12, 1e12)) tg.observed = *v;
      if (need("sd"))
        if (auto v = c.number(t["sd"], where + ".sd", ParamType::real, 1e-12, 1e12)) tg.sd = *v;
      if (!ok) continue;
      // The years read must lie within every experiment the target reads.
      for (const auto e : {std::optional<std::size_t>(tg.experiment), tg.against}) {
        if (!e || *e >= cal.experiments.size()) continue;
        const std::int32_t years = cal.experiments[*e].scenario.years;
        if (st.year > years)
          c.error(t["year"], where + ".year: experiment '" + names[*e] + "' runs " + std::to_string(years) + " years");
        if (st.from_year >= 0 && st.from_year > (st.year < 0 ? years : st.year))
          c.error(t["from_year"], where + ".from_year: after the year read");
        if (st.kind == StatisticKind::groups && std::max(st.years_after, st.ratio_to) > years)
          c.error(t, where + ": experiment '" + names[*e] + "' runs only " + std::to_string(years) + " years");
      }
      cal.targets.push_back(std::move(tg));
    }
  }
  if (result.errors.empty()) result.calibration = std::move(cal);
}

}  // namespace

CalibrationLoad load_calibration(const std::string& path, const Registry& registry) {
  CalibrationLoad r;
  read_document(path, "calibration", r.errors,
                [&](Checker& c, const YAML::Node& root) { parse_calibration(c, root, path, registry, r); });
  return r;
}

}  // namespace schoolsim
