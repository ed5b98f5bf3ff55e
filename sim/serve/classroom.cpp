#include "sim/serve/classroom.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace schoolsim::live {

// ------------------------------------------------------------------ JSON text

void put_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string error_json(std::string_view message) {
  std::string out = "{\"error\":";
  put_string(out, message);
  return out + "}";
}

namespace {

void put_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", v);
  out += buf;
}

template <class Seq>
void put_array(std::string& out, const Seq& values, std::size_t from = 0) {
  out += '[';
  for (std::size_t i = from; i < static_cast<std::size_t>(values.size()); ++i) {
    if (i > from) out += ',';
    put_number(out, static_cast<double>(values[static_cast<decltype(values.size())>(i)]));
  }
  out += ']';
}

// `,"name":` (no comma before the first member of an object).
void put_key(std::string& out, std::string_view name) {
  if (out.back() != '{' && out.back() != '[') out += ',';
  put_string(out, name);
  out += ':';
}

template <class Seq>
void put_named(std::string& out, std::string_view name, const Seq& values) {
  put_key(out, name);
  put_array(out, values);
}

void put_levers(std::string& out, const Levers& l, const std::string& programme) {
  out += "{\"choice\":";
  put_number(out, l.choice);
  auto flag = [&](const char* name, bool v) { out += std::string(",\"") + name + "\":" + (v ? "true" : "false"); };
  flag("league_tables", l.league_tables);
  flag("collaboration", l.collaboration);
  flag("constructivism", l.constructivism);
  flag("social_capital", l.social_capital);
  flag("durkheim", l.durkheim);
  flag("social_movement", l.social_movement);
  out += ",\"area_strategy\":";
  put_string(out, l.area_strategy == kAreaStrategyOff   ? "off"
                  : l.area_strategy == kAreaStrategyAll ? "all"
                                                        : std::to_string(l.area_strategy));
  out += ",\"programme\":";
  put_string(out, programme);
  out += '}';
}

const PipelineEntry* entry_of(const Scenario& s, std::string_view name) {
  for (const auto& e : s.pipeline)
    if (e.info->name == name) return &e;
  return nullptr;
}

// The programme's funding: the term its ties start and the term its funding ends, or -1.
std::pair<std::int32_t, std::int32_t> programme_terms(const Scenario& s) {
  const PipelineEntry* e = entry_of(s, "programme");
  if (!e) return {-1, -1};
  const int y = param_index(e->info->params, "year");
  const int f = param_index(e->info->params, "funding_years");
  if (y < 0) return {-1, -1};
  const auto year = static_cast<std::int32_t>(e->values[static_cast<std::size_t>(y)]);
  const auto funded = f < 0 ? 0 : static_cast<std::int32_t>(e->values[static_cast<std::size_t>(f)]);
  return {year * kTermsPerYear, (year + funded) * kTermsPerYear};
}

// The page's levers, and what each one sets in the pipeline (docs/TEACHING.md).
struct LeverDoc {
  const char* lever;
  const char* label;
  const char* mechanism;
  const char* param;  // "" when the lever puts the mechanism in or out of the pipeline
  const char* how;    // what moving the lever does
};
const std::vector<LeverDoc>& lever_docs() {
  static const std::vector<LeverDoc> docs = {
      {"choice", "Families choosing actively", "market", "choice",
       "Sets the share of families who choose a school actively; the rest go to the nearest school."},
      {"league_tables", "League tables", "market", "league_tables",
       "Publishes results each year, so choosing families rank schools by them."},
      {"collaboration", "Schools may collaborate", "tie_formation", "",
       "Puts tie formation in the pipeline: schools look for partners and form voluntary ties. Off, no new "
       "ties form and existing ones still end."},
      {"constructivism", "Constructivism", "constructivism", "", "Puts this framework in the pipeline."},
      {"social_capital", "Social capital", "social_capital", "", "Puts this framework in the pipeline."},
      {"durkheim", "Durkheimian integration", "durkheim", "", "Puts this framework in the pipeline."},
      {"social_movement", "Social movement", "social_movement", "",
       "Puts the movement in the pipeline; switched on live, a few schools committed to equity seed it at the "
       "next term."},
      {"area_strategy", "Area strategy", "area_strategy", "",
       "Runs a brokered area strategy in every area or in one, from the next term."},
      {"programme", "Networking programme", "programme", "",
       "Launches a funded programme of school networks at the start of the next school year; its ties are "
       "orange on the map."},
  };
  return docs;
}

}  // namespace

// ------------------------------------------------------------------ scenario files

