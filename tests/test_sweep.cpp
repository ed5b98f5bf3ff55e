// Sweeps: designs over scenario parameters, threads, resuming, SALib export.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/experiment/sweep.hpp"
#include "test_util.hpp"

using namespace schoolsim;
namespace fs = std::filesystem;

namespace {

const char* kScenario = "seed: 4\nyears: 3\nworld: {schools: 150, areas: 3}\n"
                        "pipeline: [crises, turnover, attainment, {market: {choice: 0.5}}, opportunities]\n";

const char* kExperiment = R"(scenario: s.yaml
design: {method: lhs, runs: 12}
parameters:
  market.choice: [0, 1]
  world.reach_km: [3, 9]
replicates: 2
outputs: [dissimilarity]
series: true
)";

int shell(const fs::path& dir, const std::string& args) {
  const std::string cmd = "cd '" + dir.string() + "' && '" + SCHOOLSIM_EXE + "' " + args + " > out.txt 2> err.txt";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::size_t count_parts(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".bin";
  return n;
}

}  // namespace

TEST_CASE("sweep: experiment files are validated with line and column") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  test::write_text(dir.path() / "bad.yaml", R"(scenario: s.yaml
design: {method: sobol, runs: 0}
parameters:
  market.choise: [0, 1]
  world.reach_km: [9, 3]
outputs: [dissimilarty]
)");
  const auto r = load_experiment((dir.path() / "bad.yaml").string(), models::registry());
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].message.find("unknown method 'sobol'") != std::string::npos);
  CHECK(r.errors[1].message.find("design.runs: 0 is out of range") != std::string::npos);
  CHECK(r.errors[2].message.find("unknown parameter 'choise' of market; did you mean 'choice'?") != std::string::npos);
  CHECK(r.errors[3].line == 5);
  CHECK(r.errors[3].message.find("low end must be below the high end") != std::string::npos);
  CHECK(r.errors[4].message.find("did you mean 'dissimilarity'?") != std::string::npos);
}

TEST_CASE("sweep: runs follow the design and results do not depend on threads") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  test::write_text(dir.path() / "e.yaml", kExperiment);
  const auto r = load_experiment((dir.path() / "e.yaml").string(), models::registry());
  REQUIRE(r.errors.empty());
  const Experiment& e = *r.experiment;
  const Design d = make_design(e);
  REQUIRE(d.values.rows() == 12);
  CHECK(d.values.col(1).minCoeff() >= 3);
  CHECK(d.values.col(1).maxCoeff() <= 9);
  const Scenario s0 = scenario_for(e, d.values.row(0));
  CHECK(s0.pipeline[3].values[static_cast<std::size_t>(param_index(s0.pipeline[3].info->params, "choice"))] ==
        d.values(0, 0));
  CHECK(shell(dir.path(), "sweep e.yaml -o one.h5 --threads 1") == 0);
  CHECK(shell(dir.path(), "sweep e.yaml -o two.h5 --threads 2") == 0);
  CHECK(test::read_bytes(dir.path() / "one.h5") == test::read_bytes(dir.path() / "two.h5"));
  CHECK_FALSE(fs::exists(dir.path() / "one.h5.parts"));  // removed once the file is written
}

