// Exact unit tests of the collaboration equations on hand-built tie
// configurations, limit cases, and each framework switched off alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "models/outcomes/outcomes.hpp"
#include "models/policy/policy.hpp"
#include "mechanism_util.hpp"
#include "models/register_all.hpp"
#include "models/social_capital/social_capital.hpp"
#include "sim/config/config.hpp"
#include "sim/simulation.hpp"
#include "test_util.hpp"

using namespace schoolsim;
using test::mech;
using test::with;
using namespace schoolsim::models;

namespace {

struct Stepped {
  State out;
  std::vector<TieEvent> events;
};

Stepped step_once(const MechanismInfo& m, const std::vector<double>& values, const State& in,
                  std::int32_t term = 2, PipelineInfo pipeline = {}) {
  auto mechanism = m.make(values, pipeline);
  Stepped r{in, {}};
  const Streams streams(3, 0);
  TieChanges changes(in.ties);
  mechanism->step(in, r.out, StepContext{Clock{term}, streams, stream_key(m.name), changes});
  changes.apply(r.out.ties, term + 1, r.events);  // r.out.ties starts as a copy of in.ties
  return r;
}

State small(std::int32_t n, std::int32_t areas = 1) {
  State s;
  s.allocate(n, areas, 2);
  s.pupils.setConstant(100);
  s.places.setConstant(120);
  for (std::int32_t i = 0; i < n; ++i) s.practice.col(i) << 1, 0;
  return s;
}

Scenario load(const std::string& text) {
  auto r = parse_scenario(text, "t.yaml", models::registry());
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0].str()));
  return *r.scenario;
}

}  // namespace

TEST_CASE("constructivism: co-construction needs autonomy and different practice - convergence - cost - lead") {
  State s = small(3);
  s.capacity << 0.5, 0.5, 0.2;
  s.autonomy << 0.8, 0.5, 0.0;
  s.practice.col(0) << 1, 0;
  s.practice.col(1) << 0, 1;
  s.practice.col(2) << 0, 1;
  s.ties.add({.a = 0, .b = 1, .strength = 0.5, .trust = 0.8});
  s.ties.add({.a = 1, .b = 2, .strength = 1.0, .trust = 1.0, .lead = TieLead::a});  // 1 leads 2
  const auto& m = mech("constructivism");
  // The conditions of co-construction (tests/test_evidence.cpp) are switched
  // off here: any difference counts, and an informal tie counts as focused.
  const auto r = step_once(m, with(m, {{"alpha", 0.1}, {"c_half", 0.3}, {"alpha_construct", 0.2},
                                       {"eta", 0.1}, {"cost", 0.01}, {"lead_gain", 1.0},
                                       {"difference_min", 0}, {"informal_focus", 1}}), s);
  const double dist01 = std::sqrt(2.0);
  // School 0: equal capacity, so no transfer; co-construction with 1.
  CHECK(r.out.capacity[0] == doctest::Approx(0.5 + 0.2 * 0.5 * 0.8 * 0.8 * 0.5 * dist01 * 0.5 - 0.01 * 0.5));
  // School 2 learns from its leader at (1 + lead_gain) times the rate; same practice, no autonomy: no co-construction.
  CHECK(r.out.capacity[2] == doctest::Approx(0.2 + 0.1 * 2.0 * 1.0 * 0.3 * 0.2 / 0.5 - 0.01 * 1.0));
  // School 1 leads 2 and learns nothing from it; co-construction with 0 only (2 has the same practice).
  CHECK(r.out.capacity[1] == doctest::Approx(0.5 + 0.2 * 0.5 * 0.8 * 0.5 * 0.8 * dist01 * 0.5 - 0.01 * 1.5));
  // Practices converge and stay unit vectors.
  const Eigen::Vector2d pulled = Eigen::Vector2d(1, 0) + 0.1 * 0.5 * Eigen::Vector2d(-1, 1);
  CHECK((r.out.practice.col(0) - pulled.normalized()).norm() < 1e-12);
  for (int i = 0; i < 3; ++i) CHECK(r.out.practice.col(i).norm() == doctest::Approx(1.0));
}

