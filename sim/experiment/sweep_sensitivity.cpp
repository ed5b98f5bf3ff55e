#include "sim/experiment/sweep_sensitivity.hpp"

namespace schoolsim {

std::vector<OutputSensitivity> sweep_sensitivity(const Experiment& e, const Design& d, const SweepResults& r) {
  std::vector<OutputSensitivity> out;
  const auto runs = static_cast<std::size_t>(r.runs), reps = static_cast<std::size_t>(r.replicates);
  for (std::size_t m : e.outputs) {
    Eigen::VectorXd y(static_cast<Eigen::Index>(runs));
    for (std::size_t run = 0; run < runs; ++run) {
      double s = 0;
      for (std::size_t rep = 0; rep < reps; ++rep) s += r.finals[m][run * reps + rep];
      y[static_cast<Eigen::Index>(run)] = s / static_cast<double>(reps);
    }
    OutputSensitivity o;
    o.measure = m;
    if (e.method == DesignMethod::morris) {
      o.morris = experiment::morris_indices(d.morris, y);
    } else if (e.method == DesignMethod::saltelli) {
      o.sobol = experiment::sobol_indices(d.saltelli, y, e.bootstrap, 0.95, e.base.seed);
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace schoolsim
