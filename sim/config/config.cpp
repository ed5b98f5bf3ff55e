#include "sim/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace schoolsim {

std::string Diagnostic::str() const {
  std::ostringstream out;
  out << file;
  if (line > 0) out << ':' << line << ':' << column;
  out << ": error: " << message;
  return out.str();
}

namespace {

const std::vector<std::string> kTopKeys = {"name",     "description", "seed",     "replicates",
                                           "years",    "world",       "pipeline", "timeline",
                                           "record"};
const std::vector<std::string> kTimelineKeys = {"year", "term", "set"};
const std::vector<std::string> kRecordKeys = {"every", "schools", "attainment", "system", "ties"};

constexpr std::int32_t kMaxYears = 200;
constexpr std::int32_t kMaxReplicates = 100000;

const std::vector<Field> kDefaultRecordedFields = {Field::capacity, Field::expectations,
                                                   Field::crisis, Field::pupils,
                                                   Field::disadvantaged};

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

std::string fmt(double v) { return format_number(v); }

class Checker {
 public:
  Checker(std::string file, std::vector<Diagnostic>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Mark& mark, const std::string& msg) {
    if (mark.is_null())
      errors_.push_back({file_, 0, 0, msg});
    else
      errors_.push_back({file_, mark.line + 1, mark.column + 1, msg});
  }
  void error(const YAML::Node& node, const std::string& msg) { error(node.Mark(), msg); }

  // Checks that `node` is a map whose keys are scalars, unique and among
  // `valid`; reports each problem. Returns false if `node` is not a map.
  bool check_map(const YAML::Node& node, const std::string& path,
                 const std::vector<std::string>& valid) {
    if (!node.IsMap()) {
      error(node, path + ": expected a mapping of keys to values, found " + describe(node));
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar()) {
        error(key, path + ": keys must be plain names");
        continue;
      }
      const std::string k = key.Scalar();
      if (!seen.insert(k).second) error(key, path + ": key '" + k + "' appears twice");
      if (std::find(valid.begin(), valid.end(), k) == valid.end()) unknown(key, path, k, valid);
    }
    return true;
  }

  void unknown(const YAML::Node& at, const std::string& path, const std::string& word,
               const std::vector<std::string>& valid, const std::string& what = "key") {
    std::string msg = (path.empty() ? "" : path + ": ") + "unknown " + what + " '" + word + "'";
    const std::string guess = nearest(word, valid);
    if (!guess.empty())
      msg += "; did you mean '" + guess + "'?";
    else
      msg += "; valid " + what + "s are: " + join(valid);
    error(at, msg);
  }

  static std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null: return "nothing";
      case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
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
    if (!n.IsScalar() || n.Tag() == "!") {
      error(n, path + ": expected " + std::string(kind) + ", found " + describe(n));
      return std::nullopt;
    }
    const std::string& s = n.Scalar();
    double v = 0;
    const char* first = s.data();
    if (!s.empty() && s[0] == '+') ++first;
    auto res = std::from_chars(first, s.data() + s.size(), v);
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

