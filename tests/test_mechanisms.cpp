// Exact unit tests of each mechanism's equations on hand-built 3-5 school states.
#include <doctest/doctest.h>

#include <cmath>

#include "mechanism_util.hpp"
#include "models/register_all.hpp"
#include "sim/mechanism.hpp"

using namespace schoolsim;
using test::mech;
using test::with;

namespace {

State step_once(const MechanismInfo& m, const std::vector<double>& values, const State& in,
                std::int32_t term = 2) {
  auto mechanism = m.make(values, {});
  State out = in;
  const Streams streams(99, 0);
  std::vector<TieEvent> events;
  TieChanges changes(in.ties);
  const StepContext ctx{Clock{term}, streams, stream_key(m.name), changes};
  mechanism->step(in, out, ctx);
  changes.apply(out.ties, term + 1, events);  // out.ties starts as a copy of in.ties
  return out;
}

State small_state(std::int32_t n) {
  State s;
  s.allocate(n, 1, 3);
  s.pupils.setConstant(100);
  s.places.setConstant(120);
  return s;
}

}  // namespace

TEST_CASE("constructivism transfer: dc_i = alpha * sum_j w tau (c_j - c_i)+ * c_i / (c_i + c_half)") {
  State s = small_state(4);
  s.capacity << 0.2, 0.8, 0.5, 0.9;
  s.ties.add({.a = 0, .b = 1, .strength = 0.5, .trust = 0.4});
  s.ties.add({.a = 0, .b = 2, .strength = 1.0, .trust = 1.0});
  s.ties.add({.a = 1, .b = 2, .strength = 0.7, .trust = 0.9});
  // School 3 has no ties.
  const auto& m = mech("constructivism");
  const double alpha = 0.1, c_half = 0.3;
  const State out = step_once(m, with(m, {{"alpha", alpha}, {"c_half", c_half}, {"alpha_construct", 0}, {"cost", 0}}), s);
  const double g0 = 0.5 * 0.4 * (0.8 - 0.2) + 1.0 * 1.0 * (0.5 - 0.2);
  CHECK(out.capacity[0] == doctest::Approx(0.2 + alpha * g0 * 0.2 / (0.2 + c_half)));
  CHECK(out.capacity[1] == doctest::Approx(0.8));  // nobody stronger to learn from
  const double g2 = 0.7 * 0.9 * (0.8 - 0.5);
  CHECK(out.capacity[2] == doctest::Approx(0.5 + alpha * g2 * 0.5 / (0.5 + c_half)));
  CHECK(out.capacity[3] == doctest::Approx(0.9));
}

TEST_CASE("constructivism transfer: alpha 0 changes nothing - a school of capacity 0 absorbs nothing") {
  State s = small_state(3);
  s.capacity << 0.0, 1.0, 0.4;
  s.ties.add({.a = 0, .b = 1, .strength = 1, .trust = 1});
  s.ties.add({.a = 2, .b = 1, .strength = 1, .trust = 1});
  const auto& m = mech("constructivism");
  CHECK((step_once(m, with(m, {{"alpha", 0}, {"alpha_construct", 0}, {"cost", 0}}), s).capacity == s.capacity).all());
  const State out = step_once(m, with(m, {{"cost", 0}}), s);
  CHECK(out.capacity[0] == 0.0);
  CHECK(out.capacity[2] > 0.4);
}

TEST_CASE("turnover without noise: c + r (target + slope (d - d_ref) - c) - loss * crisis * c") {
  State s = small_state(3);
  s.capacity << 0.1, 0.5, 0.9;
  s.crisis << 0.0, 1.0, 0.5;
  s.disadvantaged << 0.2, 0.5, 0.0;
  const auto& m = mech("turnover");
  const State out = step_once(m,
                              with(m, {{"reversion", 0.1}, {"target", 0.6}, {"recruitment_slope", -0.5},
                                       {"reference_disadvantaged", 0.2}, {"crisis_loss", 0.2},
                                       {"noise_sd", 0}}),
                              s);
  CHECK(out.capacity[0] == doctest::Approx(0.1 + 0.1 * (0.6 - 0.1)));
  CHECK(out.capacity[1] == doctest::Approx(0.5 + 0.1 * (0.6 - 0.5 * 0.3 - 0.5) - 0.2 * 1.0 * 0.5));
  CHECK(out.capacity[2] == doctest::Approx(0.9 + 0.1 * (0.6 + 0.5 * 0.2 - 0.9) - 0.2 * 0.5 * 0.9));
}

