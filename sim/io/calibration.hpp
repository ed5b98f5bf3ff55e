// The calibration's groups of the output file, and the posterior read back
// from one for `--posterior` (docs/OUTPUT.md, calibration files).
#pragma once

#include <filesystem>
#include <string>

#include "sim/experiment/calibrate.hpp"
#include "sim/io/output.hpp"

namespace schoolsim {

// The /meta of a calibration's file: its name, seed and replicates per
// particle, with the first experiment's resolved scenario (`scenario_yaml`).
RunMeta calibration_meta(const Calibration& c, const std::string& scenario_yaml, const std::string& program_version);

// Writes /meta/calibration (the text of c.source, the calibration file, when
// it names one), then /calibration: the parameters and their priors, the targets with
// their observed values and posterior-predictive intervals, every generation's
// weighted particles, and /calibration/posterior (the last generation).
void write_calibration(OutputFile& file, const Calibration& c, const CalibrationResult& r);

// Reads /calibration/posterior of a calibration file, validated first: names,
// a finite value for every particle and parameter, non-negative finite weights
// with a positive sum. Throws std::runtime_error saying what is wrong and where.
Posterior read_posterior(const std::filesystem::path& path);

}  // namespace schoolsim
