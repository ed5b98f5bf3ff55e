// Which lever did it: Shapley decomposition of a paired comparison.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/experiment/compare.hpp"
#include "sim/experiment/decompose.hpp"
#include "sim/io/h5.hpp"
#include "test_util.hpp"

using namespace schoolsim;

namespace {

Scenario load(const std::string& text) {
  auto r = parse_scenario(text, "d.yaml", models::registry());
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0].str()));
  return *r.scenario;
}

Scenario load_file(const std::string& path) {
  auto r = load_scenario(std::string(SCHOOLSIM_SOURCE_DIR) + "/" + path, models::registry());
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0].str()));
  return *r.scenario;
}

std::size_t measure(std::string_view name) {
  for (std::size_t m = 0; m < kMeasureCount; ++m)
    if (kSystemMeasures[m].name == name) return m;
  FAIL("no measure " << name);
  return 0;
}

bool has(std::uint64_t s, std::size_t i) { return ((s >> i) & 1u) != 0; }

// A toy value function v_r(S) held as a table: one output per replicate and subset.
struct Toy {
  std::size_t k;
  std::int32_t replicates;
  std::map<std::pair<std::int32_t, std::uint64_t>, std::vector<double>> table;
  template <class F>
  Toy(std::size_t levers, std::int32_t reps, F f) : k(levers), replicates(reps) {
    for (std::int32_t r = 0; r < reps; ++r)
      for (std::uint64_t s = 0; s < (1ull << k); ++s) table[{r, s}] = {f(r, s)};
  }
  ShapleyEstimate run(const ShapleyOptions& o) const {
    return estimate_shapley(k, replicates, o, [&](std::int32_t r, std::uint64_t s) -> const std::vector<double>& {
      return table.at({r, s});
    });
  }
};

// A pseudo-random number in [-1, 1) from (r, s): a value function with every
// kind of interaction.
double scramble(std::int32_t r, std::uint64_t s) {
  std::uint64_t x = (static_cast<std::uint64_t>(r) << 32) ^ (s * 0x9E3779B97F4A7C15ull);
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<double>(x >> 11) * 0x1.0p-52 - 1.0;
}

const std::string kWorld = "seed: 5\nyears: 3\nworld: {schools: 120, areas: 3}\n";

}  // namespace

TEST_CASE("decompose: two levers acting additively each get their own effect") {
  // v_r(S) = r + (3 + r) [lever 0 on] + 5 [lever 1 on]
  const Toy toy(2, 4, [](std::int32_t r, std::uint64_t s) { return r + (3.0 + r) * has(s, 0) + 5.0 * has(s, 1); });
  const ShapleyEstimate e = toy.run({});
  for (std::int32_t r = 0; r < 4; ++r) {
    CHECK(e.per_replicate[0][static_cast<std::size_t>(r)][0] == doctest::Approx(3.0 + r));
    CHECK(e.per_replicate[1][static_cast<std::size_t>(r)][0] == doctest::Approx(5.0));
  }
  CHECK(e.mean[0][0] == doctest::Approx(4.5));
  CHECK(e.mean[1][0] == doctest::Approx(5.0));
  // Lever 0's effect varies over replicates, so its interval has width; lever 1's does not.
  const double sd0 = std::sqrt(5.0 / 3.0);  // sd of 3, 4, 5, 6
  CHECK(e.hi[0][0] - e.mean[0][0] == doctest::Approx(t_factor(4) * sd0 / 2));
  CHECK(e.hi[1][0] == doctest::Approx(5.0));
  CHECK(e.lo[1][0] == doctest::Approx(5.0));
}

TEST_CASE("decompose: a pure interaction splits equally") {
  const Toy two(2, 2, [](std::int32_t, std::uint64_t s) { return 4.0 * has(s, 0) * has(s, 1); });
  const auto e2 = two.run({});
  CHECK(e2.mean[0][0] == doctest::Approx(2.0));
  CHECK(e2.mean[1][0] == doctest::Approx(2.0));
  // Three levers: x0 + 6 x1 x2 gives (1, 3, 3); an interaction of all three splits in thirds.
  const Toy three(3, 1, [](std::int32_t, std::uint64_t s) {
    return 1.0 * has(s, 0) + 6.0 * has(s, 1) * has(s, 2) + 9.0 * (s == 7);
  });
  const auto e3 = three.run({});
  CHECK(e3.mean[0][0] == doctest::Approx(1.0 + 3.0));
  CHECK(e3.mean[1][0] == doctest::Approx(3.0 + 3.0));
  CHECK(e3.mean[2][0] == doctest::Approx(3.0 + 3.0));
  // A lever that changes nothing gets nothing (the null player).
  const Toy dummy(4, 1, [](std::int32_t, std::uint64_t s) { return 2.0 * has(s, 0) * has(s, 3) + has(s, 2); });
  CHECK(dummy.run({}).mean[1][0] == doctest::Approx(0.0));
}

