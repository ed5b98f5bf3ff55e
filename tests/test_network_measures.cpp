// Network measures of the collaboration network (sim/measures.hpp) on small
// hand-built networks with known values.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/measures.hpp"
#include "sim/simulation.hpp"

using namespace schoolsim;

namespace {

// n schools in one area and one phase, with the given ties (voluntary).
State network(std::int32_t n, const std::vector<std::pair<std::int32_t, std::int32_t>>& ties) {
  State s;
  s.allocate(n, 1, 2);
  for (const auto& [a, b] : ties) s.ties.add({.a = a, .b = b});
  return s;
}

double measure(const State& s, std::string_view name) {
  for (const auto& m : kSystemMeasures)
    if (m.name == name) return m.compute(s);
  FAIL("no measure " << name);
  return 0;
}

}  // namespace

TEST_CASE("network measures: the table lists them after mean_degree") {
  const std::vector<std::string_view> expected = {
      "mean_degree",    "density",        "clustering",     "components",
      "isolates",       "bridging_share", "bonding_share",  "centralisation",
      "ties_voluntary", "ties_programme", "ties_federation", "ties_movement"};
  std::size_t first = 0;
  while (first < kMeasureCount && kSystemMeasures[first].name != "mean_degree") ++first;
  REQUIRE(first + expected.size() <= kMeasureCount);
  for (std::size_t k = 0; k < expected.size(); ++k) {
    CHECK(kSystemMeasures[first + k].name == expected[k]);
    CHECK(!kSystemMeasures[first + k].unit.empty());
    CHECK(!kSystemMeasures[first + k].meaning.empty());
  }
}

TEST_CASE("network measures: empty network of five schools") {
  const State s = network(5, {});
  CHECK(density(s) == 0.0);
  CHECK(clustering(s) == 0.0);
  CHECK(components(s) == 0.0);
  CHECK(isolates(s) == 5.0);
  CHECK(bridging_share(s) == 0.0);
  CHECK(bonding_share(s) == 0.0);
  CHECK(centralisation(s) == 0.0);
  CHECK(ties_voluntary(s) == 0.0);
  CHECK(ties_programme(s) == 0.0);
  CHECK(ties_federation(s) == 0.0);
  CHECK(ties_movement(s) == 0.0);
}

TEST_CASE("network measures: fewer than three schools") {
  const State none = network(0, {});
  CHECK(density(none) == 0.0);
  CHECK(centralisation(none) == 0.0);
  CHECK(components(none) == 0.0);
  CHECK(isolates(none) == 0.0);
  const State one = network(1, {});
  CHECK(density(one) == 0.0);
  CHECK(isolates(one) == 1.0);
  const State pair = network(2, {{0, 1}});
  CHECK(density(pair) == 1.0);
  CHECK(centralisation(pair) == 0.0);
  CHECK(components(pair) == 1.0);
  CHECK(clustering(pair) == 0.0);
}

TEST_CASE("network measures: triangle plus a pendant") {
  // 0-1, 1-2, 2-0, 2-3: one triangle; triples 1 + 1 + 3 + 0 = 5.
  const State s = network(4, {{0, 1}, {1, 2}, {2, 0}, {2, 3}});
  CHECK(density(s) == doctest::Approx(4.0 / 6.0));
  CHECK(clustering(s) == doctest::Approx(3.0 / 5.0));
  CHECK(components(s) == 1.0);
  CHECK(isolates(s) == 0.0);
  // Degrees 2, 2, 3, 1: (1 + 1 + 0 + 2) / (3 x 2).
  CHECK(centralisation(s) == doctest::Approx(4.0 / 6.0));
  CHECK(measure(s, "clustering") == doctest::Approx(0.6));
}

TEST_CASE("network measures: complete graph of four schools") {
  const State s = network(4, {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}});
  CHECK(density(s) == 1.0);
  CHECK(clustering(s) == doctest::Approx(1.0));
  CHECK(centralisation(s) == 0.0);
  CHECK(components(s) == 1.0);
}

TEST_CASE("network measures: star of five schools") {
  const State s = network(5, {{0, 1}, {0, 2}, {0, 3}, {0, 4}});
  CHECK(centralisation(s) == doctest::Approx(1.0));
  CHECK(clustering(s) == 0.0);
  CHECK(density(s) == doctest::Approx(0.4));
  CHECK(components(s) == 1.0);
  CHECK(isolates(s) == 0.0);
  // Closing one triangle among the leaves: 1 triangle, triples 6 + 1 + 1 = 8
  // (hub degree 4, leaves 1 and 2 degree 2).
  State closed = network(5, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 2}});
  CHECK(clustering(closed) == doctest::Approx(3.0 / 8.0));
  // Degrees 4, 2, 2, 1, 1: (0 + 2 + 2 + 3 + 3) / (4 x 3).
  CHECK(centralisation(closed) == doctest::Approx(10.0 / 12.0));
}

