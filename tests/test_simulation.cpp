// The term/year loop: synchronous phases, yearly cadence, timeline, keyed streams.
#include <doctest/doctest.h>

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
  // Listed out of the phases' order, which only a program (not a scenario file) can do.
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
struct TieWriter final : Mechanism {
  void step(const State& in, State& out, const StepContext& ctx) override {
    TieStore& ties = ctx.ties_out(out);
    if (in.n_schools() >= 2 && ties.find(0, 1) == TieStore::kNone) ties.add({.a = 0, .b = 1});
  }
  void set_param(std::size_t, double) override {}
};
}  // namespace

TEST_CASE("checked builds catch a mechanism writing ties it does not declare") {
  Scenario sc = scenario("years: 1\nworld: {schools: 5, areas: 1}\npipeline: []\n");
  MechanismInfo info;
  info.name = "tie_writer";
  info.reads = {Store::ties};
  info.make = [](std::span<const double>, const PipelineInfo&) { return std::make_unique<TieWriter>(); };
  sc.pipeline.push_back({&info, {}});
  Simulation sim(sc, models::registry(), 0);
  CHECK_THROWS_WITH_AS(sim.step(), doctest::Contains("wrote ties, which it does not declare"), std::logic_error);
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

TEST_CASE("mechanisms that write ties in place give the same results as on a copy of the store") {
  // A world with every kind of tie: run a collaborative pipeline for a while,
  // then step each in-place mechanism both ways from the state reached.
  const Scenario sc = scenario(R"(
years: 3
world: {schools: 300, areas: 5, initial_ties_per_school: 4}
pipeline:
  - programme: {year: 1, networks: 5, size: 8, funding_years: 1}
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
)");
  Simulation sim(sc, models::registry(), 0);
  for (int t = 0; t < 6; ++t) sim.step();  // term 6 is the one in which the programme's funding ends
  const State& start = sim.state();
  REQUIRE(start.ties.size() > 100);
  REQUIRE(start.networks.size() > 0);
  PipelineInfo pipeline;
  for (const auto& e : sc.pipeline) pipeline.names.push_back(e.info->name);

  int checked = 0;
  for (const auto& e : sc.pipeline) {
    const MechanismInfo& m = *e.info;
    if (!m.ties_in_place) continue;
    CAPTURE(m.name);
    REQUIRE(m.writes.has(Store::ties));
    const Streams streams(5, 0);
    // The programme acts only in its launch term; the others every term.
    const Clock clock{m.name == "programme" ? 3 : 6};
    std::vector<double> values = e.values;
    if (m.name == "programme") values[0] = 1;

    // As on a copy: out starts as a full copy of the state.
    State copy_out = start;
    std::vector<TieEvent> copy_events;
    m.make(values, pipeline)->step(start, copy_out, StepContext{clock, streams, stream_key(m.name), copy_events});

    // In place: the mechanism writes the tie store that `in` holds.
    State in = start, out = start;
    std::vector<TieEvent> events;
    StepContext ctx{clock, streams, stream_key(m.name), events};
    ctx.ties_in_place = &in.ties;
    m.make(values, pipeline)->step(in, out, ctx);

    const TieStore &x = copy_out.ties, &y = in.ties;
    CHECK(y.check_invariants().empty());
    CHECK(x.size() == y.size());
    CHECK(x.next_id() == y.next_id());
    CHECK(x.a == y.a);
    CHECK(x.b == y.b);
    CHECK(x.strength == y.strength);
    CHECK(x.trust == y.trust);
    CHECK(x.age == y.age);
    CHECK(x.kind == y.kind);
    CHECK(x.network == y.network);
    CHECK(x.activities == y.activities);
    CHECK(x.id == y.id);
    CHECK(x.alive == y.alive);
    for (std::int32_t i = 0; i < x.n_schools(); ++i) {
      std::vector<std::int32_t> px, py;
      x.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) { px.push_back(j); });
      y.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) { py.push_back(j); });
      REQUIRE(px == py);
    }
    if (m.name == "tie_dissolution" || m.name == "tie_formation" || m.name == "programme") CHECK(!events.empty());
    REQUIRE(events.size() == copy_events.size());
    for (std::size_t k = 0; k < events.size(); ++k) {
      CHECK(events[k].tie == copy_events[k].tie);
      CHECK(events[k].reason == copy_events[k].reason);
    }
    for (Field f : m.writes.fields())
      visit_field(out, f, [&](const auto& col) {
        visit_field(copy_out, f, [&](const auto& ref) {
          if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::decay_t<decltype(ref)>>)
            CHECK((col.array() == ref.array()).all());
        });
      });
    ++checked;
  }
  CHECK(checked == 5);
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
