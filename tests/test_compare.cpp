// Paired regime comparisons with common random numbers.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

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
  CHECK(c.diff_mean[m][0] == 0.0);  // same world at the start
  CHECK(mean > 0);                  // choice sorts pupils
}

TEST_CASE("compare: effect sizes are in pupil SD or standardised by a spread they state") {
  const Scenario a = load(kWorld + "pipeline: [crises, tie_formation, turnover, attainment, {market: {choice: 0}}]\n");
  const Scenario b = load(kWorld + "pipeline: [crises, {tie_formation: {search_rate: 0.4}}, turnover, attainment, "
                                   "{market: {choice: 1}}]\n");
  constexpr std::int32_t kReps = 4;
  const Comparison c = compare(a, b, models::registry(), kReps, {});
  const std::size_t rows = c.terms.size(), last = rows - 1;
  REQUIRE(c.effect_basis.size() == kMeasureCount);

  // In pupil SD already: the difference itself.
  for (const char* name : {"mean_attainment", "attainment_gap", "school_sd"}) {
    const std::size_t m = measure(name);
    CAPTURE(name);
    CHECK(c.effect_basis[m] == EffectBasis::pupil_sd);
    CHECK(c.effect_scale[m] == 1.0);
    CHECK(c.effect_size[m] == c.diff_mean[m][last]);
  }

  // A mean over schools: the SD between schools of arm A's final worlds (pooled
  // over replicates), recomputed here from arm A run on its own.
  {
    const std::size_t m = measure("mean_capacity");
    CHECK(c.effect_basis[m] == EffectBasis::between_schools);
    double var = 0;
    for (std::int32_t r = 0; r < kReps; ++r) {
      const Recording rec = run_replicate(a, models::registry(), r, {});
      const Eigen::ArrayXd& cap = rec.final_state.capacity;
      const double sd = std::sqrt((cap - cap.mean()).square().sum() / static_cast<double>(cap.size()));
      var += sd * sd / kReps;
      CHECK(between_school_sd(m, rec.final_state) == doctest::Approx(sd));
      // The same world as compare's arm A.
      CHECK(rec.system[m].back() == c.a[m][static_cast<std::size_t>(r) * rows + last]);
    }
    CHECK(c.effect_scale[m] == doctest::Approx(std::sqrt(var)));
    CHECK(c.effect_size[m] == doctest::Approx(c.diff_mean[m][last] / std::sqrt(var)));
    CHECK(c.effect_basis[measure("mean_degree")] == EffectBasis::between_schools);
    CHECK(c.effect_basis[measure("mean_crisis")] == EffectBasis::between_schools);
  }

  // Anything else: the SD between replicates of arm A at the end.
  for (const char* name : {"dissimilarity", "n_ties", "isolates", "density"}) {
    const std::size_t m = measure(name);
    CAPTURE(name);
    CHECK(c.effect_basis[m] == EffectBasis::between_replicates);
    double sum = 0, sum2 = 0, dsum = 0, dsum2 = 0;
    for (std::size_t r = 0; r < kReps; ++r) {
      const double va = c.a[m][r * rows + last], d = c.b[m][r * rows + last] - va;
      sum += va, sum2 += va * va, dsum += d, dsum2 += d * d;
    }
    const double sd_a = std::sqrt((sum2 - sum * sum / kReps) / (kReps - 1));
    REQUIRE(sd_a > 0);
    CHECK(c.effect_scale[m] == doctest::Approx(sd_a));
    CHECK(c.effect_size[m] == doctest::Approx(c.diff_mean[m][last] / sd_a));
    // Not the paired d_z, which common random numbers inflate.
    const double sd_d = std::sqrt((dsum2 - dsum * dsum / kReps) / (kReps - 1));
    if (sd_d > 0) CHECK(c.effect_size[m] != doctest::Approx(c.diff_mean[m][last] / sd_d));
  }
  CHECK(effect_basis_text(EffectBasis::between_replicates).find("replicates of arm A") != std::string_view::npos);

  // With one replicate there is no spread between replicates: no effect size but in pupil SD.
  const Comparison one = compare(a, b, models::registry(), 1, {});
  CHECK(std::isnan(one.effect_size[measure("n_ties")]));
  CHECK(one.effect_size[measure("mean_attainment")] == one.diff_mean[measure("mean_attainment")].back());
}

namespace {
template <class T>
bool same_bytes(const std::vector<T>& x, const std::vector<T>& y) {
  return x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0);
}
bool same_bytes(const std::vector<std::vector<double>>& x, const std::vector<std::vector<double>>& y) {
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!same_bytes(x[i], y[i])) return false;
  return true;
}
}  // namespace

