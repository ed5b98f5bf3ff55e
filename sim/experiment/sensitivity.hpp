// Sensitivity indices from the designs of design.hpp, given the model output y
// of every design row (y(i) belongs to design row i). Size mismatches and
// non-finite outputs throw std::invalid_argument.
#pragma once

#include <Eigen/Core>
#include <cstdint>

#include "sim/experiment/design.hpp"

namespace schoolsim::experiment {

// Morris (1991) elementary effects EE_j = (y(x + s e_j) - y(x)) / s, s = +-delta
// the step taken in the trajectory, summarised over trajectories: mu (mean),
// mu_star (mean of |EE|, Campolongo et al. 2007) and sigma (standard deviation
// with n - 1; NaN with a single trajectory). Works on any design laid out as
// morris_design lays it out, e.g. one read back from SALib.
struct MorrisIndices {
  Eigen::VectorXd mu, mu_star, sigma;
};
MorrisIndices morris_indices(const MorrisDesign& design, const Eigen::VectorXd& y);

// First-order indices by Saltelli et al. (2010), S_j = mean((f(B) - m)(f(AB_j) - f(A))) / V,
// and total indices by Jansen (1999), ST_j = mean((f(A) - f(AB_j))^2) / 2 / V,
// on centred output: m and V the mean and (population) variance of f(A) and
// f(B) together. SALib's sobol.analyze standardises y first, to the same
// effect. Adding a constant to y changes no index. The intervals are bootstrap percentile intervals
// at `confidence` over `bootstrap` resamples of the n base rows (with
// replacement); with bootstrap == 0 they are NaN. If y does not vary, every
// index is NaN.
// The estimators, as the sweep file names them (its sensitivity groups'
// `estimator` attribute): files without it came from an uncentred first-order
// estimator.
inline constexpr const char* kSobolEstimator =
    "first order: Saltelli et al. (2010) on centred output; total: Jansen (1999)";
struct SobolIndices {
  Eigen::VectorXd first, total, first_lo, first_hi, total_lo, total_hi;
};
SobolIndices sobol_indices(const SaltelliDesign& design, const Eigen::VectorXd& y, int bootstrap,
                           double confidence, std::uint64_t seed);

}  // namespace schoolsim::experiment