TEST_CASE("social capital: trust grows with two-way exchange and decays without it or under rivalry") {
  State s = small(3);
  s.autonomy << 1.0, 0.5, 0.0;
  s.crisis << 0.0, 0.2, 0.0;
  s.ties.add({.a = 0, .b = 1, .strength = 0.5, .trust = 0.4});
  s.ties.add({.a = 1, .b = 2, .strength = 1.0, .trust = 0.6});  // school 2 brings nothing
  const auto& m = mech("social_capital");
  const auto r = step_once(m, with(m, {{"trust_growth", 0.1}, {"trust_decay", 0.05}, {"rivalry_decay", 0.2}}), s);
  const double x01 = 0.5 * std::min(1.0, 0.5 * 0.8);
  CHECK(r.out.ties.trust[0] == doctest::Approx(0.4 + 0.1 * x01 * 0.6 - 0.05 * (1 - x01) * 0.4));
  CHECK(r.out.ties.trust[1] == doctest::Approx(0.6 - 0.05 * 0.6));
}

TEST_CASE("social capital: Burt's constraint and brokerage on a star and a triangle") {
  State star = small(4);
  for (int j = 1; j < 4; ++j) star.ties.add({.a = 0, .b = j, .strength = 1});
  std::vector<double> mark(4, 0.0);
  const Adjacency adj = adjacency(star);
  // Centre: three unconnected partners, p = 1/3 each: C = 3 (1/3)^2 = 1/3.
  CHECK(burt_constraint(adj, 0, mark) == doctest::Approx(1.0 / 3));
  CHECK(burt_constraint(adj, 1, mark) == doctest::Approx(1.0));
  State tri = small(3);
  tri.ties.add({.a = 0, .b = 1, .strength = 1});
  tri.ties.add({.a = 1, .b = 2, .strength = 1});
  tri.ties.add({.a = 0, .b = 2, .strength = 1});
  // Each of two partners: (1/2 + 1/2 x 1/2)^2 = 9/16, twice.
  CHECK(burt_constraint(adjacency(tri), 0, mark) == doctest::Approx(9.0 / 8));
  const auto& m = mech("social_capital");
  const auto r = step_once(m, defaults(m.params), star);
  CHECK(r.out.brokerage[0] == doctest::Approx(2.0 / 3));
  CHECK(r.out.brokerage[1] == 0.0);
}

TEST_CASE("durkheim: integration - anomie - regulation - turnover - over-regulation - withdrawal") {
  State s = small(3);
  s.expectations << 0.4, 0.8, 0.3;
  s.capacity << 0.5, 0.5, 0.5;
  s.autonomy << 0.6, 0.6, 0.6;
  s.pressure << 1.0, 0.0, 1.0;
  const std::int32_t net = s.networks.add(NetworkGoal::curriculum, staff_development, NetworkPower::flat,
                                          NetworkEntry::mandated, -1, 0, 9, 0);
  s.ties.add({.a = 0, .b = 1, .strength = 0.5, .trust = 0.5, .kind = TieKind::programme, .network = net});
  const auto& m = mech("durkheim");
  const auto r = step_once(m, with(m, {{"g0", 1.0}, {"regulation", 0.1}, {"anomie_turnover", 0.1},
                                       {"anomie_expectations", 0.1}, {"over_regulation", 0.2},
                                       {"autonomy_recovery", 0}, {"withdrawal", 1}}), s);
  const double g = 1 - std::exp(-0.5);
  CHECK(r.out.integration[0] == doctest::Approx(g));
  CHECK(r.out.integration[2] == 0.0);
  CHECK(r.out.anomie[0] == doctest::Approx((1 - g) * 1.0));
  CHECK(r.out.anomie[2] == doctest::Approx(1.0));  // isolated under full pressure
  CHECK(r.out.expectations[0] == doctest::Approx(0.4 - 0.1 * (1 - g) + 0.1 * (0.8 - 0.4)));
  CHECK(r.out.expectations[1] == doctest::Approx(0.8 + 0.1 * (0.4 - 0.8)));  // regulation lowers too
  CHECK(r.out.expectations[2] == doctest::Approx(0.3 - 0.1));
  CHECK(r.out.capacity[2] == doctest::Approx(0.5 - 0.1 * 0.5));
  CHECK(r.out.autonomy[0] == doctest::Approx(0.6 - 0.2 * 1.0 * g));  // all its ties are mandated
  CHECK(r.out.autonomy[2] == doctest::Approx(0.6));
  // Programme ties are not withdrawn from; a voluntary tie of an anomic school is, at withdrawal 1.
  CHECK(r.out.ties.size() == 1);
  s.ties.add({.a = 1, .b = 2, .strength = 0.5, .trust = 0.5});
  const auto r2 = step_once(m, with(m, {{"withdrawal", 1}}), s);
  CHECK(r2.out.ties.size() == 1);
  REQUIRE(r2.events.size() == 1);
  CHECK(r2.events[0].reason == TieReason::withdrawal);
}

