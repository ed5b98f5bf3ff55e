#include "sim/cli/common.hpp"

#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "sim/cli/module.hpp"
#include "sim/fields.hpp"
#include "sim/measures.hpp"
#include "sim/recording.hpp"
#include "sim/serve/live.hpp"

namespace schoolsim::cli {

std::atomic<bool> g_interrupted{false};

namespace {
extern "C" void on_sigint(int) { g_interrupted = true; }
}  // namespace

void catch_interrupts() {
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
}

void Progress::tick() {
  const std::int64_t done = ++done_;
  if (!enabled_) return;
  const auto now = clock::now();
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || (now - last_ < std::chrono::milliseconds(100) && done < total_)) return;
  last_ = now;
  const double frac = static_cast<double>(done) / static_cast<double>(total_);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  std::fprintf(stderr, "\r[%s%s] %3d%%  %lld/%lld terms  %.1fs elapsed, ~%.1fs left ",
               std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), '.').c_str(), static_cast<int>(frac * 100),
               static_cast<long long>(done), static_cast<long long>(total_), elapsed,
               frac > 0 ? elapsed * (1 - frac) / frac : 0.0);
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_) std::fprintf(stderr, "\r%*s\r", 90, "");
}

bool progress_wanted(bool quiet) { return !quiet && isatty(STDERR_FILENO); }

// The functions of schoolsim-mpi.so (sim/cli/mpi_module.cpp), once loaded.
struct Ranks::Mpi {
  void (*init)(int*, int*) = nullptr;
  void (*finalize)() = nullptr;
  void (*sum)(const double*, double*, int) = nullptr;
  int (*max)(int) = nullptr;
};

namespace {
template <class F>
void load(F& fn, const char* symbol) {
  std::string error;
  fn = reinterpret_cast<F>(module_function("schoolsim-mpi.so", symbol, error));
  if (fn == nullptr) throw std::runtime_error("started by mpirun, but " + error);
}
}  // namespace

Ranks::Ranks() {
#ifdef SCHOOLSIM_HAVE_MPI
  if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK")) {
    static Mpi mpi;
    load(mpi.init, "schoolsim_mpi_init");
    load(mpi.finalize, "schoolsim_mpi_finalize");
    load(mpi.sum, "schoolsim_mpi_sum");
    load(mpi.max, "schoolsim_mpi_max");
    mpi.init(&rank_, &size_);
    mpi_ = &mpi;
  }
#endif
}

Ranks::~Ranks() {
  if (mpi_ != nullptr) mpi_->finalize();
}

void Ranks::sum(std::vector<double>& v) const {
  if (mpi_ == nullptr) return;
  std::vector<double> out(v.size());
  mpi_->sum(v.data(), out.data(), static_cast<int>(v.size()));
  v = std::move(out);
}

int Ranks::max(int v) const { return mpi_ != nullptr ? mpi_->max(v) : v; }

CalibrationStatus::CalibrationStatus(const Calibration& c, bool tty, bool log)
    : c_(c), tty_(tty), log_(log), start_(std::chrono::steady_clock::now()) {}

double CalibrationStatus::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void CalibrationStatus::show() {
  if (!tty_) return;
  std::lock_guard lock(mu_);
  std::fprintf(stderr, "\rgeneration %d/%d: %d/%d particles kept of %lld attempts, %lld simulations, %.0fs elapsed ",
               gen_.load() + 1, c_.generations, kept_.load(), c_.population, static_cast<long long>(attempts_.load()),
               static_cast<long long>(sims_.load()), seconds());
  std::fflush(stderr);
}

void CalibrationStatus::watch(CalibrateOptions& opts) {
  opts.on_simulation = [this] {
    if (++sims_ % 8 == 0) show();
  };
  opts.on_batch = [this](std::int32_t g, std::int32_t kept, std::int64_t attempts) {
    gen_ = g;
    kept_ = kept;
    attempts_ = attempts;
    show();
    if (!tty_ && log_ && kept == c_.population) {
      std::fprintf(stderr, "schoolsim calibrate: generation %d/%d done: %d particles kept of %lld attempts, %.0f s elapsed\n",
                   g + 1, c_.generations, kept, static_cast<long long>(attempts), seconds());
    }
  };
}

void CalibrationStatus::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

void CalibrationStatus::clear() {
  if (tty_) std::fprintf(stderr, "\r%*s\r", 110, "");
}