std::string leading_comment(const std::string& yaml) {
  std::istringstream in(yaml);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '#') break;
    std::string text = line.substr(1);
    if (!text.empty() && text[0] == ' ') text.erase(0, 1);
    out += text + '\n';
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<Difference> differences(const Scenario& a, const Scenario& b, const Registry& registry) {
  std::vector<Difference> out;
  if (a.years != b.years) out.push_back({"runs " + std::to_string(a.years) + " years", ""});
  const auto& wp = registry.world().params;
  for (std::size_t i = 0; i < wp.size() && i < a.world.size() && i < b.world.size(); ++i) {
    if (a.world[i] != b.world[i]) {
      out.push_back({"world." + wp[i].name + " " + value_text(wp[i], a.world[i]) + " (other: " +
                         value_text(wp[i], b.world[i]) + ")",
                     wp[i].meaning});
    }
  }
  for (const PipelineEntry& e : a.pipeline) {
    const MechanismInfo& m = *e.info;
    const PipelineEntry* other = entry_of(b, m.name);
    if (!other) {
      out.push_back({m.name + " on", m.summary});
      continue;
    }
    for (std::size_t i = 0; i < m.params.size(); ++i) {
      if (e.values[i] != other->values[i]) {
        out.push_back({m.name + "." + m.params[i].name + " " + value_text(m.params[i], e.values[i]) + " (other: " +
                           value_text(m.params[i], other->values[i]) + ")",
                       m.params[i].meaning});
      }
    }
  }
  for (const PipelineEntry& e : b.pipeline)
    if (!entry_of(a, e.info->name)) out.push_back({e.info->name + " off", e.info->summary});
  return out;
}

// ------------------------------------------------------------------ the session

Classroom::Classroom(std::string id, const ClassroomScenarios& scenarios, const Registry& registry)
    : id_(std::move(id)),
      scenarios_(scenarios),
      registry_(registry),
      terms_(scenarios.single.scenario.years * kTermsPerYear),
      levers_(levers_of(scenarios.single.scenario, registry)) {
  build(scenarios.single.scenario.seed);
}

void Classroom::build(std::uint64_t seed) {
  worlds_.clear();
  if (compare_) {
    for (const ScenarioFile& arm : scenarios_.arms) {
      Scenario s = arm.scenario;
      s.seed = seed;
      worlds_.push_back(std::make_unique<World>(s, registry_, levers_of(s, registry_), terms_));
    }
  } else {
    Scenario s = scenarios_.single.scenario;
    s.seed = seed;
    worlds_.push_back(std::make_unique<World>(s, registry_, levers_, terms_));
  }
  playing_ = false;
  ++generation_;
  changed();
}

void Classroom::step() {
  for (auto& w : worlds_) w->step();
}

std::int32_t Classroom::areas() const {
  const State& s = worlds_.front()->state();
  return s.n_schools() == 0 ? 0 : s.area.maxCoeff() + 1;
}

Reply Classroom::control(const std::string& action, const std::string& value,
                         const std::optional<std::string>& seed_text) {
  if (action == "play") {
    if (finished()) return {400, error_json("the run has reached its last term: press Reset to start again")};
    playing_ = true;
  } else if (action == "pause") {
    playing_ = false;
  } else if (action == "ping") {  // a hidden tab, keeping its session open without a stream
    return {200, "{\"ok\":true}"};
  } else if (action == "step") {
    playing_ = false;
    step();
  } else if (action == "reset") {
    std::uint64_t seed = worlds_.front()->seed();
    if (seed_text) {
      const std::string& text = *seed_text;
      if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        return {400, error_json("seed: expected a whole number from 0 upwards, got '" + text.substr(0, 40) + "'")};
      seed = std::stoull(text);
    }
    build(seed);
  } else if (action == "speed") {
    double v = 0;
    if (!parse_number(value, v) || v < 0.5 || v > 20)
      return {400, error_json("speed: expected terms per second from 0.5 to 20, got '" + value.substr(0, 40) + "'")};
    speed_ = v;
  } else if (action == "mode") {
    if (value != "single" && value != "compare")
      return {400, error_json("mode: expected single or compare, got '" + value.substr(0, 40) + "'")};
    compare_ = value == "compare";
    build(worlds_.front()->seed());
  } else {
    return {400, error_json("action: expected play, pause, step, reset, speed, mode or ping, got '" +
                            action.substr(0, 40) + "'")};
  }
  changed();
  return {200, "{\"ok\":true}"};
}

Reply Classroom::set_levers(const std::map<std::string, std::string>& fields) {
  if (compare_) return {400, error_json("levers are fixed while comparing regimes; switch back to one world first")};
  if (fields.empty()) return {400, error_json("no lever given: send for example choice=0.3 or league_tables=false")};
  LeverChange c = parse_levers(fields, levers_, areas(), terms_done());
  if (!c.problems.empty()) {
    std::string all;
    for (const auto& p : c.problems) all += (all.empty() ? "" : "; ") + p;
    return {400, error_json(all)};
  }
  if (c.levers.programme_year >= 0 && c.levers.programme_year * kTermsPerYear >= terms_)
    return {400, error_json("programme: the run ends before the next school year starts")};
  levers_ = c.levers;
  worlds_.front()->set_levers(levers_);
  changed();
  std::string out = "{\"levers\":";
  put_levers(out, levers_, worlds_.front()->programme_status());
  return {200, out + "}"};
}

