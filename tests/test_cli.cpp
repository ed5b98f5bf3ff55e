// The schoolsim executable end to end: exit codes, nothing written on bad input.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>
#include <filesystem>

#include "models/register_all.hpp"
#include "test_util.hpp"

using namespace schoolsim;
namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out, err;
};

Result run(const std::string& args, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = "cd '" + dir.string() + "' && '" + std::string(SCHOOLSIM_EXE) + "' " + args +
                          " > '" + out.string() + "' 2> '" + err.string() + "' < /dev/null";
  const int status = std::system(cmd.c_str());
  Result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, test::read_bytes(out), test::read_bytes(err)};
  fs::remove(out);
  fs::remove(err);
  return r;
}

const std::string kSource = SCHOOLSIM_SOURCE_DIR;

}  // namespace

TEST_CASE("cli: validate on a broken file lists every problem exits 2 and writes nothing") {
  test::TempDir dir;
  test::write_text(dir.path() / "bad.yaml", "yeers: 3\nreplicates: 0\npipeline: [turnovr]\n");
  const Result r = run("validate bad.yaml", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err.find("bad.yaml:1:1: error: unknown key 'yeers'; did you mean 'years'?") != std::string::npos);
  CHECK(r.err.find("bad.yaml:2:13: error: replicates: 0 is out of range [1, 100000]") != std::string::npos);
  CHECK(r.err.find("bad.yaml:3:12: error: pipeline[0]: unknown mechanism 'turnovr'") != std::string::npos);
  CHECK(r.err.find("3 problems found") != std::string::npos);
  CHECK(test::count_entries(dir.path()) == 1);  // only bad.yaml
}

TEST_CASE("cli: run on a bad scenario exits 2 before any work and creates no output") {
  test::TempDir dir;
  test::write_text(dir.path() / "bad.yaml", "years: 0\n");
  const Result r = run("run bad.yaml -o out/result.h5", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err.find("bad.yaml:1:8: error: years: 0 is out of range") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "out"));
  CHECK_FALSE(fs::exists(dir.path() / "results"));
}

TEST_CASE("cli: run writes the file and a summary - a failed run leaves the old file alone") {
  test::TempDir dir;
  test::write_text(dir.path() / "small.yaml", "years: 2\nworld: {schools: 40, areas: 2}\n");
  Result r = run("run small.yaml --seed 5", dir.path());
  CHECK(r.code == 0);
  CHECK(fs::exists(dir.path() / "results" / "small.h5"));
  CHECK(r.out.find("mean_attainment") != std::string::npos);
  CHECK(r.out.find("wrote results/small.h5") != std::string::npos);
  CHECK(r.err.empty());  // no progress bar when stderr is not a terminal
  const std::string good = test::read_bytes(dir.path() / "results" / "small.h5");

  // The output path is a directory that cannot be replaced: the run fails, and
  // no temporary file is left behind.
  fs::create_directories(dir.path() / "taken.h5" / "inside");
  r = run("run small.yaml -o taken.h5", dir.path());
  CHECK(r.code == 1);
  CHECK(fs::is_directory(dir.path() / "taken.h5"));
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
  CHECK(test::read_bytes(dir.path() / "results" / "small.h5") == good);
}

TEST_CASE(
    "cli: the binary maps no HTTP TLS MPI or S3 library - they are in modules loaded by serve and "
    "mpirun") {
  // What a run maps is most of its fixed memory (docs/PERFORMANCE.md): the
  // teaching server and MPI are modules beside the binary, HDF5 is static.
  test::TempDir dir;
  const fs::path listing = dir.path() / "ldd.txt";
  const std::string ldd = std::string("ldd '") + SCHOOLSIM_EXE + "' > '" + listing.string() + "'";
  REQUIRE(std::system(ldd.c_str()) == 0);
  const std::string libs = test::read_bytes(listing);
  CHECK(libs.find("libc.so") != std::string::npos);  // the listing is real
  for (const char* lib :
       {"libcpp-httplib", "libssl", "libcrypto", "libmpi", "libcurl", "libhdf5"}) {
    INFO(lib);
    CHECK(libs.find(lib) == std::string::npos);
  }
  CHECK(fs::exists(fs::path(SCHOOLSIM_EXE).parent_path() / "schoolsim-serve.so"));
}