void print_errors(const std::vector<Diagnostic>& errors) {
  for (const auto& d : errors) std::cerr << d.str() << '\n';
  std::cerr << errors.size() << (errors.size() == 1 ? " problem" : " problems")
            << " found; nothing was run or written.\n";
}

void remove_stale_temporaries(const char* command, const std::filesystem::path& destination) {
  for (const auto& p : schoolsim::remove_stale_temporaries(destination)) {
    std::cerr << "schoolsim " << command << ": removed " << (destination.has_parent_path() ? p : p.filename()).string()
              << ", left by an earlier run that was killed before it finished\n";
  }
}

bool open_output(const char* command, const std::filesystem::path& out, const RunMeta& meta,
                 const std::vector<std::string>& sets, std::optional<OutputFile>& file) {
  catch_interrupts();
  remove_stale_temporaries(command, out);
  try {
    file.emplace(out, meta);
    write_sets(*file, sets);
  } catch (const std::exception& e) {
    std::cerr << "schoolsim " << command << ": cannot create the output: " << e.what() << '\n';
    return false;
  }
  return true;
}

std::string human_bytes(std::uintmax_t bytes) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  if (bytes >= (1u << 20)) {
    o << static_cast<double>(bytes) / (1 << 20) << " MiB";
  } else {
    o << static_cast<double>(bytes) / (1 << 10) << " KiB";
  }
  return o.str();
}

namespace {

// What a run of `sc` needs, estimated before anything runs (issue 14): the
// memory its replicates hold at once, and the output file's size.
struct SizeEstimate {
  double memory_bytes = 0, output_bytes = 0;
};

SizeEstimate estimate_size(const Scenario& sc, const Registry& registry, std::int32_t threads) {
  const double n = live::world_schools(sc, registry);
  const double rows = (sc.record.every == Cadence::term ? sc.terms() : sc.years) + 1.0;
  double width = 0;
  for (Field f : sc.record.schools) width += info(f).storage == Storage::vector ? 8 : 1;  // practice: a few dimensions
  const double series = rows * n * width * 4;  // float or int32 per value
  const double attainment = sc.record.attainment ? (sc.years + 1.0) * n * 2 * 4 : 0;
  const double system = sc.record.system ? (sc.terms() + 1.0) * kMeasureCount * 8 : 0;
  const double ties = sc.record.ties ? n * (sc.years + 1.0) * 2 * sizeof(TieEvent) : 0;
  const double recording = series + attainment + system + ties;
  // Three states (now, the initial world, the final one), each with its columns,
  // neighbour lists (tens per school) and ties.
  const double state = n * (kFieldCount * 8.0 + 8 * 8 + 40 * 28 + 10 * 80);
  const double at_once = std::min<double>(std::max(1, threads), sc.replicates);
  return {at_once * (recording + 3 * state), sc.replicates * recording};
}

double machine_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? static_cast<double>(pages) * static_cast<double>(size) : 0;
}

double free_disk(const std::filesystem::path& out) {
  std::error_code ec;
  std::filesystem::path dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
  while (!dir.empty() && !std::filesystem::exists(dir, ec)) dir = dir.parent_path();
  const auto space = std::filesystem::space(dir.empty() ? std::filesystem::path(".") : dir, ec);
  return ec ? 0 : static_cast<double>(space.available);
}

}  // namespace

std::string too_large(const Scenario& sc, const Registry& registry, std::int32_t threads,
                      const std::filesystem::path& out) {
  const SizeEstimate e = estimate_size(sc, registry, threads);
  const double memory = machine_memory(), disk = free_disk(out);
  std::string why;
  if (memory > 0 && e.memory_bytes > memory) {
    why += "it would need about " + human_bytes(static_cast<std::uintmax_t>(e.memory_bytes)) +
           " of memory; this machine has " + human_bytes(static_cast<std::uintmax_t>(memory));
  }
  if (disk > 0 && e.output_bytes > disk) {
    why += std::string(why.empty() ? "" : ", and ") + "it would write about " +
           human_bytes(static_cast<std::uintmax_t>(e.output_bytes)) + " where " +
           human_bytes(static_cast<std::uintmax_t>(disk)) + " are free";
  }
  return why;
}

std::string years_too_short(const Scenario& sc, std::int32_t years, const std::string& label) {
  for (const auto& ev : sc.timeline) {
    if (ev.year >= years) {
      return "--years " + std::to_string(years) + " is too short for the timeline event of " + label + " in year " +
             std::to_string(ev.year);
    }
  }
  return "";
}

}  // namespace schoolsim::cli
