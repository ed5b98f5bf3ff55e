// Teaching mode's live worlds: a scenario stepped one term at a time while a
// class watches, with the main levers (choice, league tables, the framework
// modules, a networking programme, an area strategy) changed between terms.
// No HTTP here: sim/serve/server.cpp puts these behind `schoolsim serve`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/registry.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace schoolsim::live {

inline constexpr std::int32_t kAreaStrategyOff = -2;  // area_strategy lever: off
inline constexpr std::int32_t kAreaStrategyAll = -1;  // area_strategy lever: every area

// The levers a teacher moves. Each maps onto the pipeline: a module on or
// off, or a parameter of one (docs/TEACHING.md).
struct Levers {
  double choice = 0.5;              // market.choice
  bool league_tables = true;        // market.league_tables
  bool collaboration = true;        // tie_formation in the pipeline (schools seek partners)
  bool constructivism = true;       // the four framework modules
  bool social_capital = true;
  bool durkheim = true;
  bool social_movement = false;
  std::int32_t movement_term = 0;  // term at whose start the movement's seed schools commit
  std::int32_t area_strategy = kAreaStrategyOff;  // off, all areas, or one area's index
  std::int32_t programme_year = -1;               // year a networking programme launches, or -1
  bool operator==(const Levers&) const = default;
};

// The number of schools the scenario's world has.
std::int32_t world_schools(const Scenario& scenario, const Registry& registry);
// A whole text read as a finite number (no trailing characters); false otherwise.
bool parse_number(const std::string& text, double& out);

// The levers a scenario file implies: what its pipeline holds.
Levers levers_of(const Scenario& scenario, const Registry& registry);
// The scenario the levers make of `base`: the base's mechanisms and parameter
// values in the base's order, with the levers' modules added (where the
// registry puts them) or removed and their parameters set. With the levers of
// `base` itself (levers_of), it is `base`.
Scenario apply_levers(const Scenario& base, const Registry& registry, const Levers& levers);

// Problems with a lever change sent by a page: each field is checked, and the
// change is applied only when there are none. `fields` maps lever names to text.
struct LeverChange {
  Levers levers;
  std::vector<std::string> problems;
};
// `next_term` is the term the change takes effect in.
LeverChange parse_levers(const std::map<std::string, std::string>& fields, const Levers& current,
                         std::int32_t areas, std::int32_t next_term);

// The measures teaching mode charts, per term.
struct ChartMeasure {
  const char* name;
  const char* label;
  const char* unit;
  double (*compute)(const State&);
};
const std::vector<ChartMeasure>& chart_measures();

// One school system run live: the simulation and everything it has done so far.
class World {
 public:
  World(Scenario base, const Registry& registry, Levers levers, std::int32_t terms);

  void step();  // one term; does nothing once finished
  // Applies from the next term on, keeping the state reached so far.
  void set_levers(const Levers& levers);
  void reset(std::uint64_t seed);

  [[nodiscard]] const Levers& levers() const { return levers_; }
  [[nodiscard]] const Scenario& scenario() const { return *scenario_; }  // what runs now: the base with the levers
  [[nodiscard]] const State& state() const { return sim_->state(); }
  [[nodiscard]] std::int32_t terms_done() const { return sim_->terms_done(); }
  [[nodiscard]] std::int32_t terms() const { return terms_; }
  [[nodiscard]] bool finished() const { return terms_done() >= terms_; }
  [[nodiscard]] std::uint64_t seed() const { return base_.seed; }
  // "none", "launches in year N" or "launched in year N" (years counted from 1).
  [[nodiscard]] std::string programme_status() const;

  // Per term, from term 0 (the starting world): the chart measures, and each
  // school's history.
  [[nodiscard]] const std::vector<std::vector<double>>& measures() const { return measures_; }
  struct SchoolHistory {
    std::vector<float> capacity, expectations, attainment, disadvantaged;
    std::vector<std::int32_t> pupils, ties;
  };
  [[nodiscard]] const SchoolHistory& history(std::int32_t school) const { return history_[school]; }

 private:
  void rebuild(State state, std::int32_t terms_done);
  void record();

  Scenario base_;
  const Registry& registry_;
  Levers levers_;
  std::int32_t terms_;
  std::unique_ptr<Scenario> scenario_;  // what sim_ runs; it refers to it
  std::unique_ptr<Simulation> sim_;
  std::vector<std::vector<double>> measures_;
  std::vector<SchoolHistory> history_;
};

}  // namespace schoolsim::live
