#include "sim/cli/cli.hpp"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef SCHOOLSIM_HAVE_MPI
// The C API only: the deprecated C++ bindings need a library we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <mutex>
#include <sstream>

#include "sim/checkpoint.hpp"
#include "sim/config/config.hpp"
#include "sim/experiment/compare.hpp"
#include "sim/experiment/decompose.hpp"
#include "sim/serve/builtin.hpp"
#include "sim/serve/live.hpp"
#include "sim/serve/server.hpp"
#include "sim/experiment/sensitivity.hpp"
#include "sim/experiment/sweep.hpp"
#include "sim/io/calibration.hpp"
#include "sim/io/output.hpp"
#include "sim/measures.hpp"
#include "sim/simulation.hpp"

namespace schoolsim {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted = true; }

const char* kExitCodesHelp =
    "Exit codes: 0 success; 1 the run failed (nothing left at the output path); 2 bad scenario "
    "or command line (nothing written); 130 interrupted by Ctrl-C (nothing written).";

// A one-line progress bar on a terminal; silent when stderr is not a terminal.
class Progress {
 public:
  Progress(std::int64_t total, bool enabled) : total_(total), enabled_(enabled), start_(clock::now()) {}
  void tick() {
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
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(),
                 static_cast<int>(frac * 100), static_cast<long long>(done),
                 static_cast<long long>(total_), elapsed, frac > 0 ? elapsed * (1 - frac) / frac : 0.0);
    std::fflush(stderr);
  }
  void finish() {
    if (enabled_) std::fprintf(stderr, "\r%*s\r", 90, "");
  }

 private:
  using clock = std::chrono::steady_clock;
  std::int64_t total_;
  bool enabled_;
  std::atomic<std::int64_t> done_{0};
  std::mutex mu_;
  clock::time_point start_, last_{};
};

void print_errors(const std::vector<Diagnostic>& errors) {
  for (const auto& d : errors) std::cerr << d.str() << '\n';
  std::cerr << errors.size() << (errors.size() == 1 ? " problem" : " problems")
            << " found; nothing was run or written.\n";
}

// "tie formation phase, every term": when a mechanism runs (docs/ODD.md, section 3).
std::string timing(const MechanismInfo& m) {
  return std::string(phase_name(m.phase)) + " phase, " + (m.cadence() == Cadence::term ? "every term" : "yearly");
}

std::string range_text(const ParamSpec& p) {
  if (p.type == ParamType::boolean) return "true/false";
  if (p.type == ParamType::choice) {
    std::string out;
    for (const auto& c : p.choices) out += (out.empty() ? "" : " / ") + c;
    return out;
  }
  return "[" + format_number(p.lo) + ", " + format_number(p.hi) + "]";
}

std::string default_text(const ParamSpec& p) { return value_text(p, p.def); }

std::string field_list(const Access& access) {
  const std::string out = access.text();
  return out.empty() ? "-" : out;
}

void describe_params_text(std::ostream& out, const std::vector<ParamSpec>& params) {
  if (params.empty()) out << "    (none)\n";
  for (const auto& p : params) {
    out << "    " << std::left << std::setw(30) << p.name << " default " << std::setw(8)
        << default_text(p) << " range " << std::setw(14) << range_text(p) << " " << p.unit << "\n"
        << "        " << p.meaning << "\n"
        << "        " << source_text(p.source) << "\n";
  }
}

void describe_params_markdown(std::ostream& out, const std::vector<ParamSpec>& params) {
  if (params.empty()) {
    out << "No parameters.\n";
    return;
  }
  out << "| parameter | default | range | unit | meaning | basis of the value |\n"
      << "|---|---|---|---|---|---|\n";
  for (const auto& p : params)
    out << "| `" << p.name << "` | " << default_text(p) << " | " << range_text(p) << " | "
        << p.unit << " | " << p.meaning << " | " << source_text(p.source) << " |\n";
}

}  // namespace

std::string basis_counts(const Registry& registry, const std::vector<std::string>& only) {
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  int count[3] = {0, 0, 0};
  auto add = [&](const std::vector<ParamSpec>& params) {
    for (const auto& p : params) ++count[static_cast<int>(basis_of(p.source))];
  };
  if (wanted("world")) add(registry.world().params);
  for (const auto& m : registry.mechanisms())
    if (wanted(m.name)) add(m.params);
  const int sourced = count[static_cast<int>(Basis::sourced)];
  const int calibrated = count[static_cast<int>(Basis::calibrated)];
  const int choices = count[static_cast<int>(Basis::scenario_choice)];
  return std::to_string(sourced + calibrated + choices) + " parameters: " +
         std::to_string(sourced) + " sourced, " + std::to_string(calibrated) + " calibrated, " +
         std::to_string(choices) + (choices == 1 ? " scenario choice" : " scenario choices");
}

std::string describe_markdown(const Registry& registry, const std::vector<std::string>& only) {
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  std::ostringstream out;
  if (only.empty()) out << "Basis of the values: " << basis_counts(registry, only) << ".\n\n";
  if (wanted("world")) {
    out << "### world\n\n" << registry.world().summary << "\n\n";
    describe_params_markdown(out, registry.world().params);
    out << "\n";
  }
  for (const auto& m : registry.mechanisms()) {
    if (!wanted(m.name)) continue;
    out << "### " << m.name << " (`models/" << m.family << "`, " << timing(m) << ")\n\n"
        << m.summary << "\n\nReads: " << field_list(m.reads) << ". Writes: " << field_list(m.writes) << ".\n\n";
    describe_params_markdown(out, m.params);
    out << "\n";
  }
  const bool all = only.empty();
  if (all || wanted("variables")) {
    if (all) out << "### School variables\n\n";
    out << "| variable | storage | fixed or dynamic | unit | meaning |\n|---|---|---|---|---|\n";
    for (const auto& f : kFields)
      out << "| `" << f.name << "` | "
          << (f.storage == Storage::real ? "real" : f.storage == Storage::integer ? "integer" : "vector")
          << " | " << (f.role == Role::fixed ? "fixed" : "dynamic") << " | " << f.unit << " | "
          << f.meaning << " |\n";
    out << "\n";
  }
  if (all || wanted("measures")) {
    if (all) out << "### System measures\n\n";
    out << "| measure | unit | meaning |\n|---|---|---|\n";
    for (const auto& m : kSystemMeasures)
      out << "| `" << m.name << "` | " << m.unit << " | " << m.meaning << " |\n";
    out << "\n";
  }
  return out.str();
}