TEST_CASE("compare: the same bytes at 1 - 2 and 3 threads") {
  const Scenario a = load(kWorld + "pipeline: [crises, tie_formation, turnover, attainment, {market: {choice: 0}}]\n");
  const Scenario b = load(kWorld + "pipeline: [crises, {tie_formation: {search_rate: 0.4}}, turnover, attainment, "
                                   "{market: {choice: 1}}]\n");
  RunOptions one;
  const Comparison c1 = compare(a, b, models::registry(), 5, one);
  for (std::int32_t threads : {2, 3}) {
    CAPTURE(threads);
    RunOptions opt;
    opt.threads = threads;
    const Comparison ct = compare(a, b, models::registry(), 5, opt);
    CHECK(ct.replicates == c1.replicates);
    CHECK(ct.terms == c1.terms);
    CHECK(same_bytes(ct.a, c1.a));
    CHECK(same_bytes(ct.b, c1.b));
    CHECK(same_bytes(ct.diff_mean, c1.diff_mean));
    CHECK(same_bytes(ct.diff_lo, c1.diff_lo));
    CHECK(same_bytes(ct.diff_hi, c1.diff_hi));
    CHECK(same_bytes(ct.effect_size, c1.effect_size));
    CHECK(same_bytes(ct.effect_scale, c1.effect_scale));
    CHECK(ct.effect_basis == c1.effect_basis);
  }
  // The arms really differ, so equal bytes are not trivially equal zeros.
  const std::size_t m = measure("dissimilarity");
  CHECK(c1.diff_mean[m].back() > 0);
}

TEST_CASE("compare: a cancel request stops both arms' runs and is reported") {
  const Scenario a = load("seed: 3\nyears: 40\nworld: {schools: 100, areas: 2}\n"
                          "pipeline: [crises, turnover, attainment, {market: {choice: 0.5}}]\n");
  std::atomic<bool> cancel{false};
  std::atomic<int> terms{0};
  RunOptions opt;
  opt.threads = 2;
  opt.cancel = &cancel;
  opt.on_term = [&] {
    if (++terms == 10) cancel = true;
  };
  CHECK_THROWS_AS(compare(a, a, models::registry(), 4, opt), Interrupted);
  // Stopped at the next term: far fewer than the 2 x 4 x 120 terms of the whole comparison.
  CHECK(terms.load() < 40);
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
  // A start column, a short meaning and what each effect is standardised by.
  CHECK(out.find("start") != std::string::npos);
  CHECK(out.find("meaning") != std::string::npos);
  CHECK(out.find("segregation of disadvantaged") != std::string::npos);
  CHECK(out.find("by") != std::string::npos);
  CHECK(out.find("SD between replicates of arm A") != std::string::npos);
  CHECK(out.find("SD between schools") != std::string::npos);
  CHECK(out.find("pupil SD: the difference itself") != std::string::npos);
  CHECK(out.find("d_z") == std::string::npos);
  // The HDF5 attributes say the same.
  const std::string h5 = "cd '" + dir.path().string() + "' && h5dump -A cmp.h5 > attrs.txt 2>&1";
  REQUIRE(std::system(h5.c_str()) == 0);
  const std::string attrs = test::read_bytes(dir.path() / "attrs.txt");
  CHECK(attrs.find("effect_standardiser") != std::string::npos);
  CHECK(attrs.find("effect_scale") != std::string::npos);
  CHECK(attrs.find("SD between schools (arm A, at the end)") != std::string::npos);
  CHECK(attrs.find("pupil SD (the difference as it is)") != std::string::npos);
  test::write_text(dir.path() / "c.yaml", "extends: a.yaml\nworld: {schools: 150}\n");
  const std::string bad = "cd '" + dir.path().string() + "' && '" + SCHOOLSIM_EXE +
                          "' compare a.yaml c.yaml -o bad.h5 > out.txt 2> err.txt";
  const int s2 = std::system(bad.c_str());
  CHECK(WEXITSTATUS(s2) == 2);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "bad.h5"));
}

namespace {

// The whitespace-separated words of the line of `out` that starts with `name`.
std::vector<std::string> row_of(const std::string& out, const std::string& name) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(name + " ", 0) == 0) {
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string word; words >> word;) w.push_back(word);
      return w;
    }
  return {};
}