TEST_CASE("network measures: two separate pairs plus an isolate") {
  const State s = network(5, {{0, 1}, {2, 3}});
  CHECK(components(s) == 2.0);
  CHECK(isolates(s) == 1.0);
  CHECK(clustering(s) == 0.0);
  CHECK(density(s) == doctest::Approx(0.2));
  // Degrees 1, 1, 1, 1, 0: 1 / (4 x 3).
  CHECK(centralisation(s) == doctest::Approx(1.0 / 12.0));
}

TEST_CASE("network measures: components join through chains and ignore removed ties") {
  // A path 0-3-1-4-2 added out of order, a pair 5-6 and isolates 7 and 8.
  State s = network(9, {{3, 1}, {2, 4}, {0, 3}, {5, 6}, {4, 1}});
  CHECK(components(s) == 2.0);
  CHECK(isolates(s) == 2.0);
  // Cutting the path in the middle splits it in two.
  s.ties.remove(static_cast<TieStore::Slot>(s.ties.find(1, 4)));
  CHECK(components(s) == 3.0);
  CHECK(isolates(s) == 2.0);
  // Removing the pair's only tie leaves two more isolates, not a component.
  s.ties.remove(static_cast<TieStore::Slot>(s.ties.find(5, 6)));
  CHECK(components(s) == 2.0);
  CHECK(isolates(s) == 4.0);
  CHECK(density(s) == doctest::Approx(3.0 / 36.0));
}

TEST_CASE("network measures: bridging ties cross areas or phases") {
  State s;
  s.allocate(4, 2, 2);
  s.area << 0, 0, 0, 1;
  s.phase << 0, 0, 1, 0;
  s.ties.add({.a = 0, .b = 1});  // same area and phase: bonding
  SUBCASE("one tie across phases") {
    s.ties.add({.a = 0, .b = 2});
    CHECK(bridging_share(s) == doctest::Approx(0.5));
    CHECK(bonding_share(s) == doctest::Approx(0.5));
  }
  SUBCASE("one tie across areas") {
    s.ties.add({.a = 1, .b = 3});
    CHECK(bridging_share(s) == doctest::Approx(0.5));
    CHECK(bonding_share(s) == doctest::Approx(0.5));
  }
  SUBCASE("one across areas and one across phases") {
    s.ties.add({.a = 0, .b = 2});
    s.ties.add({.a = 1, .b = 3});
    CHECK(bridging_share(s) == doctest::Approx(2.0 / 3.0));
    CHECK(bonding_share(s) == doctest::Approx(1.0 / 3.0));
  }
  SUBCASE("only the bonding tie") {
    CHECK(bridging_share(s) == 0.0);
    CHECK(bonding_share(s) == 1.0);
  }
}

TEST_CASE("network measures: ties counted by kind") {
  State s;
  s.allocate(6, 1, 2);
  s.ties.add({.a = 0, .b = 1, .kind = TieKind::voluntary});
  s.ties.add({.a = 0, .b = 2, .kind = TieKind::programme});
  s.ties.add({.a = 0, .b = 3, .kind = TieKind::programme});
  s.ties.add({.a = 0, .b = 4, .kind = TieKind::federation});
  s.ties.add({.a = 0, .b = 5, .kind = TieKind::federation});
  const auto gone = s.ties.add({.a = 1, .b = 2, .kind = TieKind::federation});
  s.ties.add({.a = 1, .b = 3, .kind = TieKind::federation});
  s.ties.add({.a = 1, .b = 4, .kind = TieKind::movement});
  s.ties.add({.a = 1, .b = 5, .kind = TieKind::movement});
  s.ties.add({.a = 2, .b = 3, .kind = TieKind::movement});
  s.ties.add({.a = 2, .b = 4, .kind = TieKind::movement});
  CHECK(ties_voluntary(s) == 1.0);
  CHECK(ties_programme(s) == 2.0);
  CHECK(ties_federation(s) == 4.0);
  CHECK(ties_movement(s) == 4.0);
  s.ties.remove(gone);
  CHECK(ties_federation(s) == 3.0);
  CHECK(ties_voluntary(s) + ties_programme(s) + ties_federation(s) + ties_movement(s) ==
        static_cast<double>(s.ties.size()));
}

