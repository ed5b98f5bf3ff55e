// The term/year loop: synchronous phases, yearly cadence, timeline, keyed streams.
#include <doctest/doctest.h>

#include <set>
#include <type_traits>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/registry.hpp"
#include "sim/simulation.hpp"

using namespace schoolsim;

namespace {

Scenario scenario(const std::string& text) {
  auto r = parse_scenario(text, "test.yaml", models::registry());
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0].str()));
  return *r.scenario;
}

std::vector<Eigen::ArrayXd> capacity_path(const Scenario& sc) {
  Simulation sim(sc, models::registry(), 0);
  std::vector<Eigen::ArrayXd> path{sim.state().capacity};
  while (!sim.finished()) {
    sim.step();
    path.push_back(sim.state().capacity);
  }
  return path;
}

}  // namespace

TEST_CASE("updates within a phase are synchronous: a chain learns from old values") {
  // 0 - 1 - 2 with capacities rising along the chain. If school 1 were updated
  // before school 0 read it, school 0 would learn from 1's new value.
  const Scenario sc = scenario("years: 1\npipeline: [{constructivism: {alpha: 0.5, c_half: 0.5, cost: 0}}]\n");
  State s;
  s.allocate(3, 1, 2);
  s.capacity << 0.2, 0.5, 0.9;
  s.ties.add({.a = 0, .b = 1, .strength = 1, .trust = 1});
  s.ties.add({.a = 1, .b = 2, .strength = 1, .trust = 1});
  Simulation sim(sc, models::registry(), 0, s);
  sim.step();
  CHECK(sim.state().capacity[0] == doctest::Approx(0.2 + 0.5 * 0.3 * 0.2 / 0.7));
  CHECK(sim.state().capacity[1] == doctest::Approx(0.5 + 0.5 * 0.4 * 0.5 / 1.0));
  CHECK(sim.state().capacity[2] == doctest::Approx(0.9));
  // Tie ages count terms.
  sim.step();
  s.ties.for_each([&](TieStore::Slot t) { CHECK(sim.state().ties.age[t] == 2); });
}

TEST_CASE("yearly mechanisms run only after the third term") {
  const Scenario sc = scenario("years: 2\nworld: {schools: 30, areas: 2}\npipeline: [crises, turnover, attainment]\n");
  Simulation sim(sc, models::registry(), 0);
  Eigen::ArrayXd last = sim.state().attainment_adv;
  while (!sim.finished()) {
    sim.step();
    const bool changed = (sim.state().attainment_adv != last).any();
    CHECK(changed == (sim.terms_done() % 3 == 0));
    last = sim.state().attainment_adv;
  }
}

TEST_CASE("timeline events fire at the start of their term") {
  // Turnover with no noise, no crisis loss and no reversion keeps capacity
  // still, until the timeline turns reversion on toward a target.
  const Scenario sc = scenario(R"(
years: 3
world: {schools: 20, areas: 2}
pipeline:
  - turnover: {reversion: 0, noise_sd: 0, crisis_loss: 0, recruitment_slope: 0}
timeline:
  - {year: 1, term: 2, set: {turnover.reversion: 1, turnover.target: 0.7}}
  - {year: 2, term: 1, set: {turnover.target: 0.2}}
)");
  const auto path = capacity_path(sc);
  REQUIRE(path.size() == 10);
  for (std::size_t t = 1; t <= 4; ++t) CHECK((path[t] == path[0]).all());  // terms 0..3
  for (std::size_t t = 5; t <= 6; ++t) CHECK((path[t] - 0.7).abs().maxCoeff() < 1e-12);
  for (std::size_t t = 7; t <= 9; ++t) CHECK((path[t] - 0.2).abs().maxCoeff() < 1e-12);
}

TEST_CASE("removing one mechanism leaves every other mechanism's draws unchanged") {
  const std::string world = "years: 3\nworld: {schools: 200, areas: 4}\n";
  const Scenario all = scenario(world + "pipeline: [crises, turnover, attainment]\n");
  const Scenario no_attainment = scenario(world + "pipeline: [crises, turnover]\n");
  const Scenario no_crises = scenario(world + "pipeline: [turnover, attainment]\n");
  // Listed out of the phases' order (only a program, not a scenario file, can): it runs in phase order.
  Scenario reordered = all;
  std::rotate(reordered.pipeline.begin(), reordered.pipeline.begin() + 2, reordered.pipeline.end());
  // Attainment reads capacity but nothing it writes feeds back into capacity,
  // so the capacity path must be identical to the last bit without it.
  const auto a = capacity_path(all), b = capacity_path(no_attainment), c = capacity_path(no_crises),
             d = capacity_path(reordered);
  REQUIRE(a.size() == b.size());
  for (std::size_t t = 0; t < a.size(); ++t) CHECK((a[t] == b[t]).all());
  for (std::size_t t = 0; t < a.size(); ++t) CHECK((a[t] == d[t]).all());
  // Crises do feed back into capacity: removing them must change it.
  CHECK((a.back() != c.back()).any());
}