namespace {

int cmd_describe(const Registry& registry, const std::vector<std::string>& only, bool markdown) {
  for (const auto& name : only)
    if (name != "world" && name != "variables" && name != "measures" && !registry.find(name)) {
      std::cerr << "schoolsim describe: unknown mechanism '" << name << "'";
      auto names = registry.names();
      const std::string guess = nearest(name, names);
      if (!guess.empty()) std::cerr << "; did you mean '" << guess << "'?";
      std::cerr << "\nvalid names: world, variables, measures";
      for (const auto& n : names) std::cerr << ", " << n;
      std::cerr << '\n';
      return kExitBadInput;
    }
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  if (markdown) {
    std::cout << describe_markdown(registry, only);
    return kExitOk;
  }
  auto& out = std::cout;
  if (const auto counts = basis_counts(registry, only); !counts.starts_with("0 parameters"))
    out << counts << "\n\n";
  if (wanted("world")) {
    out << "world: " << registry.world().summary << "\n  parameters (scenario key 'world'):\n";
    describe_params_text(out, registry.world().params);
    out << "\n";
  }
  for (const auto& m : registry.mechanisms()) {
    if (!wanted(m.name)) continue;
    out << m.name << " (models/" << m.family << ", " << timing(m) << "): " << m.summary
        << "\n  reads: " << field_list(m.reads) << "\n  writes: " << field_list(m.writes) << "\n  parameters:\n";
    describe_params_text(out, m.params);
    out << "\n";
  }
  if (only.empty()) {
    out << "school variables:\n";
    for (const auto& f : kFields)
      out << "  " << std::left << std::setw(16) << f.name << std::setw(24) << f.unit << f.meaning
          << "\n";
    out << "\nsystem measures (/system):\n";
    for (const auto& m : kSystemMeasures)
      out << "  " << std::left << std::setw(22) << m.name << std::setw(16) << m.unit << m.meaning
          << "\n";
  }
  return kExitOk;
}

std::string human_bytes(std::uintmax_t bytes);

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

// "" when the run fits this machine (or --allow-large was given), else why not.
std::string too_large(const Scenario& sc, const Registry& registry, std::int32_t threads,
                      const std::filesystem::path& out) {
  const SizeEstimate e = estimate_size(sc, registry, threads);
  const double memory = machine_memory(), disk = free_disk(out);
  std::string why;
  if (memory > 0 && e.memory_bytes > memory)
    why += "it would need about " + human_bytes(static_cast<std::uintmax_t>(e.memory_bytes)) +
           " of memory; this machine has " + human_bytes(static_cast<std::uintmax_t>(memory));
  if (disk > 0 && e.output_bytes > disk)
    why += std::string(why.empty() ? "" : ", and ") + "it would write about " +
           human_bytes(static_cast<std::uintmax_t>(e.output_bytes)) + " where " +
           human_bytes(static_cast<std::uintmax_t>(disk)) + " are free";
  return why;
}

int cmd_validate(const Registry& registry, const std::vector<std::string>& files, bool resolved, bool allow_large) {
  int status = kExitOk;
  for (const auto& file : files) {
    LoadResult r = load_scenario(file, registry);
    for (const auto& w : r.warnings) std::cerr << w.str() << '\n';
    if (!r.scenario) {
      print_errors(r.errors);
      status = kExitBadInput;
      continue;
    }
    const std::string why = allow_large ? "" : too_large(*r.scenario, registry, 1, "results/x.h5");
    if (!why.empty()) {
      std::cerr << file << ": error: too large to run here: " << why
                << " (--allow-large skips this check)\n";
      status = kExitBadInput;
      continue;
    }
    if (resolved)
      std::cout << "# " << file << " (resolved)\n" << to_yaml(*r.scenario, registry);
    else
      std::cout << file << ": ok (" << r.scenario->pipeline.size() << " mechanisms, "
                << r.scenario->years << " years, " << r.scenario->replicates << " replicates)\n";
  }
  return status;
}

// "" when a scenario's timeline fits in `years` years, else why not (for --years).
std::string years_too_short(const Scenario& sc, std::int32_t years, const std::string& label) {
  for (const auto& ev : sc.timeline)
    if (ev.year >= years)
      return "--years " + std::to_string(years) + " is too short for the timeline event of " + label + " in year " +
             std::to_string(ev.year);
  return "";
}

// The --set changes as one line, for the output file's /meta.
std::string joined_sets(const std::vector<std::string>& sets) {
  std::string out;
  for (const auto& s : sets) out += (out.empty() ? "" : "; ") + s;
  return out;
}

struct RunArgs {
  std::string scenario;
  std::string output;
  std::optional<std::uint64_t> seed;
  std::optional<std::int32_t> replicates;
  std::optional<std::int32_t> years;
  std::int32_t threads = 1;
  bool quiet = false;
  std::optional<std::int32_t> checkpoint_year;
  std::string checkpoint_file, restart_file;
  bool allow_large = false;
  std::vector<std::string> sets;  // --set NAME=VALUE
  std::string posterior;
  unsigned compression = kDefaultCompression;
};

std::string human_bytes(std::uintmax_t bytes) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  if (bytes >= (1u << 20))
    o << static_cast<double>(bytes) / (1 << 20) << " MiB";
  else
    o << static_cast<double>(bytes) / (1 << 10) << " KiB";
  return o.str();
}

// Temporary files this program leaves only when killed outright (SIGKILL, a
// power cut): `<destination>.tmp-<pid>` of a process that no longer runs. They
// are removed when the next run writes the same destination, and it says so.
void remove_stale_temporaries(const char* command, const std::filesystem::path& destination) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = destination.has_parent_path() ? destination.parent_path() : fs::path(".");
  const std::string prefix = destination.filename().string() + ".tmp-";
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to know)
    std::error_code type_ec;
    if (!fs::is_regular_file(it->symlink_status(type_ec))) continue;
    stale.push_back(it->path());
  }
  for (const auto& p : stale) {
    std::error_code rm;
    if (fs::remove(p, rm))
      std::cerr << "schoolsim " << command << ": removed " << (destination.has_parent_path() ? p : p.filename()).string()
                << ", left by an earlier run that was killed before it finished\n";
  }
}

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

// `--posterior FILE`: the calibration posterior every replicate draws its
// parameters from, checked against this schoolsim and the scenarios it will
// change; nothing when no file was given. Prints what is wrong and returns
// false on bad input.
bool load_posterior_for(const char* command, const std::string& path, const Registry& registry,
                        const std::vector<const Scenario*>& scenarios, std::shared_ptr<const Posterior>& out) {
  if (path.empty()) return true;
  try {
    Posterior p = read_posterior(path);
    if (const std::string why = resolve_posterior(p, registry); !why.empty()) {
      std::cerr << "schoolsim " << command << ": " << path << ": " << why << "; nothing was run or written.\n";
      return false;
    }
    for (const Scenario* sc : scenarios) {
      const auto unused = unused_by(p, *sc);
      if (unused.size() == p.names.size()) {
        std::cerr << "schoolsim " << command << ": " << path << ": none of the posterior's parameters acts in scenario '"
                  << sc->name << "'; nothing was run or written.\n";
        return false;
      }
      for (const auto& n : unused)
        std::cerr << "schoolsim " << command << ": note: the posterior's " << n << " does not act in scenario '"
                  << sc->name << "' (its mechanism is not in the pipeline)\n";
    }
    out = std::make_shared<const Posterior>(std::move(p));
  } catch (const std::exception& e) {
    std::cerr << "schoolsim " << command << ": " << e.what() << "; nothing was run or written.\n";
    return false;
  }
  return true;
}

// What an interval includes, as the tables and files say it.
std::string uncertainty_text(const std::shared_ptr<const Posterior>& p) {
  if (!p) return "replicate noise only";
  return "replicate noise and parameter uncertainty (" + std::to_string(p->names.size()) +
         " parameters drawn from the posterior in " + p->source + ")";
}

int cmd_run(const Registry& registry, const RunArgs& args) {
  LoadResult r = load_scenario(args.scenario, registry);
  if (!args.quiet)
    for (const auto& w : r.warnings) std::cerr << w.str() << '\n';
  if (!r.scenario) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  Scenario sc = std::move(*r.scenario);
  if (const auto bad = apply_overrides(sc, args.sets, registry, args.scenario); !bad.empty()) {
    print_errors(bad);
    return kExitBadInput;
  }
  if (sc.register_data && !args.quiet) std::cerr << sc.register_data->summary;  // what the register gave (docs/DATA.md)
  if (args.seed) sc.seed = *args.seed;
  if (args.replicates) sc.replicates = *args.replicates;
  if (args.years) {
    if (const std::string why = years_too_short(sc, *args.years, args.scenario); !why.empty()) {
      std::cerr << "schoolsim run: " << why << "; nothing was run or written.\n";
      return kExitBadInput;
    }
    sc.years = *args.years;
  }
  std::shared_ptr<const Posterior> posterior;
  if (!load_posterior_for("run", args.posterior, registry, {&sc}, posterior)) return kExitBadInput;
  if (posterior && (args.checkpoint_year || !args.restart_file.empty())) {
    std::cerr << "schoolsim run: --posterior cannot be combined with checkpoints or restarts; nothing was run or "
                 "written.\n";
    return kExitBadInput;
  }
  const std::filesystem::path out_path =
      args.output.empty() ? std::filesystem::path("results") /
                                (std::filesystem::path(args.scenario).stem().string() + ".h5")
                          : std::filesystem::path(args.output);
  if (!args.allow_large)
    if (const std::string why = too_large(sc, registry, args.threads, out_path); !why.empty()) {
      std::cerr << "schoolsim run: " << args.scenario << " is too large to run here: " << why
                << ". Nothing was run or written; --allow-large runs it anyway.\n";
      return kExitBadInput;
    }
  const std::string resolved = to_yaml(sc, registry);
  std::optional<Checkpoint> restart;
  if ((args.checkpoint_year || !args.restart_file.empty()) && sc.replicates != 1) {
    std::cerr << "schoolsim run: checkpoints hold one replicate; run with --replicates 1\n";
    return kExitBadInput;
  }
  if (args.checkpoint_year && *args.checkpoint_year >= sc.years) {
    std::cerr << "schoolsim run: --checkpoint-at " << *args.checkpoint_year << " is not before the end (year "
              << sc.years << ")\n";
    return kExitBadInput;
  }
  if (!args.restart_file.empty()) {
    try {
      restart = load_checkpoint(args.restart_file);
    } catch (const std::exception& e) {
      std::cerr << "schoolsim run: " << e.what() << '\n';
      return kExitBadInput;
    }
    if (restart->scenario != resolved) {
      std::cerr << "schoolsim run: " << args.restart_file
                << " was made by a different scenario or seed; a restart continues the same run (to branch "
                   "into another regime, use compare --from)\n";
      return kExitBadInput;
    }
  }

  RunMeta meta{sc.name, to_yaml(sc, registry), sc.seed, sc.replicates, sc.years, SCHOOLSIM_VERSION};
  meta.compression = args.compression;
  const auto t0 = std::chrono::steady_clock::now();
  // Ctrl-C from here on is caught: the temporary file below is always removed.
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  remove_stale_temporaries("run", out_path);
  if (args.checkpoint_year)
    remove_stale_temporaries("run", !args.checkpoint_file.empty() ? std::filesystem::path(args.checkpoint_file)
                                                                  : std::filesystem::path(out_path).replace_extension(".ckpt"));
  std::optional<OutputFile> file;
  try {
    file.emplace(out_path, meta);
    if (!args.sets.empty()) file->set_attribute("meta", "set", joined_sets(args.sets));
  } catch (const std::exception& e) {
    std::cerr << "schoolsim run: cannot create the output: " << e.what() << '\n';
    return kExitFailure;
  }

  const bool tty = !args.quiet && isatty(STDERR_FILENO);
  Progress progress(static_cast<std::int64_t>(sc.terms()) * sc.replicates, tty);
  RunOptions opts;
  opts.threads = args.threads;
  opts.on_term = [&] { progress.tick(); };
  opts.cancel = &g_interrupted;
  if (posterior)
    opts.per_replicate = [&](std::int32_t rep, Scenario& one) { apply_posterior(*posterior, sc.seed, rep, one); };
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  const std::filesystem::path checkpoint_path =
      !args.checkpoint_file.empty() ? std::filesystem::path(args.checkpoint_file)
                                    : std::filesystem::path(out_path).replace_extension(".ckpt");
  if (args.checkpoint_year) {
    opts.checkpoint_term = *args.checkpoint_year * kTermsPerYear;
    opts.on_checkpoint = [&](const State& state, const Recording& so_far) {
      save_checkpoint(checkpoint_path, Checkpoint{resolved, 0, opts.checkpoint_term, state, so_far});
    };
  }

  file->set_attribute("meta", "uncertainty", uncertainty_text(posterior));
  if (posterior) file->write_text("meta/posterior", posterior->source, "the calibration file the parameters were drawn from");
  std::array<double, kMeasureCount> start{}, end{};
  std::int32_t n_schools = 0, n_areas = 0;
  const int status = produce("run", file, progress, out_path, [&] {
    auto sink = [&](Recording&& rec) {
      file->write(rec);
      n_schools = rec.n_schools;
      n_areas = rec.n_areas;
      for (std::size_t m = 0; m < kMeasureCount; ++m) {
        start[m] += kSystemMeasures[m].compute(rec.initial) / sc.replicates;
        end[m] += kSystemMeasures[m].compute(rec.final_state) / sc.replicates;
      }
    };
    if (restart)
      sink(continue_replicate(sc, registry, restart->replicate, std::move(restart->state), restart->terms_done,
                              std::move(restart->recording), opts));
    else
      run_all(sc, registry, opts, sink);
  });
  if (status != kExitOk) return status;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!args.quiet) {
    auto& o = std::cout;
    o << "schoolsim " << SCHOOLSIM_VERSION << ": scenario '" << sc.name << "' (" << args.scenario
      << "), seed " << sc.seed << "\n"
      << n_schools << " schools in " << n_areas << " areas, " << sc.years << " years (" << sc.terms()
      << " terms), " << sc.replicates << (sc.replicates == 1 ? " replicate" : " replicates")
      << (sc.replicates > 1 ? " (means shown)" : "") << "\n"
      << (posterior ? "parameters: each replicate drawn from the posterior in " + posterior->source + "\n" : std::string())
      << "\n"
      << std::left << std::setw(26) << "" << std::right << std::setw(12) << "start" << std::setw(12)
      << "end" << "\n";
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      const auto& mi = kSystemMeasures[m];
      // Counts read as whole numbers (means over replicates get one decimal).
      const bool count = mi.unit == "schools" || mi.unit == "ties" || mi.unit == "pupils";
      o << std::left << std::setw(26) << mi.name << std::right << std::fixed
        << std::setprecision(count ? (sc.replicates > 1 ? 1 : 0) : 3) << std::setw(12) << start[m]
        << std::setw(12) << end[m] << "  " << mi.unit << "\n";
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(out_path, ec);
    o << "\nwrote " << out_path.string() << " (" << (ec ? "?" : human_bytes(size)) << ") in "
      << std::setprecision(2) << secs << " s\n";
  }
  return kExitOk;
}

