#include "sim/serve/live.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "sim/measures.hpp"

namespace schoolsim::live {

namespace {

const PipelineEntry* find_entry(const Scenario& s, std::string_view name) {
  for (const auto& e : s.pipeline)
    if (e.info->name == name) return &e;
  return nullptr;
}

double value_of(const Scenario& s, std::string_view mechanism, std::string_view param, double fallback) {
  const PipelineEntry* e = find_entry(s, mechanism);
  if (!e) return fallback;
  const int i = param_index(e->info->params, param);
  return i < 0 ? fallback : e->values[static_cast<std::size_t>(i)];
}

void set_value(PipelineEntry& e, std::string_view param, double v) {
  const int i = param_index(e.info->params, param);
  if (i < 0) throw std::logic_error("teaching mode: mechanism '" + e.info->name + "' has no parameter '" +
                                    std::string(param) + "'");
  e.values[static_cast<std::size_t>(i)] = v;
}

// Sets a choice parameter to the value of its enum, by the value's name
// (throws when the parameter has no choice of that name).
template <ChoiceEnum E>
void set_choice(PipelineEntry& e, std::string_view param, E choice) {
  const int i = param_index(e.info->params, param);
  if (i < 0) throw std::logic_error("teaching mode: mechanism '" + e.info->name + "' has no parameter '" +
                                    std::string(param) + "'");
  const std::string_view name = choice_names(choice)[static_cast<std::size_t>(choice_value(choice))];
  e.values[static_cast<std::size_t>(i)] = choice_index(e.info->params[static_cast<std::size_t>(i)], name);
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "on" || text == "1") return out = true, true;
  if (text == "false" || text == "off" || text == "0") return out = false, true;
  return false;
}

}  // namespace

std::int32_t world_schools(const Scenario& s, const Registry& registry) {
  const int i = param_index(registry.world().params, "schools");
  return i < 0 ? 0 : static_cast<std::int32_t>(s.world[static_cast<std::size_t>(i)]);
}

bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return errno == 0 && end == text.c_str() + text.size() && std::isfinite(out);
}

Levers levers_of(const Scenario& s, const Registry&) {
  Levers l;
  l.choice = value_of(s, "market", "choice", l.choice);
  l.league_tables = value_of(s, "market", "league_tables", 1) != 0;
  l.collaboration = find_entry(s, "tie_formation") != nullptr;
  l.constructivism = find_entry(s, "constructivism") != nullptr;
  l.social_capital = find_entry(s, "social_capital") != nullptr;
  l.durkheim = find_entry(s, "durkheim") != nullptr;
  l.social_movement = find_entry(s, "social_movement") != nullptr;
  l.movement_term = static_cast<std::int32_t>(value_of(s, "social_movement", "seed_term", 0));
  if (find_entry(s, "area_strategy"))
    l.area_strategy = static_cast<std::int32_t>(value_of(s, "area_strategy", "area", kAreaStrategyAll));
  if (find_entry(s, "programme")) l.programme_year = static_cast<std::int32_t>(value_of(s, "programme", "year", 1));
  return l;
}