std::string Classroom::status_json() const {
  std::string out = std::string("{\"playing\":") + (playing_ ? "true" : "false") + ",\"speed\":";
  put_number(out, speed_);
  return out + ",\"finished\":" + (finished() ? "true" : "false") + "}";
}

std::string Classroom::hello_json() const {
  const State& st = worlds_.front()->state();
  std::string out = "{\"session\":";
  put_string(out, id_);
  out += ",\"scenario\":";
  put_string(out, scenarios_.single.scenario.name);
  out += std::string(R"(,"mode":")") + (compare_ ? "compare" : "single") + R"(","seed":)";
  put_number(out, static_cast<double>(worlds_.front()->seed()));
  out += ",\"years\":" + std::to_string(terms_ / kTermsPerYear) +
         ",\"terms_per_year\":" + std::to_string(kTermsPerYear) + ",\"playing\":" + (playing_ ? "true" : "false") +
         ",\"speed\":";
  put_number(out, speed_);
  out += ",\"levers\":";
  put_levers(out, levers_, compare_ ? "none" : worlds_.front()->programme_status());
  out += ",\"areas\":" + std::to_string(areas()) + ",\"schools\":{";
  put_named(out, "x", st.x);
  put_named(out, "y", st.y);
  put_named(out, "area", st.area);
  put_named(out, "phase", st.phase);
  put_named(out, "places", st.places);
  out += "},\"measures\":[";
  bool first = true;
  for (const auto& m : chart_measures()) {
    out += first ? "{" : ",{";
    first = false;
    for (auto [key, text] : {std::pair{"name", m.name}, {"label", m.label}, {"unit", m.unit}}) {
      put_key(out, key);
      put_string(out, text);
    }
    out += '}';
  }
  out += "],\"about\":" + about_json() + ",\"worlds\":[";
  for (std::size_t w = 0; w < worlds_.size(); ++w) {
    const ScenarioFile& file = compare_ ? scenarios_.arms[w] : scenarios_.single;
    out += w ? ",{\"label\":" : "{\"label\":";
    put_string(out, compare_ ? file.label : "This school system");
    out += ",\"file\":";
    put_string(out, file.file);
    out += ",\"description\":";
    put_string(out, file.scenario.description);
    out += ",\"levers\":";
    put_levers(out, worlds_[w]->levers(), "none");
    out += ",\"differs\":";
    out += '[';
    if (compare_ && scenarios_.arms.size() == 2) {
      bool first_difference = true;
      for (const Difference& d : differences(file.scenario, scenarios_.arms[1 - w].scenario, registry_)) {
        out += first_difference ? "{\"text\":" : ",{\"text\":";
        first_difference = false;
        put_string(out, d.text);
        out += ",\"detail\":";
        put_string(out, d.detail);
        out += '}';
      }
    }
    out += ']';
    out += '}';
  }
  return out + "]}";
}

std::string Classroom::frame_json(std::int32_t from_term) const {
  const std::int32_t t = terms_done();
  std::string out = "{\"term\":" + std::to_string(t) +
                    ",\"year\":" + std::to_string(t == 0 ? 0 : (t - 1) / kTermsPerYear + 1) +
                    ",\"term_of_year\":" + std::to_string(t == 0 ? 0 : (t - 1) % kTermsPerYear + 1) +
                    ",\"playing\":" + (playing_ ? "true" : "false") + ",\"finished\":" +
                    (finished() ? "true" : "false") + ",\"levers\":";
  put_levers(out, levers_, compare_ ? "none" : worlds_.front()->programme_status());
  out += ",\"worlds\":[";
  for (std::size_t w = 0; w < worlds_.size(); ++w) {
    const World& world = *worlds_[w];
    const State& st = world.state();
    const std::int32_t n = st.n_schools();
    std::vector<double> attainment(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) attainment[static_cast<std::size_t>(i)] = school_result(st, i);
    out += w ? ",{" : "{";
    out += "\"levers\":";
    put_levers(out, world.levers(), world.programme_status());
    out += ",\"schools\":{";
    put_named(out, "pupils", st.pupils);
    put_named(out, "capacity", st.capacity);
    put_named(out, "expectations", st.expectations);
    put_named(out, "attainment", attainment);
    put_named(out, "disadvantaged", st.disadvantaged);
    put_named(out, "crisis", st.crisis);
    out += "},\"ties\":[";
    bool first = true;
    std::int32_t programme_ties = 0;
    st.ties.for_each([&](TieStore::Slot slot) {
      out += first ? "[" : ",[";
      first = false;
      out += std::to_string(st.ties.id[slot]) + ',' + std::to_string(st.ties.a[slot]) + ',' +
             std::to_string(st.ties.b[slot]) + ',';
      put_number(out, st.ties.strength[slot]);
      const int kind = static_cast<int>(st.ties.kind[slot]);
      if (kind == 1) ++programme_ties;
      out += ',' + std::to_string(kind) + ']';
    });
    out += "],\"programme_ties\":" + std::to_string(programme_ties);
    const auto [launch, funding_end] = programme_terms(world.scenario());
    out += ",\"programme_term\":" + std::to_string(launch) + ",\"funding_end_term\":" + std::to_string(funding_end);
    out += R"(,"history":{"terms":[)";
    const auto& rows = world.measures();
    const std::int32_t from = std::max(0, from_term);
    for (std::int32_t k = from; k < static_cast<std::int32_t>(rows.size()); ++k) {
      if (k > from) out += ',';
      out += std::to_string(k);
    }
    out += ']';
    const auto& measures = chart_measures();
    for (std::size_t m = 0; m < measures.size(); ++m) {
      std::vector<double> series;
      for (std::int32_t k = from; k < static_cast<std::int32_t>(rows.size()); ++k)
        series.push_back(rows[static_cast<std::size_t>(k)][m]);
      put_named(out, measures[m].name, series);
    }
    out += "}}";
  }
  return out + "]}";
}

std::string Classroom::about_json() const {
  std::string out = R"({"scenario":{"file":)";
  put_string(out, scenarios_.single.file);
  out += ",\"comment\":";
  put_string(out, scenarios_.single.comment);
  out += "},\"arms\":[";
  for (std::size_t i = 0; i < scenarios_.arms.size(); ++i) {
    const ScenarioFile& a = scenarios_.arms[i];
    out += i ? ",{\"label\":" : "{\"label\":";
    put_string(out, a.label);
    out += ",\"file\":";
    put_string(out, a.file);
    out += ",\"comment\":";
    put_string(out, a.comment);
    out += '}';
  }
  out += "],\"levers\":[";
  bool first = true;
  for (const LeverDoc& d : lever_docs()) {
    const MechanismInfo* m = registry_.find(d.mechanism);
    if (!m) continue;
    out += first ? "{\"lever\":" : ",{\"lever\":";
    first = false;
    put_string(out, d.lever);
    out += ",\"label\":";
    put_string(out, d.label);
    out += ",\"mechanism\":";
    put_string(out, m->name);
    out += ",\"summary\":";
    put_string(out, m->summary);
    out += ",\"how\":";
    put_string(out, d.how);
    out += ",\"param\":";
    const int pi = *d.param ? param_index(m->params, d.param) : -1;
    if (pi < 0) {
      out += "null";
    } else {
      const ParamSpec& p = m->params[static_cast<std::size_t>(pi)];
      out += "{\"name\":";
      put_string(out, m->name + "." + p.name);
      out += ",\"meaning\":";
      put_string(out, p.meaning);
      out += ",\"unit\":";
      put_string(out, p.unit);
      out += ",\"source\":";
      put_string(out, source_text(p.source));
      out += '}';
    }
    out += '}';
  }
  return out + "]}";
}

Reply Classroom::school_json(const std::string& w, const std::string& k) const {
  double world = 0;
  if (!parse_number(w, world) || world != std::floor(world) || world < 0 ||
      world >= static_cast<double>(worlds_.size()))
    return {404, error_json("no world '" + w.substr(0, 40) + "' in this session")};
  const World& wd = *worlds_[static_cast<std::size_t>(world)];
  if (k.empty() || k.size() > 9 || k.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(k) >= wd.state().n_schools()) {
    return {404, error_json("no school " + k.substr(0, 40) + ": this world has " +
                            std::to_string(wd.state().n_schools()) + " schools")};
  }
  const std::int32_t school = std::stoi(k);
  const State& st = wd.state();
  const World::SchoolHistory& h = wd.history(school);
  std::string out = "{\"school\":" + std::to_string(school) + ",\"area\":" + std::to_string(st.area[school]) +
                    ",\"phase\":" + std::to_string(st.phase[school]) + ",\"terms\":[";
  for (std::size_t i = 0; i < h.pupils.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(i);
  }
  out += ']';
  put_named(out, "capacity", h.capacity);
  put_named(out, "expectations", h.expectations);
  put_named(out, "attainment", h.attainment);
  put_named(out, "pupils", h.pupils);
  put_named(out, "disadvantaged", h.disadvantaged);
  put_named(out, "ties", h.ties);
  return {200, out + "}"};
}

}  // namespace schoolsim::live