TEST_CASE("decompose: the values sum to v(all) - v(none) - exact and sampled") {
  for (std::size_t k : {5u, 9u}) {
    const Toy toy(k, 3, scramble);
    ShapleyOptions o;
    o.permutations = 7;
    CHECK(o.exact(k) == (k <= 6));
    const ShapleyEstimate e = toy.run(o);
    for (std::size_t r = 0; r < 3; ++r) {
      double sum = 0;
      for (std::size_t i = 0; i < k; ++i) sum += e.per_replicate[i][r][0];
      const auto rr = static_cast<std::int32_t>(r);
      CHECK(sum == doctest::Approx(scramble(rr, (1ull << k) - 1) - scramble(rr, 0)).epsilon(1e-12));
      CHECK(e.total[r][0] == doctest::Approx(sum).epsilon(1e-12));
    }
    double sum_mean = 0;
    for (std::size_t i = 0; i < k; ++i) sum_mean += e.mean[i][0];
    CHECK(sum_mean == doctest::Approx(e.total_mean[0]).epsilon(1e-12));
  }
}

TEST_CASE("decompose: exact up to six levers and sampled lever orders above") {
  ShapleyOptions o;
  o.permutations = 5;
  o.seed = 11;
  CHECK(subsets_needed(6, 0, o).size() == 64);
  CHECK(lever_orders(6, 0, o).empty());
  const auto orders = lever_orders(7, 0, o);
  REQUIRE(orders.size() == 5);
  for (const auto& order : orders) {
    std::set<std::size_t> seen(order.begin(), order.end());
    CHECK(seen.size() == 7);
    CHECK(*seen.rbegin() == 6);
  }
  // Each order visits 6 new subsets between none and all; some may repeat.
  const auto needed = subsets_needed(7, 0, o);
  CHECK(needed.front() == 0);
  CHECK(needed.back() == 127);
  CHECK(needed.size() <= 2 + 5 * 6);
  CHECK(needed.size() > 6);
  CHECK(std::is_sorted(needed.begin(), needed.end()));
  // The orders are a function of (seed, replicate) alone.
  CHECK(lever_orders(7, 0, o) == orders);
  CHECK(lever_orders(7, 1, o) != orders);
  ShapleyOptions other = o;
  other.seed = 12;
  CHECK(lever_orders(7, 0, other) != orders);
  // The switch is the option: exact_max 7 makes seven levers exact.
  other.exact_max = 7;
  CHECK(subsets_needed(7, 0, other).size() == 128);
  CHECK(decomposition_runs(7, 3, other) == 3 * 128);
  CHECK(decomposition_runs(7, 3, o) ==
        subsets_needed(7, 0, o).size() + subsets_needed(7, 1, o).size() + subsets_needed(7, 2, o).size());
}

TEST_CASE("decompose: sampled orders converge on the exact values") {
  const std::size_t k = 7;
  const Toy toy(k, 1, scramble);
  ShapleyOptions exact;
  exact.exact_max = 7;
  ShapleyOptions sampled;
  sampled.permutations = 20000;
  const auto e = toy.run(exact), est = toy.run(sampled);
  double worst = 0;
  for (std::size_t i = 0; i < k; ++i) worst = std::max(worst, std::abs(e.mean[i][0] - est.mean[i][0]));
  CHECK(worst < 0.03);
  // An additive function needs no sampling: every order gives each lever its own effect.
  const Toy additive(8, 1, [](std::int32_t, std::uint64_t s) {
    double v = 0;
    for (std::size_t i = 0; i < 8; ++i) v += (i + 1.0) * has(s, i);
    return v;
  });
  ShapleyOptions few;
  few.permutations = 3;
  const auto a = additive.run(few);
  for (std::size_t i = 0; i < 8; ++i) CHECK(a.mean[i][0] == doctest::Approx(i + 1.0));
}