TEST_CASE("social movement: seeds - threshold contagion - lapse - expectations - mobilisation") {
  State s = small(4, 2);
  s.area << 0, 0, 0, 1;
  s.commitment << 1.0, 0.0, 0.0, 0.0;
  s.expectations.setConstant(0.5);
  s.ties.add({.a = 0, .b = 1, .strength = 1});
  s.ties.add({.a = 1, .b = 2, .strength = 1});
  const auto& m = mech("social_movement");
  const auto r = step_once(m, with(m, {{"threshold_mean", 0.4}, {"threshold_sd", 0}, {"adopt_rate", 0.5},
                                       {"lapse", 0.1}, {"expectation_gain", 0.1},
                                       {"mobilisation_share", 0.3}, {"mobilisation_gain", 0.2}}),
                           s);
  CHECK(r.out.commitment[1] == doctest::Approx(0.5));  // half its partners committed >= 0.4: adopts
  CHECK(r.out.commitment[2] == 0.0);                   // no committed partner
  CHECK(r.out.commitment[0] == doctest::Approx(0.9));  // its only partner is not committed: lapses
  CHECK(r.out.expectations[0] == doctest::Approx(0.5 + 0.1 * 0.9 * 0.5));
  CHECK(r.out.expectations[2] == doctest::Approx(0.5));
  // Area 0 has 1 of 3 schools committed (>= 0.3): mobilises; area 1 does not.
  CHECK(r.out.area_strategy[0] == doctest::Approx(0.2));
  CHECK(r.out.area_strategy[1] == 0.0);
  // Seeding happens at the first term only.
  State none = small(50);
  const auto seeded = step_once(m, with(m, {{"seed_share", 0.5}}), none, 0);
  const auto later = step_once(m, with(m, {{"seed_share", 0.5}}), none, 3);
  CHECK((seeded.out.commitment > 0.5).count() > 10);
  CHECK((later.out.commitment > 0.5).count() == 0);
}

TEST_CASE("social movement: the thresholds it keeps are those of the replicate it is stepped in") {
  // Seeding draws from the same term-0 streams as the thresholds: a mechanism
  // stepped in one replicate and then another must seed as a fresh one would.
  const auto& m = mech("social_movement");
  const auto values = with(m, {{"seed_share", 0.5}});
  const State none = small(200);
  auto reused = m.make(values, {});
  TieChanges events(none.ties);
  for (std::uint32_t replicate : {0u, 1u, 0u}) {
    CAPTURE(replicate);
    const Streams streams(3, replicate);
    State a = none, b = none;
    reused->step(none, a, StepContext{Clock{0}, streams, stream_key(m.name), events});
    m.make(values, {})->step(none, b, StepContext{Clock{0}, streams, stream_key(m.name), events});
    CHECK((a.commitment == b.commitment).all());
  }
}