TEST_CASE("run_all hands recordings over in replicate order whatever the thread count") {
  const Scenario sc = scenario("years: 1\nreplicates: 5\nworld: {schools: 50, areas: 2}\n");
  for (int threads : {1, 2, 3}) {
    std::vector<std::int32_t> order;
    RunOptions opt;
    opt.threads = threads;
    run_all(sc, models::registry(), opt, [&](Recording&& r) { order.push_back(r.replicate); });
    CHECK(order == std::vector<std::int32_t>{0, 1, 2, 3, 4});
  }
}

TEST_CASE("run_all stops when cancelled and reports it") {
  const Scenario sc = scenario("years: 50\nreplicates: 4\nworld: {schools: 50, areas: 2}\n");
  std::atomic<bool> cancel{false};
  std::atomic<int> terms{0};
  RunOptions opt;
  opt.threads = 2;
  opt.cancel = &cancel;
  opt.on_term = [&] {
    if (++terms == 10) cancel = true;
  };
  CHECK_THROWS_AS(run_all(sc, models::registry(), opt, [](Recording&&) {}), Interrupted);
}

#ifdef SCHOOLSIM_CHECKS
namespace {
struct Rogue final : Mechanism {
  void step(const State& in, State& out, const StepContext&) override {
    out.capacity = in.capacity;
    out.expectations = in.expectations + 0.1;  // not declared below
  }
  void set_param(std::size_t, double) override {}
};
}  // namespace

namespace {
// Reads crisis, which it does not declare, to write capacity.
struct Sneak final : Mechanism {
  void step(const State& in, State& out, const StepContext&) override {
    out.capacity = in.capacity * (1 - 0.1 * in.crisis);
  }
  void set_param(std::size_t, double) override {}
};

// Reads the ties' trust, which it does not declare, to write capacity.
struct TieSneak final : Mechanism {
  void step(const State& in, State& out, const StepContext&) override {
    out.capacity = in.capacity;
    in.ties.for_each([&](TieStore::Slot t) { out.capacity[in.ties.a[t]] += 0.01 * in.ties.trust[t]; });
  }
  void set_param(std::size_t, double) override {}
};

// Keeps the old value of a column it writes but does not declare reading:
// writes only the first school's.
struct PartialWrite final : Mechanism {
  void step(const State&, State& out, const StepContext&) override { out.capacity[0] = 0.5; }
  void set_param(std::size_t, double) override {}
};
}  // namespace

TEST_CASE("checked builds catch a mechanism that reads an input it does not declare") {
  Scenario sc = scenario("years: 1\nworld: {schools: 30, areas: 1, initial_ties_per_school: 2}\npipeline: []\n");
  MechanismInfo info;
  info.name = "sneak";
  info.writes = {Field::capacity};
  SUBCASE("a school column") {
    info.reads = {Field::capacity};
    info.make = [](std::span<const double>, const PipelineInfo&) { return std::make_unique<Sneak>(); };
  }
  SUBCASE("the ties") {
    info.reads = {Field::capacity};
    info.make = [](std::span<const double>, const PipelineInfo&) { return std::make_unique<TieSneak>(); };
  }
  SUBCASE("what the output column starts as") {
    info.reads = {};
    info.make = [](std::span<const double>, const PipelineInfo&) { return std::make_unique<PartialWrite>(); };
  }
  sc.pipeline.push_back({&info, {}});
  Simulation sim(sc, models::registry(), 0);
  CHECK_THROWS_WITH_AS(sim.step(), doctest::Contains("mechanism 'sneak' wrote NaN to 'capacity': it reads an input it does not declare"),
                       std::logic_error);
}

