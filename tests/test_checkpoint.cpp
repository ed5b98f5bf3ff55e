// Checkpoints: a restarted run gives the same bytes as an uninterrupted one,
// and comparisons can branch from one warmed-up world.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "models/register_all.hpp"
#include "sim/checkpoint.hpp"
#include "sim/config/config.hpp"
#include "sim/experiment/compare.hpp"
#include "test_util.hpp"

using namespace schoolsim;
namespace fs = std::filesystem;

namespace {

const char* kScenario = R"(seed: 12
years: 5
world: {schools: 300, areas: 3}
pipeline: [crises, tie_formation, constructivism, social_capital, durkheim, {social_movement: {seed_share: 0.1}},
           turnover, tie_dissolution, attainment, expectations, {market: {choice: 0.6}}, opportunities]
timeline:
  - {year: 3, term: 2, set: {market.choice: 0.1}}
record: {every: term, schools: all}
)";

int shell(const fs::path& dir, const std::string& args) {
  const std::string cmd = "cd '" + dir.string() + "' && '" + SCHOOLSIM_EXE + "' " + args + " > out.txt 2> err.txt";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("checkpoint: a restarted run writes the same bytes as an uninterrupted one") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  REQUIRE(shell(dir.path(), "run s.yaml -o full.h5") == 0);
  REQUIRE(shell(dir.path(), "run s.yaml -o first.h5 --checkpoint-at 2 --checkpoint two.ckpt") == 0);
  REQUIRE(fs::exists(dir.path() / "two.ckpt"));
  REQUIRE(shell(dir.path(), "run s.yaml -o restarted.h5 --restart two.ckpt") == 0);
  const std::string full = test::read_bytes(dir.path() / "full.h5");
  CHECK(full.size() > 10000);
  CHECK(test::read_bytes(dir.path() / "first.h5") == full);
  CHECK(test::read_bytes(dir.path() / "restarted.h5") == full);

  // A restart continues the same run: another scenario is refused.
  test::write_text(dir.path() / "other.yaml", "extends: s.yaml\nseed: 13\n");
  CHECK(shell(dir.path(), "run other.yaml -o x.h5 --restart two.ckpt") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("different scenario") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "x.h5"));
  // Not a checkpoint at all.
  test::write_text(dir.path() / "junk.ckpt", "hello");
  CHECK(shell(dir.path(), "run s.yaml -o y.h5 --restart junk.ckpt") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("not a schoolsim checkpoint") != std::string::npos);
}

TEST_CASE("checkpoint: the state round-trips exactly") {
  auto r = parse_scenario(kScenario, "s.yaml", models::registry());
  REQUIRE(r.errors.empty());
  Checkpoint saved;
  RunOptions opt;
  opt.checkpoint_term = 7;
  opt.on_checkpoint = [&](const State& s, const Recording& rec) {
    saved = Checkpoint{"text", 0, 7, s, rec};
  };
  run_replicate(*r.scenario, models::registry(), 0, opt);
  REQUIRE(saved.terms_done == 7);
  test::TempDir dir;
  save_checkpoint(dir.path() / "c.ckpt", saved);
  const Checkpoint back = load_checkpoint(dir.path() / "c.ckpt");
  CHECK(back.scenario == "text");
  CHECK(back.terms_done == 7);
  CHECK((back.state.capacity == saved.state.capacity).all());
  CHECK((back.state.practice.array() == saved.state.practice.array()).all());
  CHECK(back.state.ties.size() == saved.state.ties.size());
  CHECK(back.state.ties.next_id() == saved.state.ties.next_id());
  CHECK(back.state.ties.check_invariants().empty());
  CHECK(back.recording.tie_events.size() == saved.recording.tie_events.size());
  CHECK(back.recording.system == saved.recording.system);
}

TEST_CASE("compare --from: both regimes branch from one warmed-up world") {
  test::TempDir dir;
  test::write_text(dir.path() / "market.yaml", "seed: 3\nyears: 6\nworld: {schools: 200, areas: 2}\n"
                                               "pipeline: [crises, turnover, attainment, {market: {choice: 0.9}}]\n");
  test::write_text(dir.path() / "calm.yaml", "extends: market.yaml\nset: {market.choice: 0}\n");
  REQUIRE(shell(dir.path(), "run market.yaml -o warm.h5 --checkpoint-at 3 --checkpoint warm.ckpt") == 0);
  REQUIRE(shell(dir.path(), "compare market.yaml calm.yaml --from warm.ckpt --replicates 3 -o cmp.h5") == 0);
  const Checkpoint warm = load_checkpoint(dir.path() / "warm.ckpt");
  auto a = load_scenario((dir.path() / "market.yaml").string(), models::registry());
  auto b = load_scenario((dir.path() / "calm.yaml").string(), models::registry());
  const Comparison c =
      compare(*a.scenario, *b.scenario, models::registry(), 3, {}, Branch{&warm.state, warm.terms_done});
  REQUIRE(c.terms.front() == 9);  // the branch point
  CHECK(c.terms.back() == 18);
  for (std::size_t m = 0; m < kMeasureCount; ++m) CHECK(c.diff_mean[m][0] == 0.0);  // the same world at the branch
  std::size_t dis = 0;
  while (kSystemMeasures[dis].name != "dissimilarity") ++dis;
  CHECK(c.diff_mean[dis].back() != 0.0);  // and different regimes after it
}