TEST_CASE(
    "cli: serve without its module beside the binary says which file is missing and exits 1") {
  test::TempDir dir;
  const fs::path lone = dir.path() / "schoolsim";
  fs::copy_file(SCHOOLSIM_EXE, lone);
  const fs::path err = dir.path() / "stderr.txt";
  std::string cmd = "'";  // built in steps: GCC 12 warns falsely on "'" + std::string
  cmd += lone.string();
  cmd += "' serve --port 0 > /dev/null 2> '" + err.string() + "' < /dev/null";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  const std::string text = test::read_bytes(err);
  CHECK(text.find((dir.path() / "schoolsim-serve.so").string()) != std::string::npos);
  CHECK(text.find("must stay beside it") != std::string::npos);
}

TEST_CASE("cli: help version usage errors and describe") {
  test::TempDir dir;
  Result r = run("--help", dir.path());
  CHECK(r.code == 0);
  CHECK(r.out.find("run") != std::string::npos);
  CHECK(r.out.find("Exit codes") != std::string::npos);
  for (const char* sub : {"run", "validate", "describe"}) {
    r = run(std::string(sub) + " --help", dir.path());
    CHECK(r.code == 0);
  }
  CHECK(run("--version", dir.path()).out.find("schoolsim") != std::string::npos);
  CHECK(run("frobnicate", dir.path()).code == 2);
  CHECK(run("run", dir.path()).code == 2);
  CHECK(run("run missing.yaml", dir.path()).code == 2);
  CHECK(run("describe turnovr", dir.path()).code == 2);

  r = run("describe", dir.path());
  CHECK(r.code == 0);
  const Registry& reg = models::registry();
  for (const auto& p : reg.world().params) CHECK_MESSAGE(r.out.find(p.name) != std::string::npos, p.name);
  for (const auto& m : reg.mechanisms()) {
    CHECK(r.out.find(m.name + " (models/" + m.family) != std::string::npos);
    for (const auto& p : m.params) {
      CHECK_MESSAGE(r.out.find(p.name) != std::string::npos, m.name << "." << p.name);
      CHECK(r.out.find(source_text(p.source)) != std::string::npos);
    }
  }
}

TEST_CASE("cli: Ctrl-C stops a run with exit code 130 and leaves no file") {
  test::TempDir dir;
  test::write_text(dir.path() / "long.yaml", "years: 200\nworld: {schools: 20000, areas: 50}\n");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (chdir(dir.path().c_str()) != 0) _exit(99);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(99);
    execl(SCHOOLSIM_EXE, "schoolsim", "run", "long.yaml", "-o", "out.h5", static_cast<char*>(nullptr));
    _exit(98);
  }
  // Wait until the run has started writing (its temporary file exists), then interrupt it.
  const fs::path tmp = dir.path() / ("out.h5.tmp-" + std::to_string(pid));
  for (int i = 0; i < 2000 && !fs::exists(tmp); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(fs::exists(tmp));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGINT);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_FALSE(fs::exists(dir.path() / "out.h5"));
  CHECK_FALSE(fs::exists(tmp));
  CHECK(test::count_entries(dir.path()) == 1);  // only long.yaml
}