TEST_CASE("sweep: killed half-way and restarted it loses no run - duplicates none - and ends the same") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", replaced(kScenario, "years: 3", "years: 8"));
  test::write_text(dir.path() / "e.yaml", replaced(kExperiment, "runs: 12", "runs: 40"));
  REQUIRE(shell(dir.path(), "sweep e.yaml -o clean.h5") == 0);

  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (chdir(dir.path().c_str()) != 0) _exit(99);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(99);
    execl(SCHOOLSIM_EXE, "schoolsim", "sweep", "e.yaml", "-o", "resumed.h5", static_cast<char*>(nullptr));
    _exit(98);
  }
  const fs::path parts = dir.path() / "resumed.h5.parts";
  for (int i = 0; i < 4000 && count_parts(parts) < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(pid, SIGKILL);  // the worst case: no chance to clean up
  int status = 0;
  waitpid(pid, &status, 0);
  const std::size_t kept = count_parts(parts);
  MESSAGE("runs kept when the sweep was killed: " << kept << " of 80");
  CHECK(kept >= 10);
  CHECK(kept < 80);
  CHECK_FALSE(fs::exists(dir.path() / "resumed.h5"));
  REQUIRE(shell(dir.path(), "sweep e.yaml -o resumed.h5") == 0);
  CHECK(test::read_bytes(dir.path() / "out.txt").find("runs resumed") != std::string::npos);
  CHECK(test::read_bytes(dir.path() / "resumed.h5") == test::read_bytes(dir.path() / "clean.h5"));

  // Parts of another experiment are refused rather than mixed in.
  fs::create_directories(dir.path() / "other.h5.parts");
  test::write_text(dir.path() / "other.h5.parts" / "fingerprint", "0123\n");
  CHECK(shell(dir.path(), "sweep e.yaml -o other.h5") == 2);
}

TEST_CASE("sweep: the design exports in a form SALib reads") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  test::write_text(dir.path() / "e.yaml", kExperiment);
  REQUIRE(shell(dir.path(), "sweep e.yaml --export-design salib") == 0);
  const std::string problem = test::read_bytes(dir.path() / "salib" / "problem.json");
  CHECK(problem.find("\"num_vars\": 2") != std::string::npos);
  CHECK(problem.find("\"market.choice\"") != std::string::npos);
  CHECK(problem.find("[3, 9]") != std::string::npos);
  const std::string design = test::read_bytes(dir.path() / "salib" / "design.txt");
  CHECK(std::count(design.begin(), design.end(), '\n') == 12);
  CHECK_FALSE(fs::exists(dir.path() / "results"));  // nothing was run
}

// ---------------------------------------------------------------- damaged parts (issue 14)

TEST_CASE("sweep: the fingerprint covers the program version") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  test::write_text(dir.path() / "e.yaml", kExperiment);
  const auto r = load_experiment((dir.path() / "e.yaml").string(), models::registry());
  REQUIRE(r.errors.empty());
  CHECK(fingerprint(*r.experiment, models::registry()) == fingerprint(*r.experiment, models::registry(), SCHOOLSIM_VERSION));
  CHECK(fingerprint(*r.experiment, models::registry(), "0.1.0") != fingerprint(*r.experiment, models::registry(), "0.1.1"));
}

TEST_CASE("sweep: damaged - short - foreign and misplaced parts are run again and never read past their end") {
  // Replayed under ASan by `bash tools/dev asan`: a part read past its end fails there.
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  test::write_text(dir.path() / "e.yaml", replaced(kExperiment, "runs: 12", "runs: 6"));
  const auto r = load_experiment((dir.path() / "e.yaml").string(), models::registry());
  REQUIRE(r.errors.empty());
  const Experiment& e = *r.experiment;
  const Design d = make_design(e);
  SweepOptions opts;
  opts.parts = dir.path() / "parts";
  fs::create_directories(opts.parts);
  const SweepResults clean = run_sweep(e, d, models::registry(), opts);
  REQUIRE(count_parts(opts.parts) == 12);
  const std::string print = fingerprint(e, models::registry());
  const std::size_t rows = static_cast<std::size_t>(e.base.terms()) + 1;
  auto part = [&](int t) { return opts.parts / ("run-" + std::to_string(t) + ".bin"); };
  const std::string good = test::read_bytes(part(0));
  Part p0;
  REQUIRE(decode_part(good, print, 0, true, rows, p0).empty());
  REQUIRE(p0.terms.size() == rows);

  // A corpus of bad parts, each in place of a good one.
  Part shorter = p0;
  shorter.terms.resize(1);
  shorter.series.resize(kMeasureCount);
  Part no_series = p0;
  no_series.series.clear();
  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 4);
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"", "not a schoolsim sweep part"},
      {good.substr(0, good.size() / 2), "checksum"},
      {flipped, "checksum"},
      {encode_part(shorter, print, 3), "record rows"},
      {encode_part(no_series, print, 4), "series"},
      {encode_part(p0, "another", 5), "different experiment"},
      {encode_part(p0, print, 0), "task 0"},  // task 0's part saved as task 6's
      {std::string(400, 'x'), "not a schoolsim sweep part"},
  };
  for (std::size_t k = 0; k < corpus.size(); ++k) {
    const int task = static_cast<int>(k);
    test::write_text(part(task), corpus[k].first);
    Part p;
    const std::string why = decode_part(corpus[k].first, print, task, true, rows, p);
    CHECK_MESSAGE(why.find(corpus[k].second) != std::string::npos, k << ": " << why);
  }
  fs::remove(part(8));
  fs::create_directory(part(8));  // a directory where a part should be
  SweepResults again = run_sweep(e, d, models::registry(), opts);
  CHECK(again.damaged.size() == corpus.size() + 1);
  CHECK(again.resumed == 12 - static_cast<std::int32_t>(corpus.size()) - 1);
  CHECK(again.finals == clean.finals);
  CHECK(again.series == clean.series);
  CHECK(again.terms == clean.terms);

  // 300 random corruptions of one part: every one is refused.
  std::uint64_t x = 0x2545F4914F6CDD1Dull;
  for (int k = 0; k < 300; ++k) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::string bad = good;
    if (k % 3 == 0) bad.resize(static_cast<std::size_t>(x % good.size()));
    else bad[static_cast<std::size_t>(x % good.size())] ^= static_cast<char>(1u << ((x >> 33) % 8));
    Part p;
    CHECK_FALSE(decode_part(bad, print, 0, true, rows, p).empty());
  }
}

