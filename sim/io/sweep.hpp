// The files of a sweep (docs/OUTPUT.md, docs/EXPERIMENTS.md): the output
// file's /design, /runs and /sensitivity groups; the design exported for
// SALib (--export-design); and the fingerprint of the parts folder a sweep
// keeps its finished runs in until the output is written.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/experiment/sweep.hpp"
#include "sim/experiment/sweep_sensitivity.hpp"
#include "sim/io/output.hpp"

namespace schoolsim {

// The /meta of a sweep's file: the swept scenario, its seed and length.
RunMeta sweep_meta(const Experiment& e, const std::string& scenario_yaml, const std::string& program_version);

// Writes the SALib problem (problem.json), the design's parameter values
// (design.txt) and the design in the unit hypercube (design_unit.txt) to
// `dir`, creating it. Throws std::runtime_error when a file cannot be written.
void export_design(const std::filesystem::path& dir, const Experiment& e, const Design& d);

// The parts folder of a sweep, made ready for `fingerprint`: created if
// missing, and its fingerprint file written. `error` says why not.
struct PartsFolder {
  enum Status { ready, cannot_create, other_experiment } status = ready;
  std::string error;  // with cannot_create: the system's message
};
PartsFolder prepare_parts(const std::filesystem::path& parts, const std::string& fingerprint);

// The runs kept in a parts folder (for the message of an interrupted sweep).
std::size_t kept_parts(const std::filesystem::path& parts);

// /meta/experiment (the experiment file's text, read from e.source) and
// `uncertainty`, then /design, /runs (every run's final values, and with
// e.series every run's series) and /sensitivity (the indices of `sensitivity`).
void write_sweep(OutputFile& file, const Experiment& e, const Design& d, const SweepResults& r,
                 const std::vector<OutputSensitivity>& sensitivity, const std::string& uncertainty);

}  // namespace schoolsim
