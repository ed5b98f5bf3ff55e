// Scenario files: parsed and validated once, at the edge (docs/SCENARIOS.md).
//
// This is the only code that includes yaml-cpp. It turns a YAML scenario into a
// plain Scenario with every default filled in, or into the complete list of
// problems found, each with file, line and column.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/registry.hpp"
#include "sim/experiment/calibrate.hpp"
#include "sim/experiment/sweep.hpp"
#include "sim/scenario.hpp"

namespace schoolsim {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no place in the file
  int column = 0;  // 1-based
  std::string message;
  [[nodiscard]] std::string str() const;  // "file:line:column: error: message"
};

struct LoadResult {
  std::optional<Scenario> scenario;  // set only when there are no errors
  std::vector<Diagnostic> errors;
};

// Reads and validates a scenario file.
LoadResult load_scenario(const std::string& path, const Registry& registry);
// Validates scenario text; `name` stands for the file in messages.
LoadResult parse_scenario(const std::string& text, const std::string& name,
                          const Registry& registry);
// Reads a scenario, and the files it extends, through `read` (the text of a
// path, or nothing when there is no such file): `schoolsim serve` and the web
// build read their built-in classroom scenarios from memory this way.
using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;
LoadResult load_scenario(const std::string& path, const Registry& registry, const ReadFile& read);

struct ExperimentResult {
  std::optional<Experiment> experiment;  // set only when there are no errors
  std::vector<Diagnostic> errors;
};

// Reads and validates an experiment file (docs/EXPERIMENTS.md): the scenario
// it sweeps, the design, the parameters with their ranges, replicates and the
// measures to analyse.
ExperimentResult load_experiment(const std::string& path, const Registry& registry);

// Changes given on the command line (`--set NAME=VALUE`, repeatable), applied
// to a loaded scenario: NAME is mechanism.parameter (a mechanism of its
// pipeline) or world.parameter, and VALUE is checked as the scenario file's
// `set:` and `world:` values are (type, range, choices). Returns every problem,
// each naming the option as given (`--set market.choice=2`) and the scenario by
// `scenario_label`; the scenario is changed only when there are none.
std::vector<Diagnostic> apply_overrides(Scenario& scenario, const std::vector<std::string>& overrides,
                                        const Registry& registry, const std::string& scenario_label);

struct CalibrationLoad {
  std::optional<Calibration> calibration;  // set only when there are no errors
  std::vector<Diagnostic> errors;
};

// Reads and validates a calibration file (docs/EXPERIMENTS.md, calibration):
// the parameters with their priors, the experiments the targets read, the
// targets with their observed values, standard errors and sources, and the
// population, generations, replicates and seed.
CalibrationLoad load_calibration(const std::string& path, const Registry& registry);

// The resolved scenario as YAML: every key present, defaults filled in. Parsing
// this text again gives the same Scenario.
std::string to_yaml(const Scenario& scenario, const Registry& registry);

}  // namespace schoolsim