struct CompareArgs {
  std::string a, b, output, from, posterior;
  std::optional<std::uint64_t> seed;
  std::optional<std::int32_t> years;
  std::vector<std::string> sets;  // --set NAME=VALUE, applied to both arms
  std::int32_t replicates = 20;
  std::int32_t threads = 1;
  bool quiet = false;
  bool decompose = false;         // compare --decompose
  std::int32_t permutations = 32;  // lever orders per replicate when sampled
};

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

// Decimals that show three significant digits of a difference (or of its
// interval's half-width, if wider): a small measure beside a large effect
// is not shown as 0.000. With no difference at all, those of the values.
int table_decimals(double diff, double lo, double hi, std::initializer_list<double> values) {
  double ref = std::max(std::abs(diff), std::isfinite(hi - lo) ? (hi - lo) / 2 : 0.0);
  if (!(ref > 0))
    for (double v : values) ref = std::max(ref, std::isfinite(v) ? std::abs(v) : 0.0);
  if (!(ref > 0)) return 0;
  return std::clamp(2 - static_cast<int>(std::floor(std::log10(ref))), 0, 8);
}

std::string_view effect_basis_code(EffectBasis basis) {
  switch (basis) {
    case EffectBasis::pupil_sd: return "as is";
    case EffectBasis::between_schools: return "schools";
    case EffectBasis::between_replicates: return "reps";
  }
  return "";
}

// The output file of a paired command (compare, compare --decompose): its
// default path, its /meta, and the file itself, created with Ctrl-C caught
// from then on so the temporary is always removed; with `record_sets`, the
// --set changes go to /meta. False (after saying why) when it cannot be created.
std::filesystem::path paired_output(const CompareArgs& args, const char* prefix) {
  if (!args.output.empty()) return args.output;
  return std::filesystem::path("results") / (std::string(prefix) + "-" + std::filesystem::path(args.a).stem().string() +
                                             "-" + std::filesystem::path(args.b).stem().string() + ".h5");
}

bool open_paired_output(const char* kind, const Scenario& a, const Scenario& b, const CompareArgs& args,
                        const Registry& registry, const std::filesystem::path& out_path,
                        std::optional<OutputFile>& file, bool record_sets) {
  RunMeta meta;
  meta.kind = kind;
  meta.scenario_name = a.name + " vs " + b.name;
  meta.scenario_yaml = to_yaml(a, registry);
  meta.seed = a.seed;
  meta.replicates = args.replicates;
  meta.years = a.years;
  meta.program_version = SCHOOLSIM_VERSION;
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  remove_stale_temporaries("compare", out_path);
  try {
    file.emplace(out_path, meta);
    if (record_sets && !args.sets.empty()) file->set_attribute("meta", "set", joined_sets(args.sets));
  } catch (const std::exception& e) {
    std::cerr << "schoolsim compare: cannot create the output: " << e.what() << '\n';
    return false;
  }
  return true;
}

// compare --decompose: B - A of every measure attributed to the levers that
// differ (sim/experiment/decompose.hpp, docs/EXPERIMENTS.md).
int cmd_decompose(const Registry& registry, const CompareArgs& args, const Scenario& a, const Scenario& b) {
  const LeverSet set = find_levers(a, b, registry);
  std::string why = set.error;
  if (why.empty() && set.levers.empty()) why = "the two scenarios do not differ in any lever, so there is nothing to attribute";
  if (!why.empty()) {
    std::cerr << "schoolsim compare --decompose: " << args.a << " and " << args.b << ": " << why
              << "; nothing was run or written.\n";
    return kExitBadInput;
  }
  std::optional<Checkpoint> branch;
  if (!args.from.empty()) {
    try {
      branch = load_checkpoint(args.from);
    } catch (const std::exception& e) {
      std::cerr << "schoolsim compare: " << e.what() << '\n';
      return kExitBadInput;
    }
    if (branch->terms_done >= a.terms()) {
      std::cerr << "schoolsim compare: " << args.from << " is after year " << branch->terms_done / kTermsPerYear
                << "; the scenarios end at year " << a.years << '\n';
      return kExitBadInput;
    }
    for (const auto& l : set.levers)
      if (l.kind == LeverKind::world) {
        std::cerr << "schoolsim compare --decompose: the scenarios differ in " << l.name
                  << ", but runs branched from a checkpoint (--from) share its world; nothing was run or written.\n";
        return kExitBadInput;
      }
  }
  const std::filesystem::path out_path = paired_output(args, "decompose");
  ShapleyOptions shapley;
  shapley.permutations = args.permutations;
  shapley.seed = a.seed;
  const std::size_t runs = decomposition_runs(set.levers.size(), args.replicates, shapley);
  std::optional<OutputFile> file;
  if (!open_paired_output("decompose", a, b, args, registry, out_path, file, false)) return kExitFailure;
  const bool tty = !args.quiet && isatty(STDERR_FILENO);
  const std::int32_t terms = a.terms() - (branch ? branch->terms_done : 0);
  Progress progress(static_cast<std::int64_t>(runs) * terms, tty);
  RunOptions opts;
  opts.threads = args.threads;
  opts.on_term = [&] { progress.tick(); };
  opts.cancel = &g_interrupted;
  Decomposition d;
  const int status = produce("compare", file, progress, out_path, [&] {
    d = decompose(a, b, registry, args.replicates, opts, shapley, branch ? &branch->state : nullptr,
                  branch ? branch->terms_done : 0);
    file->write_text("meta/scenario_a", to_yaml(a, registry), "arm A: the resolved scenario");
    file->write_text("meta/scenario_b", to_yaml(b, registry), "arm B: the resolved scenario");
    file->set_attribute("meta", "scenario_a_name", a.name);
    file->set_attribute("meta", "scenario_b_name", b.name);
    write_decomposition(*file, d);
  });
  if (status != kExitOk || args.quiet) return status;
  std::cout << "schoolsim compare --decompose: A = '" << a.name << "' (" << args.a << "), B = '" << b.name << "' ("
            << args.b << "), seed " << a.seed << ", " << a.years << " years\n\n"
            << decomposition_table(d) << "\nevery year's values, per replicate, are in " << out_path.string() << "\n";
  return kExitOk;
}

