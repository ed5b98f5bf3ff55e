// Checkpoints: a restarted run gives the same bytes as an uninterrupted one,
// and comparisons can branch from one warmed-up world.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <functional>

#include "models/register_all.hpp"
#include "sim/io/checkpoint.hpp"
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

// ---------------------------------------------------------------- corrupted checkpoints (issue 14)

namespace {

// A shorter, smaller run than kScenario's, for the corpora.
const char* kSmall = R"(seed: 5
years: 3
world: {schools: 60, areas: 2}
pipeline: [crises, tie_formation, constructivism, social_capital, durkheim, {social_movement: {seed_share: 0.1}},
           turnover, tie_dissolution, attainment, expectations, {market: {choice: 0.6}}, opportunities]
record: {every: term, schools: all}
)";

Checkpoint warmed_up() {
  auto r = parse_scenario(kSmall, "s.yaml", models::registry());
  REQUIRE(r.errors.empty());
  Checkpoint saved;
  RunOptions opt;
  opt.checkpoint_term = 5;
  opt.on_checkpoint = [&](const State& s, const Recording& rec) { saved = Checkpoint{to_yaml(*r.scenario, models::registry()), 0, 5, s, rec}; };
  run_replicate(*r.scenario, models::registry(), 0, opt);
  REQUIRE(saved.terms_done == 5);
  REQUIRE(saved.state.ties.size() > 0);
  return saved;
}

std::string refusal(const std::string& bytes, bool verify = true) {
  try {
    parse_checkpoint(bytes, verify);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkpoint: cut-short - flipped and extended files are refused by their checksum and length") {
  const std::string good = checkpoint_bytes(warmed_up());
  REQUIRE(refusal(good).empty());
  // Every cut: the header's length no longer matches (or the header itself is cut).
  for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{12}, std::size_t{23}, std::size_t{24},
                          good.size() / 3, good.size() - 1}) {
    const std::string why = refusal(good.substr(0, cut));
    CHECK_MESSAGE(!why.empty(), cut);
  }
  CHECK(refusal(good + "x").find("extended") != std::string::npos);
  // 200 single-byte corruptions of the body: each is caught by the checksum.
  std::uint64_t x = 88172645463325252ull;
  for (int k = 0; k < 200; ++k) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::string bad = good;
    const std::size_t at = 24 + static_cast<std::size_t>(x % (good.size() - 24));
    bad[at] = static_cast<char>(bad[at] ^ static_cast<char>(1 + (x >> 32) % 255));
    const std::string why = refusal(bad);
    REQUIRE_MESSAGE(why.find("checksum") != std::string::npos, "byte " << at << ": " << why);
  }
}

TEST_CASE("checkpoint: a checksummed but inconsistent state is refused before use") {
  const Checkpoint good = warmed_up();
  const std::int32_t n = good.state.n_schools();
  struct Case {
    const char* name;
    std::function<void(Checkpoint&)> corrupt;
    const char* reason;
  };
  TieStore::Slot live = 0;
  while (!good.state.ties.is_alive(live)) ++live;
  const std::vector<Case> cases = {
      {"tie endpoint", [&](Checkpoint& c) { c.state.ties.a[live] = n + 5; }, "joins school"},
      {"negative tie endpoint", [&](Checkpoint& c) { c.state.ties.b[live] = -3; }, "joins school"},
      {"tie arrays", [&](Checkpoint& c) { c.state.ties.strength.pop_back(); }, "different lengths"},
      {"tie network", [&](Checkpoint& c) { c.state.ties.network[live] = 99; }, "network 99"},
      {"tie kind", [&](Checkpoint& c) { c.state.ties.kind[live] = static_cast<TieKind>(9); }, "unknown kind"},
      {"short column", [&](Checkpoint& c) { c.state.expectations.conservativeResize(n - 1); }, "expectations does not have one value per school"},
      {"practice", [&](Checkpoint& c) { c.state.practice.conservativeResize(Eigen::NoChange, n - 2); }, "practice"},
      {"area", [&](Checkpoint& c) { c.state.area[3] = c.state.n_areas; }, "area is out of range"},
      {"phase", [&](Checkpoint& c) { c.state.phase[0] = 7; }, "phase"},
      {"not a number", [&](Checkpoint& c) { c.state.expectations[1] = std::nan(""); }, "not a number"},
      {"neighbour", [&](Checkpoint& c) { c.state.near.school[0] = n; }, "neighbour"},
      {"neighbour offsets", [&](Checkpoint& c) { c.state.near.offsets.pop_back(); }, "neighbour lists"},
      {"initial world", [&](Checkpoint& c) { c.recording.initial.area[0] = -1; }, "initial world"},
      {"recorded rows", [&](Checkpoint& c) { c.recording.series_terms.push_back(99); }, "recorded series"},
      {"recorded attainment", [&](Checkpoint& c) { c.recording.attainment_dis.pop_back(); }, "attainment"},
      {"tie event", [&](Checkpoint& c) { c.recording.tie_events.push_back({1, 1, 0, n, TieKind::voluntary, TieEventType::formed, TieReason::search}); }, "tie event"},
      {"terms", [&](Checkpoint& c) { c.terms_done = 3; }, "term count"},
  };
  for (const auto& k : cases) {
    Checkpoint bad = good;
    k.corrupt(bad);
    const std::string why = refusal(checkpoint_bytes(bad));
    CHECK_MESSAGE(why.find(k.reason) != std::string::npos, k.name << ": " << why);
  }
}