TEST_CASE("channels: crisis support - vulnerable-learner mitigation - joint provision - expectations") {
  State s = small(3);
  s.capacity << 0.2, 0.8, 0.9;
  s.crisis << 0.6, 0.0, 0.0;
  s.ties.add({.a = 0, .b = 1, .strength = 0.5, .trust = 0.8, .activities = joint_provision});
  const auto& crises = mech("crises");
  const auto rc = step_once(crises, with(crises, {{"rate", 0}, {"fade", 0.2}, {"support", 0.3}}), s);
  const double help = 0.5 * 0.8 * 0.6;
  CHECK(rc.out.crisis[0] == doctest::Approx(0.6 * (1 - (0.2 + 0.3 * std::min(1.0, 2 * help)))));
  CHECK(rc.out.crisis[1] == 0.0);

  const auto& opp = mech("opportunities");
  const auto ro = step_once(opp, with(opp, {{"base", 0.3}, {"size_gain", 0.4}, {"full_size_primary", 200},
                                            {"joint_gain", 1.0}}), s);
  const double own = 0.3 + 0.4 * 0.5;
  CHECK(ro.out.opportunity[0] == doctest::Approx(own + (1 - own) * (1 - std::exp(-0.5 * 0.8 * own))));
  CHECK(ro.out.opportunity[2] == doctest::Approx(own));  // no partners

  const AttainmentParams ap = default_attainment_params();
  SchoolInputs in{0.5, 0.7, 0.5, 0.3};
  in.vulnerable_ties = 0.2;
  in.area_strategy = 0.4;
  const double mit = ap.mitigation_expectations * 0.2 + ap.mitigation_ties * 0.2 + ap.mitigation_area * 0.4;
  CHECK(mitigation(ap, in) == doctest::Approx(mit));
  CHECK(expected_attainment(ap, in, false) - expected_attainment(ap, in, true) ==
        doctest::Approx(ap.penalty_dis * (1 - mit)));

  // Expectations: only the trusted, similar, better partner counts.
  State e = small(4);
  e.expectations.setConstant(0.5);
  e.disadvantaged << 0.3, 0.32, 0.8, 0.3;
  e.attainment_adv << 0.0, 0.5, 0.9, 0.9;
  e.attainment_dis = e.attainment_adv;
  e.ties.add({.a = 0, .b = 1, .strength = 1, .trust = 0.9});  // trusted, similar, better
  e.ties.add({.a = 0, .b = 2, .strength = 1, .trust = 0.9});  // better but dissimilar intake
  e.ties.add({.a = 0, .b = 3, .strength = 1, .trust = 0.2});  // similar, better, not trusted
  const auto& ex = mech("expectations");
  const auto re = step_once(ex, with(ex, {{"gain", 0.2}, {"trust_min", 0.5}}), e);
  const double sim = 1 - 0.02 / 0.15;
  CHECK(re.out.expectations[0] == doctest::Approx(0.5 + 0.2 * 0.9 * sim * 0.5 * 0.5));
  CHECK(re.out.expectations[1] == doctest::Approx(0.5));  // its partner does worse
}

TEST_CASE("ties: dissolution by trust - benefit - end of funding - with its reason") {
  State s = small(6);
  s.capacity << 0.5, 0.5, 0.5, 0.5, 0.5, 0.9;
  const std::int32_t net =
      s.networks.add(NetworkGoal::curriculum, staff_development, NetworkPower::flat, NetworkEntry::voluntary, -1, 0, 2, 0);
  s.ties.add({.a = 0, .b = 1, .strength = 1, .trust = 0.05});                         // trust gone
  s.ties.add({.a = 2, .b = 3, .strength = 1, .trust = 0.9});                          // no benefit
  s.ties.add({.a = 3, .b = 4, .trust = 0.3, .kind = TieKind::programme, .network = net});  // funding ends at term 2
  s.ties.add({.a = 4, .b = 5, .strength = 0.5, .trust = 0.9});                        // worth keeping
  const auto& m = mech("tie_dissolution");
  const auto r = step_once(m, with(m, {{"review_rate", 1}, {"cost", 0.05}, {"carry_trust", 0.5}}), s, 2);
  std::map<std::pair<int, int>, TieReason> ended;
  for (const auto& e : r.events) ended[{e.school_a, e.school_b}] = e.reason;
  CHECK(ended.size() == 3);
  CHECK(ended.at({0, 1}) == TieReason::trust_lost);
  CHECK(ended.at({2, 3}) == TieReason::benefit_below_cost);
  CHECK(ended.at({3, 4}) == TieReason::funding_ended);
  CHECK(r.out.ties.size() == 1);
  CHECK(r.out.ties.find(4, 5) != TieStore::kNone);
  CHECK(r.out.ties.check_invariants().empty());
}

TEST_CASE("ties: formation respects collaboration time and logs every tie") {
  const Scenario sc = load(
      "years: 3\nworld: {schools: 300, areas: 3}\n"
      "pipeline: [{tie_formation: {search_rate: 1, max_ties: 2, threshold: -10}}, tie_dissolution]\n");
  const Recording rec = run_replicate(sc, models::registry(), 0, {});
  const State& s = rec.final_state;
  CHECK(s.ties.size() > 200);
  for (std::int32_t i = 0; i < s.n_schools(); ++i) CHECK(s.ties.degree(i) <= 2);
  std::size_t formed = 0, dissolved = 0;
  for (const auto& e : rec.tie_events) (e.event == TieEventType::formed ? formed : dissolved)++;
  CHECK(formed - dissolved == s.ties.size());
  CHECK(s.ties.check_invariants().empty());
}