// Four significant digits, for values of any size.
std::string sig(double v) {
  if (std::isnan(v)) return "-";
  std::ostringstream o;
  o << std::setprecision(4) << v;
  return o.str();
}

int cmd_compare(const Registry& registry, const CompareArgs& args) {
  LoadResult ra = load_scenario(args.a, registry), rb = load_scenario(args.b, registry);
  if (!ra.scenario || !rb.scenario) {
    std::vector<Diagnostic> all = ra.errors;
    all.insert(all.end(), rb.errors.begin(), rb.errors.end());
    print_errors(all);
    return kExitBadInput;
  }
  Scenario a = std::move(*ra.scenario), b = std::move(*rb.scenario);
  {
    std::vector<Diagnostic> bad = apply_overrides(a, args.sets, registry, "A (" + args.a + ")");
    // A value wrong for both arms is listed once.
    for (const Diagnostic& d : apply_overrides(b, args.sets, registry, "B (" + args.b + ")"))
      if (std::none_of(bad.begin(), bad.end(), [&](const Diagnostic& e) { return e.str() == d.str(); })) bad.push_back(d);
    if (!bad.empty()) {
      print_errors(bad);
      return kExitBadInput;
    }
  }
  if (args.years) {
    for (const auto& [sc, label] : {std::pair{&a, "A (" + args.a + ")"}, std::pair{&b, "B (" + args.b + ")"}})
      if (const std::string why = years_too_short(*sc, *args.years, label); !why.empty()) {
        std::cerr << "schoolsim compare: " << why << "; nothing was run or written.\n";
        return kExitBadInput;
      }
    a.years = b.years = *args.years;
  }
  if (args.seed) a.seed = *args.seed;
  if (args.decompose) {
    if (!args.posterior.empty()) {
      std::cerr << "schoolsim compare: --decompose does not take --posterior yet (a posterior draw would reset the "
                   "levers it switches); nothing was run or written.\n";
      return kExitBadInput;
    }
    return cmd_decompose(registry, args, a, b);
  }
  std::shared_ptr<const Posterior> posterior;
  if (!load_posterior_for("compare", args.posterior, registry, {&a, &b}, posterior)) return kExitBadInput;
  if (const std::string why = comparable(a, b); !why.empty()) {
    std::cerr << "schoolsim compare: " << args.a << " and " << args.b << ": " << why
              << "; nothing was run or written.\n";
    return kExitBadInput;
  }
  const std::filesystem::path out_path = paired_output(args, "compare");
  std::optional<OutputFile> file;
  if (!open_paired_output("compare", a, b, args, registry, out_path, file, true)) return kExitFailure;
  const bool tty = !args.quiet && isatty(STDERR_FILENO);
  Progress progress(2LL * a.terms() * args.replicates, tty);
  RunOptions opts;
  opts.threads = args.threads;
  opts.on_term = [&] { progress.tick(); };
  opts.cancel = &g_interrupted;
  // Both arms of replicate r draw the same particle: the draw depends on A's seed and r only.
  if (posterior)
    opts.per_replicate = [&](std::int32_t rep, Scenario& one) { apply_posterior(*posterior, a.seed, rep, one); };
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  std::optional<Checkpoint> branch;
  if (!args.from.empty()) {
    try {
      branch = load_checkpoint(args.from);
    } catch (const std::exception& e) {
      std::cerr << "schoolsim compare: " << e.what() << '\n';
      return kExitBadInput;
    }
    if (branch->terms_done >= a.terms()) {
      std::cerr << "schoolsim compare: " << args.from << " is after year " << branch->terms_done / kTermsPerYear
                << "; the scenarios end at year " << a.years << '\n';
      return kExitBadInput;
    }
  }
  Comparison c;
  const int status = produce("compare", file, progress, out_path, [&] {
    c = compare(a, b, registry, args.replicates, opts,
                branch ? Branch{&branch->state, branch->terms_done} : Branch{});
    const std::size_t rows = c.terms.size();
    const auto reps = static_cast<std::size_t>(c.replicates);
    file->write_text("meta/scenario_a", to_yaml(a, registry), "arm A: the resolved scenario");
    file->write_text("meta/scenario_b", to_yaml(b, registry), "arm B: the resolved scenario");
    file->set_attribute("meta", "scenario_a_name", a.name);
    file->set_attribute("meta", "scenario_b_name", b.name);
    file->set_attribute("meta", "uncertainty", uncertainty_text(posterior));
    file->write_table("compare/term", {rows}, c.terms.data(), "terms", "terms completed at each row (0 = start)");
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      const auto& mi = kSystemMeasures[m];
      const std::string g = "compare/" + std::string(mi.name);
      file->write_table(g + "/a", {reps, rows}, c.a[m].data(), mi.unit, "arm A, per replicate");
      file->write_table(g + "/b", {reps, rows}, c.b[m].data(), mi.unit, "arm B, per replicate");
      file->write_table(g + "/diff_mean", {rows}, c.diff_mean[m].data(), mi.unit, "mean of B - A over replicates");
      file->write_table(g + "/diff_lo", {rows}, c.diff_lo[m].data(), mi.unit, "lower end of the 95% interval of B - A");
      file->write_table(g + "/diff_hi", {rows}, c.diff_hi[m].data(), mi.unit, "upper end of the 95% interval of B - A");
      file->set_attribute(g, "unit", std::string(mi.unit));
      file->set_attribute(g, "meaning", std::string(mi.meaning));
      file->set_attribute(g, "effect_size", c.effect_size[m]);
      file->set_attribute(g, "effect_scale", c.effect_scale[m]);
      file->set_attribute(g, "effect_standardiser", std::string(effect_basis_text(c.effect_basis[m])));
    }
  });
  if (status != kExitOk || args.quiet) return status;
  auto& o = std::cout;
  const std::size_t last = c.terms.size() - 1;
  o << "schoolsim compare: A = '" << a.name << "' (" << args.a << "), B = '" << b.name << "' (" << args.b << ")\n"
    << c.replicates << " paired replicates from seed " << a.seed << " (same world and random numbers in both arms), "
    << a.years << " years\n"
    << "intervals include: " << uncertainty_text(posterior) << "\n\n"
    << std::left << std::setw(22) << "measure" << std::right << std::setw(12) << "start" << std::setw(12) << "end: A"
    << std::setw(12) << "B" << std::setw(12) << "B - A" << std::setw(28) << "95% interval" << std::setw(8) << "effect"
    << "  " << std::left << std::setw(8) << "by" << std::setw(16) << "unit" << "meaning\n";
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    const double start = c.mean_at(c.a[m], 0), va = c.mean_at(c.a[m], last), vb = c.mean_at(c.b[m], last);
    const double diff = c.diff_mean[m][last], lo = c.diff_lo[m][last], hi = c.diff_hi[m][last];
    const int digits = table_decimals(diff, lo, hi, {start, va, vb});
    o << std::left << std::setw(22) << mi.name << std::right << std::setw(12) << fixed(start, digits) << std::setw(12)
      << fixed(va, digits) << std::setw(12) << fixed(vb, digits) << std::setw(12) << fixed(diff, digits)
      << std::setw(28) << ("[" + fixed(lo, digits) + ", " + fixed(hi, digits) + "]") << std::setw(8)
      << fixed(c.effect_size[m], 2) << "  " << std::left << std::setw(8) << effect_basis_code(c.effect_basis[m])
      << std::setw(16) << mi.unit << brief_meaning(mi.name) << "\n";
  }
  o << std::right
    << "\neffect: B - A on a common scale; \"by\" says which:\n"
       "  as is    measures in pupil SD: the difference itself, unstandardised (read against 0.2, 0.5, 0.8)\n"
       "  schools  means over schools: divided by the SD between schools (arm A, at the end), a d to read\n"
       "           against 0.2, 0.5, 0.8\n"
       "  reps     the others: divided by the SD between replicates of arm A (at the end), how much whole\n"
       "           systems differ; not Cohen's scale, large values are common; - where A does not vary\n"
       "The difference over time, per replicate, is in "
    << out_path.string() << "\n";
  return kExitOk;
}