TEST_CASE("crises: rate 0 only fades - rate 1 with exponent 0 strikes every school") {
  State s = small_state(5);
  s.capacity << 0.0, 0.2, 0.5, 0.8, 1.0;
  s.crisis << 0.0, 0.5, 1.0, 0.1, 0.0;
  const auto& m = mech("crises");
  const State faded = step_once(m, with(m, {{"rate", 0}, {"fade", 0.25}}), s);
  for (int i = 0; i < 5; ++i) CHECK(faded.crisis[i] == doctest::Approx(0.75 * s.crisis[i]));
  const State struck =
      step_once(m, with(m, {{"rate", 1}, {"rate_exponent", 0}, {"severity_min", 0.4}, {"fade", 0.25}}), s);
  for (int i = 0; i < 5; ++i) {
    CHECK(struck.crisis[i] >= 0.4);
    CHECK(struck.crisis[i] >= 0.75 * s.crisis[i]);
    CHECK(struck.crisis[i] <= 1.0);
  }
  // A school at full capacity never meets a crisis when the exponent is positive.
  const State strong = step_once(m, with(m, {{"rate", 1}, {"rate_exponent", 2}}), s);
  CHECK(strong.crisis[4] == 0.0);
  CHECK(strong.crisis[0] >= 0.3);  // capacity 0: arrival chance 1
}

TEST_CASE("attainment without noise follows the formula - reputation is last year's result") {
  State s = small_state(3);
  s.capacity << 0.2, 0.5, 0.9;
  s.crisis << 0.5, 0.0, 0.0;
  s.expectations << 0.3, 0.5, 0.7;
  s.opportunity << 0.4, 0.5, 0.6;
  s.disadvantaged << 0.6, 0.3, 0.1;
  s.attainment_dis << -1.0, -0.2, 0.1;
  s.attainment_adv << -0.5, 0.3, 0.8;
  s.teaching << 0.3, 0.4, 0.9;  // classroom practice before this year
  const auto& m = mech("attainment");
  const auto v = with(m, {{"intercept", -0.5}, {"beta_capacity", 1.2}, {"beta_expectations", 0.4},
                          {"beta_opportunity", 0.3}, {"beta_disadvantaged", 0.5},
                          {"penalty_dis", 0.6}, {"noise_sd", 0}, {"mitigation_expectations", 0}});
  const State out = step_once(m, v, s);
  const double step = 1 - std::exp(-1.0 / 2.0);  // practice_lag_years 2
  for (int i = 0; i < 3; ++i) {
    // Practice moves toward the capacity a crisis leaves; results follow practice.
    const double practice = s.teaching[i] + step * (s.capacity[i] * (1 - s.crisis[i]) - s.teaching[i]);
    CHECK(out.teaching[i] == doctest::Approx(practice));
    const double base = -0.5 + 1.2 * practice + 0.4 * s.expectations[i] + 0.3 * s.opportunity[i] -
                        0.5 * s.disadvantaged[i];
    CHECK(out.attainment_adv[i] == doctest::Approx(base));
    CHECK(out.attainment_dis[i] == doctest::Approx(base - 0.6));
    const double d = s.disadvantaged[i];
    CHECK(out.reputation[i] == doctest::Approx(d * s.attainment_dis[i] + (1 - d) * s.attainment_adv[i]));
  }
}