Scenario apply_levers(const Scenario& base, const Registry& registry, const Levers& lv) {
  Scenario s = base;
  s.pipeline.clear();
  s.timeline.clear();
  const std::int32_t n = world_schools(base, registry);
  // The order: the base's mechanisms in its order; one the levers add goes
  // before the first base mechanism the registry lists after it.
  std::vector<const MechanismInfo*> order;
  for (const PipelineEntry& e : base.pipeline) order.push_back(e.info);
  const auto& all = registry.mechanisms();
  for (std::size_t r = 0; r < all.size(); ++r) {
    const MechanismInfo* m = &all[r];
    if (std::find(order.begin(), order.end(), m) != order.end()) continue;
    auto at = std::find_if(order.begin(), order.end(), [&](const MechanismInfo* o) {
      return std::any_of(all.begin() + static_cast<std::ptrdiff_t>(r) + 1, all.end(),
                         [&](const MechanismInfo& later) { return &later == o; });
    });
    order.insert(at, m);
  }
  for (const MechanismInfo* mp : order) {
    const MechanismInfo& m = *mp;
    const std::string& name = m.name;
    const PipelineEntry* from = find_entry(base, name);
    bool on = from != nullptr;
    if (name == "programme") on = lv.programme_year >= 0;
    else if (name == "area_strategy") on = lv.area_strategy != kAreaStrategyOff;
    else if (name == "tie_formation") on = lv.collaboration;
    else if (name == "tie_dissolution") on = on || lv.collaboration;  // ties still end when none form
    else if (name == "constructivism") on = lv.constructivism;
    else if (name == "social_capital") on = lv.social_capital;
    else if (name == "durkheim") on = lv.durkheim;
    else if (name == "social_movement") on = lv.social_movement;
    if (!on) continue;
    PipelineEntry e = from ? *from : PipelineEntry{&m, defaults(m.params)};
    if (name == "market") {
      set_value(e, "choice", lv.choice);
      set_value(e, "league_tables", lv.league_tables ? 1 : 0);
    } else if (name == "programme") {
      set_value(e, "year", lv.programme_year);
      if (!from) {
        // A programme to the scale of a small system, big enough to see: about
        // half the schools join, in networks of six (scenarios/nlc_2002.yaml is
        // England's).
        set_value(e, "networks", std::max(1, n / 12));
        set_value(e, "size", std::clamp(n / 6, 2, 11));
        set_choice(e, "goal", NetworkGoal::vulnerable_learners);
        set_value(e, "activities", 15);
      }
    } else if (name == "social_movement") {
      set_value(e, "seed_term", lv.movement_term);
      // Switched on live: a few schools committed to equity seed the movement.
      if (!from) set_value(e, "seed_share", 0.1);
    } else if (name == "area_strategy") {
      set_value(e, "area", lv.area_strategy);
      set_value(e, "year", 0);
    }
    s.pipeline.push_back(std::move(e));
  }
  // The base's timeline still applies to the mechanisms that remain.
  for (TimelineEvent ev : base.timeline) {
    const std::string& name = base.pipeline[ev.entry].info->name;
    for (std::size_t i = 0; i < s.pipeline.size(); ++i) {
      if (s.pipeline[i].info->name == name) {
        ev.entry = i;
        s.timeline.push_back(ev);
      }
    }
  }
  return s;
}

