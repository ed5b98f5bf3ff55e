// Same scenario and seed give the same bytes, whatever the thread count.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/io/output.hpp"
#include "sim/simulation.hpp"
#include "test_util.hpp"

using namespace schoolsim;
namespace fs = std::filesystem;

namespace {

const char* kScenario = R"(
years: 4
replicates: 3
world: {schools: 300, areas: 5, initial_ties_per_school: 4}
record: {every: term, schools: all}
)";

// With `stream`, each replicate's rows go to the file as they are recorded
// (which run_all does only when the replicates run one at a time).
std::string run_to_bytes(std::uint64_t seed, int threads, const fs::path& dir,
                         bool stream = false) {
  auto r = parse_scenario(kScenario, "det.yaml", models::registry());
  REQUIRE(r.errors.empty());
  Scenario sc = *r.scenario;
  sc.seed = seed;
  const fs::path out = dir / ("run-" + std::to_string(seed) + "-" + std::to_string(threads) + ".h5");
  OutputFile file(out, {sc.name, to_yaml(sc, models::registry()), sc.seed, sc.replicates, sc.years, "test"});
  RunOptions opt;
  opt.threads = threads;
  if (stream) opt.rows = &file.row_sink();
  std::int32_t streamed = 0;
  run_all(sc, models::registry(), opt, [&](Recording&& rec) {
    streamed += rec.streamed ? 1 : 0;
    if (rec.streamed) CHECK(rec.series.at(0).real.empty());
    file.write(rec);
  });
  file.commit();
  CHECK(streamed == (stream && threads == 1 ? sc.replicates : 0));
  return test::read_bytes(out);
}

}  // namespace

TEST_CASE(
    "determinism: same seed gives identical files at 1 and 2 threads with rows streamed or held - "
    "another seed "
    "differs") {
  test::TempDir dir;
  const std::string a = run_to_bytes(11, 1, dir.path());
  const std::string b = run_to_bytes(11, 1, dir.path(), true);
  const std::string c = run_to_bytes(11, 2, dir.path(), true);
  const std::string d = run_to_bytes(12, 2, dir.path());
  REQUIRE(a.size() > 1000);
  CHECK(a == b);
  CHECK(a == c);
  CHECK(a != d);
}

TEST_CASE(
    "determinism: a recorder that streams its rows refuses to finish before every row it "
    "announced") {
  auto r = parse_scenario(kScenario, "det.yaml", models::registry());
  REQUIRE(r.errors.empty());
  const State world = generate_world(*r.scenario, models::registry(), 0);
  test::TempDir dir;
  OutputFile file(dir.path() / "short.h5", {"det", "", 1, 1, 4, "test"});
  Recorder recorder(r.scenario->record, world, 0);
  recorder.stream_to(file.row_sink(), 0, r.scenario->terms());
  recorder.capture(world, 0, true);
  recorder.capture(world, 1, false);
  CHECK_THROWS_WITH_AS(std::move(recorder).finish(world), doctest::Contains("fewer rows"),
                       std::logic_error);
}

namespace {

// One replicate of a library scenario, cut to `schools` schools and `years`
// years, recording everything, with the loops of each step on `threads` threads;
// `change` edits the scenario first.
std::string one_replicate_bytes(const std::string& scenario, int threads, const fs::path& dir,
                                const std::function<void(Scenario&)>& change = {}) {
  auto r = load_scenario(std::string(SCHOOLSIM_SOURCE_DIR) + "/scenarios/" + scenario,
                         models::registry());
  REQUIRE(r.errors.empty());
  Scenario sc = *r.scenario;
  const Registry& reg = models::registry();
  sc.world[reg.world().schools_param] = 3000;  // several chunks of schools and of ties
  sc.years = 3;
  sc.replicates = 1;
  sc.record.every = Cadence::term;
  sc.record.schools.clear();
  for (const auto& f : kFields) sc.record.schools.push_back(f.field);
  sc.record.ties = true;
  sc.record.system = true;
  if (change) change(sc);
  const fs::path out = dir / (scenario + "-" + std::to_string(threads) + ".h5");
  OutputFile file(out, {sc.name, to_yaml(sc, reg), sc.seed, sc.replicates, sc.years, "test"});
  RunOptions opt;
  opt.threads = threads;  // one replicate: the threads go to the loops inside its steps
  if (threads != 2) opt.rows = &file.row_sink();  // streamed at 1 and 3 threads, held at 2
  run_all(sc, reg, opt, [&](Recording&& rec) { file.write(rec); });
  file.commit();
  return test::read_bytes(out);
}

}  // namespace

