// The sensitivity of a sweep's outputs (docs/EXPERIMENTS.md): Morris or Sobol
// indices of each output measure's value at the end, averaged over replicates.
#pragma once

#include <cstddef>
#include <vector>

#include "sim/experiment/sensitivity.hpp"
#include "sim/experiment/sweep.hpp"

namespace schoolsim {

struct OutputSensitivity {
  std::size_t measure = 0;              // index in kSystemMeasures
  experiment::MorrisIndices morris;     // with a Morris design
  experiment::SobolIndices sobol;       // with a Saltelli design
};

// One entry per output of `e` (e.outputs, in order); its indices are those of
// the design's method (Morris or Saltelli), and empty for other designs.
std::vector<OutputSensitivity> sweep_sensitivity(const Experiment& e, const Design& d, const SweepResults& r);

}  // namespace schoolsim