LeverChange parse_levers(const std::map<std::string, std::string>& fields, const Levers& current,
                         std::int32_t areas, std::int32_t next_term) {
  const std::int32_t next_year = (next_term + kTermsPerYear - 1) / kTermsPerYear;
  LeverChange c{current, {}};
  const std::vector<std::string> names = {"choice", "league_tables", "collaboration", "constructivism",
                                          "social_capital", "durkheim", "social_movement",
                                          "area_strategy", "programme"};
  for (const auto& field : fields) {
    const std::string& key = field.first;  // named, not a structured binding: lambdas capture them
    const std::string& text = field.second;
    auto problem = [&](const std::string& what) {
      std::string msg = key + ": ";
      msg.append(what).append(", got '").append(text.substr(0, 40)).append("'");
      c.problems.push_back(std::move(msg));
    };
    if (key == "choice") {
      double v = 0;
      if (!parse_number(text, v) || v < 0 || v > 1) problem("expected a number from 0 to 1");
      else c.levers.choice = v;
    } else if (key == "area_strategy") {
      double v = 0;
      if (text == "off") c.levers.area_strategy = kAreaStrategyOff;
      else if (text == "all") c.levers.area_strategy = kAreaStrategyAll;
      else if (parse_number(text, v) && v == std::floor(v) && v >= 0 && v < areas) {
        c.levers.area_strategy = static_cast<std::int32_t>(v);
      } else {
        problem("expected off, all or an area number from 0 to " + std::to_string(areas - 1));
      }
    } else if (key == "programme") {
      if (text == "launch") c.levers.programme_year = next_year;
      else if (text == "none") c.levers.programme_year = -1;
      else problem("expected launch or none");
    } else {
      bool* flag = key == "league_tables"     ? &c.levers.league_tables
                   : key == "collaboration"   ? &c.levers.collaboration
                   : key == "constructivism"  ? &c.levers.constructivism
                   : key == "social_capital"  ? &c.levers.social_capital
                   : key == "durkheim"        ? &c.levers.durkheim
                   : key == "social_movement" ? &c.levers.social_movement
                                              : nullptr;
      if (!flag) {
        const std::string near = nearest(key, names);
        c.problems.push_back("unknown lever '" + key.substr(0, 40) + "'" +
                             (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                             "; the levers are choice, league_tables, collaboration, constructivism, "
                             "social_capital, durkheim, social_movement, area_strategy and programme");
      } else if (!parse_bool(text, *flag)) {
        problem("expected true or false");
      }
    }
  }
  if (!c.problems.empty()) c.levers = current;
  // A movement switched on starts from its seed schools in the next term.
  if (c.levers.social_movement && !current.social_movement) c.levers.movement_term = next_term;
  return c;
}

const std::vector<ChartMeasure>& chart_measures() {
  static const std::vector<ChartMeasure> m = {
      {"mean_attainment", "Mean attainment", "pupil SD", mean_attainment},
      {"attainment_gap", "Attainment gap", "pupil SD", attainment_gap},
      {"dissimilarity", "Segregation (dissimilarity)", "[0,1]", dissimilarity},
      {"density", "Network density", "[0,1]", density},
  };
  return m;
}

World::World(Scenario base, const Registry& registry, Levers levers, std::int32_t terms)
    : base_(std::move(base)), registry_(registry), levers_(levers), terms_(terms) {
  base_.years = (terms + kTermsPerYear - 1) / kTermsPerYear;
  reset(base_.seed);
}

void World::rebuild(State state, std::int32_t terms_done) {
  auto scenario = std::make_unique<Scenario>(apply_levers(base_, registry_, levers_));
  auto sim = std::make_unique<Simulation>(*scenario, registry_, 0, std::move(state), terms_done);
  sim_.reset();
  scenario_ = std::move(scenario);
  sim_ = std::move(sim);
}

void World::reset(std::uint64_t seed) {
  base_.seed = seed;
  measures_.clear();
  history_.clear();
  rebuild(generate_world(base_, registry_, 0), 0);
  history_.resize(static_cast<std::size_t>(state().n_schools()));
  record();
}

void World::set_levers(const Levers& levers) {
  if (levers == levers_) return;
  levers_ = levers;
  rebuild(sim_->state(), sim_->terms_done());
}

void World::step() {
  if (finished()) return;
  sim_->step();
  record();
}

void World::record() {
  const State& s = state();
  std::vector<double> row;
  for (const auto& m : chart_measures()) row.push_back(m.compute(s));
  measures_.push_back(std::move(row));
  for (std::int32_t i = 0; i < s.n_schools(); ++i) {
    SchoolHistory& h = history_[static_cast<std::size_t>(i)];
    h.capacity.push_back(static_cast<float>(s.capacity[i]));
    h.expectations.push_back(static_cast<float>(s.expectations[i]));
    h.attainment.push_back(static_cast<float>(school_result(s, i)));
    h.disadvantaged.push_back(static_cast<float>(s.disadvantaged[i]));
    h.pupils.push_back(s.pupils[i]);
    h.ties.push_back(s.ties.degree(i));
  }
}

std::string World::programme_status() const {
  if (levers_.programme_year < 0) return "none";
  const std::int32_t year = levers_.programme_year + 1;
  return (terms_done() > levers_.programme_year * kTermsPerYear ? "launched in year " : "launches in year ") +
         std::to_string(year);
}

}  // namespace schoolsim::live
