// Paired regime comparisons with common random numbers.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/experiment/compare.hpp"
#include "test_util.hpp"

using namespace schoolsim;

namespace {

Scenario load(const std::string& text) {
  auto r = parse_scenario(text, "c.yaml", models::registry());
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0].str()));
  return *r.scenario;
}

std::size_t measure(std::string_view name) {
  for (std::size_t m = 0; m < kMeasureCount; ++m)
    if (kSystemMeasures[m].name == name) return m;
  FAIL("no measure " << name);
  return 0;
}

const std::string kWorld = "seed: 3\nyears: 4\nworld: {schools: 200, areas: 4}\n";

}  // namespace

TEST_CASE("compare: Student t factors for 95% intervals") {
  CHECK(t_factor(2) == doctest::Approx(12.706).epsilon(0.001));
  CHECK(t_factor(20) == doctest::Approx(2.093).epsilon(0.001));
  CHECK(std::isnan(t_factor(1)));
}

TEST_CASE("compare: identical arms differ by exactly zero - common random numbers") {
  const Scenario a = load(kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0.5}}]\n");
  const Comparison c = compare(a, a, models::registry(), 3, {});
  REQUIRE(c.terms.size() == 13);
  for (std::size_t m = 0; m < kMeasureCount; ++m)
    for (std::size_t row = 0; row < c.terms.size(); ++row) {
      CHECK(c.diff_mean[m][row] == 0.0);
      CHECK(c.diff_lo[m][row] == 0.0);
      CHECK(c.diff_hi[m][row] == 0.0);
    }
  // Replicates differ from each other (each its own world), so the arms are not trivially constant.
  const std::size_t att = measure("mean_attainment");
  CHECK(c.a[att][0] != c.a[att][c.terms.size()]);
}

TEST_CASE("compare: the interval and effect size follow from the paired differences") {
  const Scenario a = load(kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0}}]\n");
  const Scenario b = load(kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 1}}]\n");
  const Comparison c = compare(a, b, models::registry(), 4, {});
  const std::size_t m = measure("dissimilarity"), rows = c.terms.size(), last = rows - 1;
  double sum = 0, sum2 = 0;
  for (std::size_t r = 0; r < 4; ++r) {
    const double d = c.b[m][r * rows + last] - c.a[m][r * rows + last];
    sum += d, sum2 += d * d;
  }
  const double mean = sum / 4, sd = std::sqrt((sum2 - 4 * mean * mean) / 3);
  CHECK(c.diff_mean[m][last] == doctest::Approx(mean));
  CHECK(c.diff_hi[m][last] - mean == doctest::Approx(t_factor(4) * sd / 2));
  CHECK(c.effect_size[m] == doctest::Approx(mean / sd));
  CHECK(c.diff_mean[m][0] == 0.0);  // same world at the start
  CHECK(mean > 0);                  // choice sorts pupils
}

TEST_CASE("compare: scenarios with different worlds cannot be paired") {
  const Scenario a = load(kWorld);
  Scenario b = load(kWorld);
  b.world[models::registry().world().schools_param] = 300;
  CHECK(comparable(a, b).find("different worlds") != std::string::npos);
  b = load(kWorld);
  b.years = 5;
  CHECK(comparable(a, b).find("different numbers of years") != std::string::npos);
  CHECK(comparable(a, a).empty());
}

TEST_CASE("cli: compare prints the difference table and writes the comparison file") {
  test::TempDir dir;
  test::write_text(dir.path() / "a.yaml", kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0}}]\n");
  test::write_text(dir.path() / "b.yaml", "extends: a.yaml\nset: {market.choice: 1}\n");
  const std::string cmd = "cd '" + dir.path().string() + "' && '" + SCHOOLSIM_EXE +
                          "' compare a.yaml b.yaml --replicates 3 --threads 2 -o cmp.h5 > out.txt 2> err.txt";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const std::string out = test::read_bytes(dir.path() / "out.txt");
  CHECK(out.find("3 paired replicates") != std::string::npos);
  CHECK(out.find("dissimilarity") != std::string::npos);
  CHECK(out.find("95% interval") != std::string::npos);
  CHECK(std::filesystem::file_size(dir.path() / "cmp.h5") > 1000);
  test::write_text(dir.path() / "c.yaml", "extends: a.yaml\nworld: {schools: 150}\n");
  const std::string bad = "cd '" + dir.path().string() + "' && '" + SCHOOLSIM_EXE +
                          "' compare a.yaml c.yaml -o bad.h5 > out.txt 2> err.txt";
  const int s2 = std::system(bad.c_str());
  CHECK(WEXITSTATUS(s2) == 2);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "bad.h5"));
}
