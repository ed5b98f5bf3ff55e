// The validation patterns on a world read from a register (docs/VALIDATION.md,
// "Register world"): a fictional GIAS register of the validation world's size
// gives patterns 2 and 3 the same directions as the generated world, over five
// seeds. Each test prints the figures it compares.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/simulation.hpp"
#include "test_util.hpp"
#include "tools/register/fictional_register.hpp"

using namespace schoolsim;

namespace {

// The first problem, for failure messages ("" when there is none).
std::string first_error(const std::vector<Diagnostic>& errors) { return errors.empty() ? "" : errors[0].str(); }

std::size_t measure(std::string_view name) {
  for (std::size_t m = 0; m < kMeasureCount; ++m)
    if (kSystemMeasures[m].name == name) return m;
  FAIL("no measure " << name);
  return 0;
}

struct Summary {
  double attainment_end = 0;  // mean attainment over the last three years
  double dissimilarity_change = 0, school_sd_change = 0;
};

constexpr int kSeeds = 5;

// Mean over five seeds of one regime and world.
Summary run(const std::string& world, double choice, const std::string& file) {
  Summary s;
  const std::size_t att = measure("mean_attainment"), dis = measure("dissimilarity"), sd = measure("school_sd");
  for (int seed = 1; seed <= kSeeds; ++seed) {
    const std::string text = "seed: " + std::to_string(seed) + "\nyears: 20\nworld: " + world +
                             "\npipeline: [crises, turnover, attainment, {market: {choice: " +
                             std::to_string(choice) + "}}, opportunities]\nrecord: {schools: [], ties: false}\n";
    auto r = parse_scenario(text, file, models::registry());
    REQUIRE_MESSAGE(r.errors.empty(), first_error(r.errors));
    RunOptions opt;
    const Recording rec = run_replicate(*r.scenario, models::registry(), 0, opt);
    const auto& terms = rec.system_terms;
    double last3 = 0;
    int n = 0;
    for (std::size_t row = 0; row < terms.size(); ++row)
      if (terms[row] % kTermsPerYear == 0 && terms[row] >= terms.back() - 2 * kTermsPerYear)
        last3 += rec.system[att][row], ++n;
    s.attainment_end += last3 / n / kSeeds;
    s.dissimilarity_change += (rec.system[dis].back() - rec.system[dis].front()) / kSeeds;
    s.school_sd_change += (rec.system[sd].back() - rec.system[sd].front()) / kSeeds;
  }
  return s;
}

struct Results {
  std::map<double, Summary> generated, from_register;
};

const Results& results() {
  static const Results r = [] {
    test::TempDir dir;
    tools::FictionalOptions o;  // the size of the generated validation world
    o.schools = 1500, o.areas = 15, o.seed = 7;
    test::write_text(dir.path() / "register.csv", tools::fictional_register(o));
    const std::string file = (dir.path() / "validation.yaml").string();
    Results out;
    for (double c : {0.0, 1.0}) {
      out.generated[c] = run("{schools: 1500, areas: 15}", c, file);
      out.from_register[c] = run("{register: register.csv}", c, file);
    }
    return out;
  }();
  return r;
}

}  // namespace

TEST_CASE("register world: pattern 2 - competition alone gives about zero average gain as in the generated world") {
  const Results& r = results();
  const double gen = r.generated.at(1.0).attainment_end - r.generated.at(0.0).attainment_end;
  const double reg = r.from_register.at(1.0).attainment_end - r.from_register.at(0.0).attainment_end;
  MESSAGE("gain of choice 1 over choice 0, mean over " << kSeeds << " seeds: generated world " << gen
                                                       << ", register world " << reg << " pupil SD (limit 0.05)");
  CHECK(std::abs(gen) < 0.05);
  CHECK(std::abs(reg) < 0.05);
}

TEST_CASE("register world: pattern 3 - more choice sorts pupils and polarises schools as in the generated world") {
  const Results& r = results();
  for (const auto* w : {&r.generated, &r.from_register})
    for (const auto& [choice, s] : *w)
      MESSAGE((w == &r.generated ? "generated" : "register ") << " world, choice " << choice
                                                              << ": change in dissimilarity " << s.dissimilarity_change
                                                              << ", change in school SD " << s.school_sd_change);
  // The same directions: more choice, more segregation and a wider spread.
  CHECK(r.generated.at(1.0).dissimilarity_change > r.generated.at(0.0).dissimilarity_change);
  CHECK(r.generated.at(1.0).school_sd_change > r.generated.at(0.0).school_sd_change);
  CHECK(r.from_register.at(1.0).dissimilarity_change > r.from_register.at(0.0).dissimilarity_change);
  CHECK(r.from_register.at(1.0).school_sd_change > r.from_register.at(0.0).school_sd_change);
}