TEST_CASE("cli: every scenario of the library runs") {
  test::TempDir dir;
  for (const auto& e : fs::directory_iterator(fs::path(kSource) / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    CAPTURE(e.path().filename().string());
    const Result r = run("run '" + e.path().string() + "' --years 2 -q -o out.h5", dir.path());
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK(fs::exists(dir.path() / "out.h5"));
    fs::remove(dir.path() / "out.h5");
  }
}

// ---------------------------------------------------------------- issue 14

TEST_CASE("cli: a scenario too large for this machine is refused up front with the estimate") {
  test::TempDir dir;
  test::write_text(dir.path() / "huge.yaml",
                   "years: 200\nworld: {schools: 1000000}\nrecord: {every: term, schools: all}\n");
  const Result v = run("validate huge.yaml", dir.path());
  CHECK(v.code == 2);
  CHECK(v.err.find("too large to run here") != std::string::npos);
  CHECK(v.err.find("of memory; this machine has") != std::string::npos);
  const Result r = run("run huge.yaml -o out.h5", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err.find("--allow-large") != std::string::npos);
  CHECK(test::count_entries(dir.path()) == 1);  // nothing written
  CHECK(run("validate --allow-large huge.yaml", dir.path()).code == 0);
  // An ordinary scenario is untouched by the check.
  CHECK(run("validate " + kSource + "/scenarios/default.yaml", dir.path()).code == 0);
}

TEST_CASE("cli: special files are refused with exit 2") {
  test::TempDir dir;
  const Result r = run("validate /dev/zero", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err.find("not a regular file") != std::string::npos);
}

TEST_CASE("cli: run removes temporaries left by killed runs and says so") {
  test::TempDir dir;
  test::write_text(dir.path() / "s.yaml", "seed: 2\nyears: 2\nworld: {schools: 40, areas: 2}\n");
  // A process that has ended: its pid names no running program.
  const pid_t gone = fork();
  REQUIRE(gone >= 0);
  if (gone == 0) _exit(0);
  waitpid(gone, nullptr, 0);
  const std::string stale = "out.h5.tmp-" + std::to_string(gone);
  const std::string alive = "out.h5.tmp-" + std::to_string(::getpid());  // this test runs: not to be touched
  test::write_text(dir.path() / stale, "half-written");
  test::write_text(dir.path() / alive, "someone else's");
  const Result r = run("run s.yaml -q -o out.h5", dir.path());
  CHECK(r.code == 0);
  CHECK_FALSE(fs::exists(dir.path() / stale));
  CHECK(fs::exists(dir.path() / alive));
  CHECK(r.err.find("removed " + stale) != std::string::npos);
  CHECK(r.err.find("killed before it finished") != std::string::npos);
}

TEST_CASE("cli: Ctrl-C at any moment of start-up leaves no temporary file") {
  test::TempDir dir;
  // Long enough (about 0.4 s here) that a run sent Ctrl-C once its file exists is still
  // running.
  test::write_text(dir.path() / "s.yaml", "seed: 2\nyears: 200\nworld: {schools: 400, areas: 2}\n");
  auto has_temporary = [&] {
    for (const auto& e : fs::directory_iterator(dir.path()))
      if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
    return false;
  };
  // posix_spawn with SIGINT at its default: the test's own handler is not inherited.
  auto spawn = [&](const std::string& command) {
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addchdir_np(&files, dir.path().c_str());
    posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> args =
        command == "run"
            ? std::vector<std::string>{"schoolsim", "run", "s.yaml", "-q", "-o", "out.h5"}
            : std::vector<std::string>{"schoolsim", "compare", "s.yaml", "s.yaml", "--replicates",
                                       "2",         "-q",      "-o",     "cmp.h5"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, SCHOOLSIM_EXE, &files, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attr);
    REQUIRE(rc == 0);
    return pid;
  };
  // Waits for the temporary output file, bounded at 10 s from t0.
  auto wait_for_temporary = [&](std::chrono::steady_clock::time_point t0) {
    while (!has_temporary() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  };
  auto interrupt = [](pid_t pid) {
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  };
  auto left_no_temporary = [&](const std::string& what) {
    for (const auto& e : fs::directory_iterator(dir.path())) {
      CHECK_MESSAGE(e.path().filename().string().find(".tmp-") == std::string::npos,
                    what << " left " << e.path().filename().string());
    }
  };
  // How long start-up takes here (a loaded machine is slower): the wall time from
  // the spawn until the temporary output file appears, found with a first run.
  // Timed from before the spawn: this thread may lose its core to the child
  // just after it, and timing from then would find the file already there.
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t first = spawn("run");
  wait_for_temporary(t0);
  const auto startup =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  interrupt(first);
  left_no_temporary("the first run");
  MESSAGE("start-up took about " << startup.count() << " us");
  int interrupted = 0;
  for (int step = 0; step < 24; ++step) {  // bounded: 24 starts of each, from 0 to 1.5 x start-up
    const auto delay = startup * step / 16;
    for (const char* command : {"run", "compare"}) {
      const pid_t pid = spawn(command);
      std::this_thread::sleep_for(delay);
      const int status = interrupt(pid);
      interrupted += WIFEXITED(status) && WEXITSTATUS(status) == 130;
      left_no_temporary(std::string(command) + " after " + std::to_string(delay.count()) + " us");
    }
  }
  MESSAGE(interrupted << " of 48 starts at fixed delays were interrupted with exit 130");
  // A signal once the temporary file exists comes after the handler is installed:
  // the run must stop with 130 and remove its file, whatever the machine's speed.
  for (const char* command : {"run", "compare"}) {
    const auto started = std::chrono::steady_clock::now();
    const pid_t pid = spawn(command);
    wait_for_temporary(started);
    const int status = interrupt(pid);
    CHECK_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 130),
                  command << " interrupted once its temporary file existed: status " << status);
    left_no_temporary(std::string(command) + " interrupted once its temporary file existed");
  }
}