TEST_CASE("checked builds pass the same mechanism once it declares what it reads") {
  Scenario sc = scenario("years: 1\nworld: {schools: 30, areas: 1, initial_ties_per_school: 2}\npipeline: []\n");
  MechanismInfo info;
  info.name = "sneak";
  info.reads = {Field::capacity, Field::crisis, Store::ties};
  info.writes = {Field::capacity};
  info.make = [](std::span<const double>, const PipelineInfo&) { return std::make_unique<TieSneak>(); };
  sc.pipeline.push_back({&info, {}});
  Simulation sim(sc, models::registry(), 0);
  CHECK_NOTHROW(sim.step());
}

namespace {
// Records a new tie between 0 and 1; `mistake` chooses a way to get it wrong.
enum class TieMistake { undeclared, store_written, nan_trust };
struct TieWriter final : Mechanism {
  explicit TieWriter(TieMistake m) : mistake(m) {}
  void step(const State& in, State& out, const StepContext& ctx) override {
    if (mistake == TieMistake::store_written) {
      out.ties.add({.a = 0, .b = 1});  // the old way: writing a tie store
      return;
    }
    if (in.n_schools() >= 2 && !ctx.ties.tied(0, 1))
      ctx.ties.add({.a = 0, .b = 1, .trust = mistake == TieMistake::nan_trust ? in.capacity[0] : 0.5},
                   TieReason::removed);
  }
  void set_param(std::size_t, double) override {}
  TieMistake mistake;
};
}  // namespace

TEST_CASE("checked builds catch a mechanism changing ties it does not declare or writing a tie store") {
  Scenario sc = scenario("years: 1\nworld: {schools: 5, areas: 1}\npipeline: []\n");
  MechanismInfo info;
  info.name = "tie_writer";
  TieMistake mistake{};
  const char* expected = "";
  SUBCASE("changes recorded without declaring ties") {
    mistake = TieMistake::undeclared, expected = "wrote ties, which it does not declare";
    info.reads = {Store::ties};
  }
  SUBCASE("the output's tie store written") {
    mistake = TieMistake::store_written, expected = "wrote the tie store of its output";
    info.reads = {Store::ties}, info.writes = {Store::ties};
  }
  SUBCASE("a tie's trust from an undeclared input") {
    mistake = TieMistake::nan_trust, expected = "wrote NaN to a tie";
    info.reads = {Store::ties}, info.writes = {Store::ties};
  }
  info.make = [&mistake](std::span<const double>, const PipelineInfo&) { return std::make_unique<TieWriter>(mistake); };
  sc.pipeline.push_back({&info, {}});
  Simulation sim(sc, models::registry(), 0);
  CHECK_THROWS_WITH_AS(sim.step(), doctest::Contains(expected), std::logic_error);
}

TEST_CASE("checked builds catch a mechanism writing a field it does not declare") {
  MechanismInfo info;
  info.name = "rogue";
  info.reads = {Field::capacity, Field::expectations};
  info.writes = {Field::capacity};
  info.make = [](std::span<const double>, const PipelineInfo&) { return std::make_unique<Rogue>(); };
  Scenario sc = scenario("years: 1\nworld: {schools: 5, areas: 1}\npipeline: []\n");
  sc.pipeline.push_back({&info, {}});
  Simulation sim(sc, models::registry(), 0);
  CHECK_THROWS_WITH_AS(sim.step(), doctest::Contains("wrote 'expectations'"), std::logic_error);
}
#endif

TEST_CASE("the registry lists mechanisms in the phases' order and refuses one out of it") {
  const auto& all = models::registry().mechanisms();
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].phase <= all[i].phase);
  for (const auto& m : all) CHECK((m.cadence() == Cadence::year) == (m.phase == Phase::yearly));
  Registry reg;
  MechanismInfo late, early;
  late.name = "late", late.phase = Phase::yearly;
  early.name = "early", early.phase = Phase::shocks;
  reg.add(late);
  CHECK_THROWS_WITH_AS(reg.add(early), doctest::Contains("'early' (phase shocks) registered after 'late' (phase yearly)"),
                       std::logic_error);
}

TEST_CASE("ties age a term at the end of every term whether the pipeline lists tie_ageing or not") {
  for (const char* pipeline : {"[]", "[crises]", "[crises, tie_ageing]"}) {
    CAPTURE(pipeline);
    // The simulation keeps a reference to its scenario, so the scenario must outlive it.
    const Scenario sc = scenario(std::string("years: 1\nworld: {schools: 40, areas: 2, initial_ties_per_school: 3}\npipeline: ") +
                                 pipeline + "\n");
    Simulation sim(sc, models::registry(), 0);
    REQUIRE(sim.state().ties.size() > 0);
    for (int term = 1; term <= 3; ++term) {
      sim.step();
      const TieStore& t = sim.state().ties;
      t.for_each([&](TieStore::Slot s) { CHECK(t.age[s] == term); });
    }
  }
}