  std::optional<double> boolean(const YAML::Node& n, const std::string& path) {
    if (n.IsScalar() && n.Tag() != "!") {
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

  // Fills `values` from a map of parameters described by `specs`.
  void params(const YAML::Node& node, const std::string& path, const std::vector<ParamSpec>& specs,
              std::vector<double>& values) {
    values = defaults(specs);
    if (!node || node.IsNull()) return;
    std::vector<std::string> names;
    for (const auto& s : specs) names.push_back(s.name);
    if (!check_map(node, path, names)) return;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) continue;
      const int i = param_index(specs, kv.first.Scalar());
      if (i < 0) continue;
      const ParamSpec& spec = specs[static_cast<std::size_t>(i)];
      if (auto v = number(kv.second, path + "." + spec.name, spec.type, spec.lo, spec.hi, spec.unit))
        values[static_cast<std::size_t>(i)] = *v;
    }
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<Diagnostic>& errors_;
};

void parse_pipeline(Checker& c, const YAML::Node& node, const Registry& registry, Scenario& sc) {
  if (!node || node.IsNull()) {
    for (const auto& m : registry.mechanisms()) sc.pipeline.push_back({&m, defaults(m.params)});
    return;
  }
  if (!node.IsSequence()) {
    c.error(node, "pipeline: expected a list of mechanisms, found " + Checker::describe(node));
    return;
  }
  const auto names = registry.names();
  std::set<std::string> seen;
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
      c.error(item, path + ": expected a mechanism name, or one name mapped to its parameters");
      continue;
    }
    if (!name_node.IsScalar()) {
      c.error(name_node, path + ": expected a mechanism name");
      continue;
    }
    const std::string name = name_node.Scalar();
    const MechanismInfo* info = registry.find(name);
    if (!info) {
      c.unknown(name_node, path, name, names, "mechanism");
      continue;
    }
    if (!seen.insert(name).second) {
      c.error(name_node, path + ": mechanism '" + name + "' is listed twice");
      continue;
    }
    PipelineEntry entry{info, {}};
    c.params(params, name, info->params, entry.values);
    sc.pipeline.push_back(std::move(entry));
  }
}

void parse_timeline(Checker& c, const YAML::Node& node, Scenario& sc, bool years_known) {
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
                                 years_known ? sc.years - 1 : kMaxYears,
                                 "years from the start, 0 = first year")) {
      base.year = static_cast<std::int32_t>(*y);
    } else {
      ok = false;
    }
    if (ev["term"]) {
      if (auto t = c.number(ev["term"], path + ".term", ParamType::integer, 1, kTermsPerYear))
        base.term = static_cast<std::int32_t>(*t);
      else
        ok = false;
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
    for (const auto& kv : set) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const auto dot = key.find('.');
      if (dot == std::string::npos) {
        c.error(kv.first, path + ".set: '" + key + "' should be mechanism.parameter");
        continue;
      }
      const std::string mech = key.substr(0, dot), param = key.substr(dot + 1);
      std::size_t entry = sc.pipeline.size();
      std::vector<std::string> in_pipeline;
      for (std::size_t e = 0; e < sc.pipeline.size(); ++e) {
        in_pipeline.push_back(sc.pipeline[e].info->name);
        if (sc.pipeline[e].info->name == mech) entry = e;
      }
      if (entry == sc.pipeline.size()) {
        c.unknown(kv.first, path + ".set", mech, in_pipeline, "mechanism of this pipeline");
        continue;
      }
      const auto& specs = sc.pipeline[entry].info->params;
      const int pi = param_index(specs, param);
      if (pi < 0) {
        std::vector<std::string> pnames;
        for (const auto& s : specs) pnames.push_back(s.name);
        c.unknown(kv.first, path + ".set", param, pnames, "parameter of " + mech);
        continue;
      }
      const ParamSpec& spec = specs[static_cast<std::size_t>(pi)];
      auto v = c.number(kv.second, path + ".set." + key, spec.type, spec.lo, spec.hi, spec.unit);
      if (!v || !ok) continue;
      TimelineEvent e = base;
      e.entry = entry;
      e.param = static_cast<std::size_t>(pi);
      e.value = *v;
      sc.timeline.push_back(e);
    }
  }
}

