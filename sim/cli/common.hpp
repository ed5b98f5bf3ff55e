// What every command of the command line shares: Ctrl-C, the
// progress bar, MPI ranks, the size check before a run, and producing an
// output file so that a failed or interrupted command leaves nothing behind.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sim/cli/cli.hpp"
#include "sim/config/config.hpp"
#include "sim/experiment/calibrate.hpp"
#include "sim/io/output.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace schoolsim::cli {

// Set by Ctrl-C (SIGINT) and SIGTERM once catch_interrupts() was called.
extern std::atomic<bool> g_interrupted;
void catch_interrupts();

// A one-line progress bar on a terminal; silent when stderr is not a terminal.
class Progress {
 public:
  Progress(std::int64_t total, bool enabled) : total_(total), enabled_(enabled), start_(clock::now()) {}
  void tick();
  void finish();

 private:
  using clock = std::chrono::steady_clock;
  std::int64_t total_;
  bool enabled_;
  std::atomic<std::int64_t> done_{0};
  std::mutex mu_;
  clock::time_point start_, last_{};
};

// True when a command that is not quiet writes to a terminal's stderr (then it
// shows progress).
bool progress_wanted(bool quiet);

// MPI, when schoolsim was started by mpirun (or srun): initialised for the
// life of a sweep or calibration, and only then, so a plain run never touches MPI.
// MPI's calls are in a module beside the binary (schoolsim-mpi.so), loaded then.
class Ranks {
 public:
  Ranks();
  ~Ranks();
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;
  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  // Every rank's values summed, in place, on every rank.
  void sum(std::vector<double>& v) const;
  // The largest value any rank holds.
  [[nodiscard]] int max(int v) const;

 private:
  int rank_ = 0, size_ = 1;
  struct Mpi;
  const Mpi* mpi_ = nullptr;  // the MPI module's functions, when MPI started this process
};

// The status line of a calibration on a terminal (`tty`), or, in a log
// (`log` without a terminal), one line per finished generation.
class CalibrationStatus {
 public:
  CalibrationStatus(const Calibration& c, bool tty, bool log);
  // Sets opts' on_simulation and on_batch; this object must outlive the calibration.
  void watch(CalibrateOptions& opts);
  void finish();  // ends the status line (after an error or Ctrl-C)
  void clear();   // clears it (after success)
  [[nodiscard]] double seconds() const;  // since construction

 private:
  void show();
  const Calibration& c_;
  bool tty_, log_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<std::int64_t> sims_{0}, attempts_{0};
  std::atomic<std::int32_t> gen_{0}, kept_{0};
  std::mutex mu_;
};

// Every problem, then how many, and that nothing was run or written.
void print_errors(const std::vector<Diagnostic>& errors);

// Removes the temporaries an earlier run of `command` left at `destination`
// when it was killed outright, and says so.
void remove_stale_temporaries(const char* command, const std::filesystem::path& destination);

// Opens the output file of `command` at `out` (after removing stale
// temporaries) with Ctrl-C caught from then on, so its temporary is always
// removed; with `sets`, the --set changes go to /meta. False (after saying
// why) when it cannot be created.
bool open_output(const char* command, const std::filesystem::path& out, const RunMeta& meta,
                 const std::vector<std::string>& sets, std::optional<OutputFile>& file);

// Runs `work`, which fills `file`, then commits the file. On Ctrl-C or an
// error the temporary file is removed, so nothing is left at `out`. Returns
// the exit code.
template <class F>
int produce(const char* command, std::optional<OutputFile>& file, Progress& progress,
            const std::filesystem::path& out, F&& work) {
  try {
    work();
    if (g_interrupted) throw Interrupted();
    file->commit();
  } catch (const Interrupted&) {
    progress.finish();
    file.reset();
    std::cerr << "schoolsim " << command << ": interrupted; nothing was written to " << out.string() << '\n';
    return kExitInterrupted;
  } catch (const std::exception& e) {
    progress.finish();
    file.reset();
    std::cerr << "schoolsim " << command << ": " << e.what() << "\nnothing was written to " << out.string() << '\n';
    return kExitFailure;
  }
  progress.finish();
  return kExitOk;
}

// "" when a run of `sc` on `threads` threads fits this machine's memory and
// the free space where `out` goes, else why not.
std::string too_large(const Scenario& sc, const Registry& registry, std::int32_t threads,
                      const std::filesystem::path& out);

// "" when a scenario's timeline fits in `years` years, else why not (for --years).
std::string years_too_short(const Scenario& sc, std::int32_t years, const std::string& label);

std::string human_bytes(std::uintmax_t bytes);

}  // namespace schoolsim::cli