TEST_CASE("tie events add up to the tie counts of the system series") {
  const Scenario sc =
      scenario("years: 2\nworld: {schools: 60, areas: 3, initial_ties_per_school: 3}\n");
  const Recording rec = run_replicate(sc, models::registry(), 0, {});
  REQUIRE(rec.system.size() == kMeasureCount);
  std::size_t n_ties_measure = 0;
  while (kSystemMeasures[n_ties_measure].name != "n_ties") ++n_ties_measure;
  // Replay the events term by term and compare with n_ties after each term.
  std::int64_t live = 0;
  std::size_t e = 0;
  for (std::size_t row = 0; row < rec.system_terms.size(); ++row) {
    for (; e < rec.tie_events.size() && rec.tie_events[e].term <= rec.system_terms[row]; ++e)
      live += rec.tie_events[e].event == TieEventType::formed ? 1 : -1;
    CHECK(static_cast<double>(live) == rec.system[n_ties_measure][row]);
  }
  CHECK(live > 0);
}

namespace {
// What one planted mechanism saw of the ties.
struct Seen {
  std::size_t ties = 0;
  bool tied = false;  // the pair the changer ties
  double trust = -1;  // of the tie the changer changes
};
struct Planted {
  std::int32_t partner = -1;   // the changer ties 0 and partner,
  TieStore::Slot changed = 0;  // sets this tie's trust to 0.9
  TieStore::Slot removed = 0;  // and removes this one
  std::uint64_t removed_id = 0, next_id = 0;
  std::vector<Seen> seen;  // one per observer turn
};
// Ties school 0 to a school it has no tie with, sets one tie's trust and removes another.
struct Changer final : Mechanism {
  explicit Changer(Planted& p) : planted(p) {}
  void step(const State& in, State&, const StepContext& ctx) override {
    const TieStore& t = in.ties;
    for (std::int32_t j = 1; j < in.n_schools() && planted.partner < 0; ++j)
      if (t.find(0, j) == TieStore::kNone) planted.partner = j;
    std::vector<TieStore::Slot> live;
    t.for_each([&](TieStore::Slot s) { live.push_back(s); });
    planted.changed = live.at(0), planted.removed = live.at(1);
    planted.removed_id = t.id[planted.removed], planted.next_id = t.next_id();
    ctx.ties.add({.a = 0, .b = planted.partner}, TieReason::search);
    ctx.ties.set_trust(planted.changed, 0.9);
    ctx.ties.remove(planted.removed, TieReason::trust_lost);
  }
  void set_param(std::size_t, double) override {}
  Planted& planted;
};
// Notes what it sees of the changer's ties.
struct Observer final : Mechanism {
  explicit Observer(Planted& p) : planted(p) {}
  void step(const State& in, State&, const StepContext&) override {
    planted.seen.push_back({in.ties.size(), in.ties.find(0, planted.partner) != TieStore::kNone,
                            in.ties.trust[planted.changed]});
  }
  void set_param(std::size_t, double) override {}
  Planted& planted;
};
}  // namespace

