// The market on hand-built school systems: choice 0, places, admission by
// distance, conservation of pupils and funding totals.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "mechanism_util.hpp"
#include "models/market/market.hpp"
#include "models/register_all.hpp"
#include "models/world/world.hpp"
#include "sim/config/config.hpp"
#include "sim/simulation.hpp"

using namespace schoolsim;
using namespace schoolsim::models;

namespace {

const MechanismInfo& market() { return *models::registry().find("market"); }

std::vector<double> with(std::initializer_list<std::pair<const char*, double>> set) { return test::with(market(), set); }

// Four primary schools of one area on a line at x = 0, 1, 2 and 10 km, each
// with 70 pupils (10 per year group, so 10 leave and 10 arrive a year).
State line_of_schools() {
  State s;
  s.allocate(4, 1, 2);
  s.x << 0, 1, 2, 10;
  s.places.setConstant(100);
  s.pupils.setConstant(70);
  s.home_cohort.setConstant(10);
  s.home_disadvantaged << 0.0, 0.0, 1.0, 0.5;
  s.disadvantaged << 0.0, 0.0, 1.0, 0.5;
  build_neighbours(s, 5.0);
  return s;
}

State admit(const State& in, const std::vector<double>& values, std::int32_t term = 2) {
  auto m = market().make(values, {});
  State out = in;
  const Streams streams(1, 0);
  TieChanges changes(in.ties);
  m->step(in, out, StepContext{Clock{term}, streams, stream_key("market"), changes});
  return out;
}

}  // namespace

TEST_CASE("apportion: parts add up and follow the weights") {
  CHECK(apportion(10, std::vector<double>{1, 1, 2}) == std::vector<std::int64_t>{3, 2, 5});
  CHECK(apportion(7, std::vector<double>{0, 0}) == std::vector<std::int64_t>{4, 3});
  CHECK(apportion(0, std::vector<double>{1, 2}) == std::vector<std::int64_t>{0, 0});
  const auto parts = apportion(1000, std::vector<double>{0.1, 0.25, 0.3, 0.35});
  CHECK(parts == std::vector<std::int64_t>{100, 250, 300, 350});
}

namespace {

// Largest-remainder apportionment as first written: sorted remainders.
std::vector<std::int64_t> apportion_reference(std::int64_t total, const std::vector<double>& weights) {
  std::vector<std::int64_t> out(weights.size(), 0);
  if (weights.empty() || total <= 0) return out;
  double sum = 0;
  for (double w : weights) sum += w;
  std::vector<std::pair<double, std::size_t>> rem;
  std::int64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double exact = sum > 0 ? static_cast<double>(total) * weights[i] / sum
                                 : static_cast<double>(total) / static_cast<double>(weights.size());
    out[i] = static_cast<std::int64_t>(std::floor(exact));
    rem.emplace_back(exact - static_cast<double>(out[i]), i);
    given += out[i];
  }
  std::sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  for (std::size_t r = 0; given < total; r = (r + 1) % rem.size(), ++given) ++out[rem[r].second];
  return out;
}

}  // namespace

TEST_CASE("apportion: the same parts as sorting all remainders - equal remainders go to the lower index") {
  std::mt19937 gen(3);
  for (int trial = 0; trial < 2000; ++trial) {
    std::uniform_int_distribution<int> size(1, 40), total(0, 500), coarse(0, 3);
    std::uniform_real_distribution<double> fine(0.0, 1.0);
    std::vector<double> w(static_cast<std::size_t>(size(gen)));
    for (double& x : w) x = trial % 3 == 0 ? coarse(gen) : fine(gen);  // coarse: many equal remainders
    const std::int64_t t = total(gen);
    CHECK(apportion(t, w) == apportion_reference(t, w));
  }
}

TEST_CASE("neighbours: same area and phase within reach - nearest first") {
  const State s = line_of_schools();
  auto row = [&](std::int32_t i) {
    std::vector<std::int32_t> r;
    for (auto e = s.near.begin(i); e < s.near.end(i); ++e) r.push_back(s.near.school[static_cast<std::size_t>(e)]);
    return r;
  };
  CHECK(row(0) == std::vector<std::int32_t>{0, 1, 2});
  CHECK(row(1) == std::vector<std::int32_t>{1, 0, 2});
  CHECK(row(2) == std::vector<std::int32_t>{2, 1, 0});
  CHECK(row(3) == std::vector<std::int32_t>{3});
  CHECK(lens_overlap(0, 5) == doctest::Approx(1.0));
  CHECK(lens_overlap(10, 5) == 0.0);
  CHECK(lens_overlap(5, 5) == doctest::Approx(0.391).epsilon(0.01));
}

