// Sweeps: many runs of one scenario over a design of parameter values, with
// replicates, spread over threads and resumable (docs/EXPERIMENTS.md).
#pragma once

#include <Eigen/Core>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/experiment/calibrate.hpp"
#include "sim/experiment/design.hpp"
#include "sim/measures.hpp"
#include "sim/registry.hpp"
#include "sim/scenario.hpp"

namespace schoolsim {

enum class DesignMethod { factorial, lhs, morris, saltelli };
inline constexpr std::array<std::string_view, 4> kDesignMethodNames = {"factorial", "lhs", "morris", "saltelli"};

// A swept parameter: a world parameter or a parameter of a pipeline entry.
struct SweepParameter {
  std::string name;  // "world.x" or "mechanism.parameter"
  bool world = false;
  std::size_t entry = 0;  // pipeline entry (when not world)
  std::size_t param = 0;  // index in the world's or the mechanism's parameters
  double lo = 0, hi = 1;
  bool integer = false;
};

struct Experiment {
  std::string name;
  std::string source;  // the experiment file
  Scenario base;       // the scenario every run starts from
  DesignMethod method = DesignMethod::lhs;
  std::int32_t runs = 16;   // lhs: points; morris: trajectories; saltelli: base samples
  std::int32_t levels = 4;  // factorial and morris: levels per parameter
  std::vector<SweepParameter> parameters;
  std::int32_t replicates = 1;
  std::vector<std::size_t> outputs;  // measures whose sensitivity is analysed
  bool series = false;               // store every run's system series
  std::int32_t bootstrap = 200;      // Sobol confidence intervals
  // `--posterior`: each (run, replicate) draws the parameters it does not
  // sweep from this calibration posterior (docs/EXPERIMENTS.md).
  std::shared_ptr<const Posterior> posterior;
};

// The design in the unit hypercube, one row per run, and the design objects
// the sensitivity estimators need.
struct Design {
  Eigen::MatrixXd unit;    // runs x parameters, in [0,1]
  Eigen::MatrixXd values;  // the same, scaled to the parameters' ranges
  experiment::MorrisDesign morris;
  experiment::SaltelliDesign saltelli;
};
Design make_design(const Experiment& e);

// The scenario of one design row.
// With a posterior, replicate `replicate` draws the parameters not swept from it.
Scenario scenario_for(const Experiment& e, const Eigen::RowVectorXd& values, std::int32_t replicate = 0);

struct SweepResults {
  std::int32_t runs = 0, replicates = 0;
  // [measure][run * replicates + replicate]: each measure's value at the end
  std::vector<std::vector<double>> finals;
  std::vector<std::int32_t> terms;  // record points of the series
  // [measure][(run * replicates + replicate) * rows + row], when series are kept
  std::vector<std::vector<double>> series;
  std::int32_t resumed = 0;  // tasks found already done in the parts folder
  std::vector<std::string> damaged;  // parts found unusable (and run again), with the reason
};

// A finished sweep task as kept in the parts folder: its final measures, the
// terms of its record rows, and its series ([measure][row]) when kept.
struct Part {
  std::vector<double> finals;
  std::vector<std::int32_t> terms;
  std::vector<double> series;
};

// The part file format: magic, version, the experiment's fingerprint, the task,
// the shape, the data, then a CRC-32C of all of it.
inline constexpr std::uint32_t kSweepPartVersion = 2;
std::string encode_part(const Part& p, const std::string& fingerprint, std::int64_t task);
// "" when `bytes` is a sound part of this experiment's `task` with `rows` record
// rows (and series when `series`), filling `p`; else the reason it is not.
std::string decode_part(std::string_view bytes, const std::string& fingerprint, std::int64_t task, bool series,
                        std::size_t rows, Part& p);

struct SweepOptions {
  std::int32_t threads = 1;
  // Finished runs are kept here, one file each, so a killed sweep resumes
  // where it stopped; it is removed by the caller once the results are written.
  std::filesystem::path parts;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void()> on_task;  // after each run (thread-safe)
  // Several processes (MPI ranks) sharing one parts folder: this one runs the
  // tasks t with t % ranks == rank and returns without results.
  std::int32_t rank = 0, ranks = 1;
};

// Runs every (design row, replicate) not already in the parts folder. Results
// depend only on the experiment, never on threads, ranks or where it resumed.
// With ranks > 1 it runs this rank's share only and returns empty results.
SweepResults run_sweep(const Experiment& e, const Design& d, const Registry& registry,
                       const SweepOptions& options);

// The program as fingerprints see it: its version, measures, mechanisms and
// their parameters' defaults.
std::string program_text(const Registry& registry, std::string_view program_version = SCHOOLSIM_VERSION);

// A fingerprint of the experiment and of the program (its version, measures
// and mechanisms), stored in the parts folder and in every part: a resume
// refuses parts made by a different experiment or another schoolsim.
std::string fingerprint(const Experiment& e, const Registry& registry,
                        std::string_view program_version = SCHOOLSIM_VERSION);

}  // namespace schoolsim