TEST_CASE("the mechanisms of a phase read the ties as they were at the start of the phase") {
  Scenario sc = scenario("years: 1\nworld: {schools: 30, areas: 1, initial_ties_per_school: 2}\npipeline: []\n");
  Planted planted;
  MechanismInfo changer, same, next;
  changer.name = "changer", same.name = "same_phase", next.name = "next_phase";
  changer.phase = same.phase = Phase::interaction;
  next.phase = Phase::school_update;
  changer.reads = same.reads = next.reads = {Store::ties};
  changer.writes = {Store::ties};
  changer.make = [&](std::span<const double>, const PipelineInfo&) { return std::make_unique<Changer>(planted); };
  same.make = next.make = [&](std::span<const double>, const PipelineInfo&) {
    return std::make_unique<Observer>(planted);
  };
  sc.pipeline = {{&changer, {}}, {&same, {}}, {&next, {}}};
  Simulation sim(sc, models::registry(), 0);
  const TieStore start = sim.state().ties;
  REQUIRE(start.size() > 10);
  sim.step();
  REQUIRE(planted.seen.size() == 2);
  const double trust_before = start.trust[planted.changed];
  REQUIRE(trust_before != 0.9);
  // Later in the same phase: the store as it was at the start of the phase.
  CHECK(planted.seen[0].ties == start.size());
  CHECK(!planted.seen[0].tied);
  CHECK(planted.seen[0].trust == trust_before);
  // The next phase: the changes, applied when the phase ended.
  CHECK(planted.seen[1].ties == start.size());  // one tie more, one fewer
  CHECK(planted.seen[1].tied);
  CHECK(planted.seen[1].trust == 0.9);
  const TieStore& end = sim.state().ties;
  CHECK(end.check_invariants().empty());
  CHECK((!end.is_alive(planted.removed) || end.id[planted.removed] != planted.removed_id));
  // The kernel logs the events as it applies them, with the ids the store gives.
  const auto& ev = sim.last_events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].event == TieEventType::formed);
  CHECK(ev[0].reason == TieReason::search);
  CHECK(ev[0].tie == planted.next_id);
  CHECK(ev[0].school_a == 0);
  CHECK(ev[0].school_b == planted.partner);
  CHECK(ev[0].term == 1);
  CHECK(end.id[static_cast<TieStore::Slot>(end.find(0, planted.partner))] == planted.next_id);
  CHECK(ev[1].event == TieEventType::dissolved);
  CHECK(ev[1].reason == TieReason::trust_lost);
  CHECK(ev[1].tie == planted.removed_id);
  CHECK(ev[1].term == 1);
}

TEST_CASE("every mechanism that changes ties leaves a sound store whose changes its events list exactly") {
  // A world with every kind of tie: run a collaborative pipeline for a while,
  // then step each tie-changing mechanism from the state reached and compare
  // the store before and after with the events.
  const Scenario sc = scenario(R"(
years: 3
world: {schools: 300, areas: 5, initial_ties_per_school: 4}
pipeline:
  - programme: {year: 1, networks: 5, size: 8, funding_years: 1}
  - area_strategy: {year: 5}
  - crises
  - tie_formation: {search_rate: 0.5, max_ties: 6}
  - constructivism
  - social_capital
  - durkheim
  - social_movement: {seed_share: 0.2}
  - turnover
  - tie_dissolution: {review_rate: 0.5}
  - attainment
  - expectations
  - market
  - federations: {year: 5}
)");
  Simulation sim(sc, models::registry(), 0);
  for (int t = 0; t < 6; ++t) sim.step();  // term 6 is the one in which the programme's funding ends
  const State& start = sim.state();
  REQUIRE(start.ties.size() > 100);
  REQUIRE(start.networks.size() > 0);
  PipelineInfo pipeline;
  for (const auto& e : sc.pipeline) {
    pipeline.names.push_back(e.info->name);
    pipeline.specs.push_back(e.info->params);
    pipeline.values.push_back(e.values);
  }
  std::vector<std::pair<const MechanismInfo*, std::vector<double>>> changers;
  for (const auto& e : sc.pipeline)
    if (e.info->writes.has(Store::ties)) changers.emplace_back(e.info, e.values);
  changers.emplace_back(models::registry().find("tie_ageing"), std::vector<double>{});
  CHECK(changers.size() == 8);
  for (auto& [m, values] : changers) {
    CAPTURE(m->name);
    const Streams streams(5, 0);
    // The programme acts only in its launch term, federations at the end of
    // their year; the area strategy from its year on (none has acted yet).
    Clock clock{6};
    if (m->name == "programme") clock.term = 3, values[0] = 1;
    if (m->name == "federations") clock.term = 5, values[0] = 1;
    if (m->name == "area_strategy") values[static_cast<std::size_t>(param_index(m->params, "year"))] = 2;
    State out = start;
    TieChanges changes(start.ties);
    m->make(values, pipeline)->step(start, out, StepContext{clock, streams, stream_key(m->name), changes});
    TieStore end = start.ties;
    std::vector<TieEvent> events;
    changes.apply(end, clock.term + 1, events);
    REQUIRE(end.check_invariants().empty());
    std::set<std::uint64_t> before, after, formed, dissolved;
    start.ties.for_each([&](TieStore::Slot s) { before.insert(start.ties.id[s]); });
    end.for_each([&](TieStore::Slot s) { after.insert(end.id[s]); });
    for (const TieEvent& e : events) {
      CHECK(e.term == clock.term + 1);
      (e.event == TieEventType::formed ? formed : dissolved).insert(e.tie);
    }
    // Formed: new ids, consecutive from the store's next id; dissolved: ties of the start, now gone.
    std::uint64_t id = start.ties.next_id();
    for (std::uint64_t f : formed) CHECK(f == id++);
    CHECK(end.next_id() == id);
    for (std::uint64_t d : dissolved) CHECK((before.count(d) == 1 && after.count(d) == 0));
    std::set<std::uint64_t> expect = before;
    for (std::uint64_t d : dissolved) expect.erase(d);
    expect.insert(formed.begin(), formed.end());
    CHECK(after == expect);
    // Ties that stay keep their attributes, but for trust (social_capital) and age (tie_ageing).
    bool trust_changed = false;
    start.ties.for_each([&](TieStore::Slot s) {
      if (dissolved.count(start.ties.id[s])) return;
      REQUIRE(end.id[s] == start.ties.id[s]);
      CHECK(end.strength[s] == start.ties.strength[s]);
      if (m->name != "social_capital") CHECK(end.trust[s] == start.ties.trust[s]);
      trust_changed = trust_changed || end.trust[s] != start.ties.trust[s];
      CHECK(end.age[s] == start.ties.age[s] + (m->name == "tie_ageing" ? 1 : 0));
    });
    if (m->name == "social_capital") CHECK(trust_changed);
    if (m->name == "tie_formation") {
      CHECK(!formed.empty());
      for (std::int32_t i = 0; i < end.n_schools(); ++i) CHECK(end.degree(i) <= std::max(6, start.ties.degree(i)));
    }
    if (m->name == "tie_dissolution" || m->name == "programme" || m->name == "federations" ||
        m->name == "area_strategy" || m->name == "durkheim")
      CHECK(!events.empty());
  }
}