// Significant digits shown in a number as printed ("-0.00123" has 3).
int significant(const std::string& text) {
  int n = 0;
  bool leading = true;
  for (char ch : text) {
    if (ch < '0' || ch > '9') continue;
    if (leading && ch == '0') continue;
    leading = false;
    ++n;
  }
  return n;
}

int shell(const std::filesystem::path& dir, const std::string& args, std::string& out, std::string& err) {
  const std::string cmd = "cd '" + dir.string() + "' && '" + SCHOOLSIM_EXE + "' " + args + " > out.txt 2> err.txt";
  const int status = std::system(cmd.c_str());
  out = test::read_bytes(dir / "out.txt");
  err = test::read_bytes(dir / "err.txt");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("cli: compare shows small measures with significant digits and the start") {
  test::TempDir dir;
  test::write_text(dir.path() / "a.yaml", kWorld + "pipeline: [crises, tie_formation, turnover, attainment]\n");
  test::write_text(dir.path() / "b.yaml", "extends: a.yaml\nset: {tie_formation.search_rate: 0.6}\n");
  std::string out, err;
  REQUIRE(shell(dir.path(), "compare a.yaml b.yaml --replicates 3 -o cmp.h5", out, err) == 0);
  // density: 200 schools have 19,900 pairs, so a few hundred ties are a density of about 0.01.
  const auto density = row_of(out, "density");
  REQUIRE(density.size() >= 8);
  CAPTURE(out);
  // measure, start, A, B, B - A, [lo, hi], effect, by, unit...
  const double diff = std::stod(density[4]);
  CHECK(diff > 0);
  CHECK(significant(density[4]) >= 3);
  CHECK(significant(density[2]) >= 3);
  CHECK(std::stod(density[1]) == 0);  // no ties at the start
  CHECK(density[8] == "reps");
  const auto n_ties = row_of(out, "n_ties");
  REQUIRE(n_ties.size() >= 8);
  CHECK(std::stod(n_ties[4]) > 10);
  CHECK(row_of(out, "mean_attainment")[8] == "as");  // "as is"
  CHECK(row_of(out, "mean_capacity")[8] == "schools");
}

TEST_CASE("cli: compare --years and --set change both arms and bad values stop it before it runs") {
  test::TempDir dir;
  test::write_text(dir.path() / "a.yaml", kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0}}]\n"
                                                    "timeline: [{year: 3, set: {crises.rate: 0.1}}]\n");
  test::write_text(dir.path() / "b.yaml", "extends: a.yaml\nset: {market.choice: 1}\n");
  std::string out, err;
  REQUIRE(shell(dir.path(), "compare a.yaml b.yaml --replicates 2 --years 5 --set crises.rate=0.2 -o c.h5", out, err) == 0);
  CHECK(out.find(", 5 years") != std::string::npos);
  REQUIRE(std::system(("cd '" + dir.path().string() + "' && h5dump -d /meta/scenario_b c.h5 > b.txt").c_str()) == 0);
  const std::string resolved_b = test::read_bytes(dir.path() / "b.txt");
  CHECK(resolved_b.find("years: 5") != std::string::npos);
  CHECK(resolved_b.find("rate: 0.2") != std::string::npos);

  // Too short for the timeline: exit 2, nothing written.
  CHECK(shell(dir.path(), "compare a.yaml b.yaml --years 2 -o short.h5", out, err) == 2);
  CHECK(err.find("--years 2 is too short for the timeline event of A (a.yaml) in year 3") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "short.h5"));

  // Every bad --set is listed, naming the option, and nothing runs.
  CHECK(shell(dir.path(), "compare a.yaml b.yaml --set market.choice=2 --set durkheim.regulation=0.1 "
                          "--set market.choice2=1 --set world.schools=abc -o bad.h5", out, err) == 2);
  CAPTURE(err);
  CHECK(err.find("--set market.choice=2: error: market.choice: 2 is out of range [0, 1]") != std::string::npos);
  CHECK(err.find("--set durkheim.regulation=0.1: error: 'durkheim' is not in the pipeline of A (a.yaml)") !=
        std::string::npos);
  CHECK(err.find("--set market.choice2=1: error: unknown parameter 'choice2' of market; did you mean 'choice'?") !=
        std::string::npos);
  CHECK(err.find("--set world.schools=abc: error: world.schools: expected an integer, found 'abc'") !=
        std::string::npos);
  CHECK(err.find("nothing was run or written") != std::string::npos);
  CHECK(out.empty());
  CHECK_FALSE(std::filesystem::exists(dir.path() / "bad.h5"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "results"));
}