TEST_CASE(
    "determinism: one replicate gives identical files with the loops of its steps on 1 - 2 and 3 "
    "threads") {
  test::TempDir dir;
  for (const char* scenario : {"collaborative.yaml", "social_movement.yaml", "nlc_2002.yaml"}) {
    CAPTURE(scenario);
    const std::string one = one_replicate_bytes(scenario, 1, dir.path());
    REQUIRE(one.size() > 100000);
    CHECK(one == one_replicate_bytes(scenario, 2, dir.path()));
    CHECK(one == one_replicate_bytes(scenario, 3, dir.path()));
  }
}

TEST_CASE(
    "determinism: constructivism with either of its terms off gives identical files on 1 and 3 "
    "threads - and off changes the result") {
  // The one-thread tie loop is compiled for the terms that are on, with a
  // smaller record when both are off; the team's loop reads them at run time.
  test::TempDir dir;
  std::string all_on;
  for (const auto& [construct, converge] :
       std::vector<std::pair<double, double>>{{0.03, 0.05}, {0, 0}, {0.03, 0}, {0, 0.05}}) {
    CAPTURE(construct);
    CAPTURE(converge);
    const auto change = [&](Scenario& sc) {
      for (auto& entry : sc.pipeline)
        if (entry.info->name == "constructivism") {
          entry.values[static_cast<std::size_t>(
              param_index(entry.info->params, "alpha_construct"))] = construct;
          entry.values[static_cast<std::size_t>(param_index(entry.info->params, "eta"))] = converge;
        }
    };
    const std::string one = one_replicate_bytes("collaborative.yaml", 1, dir.path(), change);
    REQUIRE(one.size() > 100000);
    CHECK(one == one_replicate_bytes("collaborative.yaml", 3, dir.path(), change));
    if (all_on.empty()) {
      all_on = one;
    } else {
      CHECK(one != all_on);
    }
  }
}

TEST_CASE(
    "parallel: a team runs every chunk once - on any number of members - and rethrows a failure on "
    "the caller") {
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    const Team team(threads);
    std::vector<int> hits(10'000, 0);
    std::vector<int> member_seen(static_cast<std::size_t>(threads), 0);
    for (int round = 0; round < 50; ++round)
      team.for_chunks(hits.size(), 97, [&](std::int32_t member, std::size_t b, std::size_t e) {
        REQUIRE(member >= 0);
        REQUIRE(member < threads);
        for (std::size_t i = b; i < e; ++i) ++hits[i];
      });
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 50; }));
    // Fewer chunks than members, and counts that do not split evenly: some
    // members' shares are empty or one chunk longer than others'.
    for (std::size_t n : {2, 3, 4, 5, 7}) {
      CAPTURE(n);
      std::vector<std::atomic<int>> seen(n);
      team.for_chunks(n, 1, [&](std::int32_t, std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) seen[i].fetch_add(1);
      });
      CHECK(std::all_of(seen.begin(), seen.end(),
                        [](const std::atomic<int>& h) { return h.load() == 1; }));
    }
    // Chunks 3 and 7 fail: chunk 3's exception comes out, and the team still works afterwards.
    try {
      team.for_chunks(1000, 100, [&](std::int32_t, std::size_t b, std::size_t) {
        if (b == 300 || b == 700) throw std::runtime_error("chunk " + std::to_string(b / 100));
      });
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      if (threads == 1)
        CHECK(std::string(e.what()) == "chunk 3");
      else
        CHECK((std::string(e.what()) == "chunk 3" || std::string(e.what()) == "chunk 7"));
    }
    std::size_t sum = 0;
    std::mutex mu;
    team.for_chunks(1000, 10, [&](std::int32_t, std::size_t b, std::size_t e) {
      std::lock_guard lock(mu);
      sum += e - b;
    });
    CHECK(sum == 1000);
  }
}