TEST_CASE("policy: federations pair weak schools with strong ones of their area and phase") {
  const Scenario sc = load(
      "years: 2\nworld: {schools: 400, areas: 4}\n"
      "pipeline: [attainment, {federations: {year: 0, weak_share: 0.2, treated: 1}}]\n");
  Simulation sim(sc, models::registry(), 0);
  for (int t = 0; t < 3; ++t) sim.step();
  const State& s = sim.state();
  const auto weak = weakest_schools(s, 0.2);
  std::size_t n = 0;
  s.ties.for_each([&](TieStore::Slot t) {
    ++n;
    CHECK(s.ties.kind[t] == TieKind::federation);
    const std::int32_t a = s.ties.a[t], b = s.ties.b[t];
    CHECK(s.area[a] == s.area[b]);
    CHECK(s.phase[a] == s.phase[b]);
    REQUIRE(s.ties.lead[t] != TieLead::none);  // weak and strong schools are always far enough apart
    const std::int32_t leader = s.ties.lead[t] == TieLead::a ? a : b, led = leader == a ? b : a;
    CHECK(school_result(s, leader) > school_result(s, led));
    CHECK(std::binary_search(weak.begin(), weak.end(), led));
    CHECK_FALSE(std::binary_search(weak.begin(), weak.end(), leader));
  });
  // Weakness is ranked nationally and partners are found within an area, so
  // deprived areas run short of strong schools: not every weak school is paired.
  MESSAGE(n << " of " << weak.size() << " weak schools federated");
  CHECK(n >= 20);
}

TEST_CASE("policy: a programme launches networks of the given size with funded programme ties") {
  const Scenario sc = load(
      "years: 2\nworld: {schools: 400, areas: 4}\n"
      "pipeline: [{programme: {year: 1, networks: 5, size: 8, power: hub_led, entry: mandated, "
      "goal: vulnerable_learners, funding_years: 1}}]\n");
  Simulation sim(sc, models::registry(), 0);
  for (int t = 0; t < 3; ++t) sim.step();
  CHECK(sim.state().ties.size() == 0);
  sim.step();  // first term of year 1
  const State& s = sim.state();
  REQUIRE(s.networks.size() == 5);
  std::vector<std::set<std::int32_t>> members(5);
  s.ties.for_each([&](TieStore::Slot t) {
    const auto net = static_cast<std::size_t>(s.ties.network[t]);
    REQUIRE(net < 5);
    CHECK(s.ties.kind[t] == TieKind::programme);
    CHECK(s.ties.trust[t] == doctest::Approx(0.35 - 0.2));  // mandated entry starts lower
    members[net].insert(s.ties.a[t]), members[net].insert(s.ties.b[t]);
  });
  for (std::size_t k = 0; k < 5; ++k) {
    CHECK(members[k].size() == 8);  // hub-led: every member is tied to the hub
    CHECK(s.networks.goal[k] == NetworkGoal::vulnerable_learners);
    CHECK(s.networks.funded_until_term[k] == 3 + 3);
  }
}

TEST_CASE("limit: without tie formation there are never ties - and outcomes equal the run without collaboration") {
  // Without accountability pressure; with it, durkheim's anomie acts on
  // isolated schools by design, ties or no ties.
  const std::string world = "seed: 9\nyears: 6\nworld: {schools: 300, areas: 3}\n";
  const std::string market = "{market: {choice: 0.5, league_tables: false, inspection_cycle: 0}}";
  const Scenario frameworks = load(world + "pipeline: [crises, constructivism, social_capital, durkheim, "
                                           "social_movement, turnover, tie_dissolution, attainment, expectations, " +
                                   market + ", opportunities]\n");
  const Scenario plain = load(world + "pipeline: [crises, turnover, attainment, " + market + ", opportunities]\n");
  Simulation a(frameworks, models::registry(), 0), b(plain, models::registry(), 0);
  while (!a.finished()) {
    a.step(), b.step();
    CHECK(a.state().ties.size() == 0);
    CHECK((a.state().capacity == b.state().capacity).all());
    CHECK((a.state().expectations == b.state().expectations).all());
    CHECK((a.state().pupils == b.state().pupils).all());
    CHECK((a.state().attainment_dis == b.state().attainment_dis).all());
  }
}