TEST_CASE("network measures: clustering and components agree with brute force") {
  std::mt19937 rng(12345);
  for (const double p : {0.05, 0.15, 0.4}) {
    CAPTURE(p);
    const std::int32_t n = 40;
    State s;
    s.allocate(n, 1, 2);
    std::vector<std::vector<char>> adj(n, std::vector<char>(n, 0));
    std::bernoulli_distribution tie(p);
    for (std::int32_t i = 0; i < n; ++i)
      for (std::int32_t j = i + 1; j < n; ++j)
        if (tie(rng)) {
          s.ties.add({.a = i, .b = j});
          adj[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = 1;
          adj[static_cast<std::size_t>(j)][static_cast<std::size_t>(i)] = 1;
        }
    const auto at = [&](std::int32_t i, std::int32_t j) {
      return adj[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] != 0;
    };
    double triangles = 0, triples = 0;
    for (std::int32_t i = 0; i < n; ++i)
      for (std::int32_t j = i + 1; j < n; ++j)
        for (std::int32_t k = j + 1; k < n; ++k) {
          const int e = at(i, j) + at(j, k) + at(i, k);
          triangles += e == 3 ? 1 : 0;
          triples += e == 3 ? 3 : e == 2 ? 1 : 0;
        }
    CHECK(clustering(s) == doctest::Approx(triples > 0 ? 3 * triangles / triples : 0.0));
    // Components of tied schools by depth-first search.
    std::vector<char> seen(static_cast<std::size_t>(n), 0);
    double comps = 0;
    for (std::int32_t r = 0; r < n; ++r) {
      if (seen[static_cast<std::size_t>(r)] || s.ties.degree(r) == 0) continue;
      ++comps;
      std::vector<std::int32_t> stack = {r};
      seen[static_cast<std::size_t>(r)] = 1;
      while (!stack.empty()) {
        const std::int32_t v = stack.back();
        stack.pop_back();
        for (std::int32_t w = 0; w < n; ++w)
          if (at(v, w) && !seen[static_cast<std::size_t>(w)]) {
            seen[static_cast<std::size_t>(w)] = 1;
            stack.push_back(w);
          }
      }
    }
    CHECK(components(s) == comps);
  }
}

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("all system measures at once equal each measure computed alone - bit for bit") {
  auto r = parse_scenario(R"(
years: 4
world: {schools: 400, areas: 6, initial_ties_per_school: 3}
pipeline:
  - programme: {year: 1, networks: 6, size: 8, funding_years: 1}
  - crises
  - tie_formation
  - social_capital
  - durkheim
  - social_movement
  - tie_dissolution
  - attainment
  - market
  - federations
)",
                          "t.yaml", models::registry());
  REQUIRE(r.errors.empty());
  Simulation sim(*r.scenario, models::registry(), 0);
  std::array<double, kMeasureCount> all{}, cached{};
  MeasureCache cache;
  for (;;) {
    const State& s = sim.state();
    compute_system_measures(s, all.data());
    compute_system_measures(s, cached.data(), &cache);
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      CAPTURE(kSystemMeasures[m].name);
      CHECK(same_bits(all[m], kSystemMeasures[m].compute(s)));
      CHECK(same_bits(cached[m], all[m]));
    }
    if (sim.finished()) break;
    sim.step();
  }
  // And on an empty system and one without ties.
  State empty;
  compute_system_measures(empty, all.data());
  for (std::size_t m = 0; m < kMeasureCount; ++m) CHECK(same_bits(all[m], kSystemMeasures[m].compute(empty)));
  State lone = network(5, {});
  compute_system_measures(lone, all.data());
  for (std::size_t m = 0; m < kMeasureCount; ++m) CHECK(same_bits(all[m], kSystemMeasures[m].compute(lone)));
}

TEST_CASE("clustering on random networks equals 3 x triangles / connected triples counted by brute force") {
  std::mt19937 gen(11);
  for (int trial = 0; trial < 30; ++trial) {
    const std::int32_t n = 30 + trial;
    std::uniform_int_distribution<std::int32_t> pick(0, n - 1);
    std::vector<std::vector<bool>> adj(static_cast<std::size_t>(n), std::vector<bool>(static_cast<std::size_t>(n)));
    State s = network(n, {});
    for (int e = 0; e < 3 * n; ++e) {
      const std::int32_t a = pick(gen), b = pick(gen);
      if (a == b || adj[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)]) continue;
      adj[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] = adj[static_cast<std::size_t>(b)][static_cast<std::size_t>(a)] = true;
      s.ties.add({.a = std::min(a, b), .b = std::max(a, b)});
    }
    std::int64_t triangles = 0;
    double triples = 0;
    for (std::int32_t i = 0; i < n; ++i) {
      const double d = s.ties.degree(i);
      triples += d * (d - 1) / 2;
      for (std::int32_t j = i + 1; j < n; ++j)
        for (std::int32_t k = j + 1; k < n; ++k)
          triangles += adj[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] &&
                       adj[static_cast<std::size_t>(j)][static_cast<std::size_t>(k)] &&
                       adj[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)];
    }
    CHECK(same_bits(clustering(s), triples > 0 ? 6.0 * static_cast<double>(triangles) / 2 / triples : 0.0));
  }
}