TEST_CASE("decompose: the levers of collaborative against competitive") {
  const Scenario a = load_file("scenarios/competitive.yaml"), b = load_file("scenarios/collaborative.yaml");
  const LeverSet set = find_levers(a, b, models::registry());
  REQUIRE(set.error.empty());
  std::vector<std::string> names;
  for (const auto& l : set.levers) names.push_back(l.name);
  const std::vector<std::string> expected = {
      "add programme",      "add tie_formation", "add constructivism", "add social_capital",
      "add durkheim",       "add social_movement", "add tie_dissolution", "add expectations",
      "market.choice",      "market.league_tables", "market.inspection_cycle"};
  CHECK(names == expected);
  CHECK(set.levers[8].change == "0.8 -> 0.2");
  CHECK(set.levers[0].change.find("networks 150") != std::string::npos);
  // Switching no lever is A; switching every lever gives B's pipeline in B's order.
  const Scenario none = hybrid(a, b, set.levers, 0);
  CHECK(to_yaml(none, models::registry()) == to_yaml(a, models::registry()));
  Scenario all = hybrid(a, b, set.levers, (1ull << set.levers.size()) - 1);
  all.name = b.name, all.description = b.description, all.record = b.record;
  CHECK(to_yaml(all, models::registry()) == to_yaml(b, models::registry()));
}

TEST_CASE("decompose: hybrids of no lever and of every lever run exactly as A and B") {
  const Scenario a = load(kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0.8}}, opportunities]\n");
  const Scenario b = load("seed: 5\nyears: 3\nworld: {schools: 140, areas: 3}\n"
                          "pipeline: [crises, tie_formation, turnover, attainment, {market: {choice: 0.3}}]\n"
                          "timeline: [{year: 1, set: {market.choice: 0.1}}]\n");
  const LeverSet set = find_levers(a, b, models::registry());
  REQUIRE(set.error.empty());
  std::vector<std::string> names;
  for (const auto& l : set.levers) names.push_back(l.name);
  CHECK(names == std::vector<std::string>{"world.schools", "add tie_formation", "market.choice", "remove opportunities",
                                          "timeline"});
  const auto run = [](const Scenario& sc) { return run_replicate(sc, models::registry(), 1, {}).system; };
  CHECK(run(hybrid(a, b, set.levers, 0)) == run(a));
  CHECK(run(hybrid(a, b, set.levers, 31)) == run(b));
  // The timeline's event follows its lever.
  CHECK(hybrid(a, b, set.levers, 0).timeline.empty());
  const Scenario t = hybrid(a, b, set.levers, 16);
  REQUIRE(t.timeline.size() == 1);
  CHECK(t.pipeline[t.timeline[0].entry].info->name == "market");
}

TEST_CASE("decompose: scenarios that cannot be decomposed say why") {
  const Scenario a = load(kWorld + "pipeline: [crises, turnover, attainment]\n");
  // Mechanisms of one phase (here two of the interaction phase) may be listed in either order.
  CHECK(find_levers(load(kWorld + "pipeline: [crises, constructivism, social_capital, attainment]\n"),
                    load(kWorld + "pipeline: [crises, social_capital, constructivism, attainment]\n"), models::registry())
            .error.find("different orders") != std::string::npos);
  CHECK(find_levers(a, load("seed: 5\nyears: 4\nworld: {schools: 120, areas: 3}\npipeline: [crises, turnover, attainment]\n"),
                    models::registry())
            .error.find("different numbers of years") != std::string::npos);
  CHECK(find_levers(a, a, models::registry()).levers.empty());
  CHECK_THROWS_AS(decompose(a, a, models::registry(), 2, {}, {}), std::invalid_argument);
}

