// What the commands print on the terminal: summaries and
// tables. Files are written by sim/io; nothing here touches one.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sim/experiment/calibrate.hpp"
#include "sim/experiment/compare.hpp"
#include "sim/experiment/sweep.hpp"
#include "sim/experiment/sweep_sensitivity.hpp"
#include "sim/measures.hpp"
#include "sim/recording.hpp"
#include "sim/registry.hpp"
#include "sim/scenario.hpp"

namespace schoolsim::cli {

// What an interval includes, as the tables and files say it.
std::string uncertainty_text(const std::shared_ptr<const Posterior>& p);

// `schoolsim describe` without --markdown.
void print_describe(std::ostream& out, const Registry& registry, const std::vector<std::string>& only);

// The summary of `schoolsim run`: the system measures at the start and the
// end (means over replicates), and the file written.
struct RunSummary {
  const Scenario* scenario = nullptr;
  std::string scenario_file;
  std::shared_ptr<const Posterior> posterior;
  std::int32_t schools = 0, areas = 0;
  std::array<double, kMeasureCount> start{}, end{};
  std::filesystem::path output;
  double seconds = 0;
  // Adds one replicate's measures at the start and the end (as a share of the mean).
  void add(const Recording& rec);
};
void print_run(std::ostream& out, const RunSummary& s);

// The table of `schoolsim compare`: each measure at the start and the end of
// both arms, B - A with its interval and its effect size.
struct ComparisonSummary {
  const Scenario* a = nullptr;
  const Scenario* b = nullptr;
  std::string a_file, b_file;
  std::shared_ptr<const Posterior> posterior;
  std::filesystem::path output;
};
void print_comparison(std::ostream& out, const ComparisonSummary& s, const Comparison& c);

// The summary of `schoolsim sweep`: the design, and each output's
// sensitivity indices.
void print_sweep(std::ostream& out, const Experiment& e, const SweepResults& r,
                 const std::vector<OutputSensitivity>& sensitivity, const std::filesystem::path& output);

// What `schoolsim sweep --export-design` wrote to `dir`.
void print_design_export(std::ostream& out, const Experiment& e, const Design& d, const std::filesystem::path& dir);

// The tables of `schoolsim calibrate`: the generations, the posterior, and
// each target's fit by the posterior and at the parameters' current values.
void print_calibration(std::ostream& out, const Calibration& c, const CalibrationResult& r, double seconds,
                       const std::filesystem::path& output);

// Where `schoolsim serve` can be opened (on stdout, flushed: scripts wait for it).
void print_serving(const Scenario& sc, const std::vector<std::string>& urls);

}  // namespace schoolsim::cli