TEST_CASE("sweep: --set fixes a parameter of the swept scenario but not one the design varies") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  test::write_text(dir.path() / "e.yaml", replaced(kExperiment, "runs: 12", "runs: 3"));
  REQUIRE(shell(dir.path(), "sweep e.yaml -q -o plain.h5") == 0);
  REQUIRE(shell(dir.path(), "sweep e.yaml -q -o set.h5 --set crises.rate=0.3") == 0);
  REQUIRE(std::system(("cd '" + dir.path().string() + "' && h5dump -d /meta/scenario -a /meta/set set.h5 > d.txt").c_str()) == 0);
  const std::string dump = test::read_bytes(dir.path() / "d.txt");
  CHECK(dump.find("rate: 0.3") != std::string::npos);
  CHECK(dump.find("\"crises.rate=0.3\"") != std::string::npos);
  CHECK(test::read_bytes(dir.path() / "plain.h5") != test::read_bytes(dir.path() / "set.h5"));

  // A swept parameter, and a bad value: exit 2, nothing run (no parts folder) or written.
  CHECK(shell(dir.path(), "sweep e.yaml -o bad.h5 --set market.choice=0.5 --set world.reach_km=0") == 2);
  const std::string err = test::read_bytes(dir.path() / "err.txt");
  CAPTURE(err);
  CHECK(err.find("--set market.choice=0.5: error: market.choice: swept by the experiment") != std::string::npos);
  CHECK(shell(dir.path(), "sweep e.yaml -o bad.h5 --set crises.rate=2") == 2);
  CHECK(test::read_bytes(dir.path() / "err.txt").find("--set crises.rate=2: error: crises.rate: 2 is out of range") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "bad.h5"));
  CHECK_FALSE(fs::exists(dir.path() / "bad.h5.parts"));
}

TEST_CASE("sweep: a Saltelli sweep names its Sobol estimators in the file") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", kScenario);
  test::write_text(dir.path() / "e.yaml", replaced(replaced(kExperiment, "method: lhs, runs: 12", "method: saltelli, runs: 4"),
                                                   "series: true", "series: false\nbootstrap: 20"));
  REQUIRE(shell(dir.path(), "sweep e.yaml -q -o sobol.h5") == 0);
  REQUIRE(std::system(("cd '" + dir.path().string() + "' && h5dump -a /sensitivity/dissimilarity/estimator sobol.h5 > a.txt").c_str()) == 0);
  CHECK(test::read_bytes(dir.path() / "a.txt").find("first order: Saltelli et al. (2010) on centred output; total: Jansen (1999)") !=
        std::string::npos);
}