// MPI, when schoolsim was started by mpirun (or srun): initialised for the
// life of a sweep, and only then, so a plain run never touches MPI.
class Ranks {
 public:
  Ranks() {
#ifdef SCHOOLSIM_HAVE_MPI
    if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK")) {
      MPI_Init(nullptr, nullptr);
      MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
      MPI_Comm_size(MPI_COMM_WORLD, &size_);
      active_ = true;
    }
#endif
  }
  ~Ranks() {
#ifdef SCHOOLSIM_HAVE_MPI
    if (active_) MPI_Finalize();
#endif
  }
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  void barrier() const {
#ifdef SCHOOLSIM_HAVE_MPI
    if (active_) MPI_Barrier(MPI_COMM_WORLD);
#endif
  }
  // Every rank's values summed, in place, on every rank.
  void sum(std::vector<double>& v) const {
#ifdef SCHOOLSIM_HAVE_MPI
    if (active_) {
      std::vector<double> out(v.size());
      MPI_Allreduce(v.data(), out.data(), static_cast<int>(v.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      v = std::move(out);
    }
#else
    (void)v;
#endif
  }
  // The largest value any rank holds (0 everywhere without MPI ranks).
  int max(int v) const {
#ifdef SCHOOLSIM_HAVE_MPI
    if (active_) {
      int out = v;
      MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
      return out;
    }
#endif
    return v;
  }

 private:
  int rank_ = 0, size_ = 1;
  bool active_ = false;
};

struct SweepArgs {
  std::string experiment, output, export_dir, posterior;
  std::int32_t threads = 1;
  bool quiet = false;
  std::vector<std::string> sets;  // --set NAME=VALUE, applied to the swept scenario
};

// --set on a sweep: changes the scenario every run starts from, but not a
// parameter the design itself varies.
std::vector<Diagnostic> sweep_overrides(Experiment& e, const std::vector<std::string>& sets, const Registry& registry) {
  std::vector<Diagnostic> bad;
  for (const auto& s : sets) {
    const std::string key = s.substr(0, s.find('='));
    for (const auto& p : e.parameters)
      if (p.name == key)
        bad.push_back({"--set " + s, 0, 0, key + ": swept by the experiment (" + e.source +
                                               ", parameters); --set can only fix a parameter the design does not vary"});
  }
  if (!bad.empty()) return bad;
  return apply_overrides(e.base, sets, registry, "the swept scenario (" + e.base.source + ")");
}

int cmd_sweep(const Registry& registry, const SweepArgs& args) {
  ExperimentResult r = load_experiment(args.experiment, registry);
  if (!r.experiment) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  if (const auto bad = sweep_overrides(*r.experiment, args.sets, registry); !bad.empty()) {
    print_errors(bad);
    return kExitBadInput;
  }
  Experiment& e = *r.experiment;
  {
    std::shared_ptr<const Posterior> posterior;
    if (!load_posterior_for("sweep", args.posterior, registry, {&e.base}, posterior)) return kExitBadInput;
    if (posterior) {
      // The swept parameters keep their design values: drop them from the draw.
      Posterior p = *posterior;
      for (const auto& sp : e.parameters) {
        const auto it = std::find(p.names.begin(), p.names.end(), sp.name);
        if (it == p.names.end()) continue;
        const auto j = static_cast<std::size_t>(it - p.names.begin());
        p.names.erase(it);
        p.world_param.erase(p.world_param.begin() + static_cast<std::ptrdiff_t>(j));
        for (auto& th : p.theta) th.erase(th.begin() + static_cast<std::ptrdiff_t>(j));
      }
      if (!p.names.empty()) e.posterior = std::make_shared<const Posterior>(std::move(p));
    }
  }
  const Design d = make_design(e);
  const auto k = e.parameters.size();
  std::vector<std::string> names;
  Eigen::VectorXd lo(static_cast<Eigen::Index>(k)), hi(static_cast<Eigen::Index>(k));
  for (std::size_t j = 0; j < k; ++j) {
    names.push_back(e.parameters[j].name);
    lo[static_cast<Eigen::Index>(j)] = e.parameters[j].lo;
    hi[static_cast<Eigen::Index>(j)] = e.parameters[j].hi;
  }
  if (!args.export_dir.empty()) {
    std::filesystem::create_directories(args.export_dir);
    std::ofstream(std::filesystem::path(args.export_dir) / "problem.json") << experiment::to_salib_problem(names, lo, hi);
    std::ofstream(std::filesystem::path(args.export_dir) / "design.txt") << experiment::to_text_matrix(d.values);
    std::ofstream(std::filesystem::path(args.export_dir) / "design_unit.txt") << experiment::to_text_matrix(d.unit);
    if (!args.quiet)
      std::cout << "wrote the " << kDesignMethodNames[static_cast<std::size_t>(e.method)] << " design of " << d.values.rows()
                << " runs over " << k << " parameters to " << args.export_dir
                << " (problem.json, design.txt: parameter values, design_unit.txt: unit hypercube)\n";
    return kExitOk;
  }
  namespace fs = std::filesystem;
  const Ranks ranks;  // under mpirun, each rank runs its share; rank 0 writes the file
  const fs::path out_path = args.output.empty() ? fs::path("results") / (e.name + ".h5") : fs::path(args.output);
  const fs::path parts = out_path.string() + ".parts";
  const std::string print = fingerprint(e, registry);
  std::error_code ec;
  int status = kExitOk;
  if (ranks.rank() == 0) {
    fs::create_directories(parts, ec);
    std::ifstream old(parts / "fingerprint");
    std::string seen;
    if (ec) {
      std::cerr << "schoolsim sweep: cannot create " << parts.string() << ": " << ec.message() << '\n';
      status = kExitFailure;
    } else if (old >> seen && seen != print) {
      std::cerr << "schoolsim sweep: " << parts.string()
                << " holds runs of a different experiment or of another version of schoolsim; remove it or "
                   "choose another output (-o)\n";
      status = kExitBadInput;
    } else {
      std::ofstream(parts / "fingerprint") << print << '\n';
    }
  }
  status = ranks.max(status);  // every rank stops if rank 0 could not prepare the parts folder
  if (status != kExitOk) return status;
  const std::int64_t tasks = d.values.rows() * e.replicates;
  if (ranks.size() > 1) {
    // This rank's share, into the shared parts folder; rank 0 then gathers
    // the parts and writes the file as a single process would.
    SweepOptions share;
    share.threads = args.threads;
    share.parts = parts;
    share.cancel = &g_interrupted;
    share.rank = ranks.rank();
    share.ranks = ranks.size();
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    int failed = 0;
    try {
      run_sweep(e, d, registry, share);
    } catch (const std::exception& ex) {
      std::cerr << "schoolsim sweep (rank " << ranks.rank() << "): " << ex.what() << '\n';
      failed = 1;
    }
    if (ranks.max(failed) != 0) {
      if (ranks.rank() == 0)
        std::cerr << "schoolsim sweep: a rank failed; finished runs are kept in " << parts.string()
                  << " and the same command resumes\n";
      return kExitFailure;
    }
    if (ranks.rank() != 0) return kExitOk;
  }
  const bool tty = !args.quiet && isatty(STDERR_FILENO);
  Progress progress(tasks, tty);
  SweepOptions opts;
  opts.threads = args.threads;
  opts.parts = parts;
  opts.cancel = &g_interrupted;
  opts.on_task = [&] { progress.tick(); };
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  SweepResults res;
  try {
    res = run_sweep(e, d, registry, opts);
  } catch (const Interrupted&) {
    progress.finish();
    std::size_t kept = 0;
    for (const auto& entry : fs::directory_iterator(parts)) kept += entry.path().extension() == ".bin";
    std::cerr << "schoolsim sweep: interrupted with " << kept << " of " << tasks << " runs done and kept in "
              << parts.string() << "; run the same command again to resume. Nothing was written to "
              << out_path.string() << '\n';
    return kExitInterrupted;
  } catch (const std::exception& ex) {
    progress.finish();
    std::cerr << "schoolsim sweep: " << ex.what() << "\nfinished runs are kept in " << parts.string() << '\n';
    return kExitFailure;
  }
  progress.finish();
  for (const auto& why : res.damaged)
    std::cerr << "schoolsim sweep: warning: a kept run was unusable and was run again: " << why << '\n';

  // Sensitivity of each output (mean over replicates of its final value).
  const auto runs = static_cast<std::size_t>(res.runs), reps = static_cast<std::size_t>(res.replicates);
  RunMeta meta;
  meta.kind = "sweep";
  meta.scenario_name = e.base.name;
  meta.scenario_yaml = to_yaml(e.base, registry);
  meta.seed = e.base.seed;
  meta.replicates = e.replicates;
  meta.years = e.base.years;
  meta.program_version = SCHOOLSIM_VERSION;
  std::ostringstream summary;
  try {
    OutputFile file(out_path, meta);
    if (!args.sets.empty()) file.set_attribute("meta", "set", joined_sets(args.sets));
    {
      std::ifstream in(args.experiment);
      std::stringstream text;
      text << in.rdbuf();
      file.write_text("meta/experiment", text.str(), "the experiment file");
    }
    file.set_attribute("meta", "uncertainty", uncertainty_text(e.posterior));
    file.write_strings("design/names", names, "swept parameters");
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> values = d.values, unit = d.unit;
    file.write_table("design/values", {runs, k}, values.data(), "parameter units", "parameter values of each run");
    file.write_table("design/unit", {runs, k}, unit.data(), "[0,1]", "the design in the unit hypercube");
    file.write_table("design/lo", {k}, lo.data(), "parameter units", "low end of each range");
    file.write_table("design/hi", {k}, hi.data(), "parameter units", "high end of each range");
    file.set_attribute("design", "method", std::string(kDesignMethodNames[static_cast<std::size_t>(e.method)]));
    const std::vector<std::uint8_t> done(runs, 1);
    file.write_table("runs/done", {runs}, done.data(), "flag", "1 for each run completed");
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      const auto& mi = kSystemMeasures[m];
      file.write_table("runs/" + std::string(mi.name), {runs, reps}, res.finals[m].data(), mi.unit,
                       "value at the end of each run (rows) and replicate (columns)");
      if (e.series)
        file.write_table("runs/series/" + std::string(mi.name), {runs * reps, res.terms.size()}, res.series[m].data(),
                         mi.unit, "series of each run and replicate (row = run x replicates + replicate)");
    }
    if (e.series) file.write_table("runs/series/term", {res.terms.size()}, res.terms.data(), "terms", "terms completed");
    for (std::size_t m : e.outputs) {
      const auto& mi = kSystemMeasures[m];
      Eigen::VectorXd y(static_cast<Eigen::Index>(runs));
      for (std::size_t run = 0; run < runs; ++run) {
        double s = 0;
        for (std::size_t rep = 0; rep < reps; ++rep) s += res.finals[m][run * reps + rep];
        y[static_cast<Eigen::Index>(run)] = s / static_cast<double>(reps);
      }
      const std::string g = "sensitivity/" + std::string(mi.name);
      summary << mi.name << " (" << mi.unit << ")\n";
      if (e.method == DesignMethod::morris) {
        const auto mo = experiment::morris_indices(d.morris, y);
        file.write_strings(g + "/names", names, "parameters");
        file.write_table(g + "/mu", {k}, mo.mu.data(), mi.unit, "Morris mean elementary effect");
        file.write_table(g + "/mu_star", {k}, mo.mu_star.data(), mi.unit, "Morris mean absolute elementary effect");
        file.write_table(g + "/sigma", {k}, mo.sigma.data(), mi.unit, "Morris standard deviation of elementary effects");
        for (std::size_t j = 0; j < k; ++j)
          summary << "  " << std::left << std::setw(34) << names[j] << " mu* " << std::right << std::setw(10)
                  << fixed(mo.mu_star[static_cast<Eigen::Index>(j)], 4) << "  sigma " << std::setw(10)
                  << fixed(mo.sigma[static_cast<Eigen::Index>(j)], 4) << "\n";
      } else if (e.method == DesignMethod::saltelli) {
        const auto so = experiment::sobol_indices(d.saltelli, y, e.bootstrap, 0.95, e.base.seed);
        file.write_strings(g + "/names", names, "parameters");
        file.write_table(g + "/first", {k}, so.first.data(), "share", "Sobol first-order index");
        file.write_table(g + "/first_lo", {k}, so.first_lo.data(), "share", "lower end of its 95% bootstrap interval");
        file.write_table(g + "/first_hi", {k}, so.first_hi.data(), "share", "upper end of its 95% bootstrap interval");
        file.write_table(g + "/total", {k}, so.total.data(), "share", "Sobol total index");
        file.write_table(g + "/total_lo", {k}, so.total_lo.data(), "share", "lower end of its 95% bootstrap interval");
        file.write_table(g + "/total_hi", {k}, so.total_hi.data(), "share", "upper end of its 95% bootstrap interval");
        file.set_attribute(g, "estimator", std::string(experiment::kSobolEstimator));
        for (std::size_t j = 0; j < k; ++j) {
          const auto i = static_cast<Eigen::Index>(j);
          summary << "  " << std::left << std::setw(34) << names[j] << " first " << std::right
                  << fixed(so.first[i], 3) << " [" << fixed(so.first_lo[i], 3) << ", " << fixed(so.first_hi[i], 3)
                  << "]  total " << fixed(so.total[i], 3) << " [" << fixed(so.total_lo[i], 3) << ", "
                  << fixed(so.total_hi[i], 3) << "]\n";
        }
      }
    }
    file.commit();
  } catch (const std::exception& ex) {
    std::cerr << "schoolsim sweep: " << ex.what() << "\nnothing was written to " << out_path.string()
              << "; finished runs are kept in " << parts.string() << '\n';
    return kExitFailure;
  }
  fs::remove_all(parts, ec);
  if (!args.quiet) {
    std::cout << "schoolsim sweep: '" << e.name << "' over scenario '" << e.base.name << "': "
              << kDesignMethodNames[static_cast<std::size_t>(e.method)] << " design, " << runs << " runs x "
              << reps << " replicates, " << k << " parameters";
    if (res.resumed > 0) std::cout << " (" << res.resumed << " runs resumed)";
    std::cout << "\nreplicates include: " << uncertainty_text(e.posterior) << "\n";
    if (!summary.str().empty()) std::cout << "\nsensitivity of the value at the end:\n" << summary.str();
    std::cout << "\nwrote " << out_path.string() << "\n";
  }
  return kExitOk;
}