TEST_CASE("cli: run --set changes a parameter for one run and checks it as the file's values are") {
  test::TempDir dir;
  test::write_text(dir.path() / "small.yaml", "years: 2\nworld: {schools: 40, areas: 2}\n"
                                              "pipeline: [crises, turnover, attainment, {market: {choice: 0.5}}]\n");
  Result r = run("run small.yaml -q -o s.h5 --set market.choice=0.25 --set world.schools=60 "
                 "--set market.league_tables=false",
                 dir.path());
  REQUIRE(r.code == 0);
  // The resolved scenario in the file has the changes; /meta lists them.
  r = run("validate small.yaml", dir.path());  // the file itself is unchanged
  CHECK(r.code == 0);
  REQUIRE(std::system(("cd '" + dir.path().string() + "' && h5dump -d /meta/scenario -a /meta/set s.h5 > d.txt").c_str()) == 0);
  const std::string dump = test::read_bytes(dir.path() / "d.txt");
  CHECK(dump.find("choice: 0.25") != std::string::npos);
  CHECK(dump.find("schools: 60") != std::string::npos);
  CHECK(dump.find("league_tables: false") != std::string::npos);
  CHECK(dump.find("market.choice=0.25; world.schools=60; market.league_tables=false") != std::string::npos);

  // Unknown mechanism or parameter, a value out of range or not a number: every one listed, exit 2, nothing written.
  r = run("run small.yaml -o bad.h5 --set social_capital.trust_growth=0.1 --set markt.choice=1 --set market.choice=-1 "
          "--set crises.rate=often --set world.reach_kn=3 --set years=3 --set market.league_tables=1.5",
          dir.path());
  CHECK(r.code == 2);
  CAPTURE(r.err);
  CHECK(r.err.find("--set social_capital.trust_growth=0.1: error: 'social_capital' is not in the pipeline of "
                   "small.yaml (crises, turnover, attainment, market)") != std::string::npos);
  CHECK(r.err.find("--set markt.choice=1: error: unknown mechanism 'markt'; did you mean 'market'?") != std::string::npos);
  CHECK(r.err.find("--set market.choice=-1: error: market.choice: -1 is out of range [0, 1]") != std::string::npos);
  CHECK(r.err.find("--set crises.rate=often: error: crises.rate: expected a number, found 'often'") != std::string::npos);
  CHECK(r.err.find("--set world.reach_kn=3: error: unknown parameter 'reach_kn' of world; did you mean 'reach_km'?") !=
        std::string::npos);
  CHECK(r.err.find("--set years=3: error: expected mechanism.parameter=value or world.parameter=value") !=
        std::string::npos);
  CHECK(r.err.find("--set market.league_tables=1.5: error: market.league_tables: expected true or false") !=
        std::string::npos);
  CHECK(r.err.find("7 problems found; nothing was run or written.") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "bad.h5"));
  CHECK_FALSE(fs::exists(dir.path() / "results"));
  CHECK(run("--help", dir.path()).code == 0);
  CHECK(run("run --help", dir.path()).out.find("--set NAME=VALUE") != std::string::npos);
}