TEST_CASE("limit: removing one framework leaves every other mechanism's draws unchanged") {
  // social_movement draws a threshold for every school every term; with no
  // seeds it changes nothing, so removing it must leave the run bit-identical.
  const std::string head = "seed: 10\nyears: 5\nworld: {schools: 300, areas: 3}\npipeline: [crises, tie_formation, "
                           "constructivism, social_capital, durkheim, ";
  const std::string tail = "turnover, tie_dissolution, attainment, {market: {choice: 0.5}}, opportunities]\n";
  const Scenario with_sm = load(head + "social_movement, " + tail);
  const Scenario without = load(head + tail);
  const Recording a = run_replicate(with_sm, models::registry(), 0, {});
  const Recording b = run_replicate(without, models::registry(), 0, {});
  REQUIRE(a.tie_events.size() > 50);
  CHECK(a.tie_events.size() == b.tie_events.size());
  CHECK((a.final_state.capacity == b.final_state.capacity).all());
  CHECK((a.final_state.crisis == b.final_state.crisis).all());
  CHECK(a.final_state.ties.size() == b.final_state.ties.size());
}

TEST_CASE("each framework switched off alone changes the run in the direction its README states") {
  const std::string path = std::string(SCHOOLSIM_SOURCE_DIR) + "/scenarios/collaborative.yaml";
  const std::string full = test::read_bytes(path);
  auto run = [&](const std::string& text) {
    auto parsed = parse_scenario(text, path, models::registry());  // named as the file, for its extends
    REQUIRE_MESSAGE(parsed.errors.empty(), (parsed.errors.empty() ? "" : parsed.errors[0].str()));
    const Scenario sc = *parsed.scenario;
    Scenario shorter = sc;
    shorter.years = 10;
    shorter.world[models::registry().world().schools_param] = 2000;  // a smaller system, for speed
    shorter.world[models::registry().world().areas_param] = 20;
    return run_replicate(shorter, models::registry(), 0, {}).final_state;
  };
  auto without = [&](const std::string& line) {
    std::string t = full;
    const auto at = t.find(line);
    REQUIRE(at != std::string::npos);
    t.erase(at, line.size());
    return t;
  };
  const State base = run(full);
  const State no_constructivism = run(without("  - constructivism\n"));
  const State no_social_capital = run(without("  - social_capital\n"));
  const State no_movement = run(without("  - social_movement:\n      seed_share: 0.05\n"));
  MESSAGE("mean capacity: all " << base.capacity.mean() << ", without constructivism "
                                << no_constructivism.capacity.mean() << ", without social_capital "
                                << no_social_capital.capacity.mean());
  MESSAGE("mean expectations: all " << base.expectations.mean() << ", without social_movement "
                                    << no_movement.expectations.mean());
  // Co-construction pays only on its conditions and every tie costs time
  // (tests/test_evidence.cpp, evidence 2), so constructivism's net gain here is
  // small: about 0.004 of capacity over 10 years (it was 0.02 or more when every
  // tie paid). The direction is what its README states.
  CHECK(no_constructivism.capacity.mean() < base.capacity.mean() - 0.002);
  CHECK(no_social_capital.capacity.mean() < base.capacity.mean() - 0.02);
  CHECK(no_movement.expectations.mean() < base.expectations.mean() - 0.02);
  CHECK((no_movement.commitment == 0).all());
}

TEST_CASE("durkheim switched off: weak schools under pressure keep their ties") {
  const std::string base =
      "seed: 55\nyears: 10\nworld: {schools: 1000, areas: 10, initial_ties_per_school: 3}\n"
      "pipeline: [crises, tie_formation, constructivism, social_capital, ";
  const std::string rest = "turnover, tie_dissolution, attainment, expectations, {market: {choice: 0.8}}, opportunities]\n";
  auto weakest_ties = [&](const Scenario& sc) {
    const State start = generate_world(sc, models::registry(), 0);
    std::vector<std::int32_t> order(static_cast<std::size_t>(start.n_schools()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int32_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return start.capacity[a] < start.capacity[b]; });
    order.resize(order.size() / 5);
    const State end = run_replicate(sc, models::registry(), 0, {}).final_state;
    double d = 0;
    for (auto i : order) d += end.ties.degree(i);
    return d / static_cast<double>(order.size());
  };
  const double with_durkheim = weakest_ties(load(base + "durkheim, " + rest));
  const double without = weakest_ties(load(base + rest));
  MESSAGE("mean ties of the weakest fifth after 10 years: with durkheim " << with_durkheim << ", without " << without);
  CHECK(without > with_durkheim + 0.3);
}