struct CalibrateArgs {
  std::string file, output;
  std::vector<std::string> without;
  std::int32_t threads = 1;
  bool quiet = false;
};

int cmd_calibrate(const Registry& registry, const CalibrateArgs& args) {
  namespace fs = std::filesystem;
  CalibrationLoad r = load_calibration(args.file, registry);
  if (!r.calibration) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  Calibration c = std::move(*r.calibration);
  for (const auto& w : args.without) {
    if (const std::string why = remove_from_experiments(c, w); !why.empty()) {
      std::cerr << "schoolsim calibrate: --without " << w << ": " << why << "; nothing was run or written.\n";
      return kExitBadInput;
    }
  }
  std::string suffix;
  for (const auto& w : c.without) suffix += "-without-" + w;
  const fs::path out_path =
      args.output.empty() ? fs::path("results") / (c.name + suffix + ".h5") : fs::path(args.output);
  const fs::path state = out_path.string() + ".calib-state";
  const Ranks ranks;
  RunMeta meta;
  meta.kind = "calibration";
  meta.scenario_name = c.name;
  meta.scenario_yaml = c.experiments.empty() ? "" : to_yaml(c.experiments.front().scenario, registry);
  meta.seed = c.seed;
  meta.replicates = c.replicates;
  meta.years = c.experiments.empty() ? 0 : c.experiments.front().scenario.years;
  meta.program_version = SCHOOLSIM_VERSION;
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  std::optional<OutputFile> file;
  if (ranks.rank() == 0) {
    remove_stale_temporaries("calibrate", out_path);
    try {
      if (out_path.has_parent_path()) fs::create_directories(out_path.parent_path());
      file.emplace(out_path, meta);
    } catch (const std::exception& e) {
      std::cerr << "schoolsim calibrate: cannot create the output: " << e.what() << '\n';
    }
  }
  if (ranks.max(ranks.rank() == 0 && !file ? 1 : 0) != 0) return kExitFailure;
  const bool tty = !args.quiet && ranks.rank() == 0 && isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  CalibrateOptions opts;
  opts.threads = args.threads;
  opts.cancel = &g_interrupted;
  opts.state = state;
  opts.rank = ranks.rank();
  opts.ranks = ranks.size();
  opts.share = [&](std::vector<double>& v) { ranks.sum(v); };
  std::atomic<std::int64_t> sims{0};
  std::atomic<std::int32_t> shown_gen{0}, shown_kept{0};
  std::atomic<std::int64_t> shown_attempts{0};
  std::mutex print_mu;
  auto status_line = [&] {
    if (!tty) return;
    std::lock_guard lock(print_mu);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\rgeneration %d/%d: %d/%d particles kept of %lld attempts, %lld simulations, %.0fs elapsed ",
                 shown_gen.load() + 1, c.generations, shown_kept.load(), c.population,
                 static_cast<long long>(shown_attempts.load()), static_cast<long long>(sims.load()), elapsed);
    std::fflush(stderr);
  };
  opts.on_simulation = [&] {
    if (++sims % 8 == 0) status_line();
  };
  opts.on_batch = [&](std::int32_t g, std::int32_t kept, std::int64_t attempts) {
    shown_gen = g;
    shown_kept = kept;
    shown_attempts = attempts;
    status_line();
    // Without a terminal (a log file, a batch job), one line per finished generation.
    if (!tty && !args.quiet && ranks.rank() == 0 && kept == c.population) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "schoolsim calibrate: generation %d/%d done: %d particles kept of %lld attempts, %.0f s elapsed\n",
                   g + 1, c.generations, kept, static_cast<long long>(attempts), elapsed);
    }
  };
  CalibrationResult res;
  try {
    res = calibrate(c, registry, opts);
  } catch (const Interrupted&) {
    if (tty) std::fprintf(stderr, "\n");
    std::cerr << "schoolsim calibrate: interrupted; the finished batches are kept in " << state.string()
              << " and the same command resumes. Nothing was written to " << out_path.string() << '\n';
    return kExitInterrupted;
  } catch (const std::exception& e) {
    if (tty) std::fprintf(stderr, "\n");
    std::cerr << "schoolsim calibrate: " << e.what() << "\nnothing was written to " << out_path.string() << '\n';
    return kExitFailure;
  }
  if (tty) std::fprintf(stderr, "\r%*s\r", 110, "");
  if (ranks.rank() != 0) return kExitOk;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  try {
    {
      std::ifstream in(args.file);
      std::stringstream text;
      text << in.rdbuf();
      file->write_text("meta/calibration", text.str(), "the calibration file");
    }
    write_calibration(*file, c, res);
    file->commit();
  } catch (const std::exception& e) {
    std::cerr << "schoolsim calibrate: " << e.what() << "\nnothing was written to " << out_path.string()
              << "; the calibration's progress is kept in " << state.string() << '\n';
    return kExitFailure;
  }
  std::error_code ec;
  fs::remove(state, ec);
  if (args.quiet) return kExitOk;
  auto& o = std::cout;
  o << "schoolsim calibrate: '" << c.name << "'";
  if (!c.without.empty()) {
    o << " without";
    for (const auto& w : c.without) o << " " << w;
  }
  o << ": ABC-SMC, " << res.generations.size() << " generations of " << c.population << " particles, "
    << c.replicates << " replicate(s) per particle, " << res.simulations << " simulations in "
    << fixed(seconds, 0) << " s" << (res.resumed ? " (resumed)" : "") << "\n";
  if (!res.stopped.empty()) o << "stopped early: " << res.stopped << "\n";
  o << "\n" << std::left << std::setw(12) << "generation" << std::right << std::setw(12) << "tolerance"
    << std::setw(12) << "attempts" << std::setw(12) << "acceptance" << "\n";
  for (std::size_t g = 0; g < res.generations.size(); ++g) {
    const auto& gen = res.generations[g];
    o << std::left << std::setw(12) << g << std::right << std::setw(12)
      << (std::isinf(gen.tolerance) ? std::string("inf") : sig(gen.tolerance)) << std::setw(12) << gen.attempts
      << std::setw(12) << fixed(static_cast<double>(gen.theta.size()) / static_cast<double>(gen.attempts), 3) << "\n";
  }
  if (res.generations.empty()) return kExitOk;
  const auto& last = res.generations.back();
  o << "\nposterior (last generation, weighted)\n"
    << std::left << std::setw(40) << "parameter" << std::right << std::setw(10) << "median" << std::setw(24)
    << "95% interval" << std::setw(22) << "prior" << std::setw(10) << "now" << "\n";
  for (std::size_t j = 0; j < c.parameters.size(); ++j) {
    std::vector<double> v;
    for (const auto& th : last.theta) v.push_back(th[j]);
    const auto& p = c.parameters[j];
    o << std::left << std::setw(40) << p.name << std::right << std::setw(10) << sig(weighted_quantile(v, last.weights, 0.5))
      << std::setw(24)
      << ("[" + sig(weighted_quantile(v, last.weights, 0.025)) + ", " + sig(weighted_quantile(v, last.weights, 0.975)) + "]")
      << std::setw(22) << ((p.prior == Prior::log_uniform ? "log " : "") + std::string("[") + sig(p.lo) + ", " + sig(p.hi) + "]")
      << std::setw(10) << sig(res.defaults[j]) << "\n";
  }
  auto fits = [&](std::size_t t, const std::vector<double>& lo, const std::vector<double>& hi) {
    const auto& tg = c.targets[t];
    return lo[t] <= tg.observed + 2 * tg.sd && hi[t] >= tg.observed - 2 * tg.sd;
  };
  o << "\nfit: posterior-predictive median and 95% interval beside the observed value, and the same at the\n"
       "parameters' current values (\"now\": the scenarios' own, over as many runs)\n"
    << std::left << std::setw(8) << "target" << std::right << std::setw(10) << "observed" << std::setw(9) << "sd"
    << std::setw(11) << "posterior" << std::setw(24) << "95% interval" << std::setw(6) << "fits" << std::setw(11)
    << "now" << std::setw(24) << "95% interval" << std::setw(6) << "fits" << "\n";
  int fit_post = 0, fit_now = 0;
  for (std::size_t t = 0; t < c.targets.size(); ++t) {
    const auto& tg = c.targets[t];
    const bool a = fits(t, res.pred_lo, res.pred_hi), b = fits(t, res.def_lo, res.def_hi);
    fit_post += a;
    fit_now += b;
    o << std::left << std::setw(8) << tg.id << std::right << std::setw(10) << sig(tg.observed) << std::setw(9)
      << sig(tg.sd) << std::setw(11) << sig(res.pred_median[t]) << std::setw(24)
      << ("[" + sig(res.pred_lo[t]) + ", " + sig(res.pred_hi[t]) + "]") << std::setw(6) << (a ? "yes" : "no")
      << std::setw(11) << sig(res.def_median[t]) << std::setw(24)
      << ("[" + sig(res.def_lo[t]) + ", " + sig(res.def_hi[t]) + "]") << std::setw(6) << (b ? "yes" : "no") << "\n";
  }
  std::vector<double> d_post, d_now;
  for (const auto& run : res.predictive) d_post.push_back(distance(c, run));
  for (const auto& run : res.at_defaults) d_now.push_back(distance(c, run));
  o << "\nfits: the 95% interval meets the observed value's range (observed +- 2 sd). Targets fitted: " << fit_post
    << " of " << c.targets.size() << " by the posterior, " << fit_now << " at the current values; median distance "
    << sig(weighted_quantile(d_post, res.generations.back().weights, 0.5)) << " against "
    << sig(weighted_quantile(d_now, std::vector<double>(d_now.size(), 1.0), 0.5)) << "\nwrote " << out_path.string()
    << "\n";
  return kExitOk;
}