TEST_CASE("market with choice 0: every family attends the nearest school with room") {
  const State s = line_of_schools();
  const State out = admit(s, with({{"choice", 0}}));
  for (int i = 0; i < 4; ++i) {
    CHECK(out.pupils[i] == 70);
    CHECK(out.disadvantaged[i] == doctest::Approx(s.disadvantaged[i]));
  }
  // Rivalry is choice times overlap: none without choice.
  for (double r : out.near.rivalry) CHECK(r == 0.0);
}

TEST_CASE("market: a full school sends its home families to the next nearest with room") {
  State s = line_of_schools();
  s.places[1] = 62;  // 60 stay on, so 2 places for its 10 local children
  const State out = admit(s, with({{"choice", 0}}));
  CHECK(out.pupils[1] == 62);
  CHECK(out.pupils[0] == 78);  // school 0 and 2 are equally near; the lower index comes first
  CHECK(out.pupils[2] == 70);
  CHECK(out.pupils[3] == 70);
  CHECK(out.pupils.sum() == s.pupils.sum());
}

TEST_CASE("market: an oversubscribed school admits the nearest families") {
  State s = line_of_schools();
  s.reputation << 2.0, -1.0, -1.0, 0.0;  // everyone wants school 0
  s.places[0] = 75;                      // 60 stay on: 15 places
  const State out = admit(s, with({{"choice", 1}, {"dis_active_ratio", 1}, {"beta_reputation", 20}}));
  CHECK(out.pupils[0] == 75);
  // Home 2 (all disadvantaged, 2 km away) comes after homes 0 and 1 (0 and 1 km):
  // school 0 admits no disadvantaged child.
  CHECK(out.disadvantaged[0] == 0.0);
  CHECK(out.pupils.sum() == s.pupils.sum());
  CHECK((out.pupils <= out.places).all());
  CHECK(out.near.rivalry[1] == doctest::Approx(lens_overlap(1, 5)));  // school 0's row: 0, 1, 2
}

TEST_CASE("market: funding follows pupils with a premium and emptying schools lose capacity") {
  State s = line_of_schools();
  s.capacity.setConstant(0.5);
  s.reputation << 1.0, 0.0, -1.0, 0.0;
  const State out = admit(s, with({{"choice", 1}, {"base_funding", 1.0}, {"premium", 0.3}}));
  double total = 0, expected = 0;
  for (int i = 0; i < 4; ++i) {
    CHECK(out.budget[i] == doctest::Approx(1.0 + 0.3 * out.disadvantaged[i]));
    total += out.budget[i] * out.pupils[i];
    expected += 1.0 * out.pupils[i] + 0.3 * out.disadvantaged[i] * out.pupils[i];
  }
  CHECK(total == doctest::Approx(expected));
  // At the reference occupancy capacity holds; fuller schools gain, emptier lose.
  for (int i = 0; i < 4; ++i) {
    const double occ = out.pupils[i] / 100.0;
    if (occ > 0.9) CHECK(out.capacity[i] > 0.5);
    if (occ < 0.9) CHECK(out.capacity[i] < 0.5);
  }
}

TEST_CASE("market on generated worlds: pupils conserved per area and phase - places never exceeded") {
  auto r = parse_scenario(
      "years: 8\nseed: 4\nworld: {schools: 400, areas: 5}\n"
      "pipeline: [crises, turnover, attainment, {market: {choice: 1}}, opportunities]\n",
      "m.yaml", models::registry());
  REQUIRE(r.errors.empty());
  Simulation sim(*r.scenario, models::registry(), 0);
  auto totals = [](const State& s) {
    std::map<std::pair<int, int>, long long> t;
    for (int i = 0; i < s.n_schools(); ++i) t[{s.area[i], s.phase[i]}] += s.pupils[i];
    return t;
  };
  const auto start = totals(sim.state());
  bool moved = false;
  const Eigen::ArrayXi first = sim.state().pupils;
  while (!sim.finished()) {
    sim.step();
    CHECK(totals(sim.state()) == start);
    CHECK((sim.state().pupils <= sim.state().places).all());
    CHECK((sim.state().pupils >= 0).all());
    CHECK((sim.state().disadvantaged >= 0).all());
    CHECK((sim.state().disadvantaged <= 1).all());
    moved = moved || (sim.state().pupils != first).any();
  }
  CHECK(moved);
}