TEST_CASE("world: areas in contiguous blocks sizes as asked disadvantage lowers capacity") {
  const WorldInfo& w = models::registry().world();
  auto v = defaults(w.params);
  v[static_cast<std::size_t>(param_index(w.params, "schools"))] = 3000;
  v[static_cast<std::size_t>(param_index(w.params, "areas"))] = 7;
  v[static_cast<std::size_t>(param_index(w.params, "initial_ties_per_school"))] = 4;
  State s;
  w.build(v, {}, Streams(5, 0), s, nullptr);
  REQUIRE(s.n_schools() == 3000);
  CHECK(s.n_areas == 7);
  CHECK(s.area.minCoeff() == 0);
  CHECK(s.area.maxCoeff() == 6);
  for (int i = 1; i < s.n_schools(); ++i) CHECK(s.area[i] >= s.area[i - 1]);
  CHECK((s.disadvantaged > 0).all());
  CHECK((s.disadvantaged < 1).all());
  CHECK((s.pupils <= s.places).all());
  CHECK((s.capacity >= 0).all());
  CHECK((s.capacity <= 1).all());
  for (int i = 0; i < s.n_schools(); ++i) CHECK(s.practice.col(i).norm() == doctest::Approx(1.0));
  // Capacity and disadvantage are negatively correlated.
  const Eigen::ArrayXd c = s.capacity - s.capacity.mean();
  const Eigen::ArrayXd d = s.disadvantaged - s.disadvantaged.mean();
  const double corr = (c * d).sum() / std::sqrt(c.square().sum() * d.square().sum());
  MESSAGE("corr(capacity, disadvantaged) = " << corr);
  CHECK(corr < -0.1);
  // Initial ties are within areas, with a mean degree near the one asked for.
  s.ties.for_each([&](TieStore::Slot t) { CHECK(s.area[s.ties.a[t]] == s.area[s.ties.b[t]]); });
  const double mean_degree = 2.0 * static_cast<double>(s.ties.size()) / s.n_schools();
  CHECK(mean_degree == doctest::Approx(4).epsilon(0.05));
  CHECK(s.ties.check_invariants().empty());
}

TEST_CASE("world: year 0 follows the pipeline's attainment opportunities and market equations") {
  // The generator sets the first results, opportunity, classroom practice and
  // budget by those mechanisms' equations, with the scenario's parameters.
  const WorldInfo& w = models::registry().world();
  auto v = defaults(w.params);
  v[static_cast<std::size_t>(param_index(w.params, "schools"))] = 300;
  v[static_cast<std::size_t>(param_index(w.params, "areas"))] = 3;
  const MechanismInfo& att = mech("attainment");
  const MechanismInfo& opp = mech("opportunities");
  const MechanismInfo& market = mech("market");
  const double intercept = att.params[static_cast<std::size_t>(param_index(att.params, "intercept"))].def;
  const double beta_o = att.params[static_cast<std::size_t>(param_index(att.params, "beta_opportunity"))].def;
  const double base = opp.params[static_cast<std::size_t>(param_index(opp.params, "base"))].def;
  PipelineInfo changed;
  changed.names = {"opportunities", "attainment", "market"};
  changed.specs = {opp.params, att.params, market.params};
  changed.values = {with(opp, {{"base", base + 0.1}}),
                    with(att, {{"intercept", intercept + 0.25}, {"beta_opportunity", 2 * beta_o}}),
                    with(market, {{"base_funding", 1.2}, {"premium", 0.5}})};
  State a, b;
  w.build(v, {}, Streams(5, 0), a, nullptr);  // no mechanism listed: the tables' defaults, the base rate of funding
  w.build(v, changed, Streams(5, 0), b, nullptr);
  REQUIRE(b.n_schools() == 300);
  CHECK((a.capacity == b.capacity).all());  // the generator's draws do not depend on the pipeline
  CHECK((a.expectations == b.expectations).all());
  CHECK((a.pupils == b.pupils).all());
  for (std::int32_t i = 0; i < b.n_schools(); ++i) {
    const double d = b.disadvantaged[i];
    CHECK(a.budget[i] == 1.0);
    CHECK(b.budget[i] == doctest::Approx(1.2 + 0.5 * d));
    CHECK(b.teaching[i] == b.capacity[i]);  // practice at its target: no pressure, crisis or scrutiny
    CHECK(b.opportunity[i] - a.opportunity[i] == doctest::Approx(0.1));
    // A_ig = intercept + ... + beta_opportunity o + ...: the intercept and the
    // opportunity term move it, the same for both groups (the penalty is unchanged).
    const double moved = 0.25 + 2 * beta_o * b.opportunity[i] - beta_o * a.opportunity[i];
    CHECK(b.attainment_adv[i] - a.attainment_adv[i] == doctest::Approx(moved));
    CHECK(b.attainment_dis[i] - a.attainment_dis[i] == doctest::Approx(moved));
    CHECK(b.reputation[i] - a.reputation[i] == doctest::Approx(moved));
  }
}