void parse_record(Checker& c, const YAML::Node& node, RecordConfig& rec) {
  rec.schools = kDefaultRecordedFields;
  if (!node || node.IsNull()) return;
  if (!c.check_map(node, "record", kRecordKeys)) return;
  if (const YAML::Node every = node["every"]) {
    if (auto s = c.text(every, "record.every")) {
      if (*s == "term")
        rec.every = Cadence::term;
      else if (*s == "year")
        rec.every = Cadence::year;
      else
        c.unknown(every, "record.every", *s, {"term", "year"}, "rate");
    }
  }
  if (const YAML::Node schools = node["schools"]) {
    std::vector<std::string> names;
    for (const auto& f : kFields) names.push_back(std::string(f.name));
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
  for (auto [key, target] : flags)
    if (const YAML::Node n = node[key])
      if (auto v = c.boolean(n, std::string("record.") + key)) *target = *v != 0;
}

std::string stem_of(const std::string& name) {
  auto slash = name.find_last_of('/');
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  auto dot = base.find_last_of('.');
  return dot == std::string::npos ? base : base.substr(0, dot);
}

LoadResult parse_node(const YAML::Node& root, const std::string& name, const Registry& registry) {
  LoadResult result;
  Checker c(name, result.errors);
  Scenario sc;
  sc.source = name;
  sc.name = stem_of(name);

  if (root.IsNull()) {
    c.error(root, "the scenario is empty; see docs/SCENARIOS.md for the keys it takes");
    return result;
  }
  if (!c.check_map(root, "", kTopKeys)) return result;

  if (const YAML::Node n = root["name"])
    if (auto s = c.text(n, "name")) sc.name = *s;
  if (const YAML::Node n = root["description"])
    if (auto s = c.text(n, "description")) sc.description = *s;
  if (const YAML::Node n = root["seed"]) {
    std::uint64_t seed = 0;
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    auto res = std::from_chars(s.data(), s.data() + s.size(), seed);
    if (!n.IsScalar() || n.Tag() == "!" || res.ec != std::errc() || res.ptr != s.data() + s.size())
      c.error(n, "seed: expected a whole number from 0 to 18446744073709551615, found " +
                     Checker::describe(n));
    else
      sc.seed = seed;
  }
  if (const YAML::Node n = root["replicates"])
    if (auto v = c.number(n, "replicates", ParamType::integer, 1, kMaxReplicates))
      sc.replicates = static_cast<std::int32_t>(*v);
  bool years_ok = true;
  if (const YAML::Node n = root["years"]) {
    if (auto v = c.number(n, "years", ParamType::integer, 1, kMaxYears))
      sc.years = static_cast<std::int32_t>(*v);
    else
      years_ok = false;
  }
  c.params(root["world"], "world", registry.world().params, sc.world);
  parse_pipeline(c, root["pipeline"], registry, sc);
  parse_timeline(c, root["timeline"], sc, years_ok);
  parse_record(c, root["record"], sc.record);

  if (result.errors.empty()) result.scenario = std::move(sc);
  return result;
}

}  // namespace

LoadResult parse_scenario(const std::string& text, const std::string& name,
                          const Registry& registry) {
  try {
    return parse_node(YAML::Load(text), name, registry);
  } catch (const YAML::Exception& e) {
    LoadResult r;
    Checker c(name, r.errors);
    c.error(e.mark, "YAML syntax: " + e.msg);
    return r;
  }
}

LoadResult load_scenario(const std::string& path, const Registry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({path, 0, 0, "cannot open the scenario file"});
    return r;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_scenario(buf.str(), path, registry);
}

std::string to_yaml(const Scenario& sc, const Registry& registry) {
  YAML::Emitter out;
  auto num = [&](double v) { out << YAML::Value << fmt(v); };
  auto param_map = [&](const std::vector<ParamSpec>& specs, const std::vector<double>& values) {
    out << YAML::BeginMap;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      out << YAML::Key << specs[i].name;
      if (specs[i].type == ParamType::boolean)
        out << YAML::Value << (values[i] != 0 ? "true" : "false");
      else
        num(values[i]);
    }
    out << YAML::EndMap;
  };
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << sc.name;
  if (!sc.description.empty())
    out << YAML::Key << "description" << YAML::Value << YAML::Literal << sc.description;
  out << YAML::Key << "seed" << YAML::Value << std::to_string(sc.seed);
  out << YAML::Key << "replicates" << YAML::Value << std::to_string(sc.replicates);
  out << YAML::Key << "years" << YAML::Value << std::to_string(sc.years);
  out << YAML::Key << "world" << YAML::Value;
  param_map(registry.world().params, sc.world);
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
        << e.info->name + "." + e.info->params[ev.param].name;
    num(ev.value);
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

}  // namespace schoolsim
