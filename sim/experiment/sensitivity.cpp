#include "sim/experiment/sensitivity.hpp"

#include <algorithm>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/rng.hpp"

namespace schoolsim::experiment {

namespace {

constexpr std::uint32_t kBootstrapKey = stream_key("experiment.sobol_bootstrap");
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

void require_finite(const Eigen::VectorXd& y, const char* who) {
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    require(std::isfinite(y(i)), std::string(who) + ": output y(" + std::to_string(i) + ") = " +
                                     std::to_string(y(i)) + " is not finite");
  }
}

// Percentile of sorted values, interpolating linearly between order statistics
// (numpy.percentile's default).
double percentile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto k = static_cast<std::size_t>(std::floor(h));
  if (k + 1 >= sorted.size()) return sorted.back();
  return sorted[k] + (h - static_cast<double>(k)) * (sorted[k + 1] - sorted[k]);
}

// Sobol' estimates from the base rows, row i counted w[i] times, on output
// centred by the (weighted) mean of f(A) and f(B): adding a constant to y
// changes no index.
class SobolEstimator {
 public:
  SobolEstimator(const Eigen::VectorXd& y, int n, int d) : y_(y), n_(n), d_(d) {}

  [[nodiscard]] double fa(Eigen::Index i) const { return y_(i * (d_ + 2)); }
  [[nodiscard]] double fab(Eigen::Index i, Eigen::Index j) const { return y_(i * (d_ + 2) + 1 + j); }
  [[nodiscard]] double fb(Eigen::Index i) const { return y_(i * (d_ + 2) + d_ + 1); }

  // Writes first[j] and total[j]; NaN when the outputs do not vary.
  void estimate(const std::vector<int>& w, Eigen::Ref<Eigen::VectorXd> first,
                Eigen::Ref<Eigen::VectorXd> total) const {
    double total_weight = 0, sum = 0;
    for (Eigen::Index i = 0; i < n_; ++i) {
      const int wi = w[static_cast<std::size_t>(i)];
      total_weight += wi;
      sum += wi * (fa(i) + fb(i));
    }
    const double mean = sum / (2 * total_weight);
    double ss = 0;
    for (Eigen::Index i = 0; i < n_; ++i) {
      const double a = fa(i) - mean, b = fb(i) - mean;
      ss += w[static_cast<std::size_t>(i)] * (a * a + b * b);
    }
    const double var = ss / (2 * total_weight);
    for (Eigen::Index j = 0; j < d_; ++j) {
      double s1 = 0, st = 0;
      for (Eigen::Index i = 0; i < n_; ++i) {
        const double wi = w[static_cast<std::size_t>(i)];
        const double diff = fab(i, j) - fa(i);
        // On centred output: f(B) itself would add mean * mean(f(AB_j) - f(A)),
        // zero only on average, and swamp the index when the mean is large
        // beside the spread.
        s1 += wi * (fb(i) - mean) * diff;  // Saltelli et al. (2010), Table 2 (b)
        st += wi * diff * diff;   // Jansen (1999)
      }
      first(j) = var > 0 ? s1 / total_weight / var : kNaN;
      total(j) = var > 0 ? st / total_weight / 2 / var : kNaN;
    }
  }

 private:
  const Eigen::VectorXd& y_;
  Eigen::Index n_, d_;
};

}  // namespace