TEST_CASE("decompose: runs sum to the paired comparison and are identical at any thread count") {
  const Scenario a = load(kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0.8, league_tables: true}}]\n");
  const Scenario b = load(kWorld + "pipeline: [crises, tie_formation, turnover, attainment, "
                                   "{market: {choice: 0.2, league_tables: false}}]\n");
  RunOptions one, three;
  three.threads = 3;
  const Decomposition d1 = decompose(a, b, models::registry(), 3, one, {});
  const Decomposition d3 = decompose(a, b, models::registry(), 3, three, {});
  REQUIRE(d1.levers.size() == 3);
  CHECK(d1.exact);
  CHECK(d1.runs == 3 * 8);
  CHECK(d1.terms == std::vector<std::int32_t>{0, 3, 6, 9});
  CHECK(d1.phi == d3.phi);
  CHECK(d1.a == d3.a);
  CHECK(d1.b == d3.b);
  // The arms are the paired comparison's, run for run.
  const Comparison c = compare(a, b, models::registry(), 3, one);
  const std::size_t rows = d1.terms.size(), crows = c.terms.size();
  for (std::size_t m = 0; m < kMeasureCount; ++m)
    for (std::size_t r = 0; r < 3; ++r) {
      CHECK(d1.a[m][r * rows + rows - 1] == c.a[m][r * crows + crows - 1]);
      CHECK(d1.b[m][r * rows + rows - 1] == c.b[m][r * crows + crows - 1]);
    }
  // Efficiency on the model itself, per replicate and in the mean.
  for (std::size_t m = 0; m < kMeasureCount; ++m)
    for (std::size_t row = 0; row < rows; ++row) {
      for (std::size_t r = 0; r < 3; ++r) {
        double sum = 0;
        for (std::size_t i = 0; i < 3; ++i) sum += d1.phi[m][i][r * rows + row];
        const double total = d1.b[m][r * rows + row] - d1.a[m][r * rows + row];
        CHECK(sum == doctest::Approx(total).epsilon(1e-9));
      }
      double sum_mean = 0;
      for (std::size_t i = 0; i < 3; ++i) sum_mean += d1.phi_mean[m][i][row];
      CHECK(sum_mean == doctest::Approx(d1.total_mean[m][row]).epsilon(1e-9));
      CHECK(d1.total_mean[m][row] == doctest::Approx(c.diff_mean[m][row * 3]).epsilon(1e-12));
    }
  // Without tie_formation no tie forms: adding it is what makes ties.
  const std::size_t ties = measure("n_ties");
  CHECK(d1.total_mean[ties][rows - 1] > 0);
  CHECK(d1.phi_mean[ties][0][rows - 1] > 0);
  // Sampled (forced by exact_max 2): the same efficiency, and identical at any thread count.
  ShapleyOptions sampled;
  sampled.exact_max = 2;
  sampled.permutations = 2;
  const Decomposition s1 = decompose(a, b, models::registry(), 3, one, sampled);
  const Decomposition s3 = decompose(a, b, models::registry(), 3, three, sampled);
  CHECK_FALSE(s1.exact);
  CHECK(s1.runs == decomposition_runs(3, 3, sampled));
  CHECK(s1.runs < 3 * 8);
  CHECK(s1.phi == s3.phi);
  const std::size_t att = measure("mean_attainment");
  for (std::size_t r = 0; r < 3; ++r) {
    double sum = 0;
    for (std::size_t i = 0; i < 3; ++i) sum += s1.phi[att][i][r * rows + rows - 1];
    CHECK(sum == doctest::Approx(s1.b[att][r * rows + rows - 1] - s1.a[att][r * rows + rows - 1]).epsilon(1e-12));
  }
}

TEST_CASE("decompose: a cancelled decomposition stops with Interrupted") {
  const Scenario a = load(kWorld + "pipeline: [crises, turnover, attainment]\n");
  const Scenario b = load(kWorld + "pipeline: [crises, turnover, attainment, market]\n");
  std::atomic<bool> cancel{true};
  RunOptions o;
  o.cancel = &cancel;
  CHECK_THROWS_AS(decompose(a, b, models::registry(), 2, o, {}), Interrupted);
}

