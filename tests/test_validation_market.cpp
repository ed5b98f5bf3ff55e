// Validation against published patterns (docs/ODD.md, patterns 2 and 3), on
// seeded ensembles. Each test prints the figures it compares.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/simulation.hpp"

using namespace schoolsim;

namespace {

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

// Mean over replicates of one regime: the same worlds and seeds for every choice level.
Summary run_choice(double choice) {
  const std::string text =
      "seed: 2024\nreplicates: 4\nyears: 20\nworld: {schools: 1500, areas: 15}\n"
      "pipeline: [crises, turnover, attainment, {market: {choice: " +
      std::to_string(choice) + "}}, opportunities]\nrecord: {schools: [], ties: false}\n";
  auto r = parse_scenario(text, "validation.yaml", models::registry());
  REQUIRE(r.errors.empty());
  const std::size_t att = measure("mean_attainment"), dis = measure("dissimilarity"),
                    sd = measure("school_sd");
  Summary s;
  RunOptions opt;
  opt.threads = 2;
  const double reps = r.scenario->replicates;
  run_all(*r.scenario, models::registry(), opt, [&](Recording&& rec) {
    const auto& terms = rec.system_terms;
    double last3 = 0;
    int n = 0;
    for (std::size_t row = 0; row < terms.size(); ++row)
      if (terms[row] % kTermsPerYear == 0 && terms[row] >= terms.back() - 2 * kTermsPerYear)
        last3 += rec.system[att][row], ++n;
    s.attainment_end += last3 / n / reps;
    s.dissimilarity_change += (rec.system[dis].back() - rec.system[dis].front()) / reps;
    s.school_sd_change += (rec.system[sd].back() - rec.system[sd].front()) / reps;
  });
  return s;
}

const std::map<double, Summary>& ensembles() {
  static const std::map<double, Summary> results = [] {
    std::map<double, Summary> m;
    for (double c : {0.0, 0.5, 1.0}) m[c] = run_choice(c);
    return m;
  }();
  return results;
}

}  // namespace

TEST_CASE("pattern 2: competition alone gives about zero average gain") {
  // Gibbons, Machin & Silva (2008); OECD (2014): across levels of choice, mean
  // attainment differs from the no-choice system by less than 0.05 pupil SD.
  const auto& e = ensembles();
  for (const auto& [choice, s] : e) {
    const double gain = s.attainment_end - e.at(0.0).attainment_end;
    MESSAGE("choice " << choice << ": mean attainment (last 3 years) " << s.attainment_end
                      << ", gain over choice 0: " << gain << " pupil SD (limit 0.05)");
    CHECK(std::abs(gain) < 0.05);
  }
}

TEST_CASE("pattern 3: more choice sorts pupils and polarises schools over time") {
  // Hsieh & Urquiola (2006); Fiske & Ladd (2000); OECD (2019): the more choice,
  // the more segregation of disadvantaged pupils and the wider the spread of
  // school results, compared over 20 years from the same worlds.
  const auto& e = ensembles();
  for (const auto& [choice, s] : e)
    MESSAGE("choice " << choice << ": change in dissimilarity " << s.dissimilarity_change
                      << ", change in school SD " << s.school_sd_change << " pupil SD");
  CHECK(e.at(0.5).dissimilarity_change > e.at(0.0).dissimilarity_change + 0.01);
  CHECK(e.at(1.0).dissimilarity_change - e.at(0.0).dissimilarity_change > 0.02);
  CHECK(e.at(1.0).school_sd_change > e.at(0.0).school_sd_change + 0.03);
  CHECK(e.at(0.5).school_sd_change > e.at(0.0).school_sd_change);
}