MorrisIndices morris_indices(const MorrisDesign& design, const Eigen::VectorXd& y) {
  const Eigen::MatrixXd& x = design.points;
  const Eigen::Index d = x.cols(), t_count = design.trajectories;
  require(t_count >= 1, "morris_indices: the design has no trajectories");
  require(d >= 1, "morris_indices: the design has no factors");
  require(x.rows() == t_count * (d + 1),
          "morris_indices: " + std::to_string(t_count) + " trajectories of " + std::to_string(d) +
              " factors need " + std::to_string(t_count * (d + 1)) + " rows, the design has " +
              std::to_string(x.rows()));
  require(y.size() == x.rows(), "morris_indices: the design has " + std::to_string(x.rows()) +
                                    " rows but y has " + std::to_string(y.size()) + " values");
  require_finite(y, "morris_indices");

  Eigen::MatrixXd ee(t_count, d);  // elementary effects [trajectory, factor]
  std::vector<bool> seen(static_cast<std::size_t>(d));
  for (Eigen::Index t = 0; t < t_count; ++t) {
    std::fill(seen.begin(), seen.end(), false);
    for (Eigen::Index r = t * (d + 1); r < (t + 1) * (d + 1) - 1; ++r) {
      Eigen::Index changed = -1, count = 0;
      for (Eigen::Index j = 0; j < d; ++j) {
        if (x(r + 1, j) != x(r, j)) {
          changed = j;
          ++count;
        }
      }
      require(count == 1 && !seen[static_cast<std::size_t>(changed)],
              "morris_indices: rows " + std::to_string(r) + " and " + std::to_string(r + 1) +
                  " of trajectory " + std::to_string(t) +
                  " must differ in exactly one factor not yet changed in the trajectory");
      seen[static_cast<std::size_t>(changed)] = true;
      // The step's own sign and size give the direction (Morris 1991).
      ee(t, changed) = (y(r + 1) - y(r)) / (x(r + 1, changed) - x(r, changed));
    }
  }

  MorrisIndices out;
  out.mu = ee.colwise().mean().transpose();
  out.mu_star = ee.cwiseAbs().colwise().mean().transpose();
  if (t_count < 2) {
    out.sigma = Eigen::VectorXd::Constant(d, kNaN);
  } else {
    const Eigen::MatrixXd centred = ee.rowwise() - out.mu.transpose();
    out.sigma = (centred.cwiseAbs2().colwise().sum() / static_cast<double>(t_count - 1)).cwiseSqrt().transpose();
  }
  return out;
}

SobolIndices sobol_indices(const SaltelliDesign& design, const Eigen::VectorXd& y, int bootstrap,
                           double confidence, std::uint64_t seed) {
  const int n = design.n, d = design.d;
  require(n >= 2, "sobol_indices: needs at least 2 base rows, the design has " + std::to_string(n));
  require(d >= 1, "sobol_indices: the design has no factors");
  const Eigen::Index rows = static_cast<Eigen::Index>(n) * (d + 2);
  require(design.points.rows() == rows && design.points.cols() == d,
          "sobol_indices: a Saltelli design with n = " + std::to_string(n) + " and d = " +
              std::to_string(d) + " has " + std::to_string(rows) + " x " + std::to_string(d) +
              " points, this one has " + std::to_string(design.points.rows()) + " x " +
              std::to_string(design.points.cols()));
  require(y.size() == rows, "sobol_indices: the design has " + std::to_string(rows) + " rows but y has " +
                                std::to_string(y.size()) + " values");
  require(bootstrap >= 0, "sobol_indices: bootstrap must be >= 0, got " + std::to_string(bootstrap));
  require(confidence > 0 && confidence < 1,
          "sobol_indices: confidence must be in (0, 1), got " + std::to_string(confidence));
  require_finite(y, "sobol_indices");

  const SobolEstimator est(y, n, d);
  SobolIndices out;
  out.first.resize(d);
  out.total.resize(d);
  std::vector<int> w(static_cast<std::size_t>(n), 1);
  est.estimate(w, out.first, out.total);

  out.first_lo = out.first_hi = out.total_lo = out.total_hi = Eigen::VectorXd::Constant(d, kNaN);
  if (bootstrap == 0) return out;

  // Resample b draws its n base rows from its own stream.
  const Streams streams(seed, 0);
  boost::random::uniform_int_distribution<int> pick(0, n - 1);
  Eigen::MatrixXd first_b(d, bootstrap), total_b(d, bootstrap);
  for (int b = 0; b < bootstrap; ++b) {
    Stream rng = streams.stream(kBootstrapKey, 0, static_cast<std::uint64_t>(b));
    std::fill(w.begin(), w.end(), 0);
    for (int i = 0; i < n; ++i) ++w[static_cast<std::size_t>(pick(rng))];
    est.estimate(w, first_b.col(b), total_b.col(b));
  }
  const double q_lo = (1 - confidence) / 2, q_hi = (1 + confidence) / 2;
  auto interval = [&](const Eigen::MatrixXd& draws, Eigen::Index j, double& lo, double& hi) {
    std::vector<double> v(draws.row(j).begin(), draws.row(j).end());
    if (std::any_of(v.begin(), v.end(), [](double e) { return std::isnan(e); })) return;
    std::sort(v.begin(), v.end());
    lo = percentile(v, q_lo);
    hi = percentile(v, q_hi);
  };
  for (Eigen::Index j = 0; j < d; ++j) {
    interval(first_b, j, out.first_lo(j), out.first_hi(j));
    interval(total_b, j, out.total_lo(j), out.total_hi(j));
  }
  return out;
}

}  // namespace schoolsim::experiment