TEST_CASE("checkpoint: 400 corrupted checkpoints with valid checksums never crash the loader or the run") {
  // The corpus is regenerated from fixed seeds; under ASan (bash tools/dev asan)
  // any read out of bounds fails the test.
  const Checkpoint base = warmed_up();
  const std::string good = checkpoint_bytes(base);
  auto r = parse_scenario(kSmall, "s.yaml", models::registry());
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  int refused = 0, ran = 0;
  for (int k = 0; k < 400; ++k) {
    std::string bad = good;
    const int edits = 1 + k % 4;
    for (int e = 0; e < edits; ++e) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const std::size_t at = 24 + static_cast<std::size_t>(x % (good.size() - 24));
      if (k % 5 == 0) bad[at] = static_cast<char>(0xff);  // large lengths, -1 indices
      else bad[at] = static_cast<char>(bad[at] ^ static_cast<char>(1u << ((x >> 40) % 8)));
    }
    try {
      Checkpoint c = parse_checkpoint(bad, false);
      // Accepted: the change was to a value, not a shape. The run must go on safely.
      RunOptions opt;
      continue_replicate(*r.scenario, models::registry(), c.replicate, std::move(c.state), c.terms_done,
                         std::move(c.recording), opt);
      ++ran;
    } catch (const std::runtime_error&) {
      ++refused;
    }
  }
  CHECK(refused + ran == 400);
  CHECK(refused > 40);  // shapes broken
  CHECK(ran > 40);      // values changed, run on
  MESSAGE(refused << " refused, " << ran << " ran");
}

TEST_CASE("checkpoint: run --restart refuses a corrupted checkpoint with exit 2 and the reason") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  REQUIRE(shell(dir.path(), "run s.yaml -o first.h5 --checkpoint-at 2 --checkpoint two.ckpt") == 0);
  std::string bytes = test::read_bytes(dir.path() / "two.ckpt");
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x40);
  test::write_text(dir.path() / "bad.ckpt", bytes);
  CHECK(shell(dir.path(), "run s.yaml -o y.h5 --restart bad.ckpt") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("checksum does not match") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "y.h5"));
  test::write_text(dir.path() / "short.ckpt", bytes.substr(0, bytes.size() - 100));
  CHECK(shell(dir.path(), "run s.yaml -o y.h5 --restart short.ckpt") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("cut short") != std::string::npos);
  CHECK(shell(dir.path(), "run s.yaml -o y.h5 --restart .") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("directory") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "y.h5"));
}

TEST_CASE("checkpoint: the resolved scenario continues the original run's checkpoint") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", std::string("description: |\n  A description\n  of two lines.\n") + kSmall);
  REQUIRE(shell(dir.path(), "run s.yaml -q -o full.h5 --checkpoint-at 1 --checkpoint one.ckpt") == 0);
  REQUIRE(shell(dir.path(), "validate --resolved s.yaml") == 0);
  test::write_text(dir.path() / "resolved.yaml", test::read_bytes(dir.path() / "out.txt"));
  CHECK(shell(dir.path(), "run resolved.yaml -q -o again.h5 --restart one.ckpt") == 0);
  CHECK(test::read_bytes(dir.path() / "again.h5") == test::read_bytes(dir.path() / "full.h5"));
}

TEST_CASE("checkpoint: inputs the fuzz target found are refused without a crash") {
  // tests/fuzz/corpus/checkpoint: every input that once crashed the loader (a
  // series count far beyond the file gave std::bad_alloc).
  const fs::path corpus = fs::path(SCHOOLSIM_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "checkpoint";
  int files = 0;
  for (const auto& e : fs::directory_iterator(corpus)) {
    CAPTURE(e.path().filename().string());
    ++files;
    CHECK_THROWS_AS(parse_checkpoint(test::read_bytes(e.path()), false), std::runtime_error);
  }
  CHECK(files >= 1);
}
