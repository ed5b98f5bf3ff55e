// Every parameter's basis supports its value (issue 12): a sourced parameter's
// text quotes a figure, a calibrated one has a prior range around its default
// inside its valid range and a reason for that range, a scenario choice says so.
#include <doctest/doctest.h>

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "models/register_all.hpp"
#include "sim/cli/cli.hpp"

using namespace schoolsim;

namespace {

// True when `text` holds a number that is not only a year (1900-2099, or a
// span such as 2023/24 or 2008-2011): a figure, such as 24,453 or 0.17 or 11.
// (A hand-written scan: std::regex trips GCC 12's -Wmaybe-uninitialized under ASan.)
bool has_figure(const std::string& text) {
  const auto digit = [&](std::size_t k) { return k < text.size() && std::isdigit(static_cast<unsigned char>(text[k])); };
  std::size_t i = 0;
  while (i < text.size()) {
    if (!digit(i)) {
      ++i;
      continue;
    }
    // A number: the longest run of digits, points and commas, ending in a digit.
    std::size_t end = i;
    while (end < text.size() && (digit(end) || text[end] == '.' || text[end] == ',')) ++end;
    while (!digit(end - 1)) --end;
    const std::string number = text.substr(i, end - i);
    const bool year = number.size() == 4 && (number.compare(0, 2, "19") == 0 || number.compare(0, 2, "20") == 0);
    if (!year) return true;
    // A span of years: 2023/24, 2008-2011.
    if (end < text.size() && (text[end] == '/' || text[end] == '-')) {
      std::size_t m = end + 1;
      while (digit(m)) ++m;
      if (m - end - 1 >= 2 && m - end - 1 <= 4) end = m;
    }
    i = end;
  }
  return false;
}

bool blank(const std::string& s) {
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every way `p`'s basis fails to support its value; empty when it does.
std::vector<std::string> problems(const ParamSpec& p) {
  std::vector<std::string> out;
  const Source& s = p.source;
  if (lower(s.text).find("stated reason") != std::string::npos)
    out.push_back("says 'stated reason': give a source for the value or calibrated(lo, hi, reason)");
  switch (basis_of(s)) {
    case Basis::calibrated:
      if (p.type == ParamType::boolean || p.type == ParamType::choice)
        out.push_back("a switch or choice cannot be calibrated: make it a scenario choice");
      if (!(s.prior_lo < s.prior_hi)) out.push_back("prior_lo must be below prior_hi");
      if (s.prior_lo < p.lo || s.prior_hi > p.hi)
        out.push_back("the prior range must lie inside the valid range");
      if (p.def < s.prior_lo || p.def > s.prior_hi)
        out.push_back("the default must lie inside the prior range");
      if (blank(s.text)) out.push_back("a calibrated parameter needs the reason for its prior range");
      if (s.text.starts_with(kScenarioChoice))
        out.push_back("a calibrated parameter is not a scenario choice");
      break;
    case Basis::scenario_choice:
      if (blank(s.text.substr(kScenarioChoice.size())))
        out.push_back("a scenario choice must say what is chosen and why");
      break;
    case Basis::sourced:
      if (!has_figure(s.text))
        out.push_back("a sourced value must quote the published figure (a number that is not "
                      "only a year), or be calibrated, or start with 'scenario choice:'");
      break;
  }
  return out;
}

struct Named {
  std::string owner;
  const ParamSpec* spec;
};

std::vector<Named> every_parameter() {
  const auto& reg = models::registry();
  std::vector<Named> all;
  for (const auto& p : reg.world().params) all.push_back({"world", &p});
  for (const auto& m : reg.mechanisms())
    for (const auto& p : m.params) all.push_back({m.name, &p});
  return all;
}

ParamSpec spec(double def, double lo, double hi, Source source,
               ParamType type = ParamType::real) {
  ParamSpec p;
  p.name = "planted";
  p.type = type;
  p.def = def;
  p.lo = lo;
  p.hi = hi;
  p.source = std::move(source);
  return p;
}

}  // namespace

TEST_CASE("params: the basis check rejects what it must") {
  CHECK(has_figure("about 11 schools a network (NCSL)"));
  CHECK(has_figure("24,453 schools (DfE 2024)"));
  CHECK(has_figure("0.17 of base in 2023-24"));
  CHECK_FALSE(has_figure("Townsend (2013): competition undermines trust"));
  CHECK_FALSE(has_figure("Burt (1992, 2004); DfE 2023/24; 2008-2011"));
  // Each of these is a planted bad entry that the registry check must refuse.
  CHECK_FALSE(problems(spec(0.5, 0, 1, "Townsend (2013): a direction only")).empty());
  CHECK_FALSE(problems(spec(0.5, 0, 1, "stated reason: a few years, 12 terms")).empty());
  CHECK_FALSE(problems(spec(0.5, 0, 1, calibrated(0.6, 0.9, "default outside the prior"))).empty());
  CHECK_FALSE(problems(spec(0.5, 0, 1, calibrated(-0.5, 0.9, "prior outside the range"))).empty());
  CHECK_FALSE(problems(spec(0.5, 0, 1, calibrated(0.5, 0.5, "empty prior range"))).empty());
  CHECK_FALSE(problems(spec(0.5, 0, 1, calibrated(0.2, 0.9, "  "))).empty());
  CHECK_FALSE(problems(spec(1, 0, 1, calibrated(0, 1, "a switch"), ParamType::boolean)).empty());
  CHECK_FALSE(problems(spec(0.5, 0, 1, std::string(kScenarioChoice) + " ")).empty());
  // And these pass.
  CHECK(problems(spec(0.24, 0, 1, "23.8% of pupils eligible for free school meals (DfE 2023)")).empty());
  CHECK(problems(spec(0.5, 0, 1, calibrated(0.2, 0.9, "no published rate"))).empty());
  CHECK(problems(spec(1, 0, 1, "scenario choice: the policy runs", ParamType::boolean)).empty());
}

TEST_CASE("params: every parameter's source supports its value") {
  const auto all = every_parameter();
  CHECK(all.size() > 100);
  for (const auto& [owner, p] : all)
    for (const auto& problem : problems(*p))
      FAIL_CHECK(owner << "." << p->name << ": " << problem << " (" << source_text(p->source)
                       << ")");
}

TEST_CASE("params: describe counts sourced calibrated and scenario-choice parameters") {
  int count[3] = {0, 0, 0};
  for (const auto& [owner, p] : every_parameter()) ++count[static_cast<int>(basis_of(p->source))];
  const std::string line = std::to_string(count[0] + count[1] + count[2]) + " parameters: " +
                           std::to_string(count[0]) + " sourced, " + std::to_string(count[1]) +
                           " calibrated, " + std::to_string(count[2]) + " scenario choices";
  CHECK(basis_counts(models::registry(), {}) == line);
  CHECK(describe_markdown(models::registry(), {}).find(line) != std::string::npos);
  CHECK(count[static_cast<int>(Basis::calibrated)] > 0);
  CHECK(count[static_cast<int>(Basis::scenario_choice)] > 0);
}

// ---------------------------------------------------------------- typed parameters (issue 15, item 4)

namespace typed {

enum class Colour : std::uint8_t { red, green, blue };
constexpr std::array<std::string_view, 3> kColourNames = {"red", "green", "blue"};
constexpr std::span<const std::string_view> choice_names(Colour) { return kColourNames; }

enum class Unnamed : std::uint8_t { a, b };  // no choice_names: not a choice

struct Params {
  double rate = -1;
  std::int32_t count = -1;
  bool on = false;
  Colour colour = Colour::red;
  Unnamed unnamed = Unnamed::a;
};

ParamSpec spec(const char* name, ParamType type, double def, double lo, double hi) {
  return {name, type, def, lo, hi, "unit", "meaning", "scenario choice: a test"};
}

}  // namespace typed

TEST_CASE("params: a table binds reals integers booleans and choices as such") {
  using typed::Params, typed::Colour, typed::spec;
  const ParamTable<Params> table = {
      {spec("rate", ParamType::real, 0.25, 0, 1), &Params::rate},
      {spec("count", ParamType::integer, 3, 0, 10), &Params::count},
      {spec("on", ParamType::boolean, 1, 0, 1), &Params::on},
      {spec("colour", ParamType::choice, choice_value(Colour::blue), 0, 2), &Params::colour},
  };
  // The choices' names come from the enum, in its order.
  const auto specs = table.specs();
  REQUIRE(specs.size() == 4);
  CHECK(specs[3].choices == std::vector<std::string>{"red", "green", "blue"});
  CHECK(choice_index(specs[3], "green") == 1);
  CHECK_THROWS_AS(choice_index(specs[3], "purple"), std::invalid_argument);
  CHECK(value_text(specs[3], specs[3].def) == "blue");

  const Params d = table.make({});
  CHECK(d.rate == 0.25);
  CHECK(d.count == 3);
  CHECK(d.on);
  CHECK(d.colour == Colour::blue);

  // Values travel as doubles and are converted once, at the table.
  const std::vector<double> v = {0.5, 7, 0, 1};
  Params p = table.make(v);
  CHECK(p.rate == 0.5);
  CHECK(p.count == 7);
  CHECK_FALSE(p.on);
  CHECK(p.colour == Colour::green);
  table.set(p, 1, 4.0000000001);  // an integer rounds to the nearest
  CHECK(p.count == 4);
  table.set(p, 2, 1);
  CHECK(p.on);
  table.set(p, 3, 0);
  CHECK(p.colour == Colour::red);
  for (std::size_t i = 0; i < table.size(); ++i) CHECK(table.get(table.make(v), i) == v[i]);
  // A value that is not the index of a choice is refused, not cast.
  CHECK_THROWS_AS(table.set(p, 3, 3), std::invalid_argument);
  CHECK_THROWS_AS(table.set(p, 3, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(table.set(p, 3, -1), std::invalid_argument);
  CHECK(p.colour == Colour::red);
}

TEST_CASE("params: a table whose spec and member disagree is refused") {
  using typed::Params, typed::Colour, typed::Unnamed, typed::spec;
  using Entry = ParamTable<Params>::Entry;
  // A choice bound to a double, a real to a choice, an integer to a double, a boolean to an integer.
  CHECK_THROWS_AS((ParamTable<Params>{{spec("rate", ParamType::choice, 0, 0, 2), &Params::rate}}), std::logic_error);
  CHECK_THROWS_AS((ParamTable<Params>{{spec("colour", ParamType::real, 0, 0, 2), &Params::colour}}), std::logic_error);
  CHECK_THROWS_AS((ParamTable<Params>{{spec("rate", ParamType::integer, 0, 0, 2), &Params::rate}}), std::logic_error);
  CHECK_THROWS_AS((ParamTable<Params>{{spec("count", ParamType::boolean, 0, 0, 1), &Params::count}}),
                  std::logic_error);
  // A choice whose listed names or range differ from its enum's.
  ParamSpec listed = spec("colour", ParamType::choice, 0, 0, 2);
  listed.choices = {"red", "blue", "green"};
  CHECK_THROWS_AS(Entry(listed, &Params::colour), std::logic_error);
  listed.choices = {"red", "green", "blue"};
  CHECK_NOTHROW(Entry(listed, &Params::colour));
  CHECK_THROWS_AS(Entry(spec("colour", ParamType::choice, 0, 0, 4), &Params::colour), std::logic_error);
  // An enum without names cannot be bound at all; nor can a member of another type.
  static_assert(!ChoiceEnum<Unnamed>);
  static_assert(ChoiceEnum<Colour>);
  static_assert(!std::is_constructible_v<Entry, ParamSpec, Unnamed Params::*>);
  static_assert(!std::is_constructible_v<Entry, ParamSpec, float Params::*>);
  static_assert(std::is_constructible_v<Entry, ParamSpec, Colour Params::*>);
}

TEST_CASE("params: every registered choice is named by its enum - every boolean is 0 or 1") {
  const auto all = every_parameter();
  int choices = 0;
  for (const auto& [owner, p] : all) {
    INFO(owner << "." << p->name);
    if (p->type == ParamType::choice) {
      ++choices;
      CHECK(p->choices.size() >= 2);
      CHECK(p->lo == 0);
      CHECK(p->hi == static_cast<double>(p->choices.size() - 1));
      CHECK(value_text(*p, p->def) == p->choices[static_cast<std::size_t>(p->def)]);
    } else {
      CHECK(p->choices.empty());
    }
    if (p->type == ParamType::boolean) CHECK((p->def == 0 || p->def == 1));
    if (p->type == ParamType::integer) CHECK(p->def == std::floor(p->def));
  }
  CHECK(choices == 5);  // programme goal, power, entry, spread; federations rule
  // The programme's goal is the networks' goal: its names are the enum's.
  const MechanismInfo* programme = models::registry().find("programme");
  REQUIRE(programme != nullptr);
  const int goal = param_index(programme->params, "goal");
  REQUIRE(goal >= 0);
  const auto& names = programme->params[static_cast<std::size_t>(goal)].choices;
  REQUIRE(names.size() == kNetworkGoalNames.size());
  for (std::size_t i = 0; i < names.size(); ++i) CHECK(names[i] == kNetworkGoalNames[i]);
}