TEST_CASE("a run's recording is allocated once at its final size") {
  for (const char* every : {"term", "year"}) {
    CAPTURE(every);
    const Scenario sc = scenario(std::string("years: 3\nworld: {schools: 50, areas: 2}\nrecord: {every: ") + every +
                                 ", schools: [capacity, pupils, practice]}\n");
    const Recording rec = run_replicate(sc, models::registry(), 0, {});
    for (const auto& buf : rec.series) {
      CHECK(buf.real.capacity() == buf.real.size());
      CHECK(buf.integer.capacity() == buf.integer.size());
    }
    CHECK(rec.series_terms.size() == (std::string(every) == "term" ? 10u : 4u));
    CHECK(rec.attainment_dis.capacity() == rec.attainment_dis.size());
    CHECK(rec.system_terms.capacity() == rec.system_terms.size());
    for (const auto& v : rec.system) CHECK(v.capacity() == v.size());
  }
}

TEST_CASE("generate_world: a change of attainment's parameters moves year 0 by what its equation says") {
  // One year of burn-in: the burn-in's attainment writes year 0's results, and
  // reputation becomes the results before it, the generator's first guess.
  // Both follow the scenario's attainment equation: an intercept 0.25 higher
  // moves every school's results and reputation up by 0.25.
  const MechanismInfo* att = models::registry().find("attainment");
  REQUIRE(att != nullptr);
  const double intercept = att->params[static_cast<std::size_t>(param_index(att->params, "intercept"))].def;
  const std::string head = "seed: 7\nyears: 1\nworld: {schools: 120, areas: 2, burn_in_years: 1}\n";
  const Scenario a = scenario(head + "pipeline: [crises, turnover, attainment, opportunities]\n");
  const Scenario b = scenario(head + "pipeline: [crises, turnover, {attainment: {intercept: " +
                              format_number(intercept + 0.25) + "}}, opportunities]\n");
  const State wa = generate_world(a, models::registry(), 0);
  const State wb = generate_world(b, models::registry(), 0);
  REQUIRE(wa.n_schools() == 120);
  CHECK((wa.capacity == wb.capacity).all());
  for (std::int32_t i = 0; i < wa.n_schools(); ++i) {
    CHECK(wb.attainment_adv[i] - wa.attainment_adv[i] == doctest::Approx(0.25));
    CHECK(wb.attainment_dis[i] - wa.attainment_dis[i] == doctest::Approx(0.25));
    CHECK(wb.reputation[i] - wa.reputation[i] == doctest::Approx(0.25));
  }
}