struct ServeArgs {
  std::string scenario;  // empty: the built-in classroom scenario
  std::string host = "127.0.0.1";
  int port = 8765;
  std::int32_t max_sessions = 32;
  std::vector<std::string> allow_hosts;
};

int cmd_serve(const Registry& registry, const ServeArgs& args) {
  // The single world's scenario, and the comparison's arms (built in).
  live::ClassroomLoad r = live::load_classroom(args.scenario, registry);
  if (!r.scenarios) {
    print_errors(r.errors);
    return kExitBadInput;
  }
  const Scenario& sc = r.scenarios->single.scenario;
  const std::int32_t schools = live::world_schools(sc, registry);
  if (schools > serve::kMaxSchools) {
    std::cerr << "schoolsim: error: " << (args.scenario.empty() ? "the scenario" : args.scenario) << " has "
              << schools << " schools; teaching mode draws every school live and takes at most "
              << serve::kMaxSchools << " (scenarios/classroom.yaml has 36). Use `schoolsim run` for "
              << "larger systems, or set world.schools lower.\n";
    return kExitBadInput;
  }
  serve::Options options;
  options.host = args.host;
  options.port = args.port;
  options.max_sessions = args.max_sessions;
  options.allowed_hosts = args.allow_hosts;
  if (options.host != "127.0.0.1" && options.host != "localhost")
    std::cerr << "schoolsim: warning: listening on " << options.host
              << ", so other machines on the network can open the page and run simulations here\n";
  g_interrupted = false;
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  std::signal(SIGPIPE, SIG_IGN);
  const int code = serve::run_server(*r.scenarios, registry, options, g_interrupted, [&](int port) {
    const auto urls = serve::listen_urls(options.host, port);
    std::printf("schoolsim: serving %s at %s\n", sc.name.c_str(), urls.front().c_str());
    for (std::size_t i = 1; i < urls.size(); ++i) std::printf("schoolsim:    and at %s\n", urls[i].c_str());
    std::printf("schoolsim: open %s in a browser; press Ctrl-C to stop\n",
                urls.size() > 1 ? "one of those addresses" : "that address");
    std::fflush(stdout);
  });
  if (code == 0) std::fprintf(stderr, "schoolsim: stopped serving\n");
  return code == 0 ? 0 : kExitFailure;
}

}  // namespace

// The --threads option, the same for every command that runs replicates.
static void add_threads(CLI::App* command, std::int32_t& threads) {
  command->add_option("--threads", threads, "Threads to spread runs over; results are identical for any count")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
}

// The --set option, the same for run, compare and sweep.
static void add_set(CLI::App* command, std::vector<std::string>& sets, const std::string& what) {
  command->add_option("--set", sets,
                      "Change a parameter of " + what + ", as mechanism.parameter=value or world.parameter=value "
                      "(repeatable), checked as the scenario file's values are")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
}