TEST_CASE("cli: compare --decompose prints each lever's share and writes the decompose group") {
  test::TempDir dir;
  test::write_text(dir.path() / "a.yaml", kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0.8}}]\n");
  test::write_text(dir.path() / "b.yaml", "extends: a.yaml\npipeline: [crises, tie_formation, turnover, attainment, "
                                           "{market: {choice: 0.2}}]\n");
  auto sh = [&](const std::string& args) {
    const std::string cmd = "cd '" + dir.path().string() + "' && '" + SCHOOLSIM_EXE + "' compare " + args +
                            " > out.txt 2> err.txt";
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  };
  CHECK(sh("a.yaml b.yaml --decompose --replicates 2 --threads 2 -o d.h5") == 0);
  const std::string out = test::read_bytes(dir.path() / "out.txt");
  CHECK(out.find("2 levers differ") != std::string::npos);
  CHECK(out.find("market.choice") != std::string::npos);
  CHECK(out.find("add tie_formation") != std::string::npos);
  CHECK(out.find("exact, over all 4 lever subsets") != std::string::npos);
  {
    const h5::File f(H5Fopen((dir.path() / "d.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open");
    const h5::Dataset ds(H5Dopen2(f.id(), "decompose/dissimilarity/phi", H5P_DEFAULT), "open phi");
    CHECK(h5::dims_of(ds.id()) == std::vector<hsize_t>{2, 2, 4});
    CHECK(H5Lexists(f.id(), "decompose/levers", H5P_DEFAULT) > 0);
    CHECK(H5Lexists(f.id(), "decompose/n_ties/phi_lo", H5P_DEFAULT) > 0);
  }
  // Bad input: nothing run or written.
  test::write_text(dir.path() / "c.yaml", "extends: a.yaml\nyears: 4\n");
  CHECK(sh("a.yaml c.yaml --decompose -o bad.h5") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("different numbers of years") != std::string::npos);
  CHECK(sh("a.yaml a.yaml --decompose -o bad.h5") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("do not differ in any lever") != std::string::npos);
  CHECK(sh("a.yaml b.yaml --permutations 5 -o bad.h5") == 2);
  CHECK(sh("a.yaml b.yaml --decompose --posterior a.yaml -o bad.h5") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("does not take --posterior") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "bad.h5"));
}

TEST_CASE("cli: Ctrl-C stops compare --decompose with exit code 130 and leaves no file") {
  namespace fs = std::filesystem;
  test::TempDir dir;
  test::write_text(dir.path() / "a.yaml", "years: 60\nworld: {schools: 6000, areas: 20}\n"
                                           "pipeline: [crises, turnover, attainment, {market: {choice: 0.8}}]\n");
  test::write_text(dir.path() / "b.yaml", "extends: a.yaml\npipeline: [crises, tie_formation, turnover, attainment, "
                                           "{market: {choice: 0.2}}]\n");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (chdir(dir.path().c_str()) != 0) _exit(99);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(99);
    execl(SCHOOLSIM_EXE, "schoolsim", "compare", "a.yaml", "b.yaml", "--decompose", "--replicates", "4", "-o",
          "d.h5", static_cast<char*>(nullptr));
    _exit(98);
  }
  // Wait (at most 10 s) until it has started writing, then interrupt it.
  const fs::path tmp = dir.path() / ("d.h5.tmp-" + std::to_string(pid));
  for (int i = 0; i < 2000 && !fs::exists(tmp); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(fs::exists(tmp));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGINT);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_FALSE(fs::exists(dir.path() / "d.h5"));
  CHECK_FALSE(fs::exists(tmp));
  CHECK(test::count_entries(dir.path()) == 2);  // a.yaml and b.yaml
}

TEST_CASE("decompose: runs branched from a warmed-up world continue from its state") {
  const Scenario a = load(kWorld + "pipeline: [crises, turnover, attainment, {market: {choice: 0.8}}]\n");
  const Scenario b = load(kWorld + "pipeline: [crises, tie_formation, turnover, attainment, {market: {choice: 0.2}}]\n");
  Simulation sim(a, models::registry(), 0);
  for (int t = 0; t < 3; ++t) sim.step();
  const State warm = sim.state();
  const Decomposition d = decompose(a, b, models::registry(), 2, {}, {}, &warm, 3);
  CHECK(d.terms == std::vector<std::int32_t>{3, 6, 9});
  const Comparison c = compare(a, b, models::registry(), 2, {}, Branch{&warm, 3});
  const std::size_t att = measure("mean_attainment");
  CHECK(d.total_mean[att][2] == doctest::Approx(c.diff_mean[att][c.terms.size() - 1]).epsilon(1e-12));
  CHECK(d.total_mean[att][0] == 0.0);  // both arms start from the same state
  // A world lever cannot be switched in a world that already exists.
  const Scenario bigger = load("seed: 5\nyears: 3\nworld: {schools: 130, areas: 3}\n"
                               "pipeline: [crises, turnover, attainment, {market: {choice: 0.8}}]\n");
  CHECK_THROWS_AS(decompose(a, bigger, models::registry(), 2, {}, {}, &warm, 3), std::invalid_argument);
}
