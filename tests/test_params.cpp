// Every parameter's basis supports its value (issue 12): a sourced parameter's
// text quotes a figure, a calibrated one has a prior range around its default
// inside its valid range and a reason for that range, a scenario choice says so.
#include <doctest/doctest.h>

#include <cctype>
#include <string>
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