int run_cli(int argc, char** argv, const Registry& registry) {
  CLI::App app{
      "schoolsim: an agent-based simulation of school-to-school collaboration and competition.\n"
      "Schools' capacity and expectations evolve through collaboration ties, under market and "
      "policy regimes set by a YAML scenario; results are written to HDF5."};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("schoolsim ") + SCHOOLSIM_VERSION);

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a scenario and write its time series to an HDF5 file");
  run->add_option("scenario", run_args.scenario, "Scenario file (YAML)")->required()->check(CLI::ExistingFile);
  run->add_option("-o,--output", run_args.output,
                  "Output HDF5 file (default: results/<scenario file name>.h5)");
  run->add_option("--seed", run_args.seed, "Override the scenario's seed");
  run->add_option("--replicates", run_args.replicates, "Override the number of replicates")
      ->check(CLI::Range(1, 100000));
  run->add_option("--years", run_args.years, "Override the number of simulated years")
      ->check(CLI::Range(1, 200));
  add_threads(run, run_args.threads);
  add_set(run, run_args.sets, "the scenario");
  run->add_flag("--allow-large", run_args.allow_large,
                "Run even when the estimated memory or output size exceeds what this machine has");
  run->add_flag("-q,--quiet", run_args.quiet, "Print nothing but errors (no progress bar or summary)");
  run->add_option("--compression", run_args.compression,
                  "Deflate level of the per-school tables, 0 (none, fastest) to 9 (smallest); the default is "
                  "chosen by measurement (docs/PERFORMANCE.md)")
      ->check(CLI::Range(0, 9))
      ->capture_default_str();
  run->add_option("--checkpoint-at", run_args.checkpoint_year,
                  "Save a checkpoint after this many years (one replicate), then carry on")
      ->check(CLI::Range(1, 200));
  run->add_option("--checkpoint", run_args.checkpoint_file,
                  "Checkpoint file (default: the output file's name with .ckpt)");
  run->add_option("--posterior", run_args.posterior,
                  "Draw each replicate's parameters from this calibration's posterior (schoolsim calibrate's output)")
      ->check(CLI::ExistingFile);
  run->add_option("--restart", run_args.restart_file,
                  "Continue the same scenario from a checkpoint; the output equals an uninterrupted run's")
      ->check(CLI::ExistingFile);
  run->footer(kExitCodesHelp);

  CompareArgs compare_args;
  auto* cmp = app.add_subcommand(
      "compare",
      "Compare two regimes over paired replicates (same world and random numbers in both arms): "
      "the difference of every system measure over time, with 95% intervals and effect sizes");
  cmp->add_option("a", compare_args.a, "Scenario A (YAML)")->required()->check(CLI::ExistingFile);
  cmp->add_option("b", compare_args.b, "Scenario B (YAML)")->required()->check(CLI::ExistingFile);
  cmp->add_option("-o,--output", compare_args.output,
                  "Output HDF5 file (default: results/compare-<A>-<B>.h5)");
  cmp->add_option("--replicates", compare_args.replicates, "Paired replicates")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmp->add_option("--seed", compare_args.seed, "Seed for both arms (default: A's seed)");
  cmp->add_option("--years", compare_args.years, "Simulated years of both arms (default: the scenarios' own)")
      ->check(CLI::Range(1, 200));
  add_set(cmp, compare_args.sets, "both arms");
  add_threads(cmp, compare_args.threads);
  cmp->add_flag("-q,--quiet", compare_args.quiet, "Print nothing but errors");
  cmp->add_option("--posterior", compare_args.posterior,
                  "Draw each paired replicate's parameters (the same in both arms) from this calibration's "
                  "posterior, so the intervals include parameter uncertainty")
      ->check(CLI::ExistingFile);
  cmp->add_option("--from", compare_args.from,
                  "Branch both arms from this checkpoint's warmed-up world (schoolsim run --checkpoint-at)")
      ->check(CLI::ExistingFile);
  auto* decompose_flag = cmp->add_flag(
      "--decompose", compare_args.decompose,
      "Attribute each measure's B - A to the levers that differ (parameters, mechanisms added or removed): "
      "Shapley values over lever subsets, exact up to 6 levers, sampled above (docs/EXPERIMENTS.md)");
  cmp->add_option("--permutations", compare_args.permutations,
                  "With --decompose and more than 6 levers: random lever orders sampled per replicate")
      ->check(CLI::Range(1, 100000))
      ->needs(decompose_flag)
      ->capture_default_str();
  cmp->footer(kExitCodesHelp);

  SweepArgs sweep_args;
  auto* sweep = app.add_subcommand(
      "sweep",
      "Run a scenario over a design of parameter values (factorial, Latin hypercube, Morris, "
      "Saltelli) with replicates, on threads; resumable; with Morris or Sobol sensitivity indices");
  sweep->add_option("experiment", sweep_args.experiment, "Experiment file (YAML, docs/EXPERIMENTS.md)")
      ->required()
      ->check(CLI::ExistingFile);
  sweep->add_option("-o,--output", sweep_args.output, "Output HDF5 file (default: results/<experiment name>.h5)");
  add_threads(sweep, sweep_args.threads);
  add_set(sweep, sweep_args.sets, "the swept scenario (not a swept parameter)");
  sweep->add_option("--posterior", sweep_args.posterior,
                    "Draw the parameters each run does not sweep from this calibration's posterior, per replicate")
      ->check(CLI::ExistingFile);
  sweep->add_option("--export-design", sweep_args.export_dir,
                    "Write the design for SALib (problem.json, design.txt) to this folder and stop");
  sweep->add_flag("-q,--quiet", sweep_args.quiet, "Print nothing but errors");
  sweep->footer(kExitCodesHelp);

  CalibrateArgs calibrate_args;
  auto* calib = app.add_subcommand(
      "calibrate",
      "Fit calibrated parameters to published targets by approximate Bayesian computation (ABC-SMC): "
      "weighted posterior particles and each target's posterior-predictive interval (docs/EXPERIMENTS.md)");
  calib->add_option("calibration", calibrate_args.file, "Calibration file (YAML, docs/EXPERIMENTS.md)")
      ->required()
      ->check(CLI::ExistingFile);
  calib->add_option("-o,--output", calibrate_args.output,
                    "Output HDF5 file (default: results/<calibration name>[-without-<framework>].h5)");
  calib->add_option("--without", calibrate_args.without,
                    "Remove a framework (constructivism, social_capital, durkheim, social_movement, market) or a "
                    "mechanism from every experiment before calibrating (repeatable)");
  add_threads(calib, calibrate_args.threads);
  calib->add_flag("-q,--quiet", calibrate_args.quiet, "Print nothing but errors");
  calib->footer("Interrupted runs keep their finished batches beside the output (<output>.calib-state); the same "
                "command resumes. Results are identical for any thread or MPI rank count.\n" +
                std::string(kExitCodesHelp));

  std::vector<std::string> validate_files;
  bool resolved = false;
  auto* validate = app.add_subcommand(
      "validate", "Check scenario files and list every problem as file:line:column");
  validate->add_option("scenarios", validate_files, "Scenario files (YAML)")->required();
  validate->add_flag("--resolved", resolved,
                     "Print each valid scenario with every default filled in");
  bool validate_allow_large = false;
  validate->add_flag("--allow-large", validate_allow_large,
                     "Accept scenarios whose estimated memory or output size exceeds this machine's");
  validate->footer(kExitCodesHelp);

  std::vector<std::string> describe_only;
  bool markdown = false;
  auto* describe = app.add_subcommand(
      "describe",
      "List the world generator and every mechanism with its parameters, defaults, units, "
      "meaning and source; then the school variables and system measures");
  describe->add_option("names", describe_only,
                       "Only these mechanisms ('world' for the world generator, 'variables' for "
                       "the school variables, 'measures' for the system measures)");
  describe->add_flag("--markdown", markdown, "Print Markdown tables (as in docs/ODD.md)");

  ServeArgs serve_args;
  auto* serve_cmd = app.add_subcommand(
      "serve",
      "Teaching mode: run a small school system live in the browser, with the levers on sliders "
      "and switches (docs/TEACHING.md)");
  serve_cmd->add_option("scenario", serve_args.scenario,
                        "Scenario file (YAML; default: the classroom scenario, 36 schools)")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--port", serve_args.port, "Port to listen on (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--host", serve_args.host,
                        "Address to listen on; the default lets only this computer in")
      ->capture_default_str();
  serve_cmd->add_option("--allow-host", serve_args.allow_hosts,
                        "A further host name the page may be opened at (repeatable); requests naming any "
                        "other host are refused (docs/SECURITY.md)");
  serve_cmd->add_option("--max-sessions", serve_args.max_sessions,
                        "Browser tabs that may run at once, each with its own simulation")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  serve_cmd->footer("Stop with Ctrl-C. Exit codes: 0 stopped cleanly; 1 cannot listen on the port; "
                    "2 bad scenario or command line.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  try {
    if (*run) return cmd_run(registry, run_args);
    if (*cmp) return cmd_compare(registry, compare_args);
    if (*sweep) return cmd_sweep(registry, sweep_args);
    if (*calib) return cmd_calibrate(registry, calibrate_args);
    if (*validate) return cmd_validate(registry, validate_files, resolved, validate_allow_large);
    if (*describe) return cmd_describe(registry, describe_only, markdown);
    if (*serve_cmd) return cmd_serve(registry, serve_args);
  } catch (const std::exception& e) {
    std::cerr << "schoolsim: " << e.what() << '\n';
    return kExitFailure;
  }
  return kExitBadInput;
}

}  // namespace schoolsim
