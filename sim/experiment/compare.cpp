#include "sim/experiment/compare.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

namespace schoolsim {

double t_factor(std::int32_t n) {
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const boost::math::students_t dist(n - 1);
  return boost::math::quantile(dist, 0.975);
}

namespace {

// The school variable a per-school-mean measure averages, or nothing.
enum class SchoolVariable { none, capacity, expectations, crisis, degree };

SchoolVariable averaged_variable(std::string_view measure) {
  if (measure == "mean_capacity") return SchoolVariable::capacity;
  if (measure == "mean_expectations") return SchoolVariable::expectations;
  if (measure == "mean_crisis") return SchoolVariable::crisis;
  if (measure == "mean_degree") return SchoolVariable::degree;
  return SchoolVariable::none;
}

double population_sd(const Eigen::ArrayXd& v) {
  if (v.size() == 0) return std::numeric_limits<double>::quiet_NaN();
  return std::sqrt((v - v.mean()).square().mean());
}

}  // namespace

std::string_view effect_basis_text(EffectBasis basis) {
  switch (basis) {
    case EffectBasis::pupil_sd: return "pupil SD (the difference as it is)";
    case EffectBasis::between_schools: return "SD between schools (arm A, at the end)";
    case EffectBasis::between_replicates: return "SD between replicates of arm A (at the end)";
  }
  return "";
}

EffectBasis effect_basis_of(std::size_t measure) {
  const MeasureInfo& mi = kSystemMeasures.at(measure);
  if (mi.unit == "pupil SD") return EffectBasis::pupil_sd;
  if (averaged_variable(mi.name) != SchoolVariable::none) return EffectBasis::between_schools;
  return EffectBasis::between_replicates;
}

double between_school_sd(std::size_t measure, const State& s) {
  switch (averaged_variable(kSystemMeasures.at(measure).name)) {
    case SchoolVariable::capacity: return population_sd(s.capacity);
    case SchoolVariable::expectations: return population_sd(s.expectations);
    case SchoolVariable::crisis: return population_sd(s.crisis);
    case SchoolVariable::degree: {
      Eigen::ArrayXd degree = Eigen::ArrayXd::Zero(s.n_schools());
      s.ties.for_each([&](TieStore::Slot t) {
        degree(s.ties.a[t]) += 1;
        degree(s.ties.b[t]) += 1;
      });
      return population_sd(degree);
    }
    case SchoolVariable::none: break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double Comparison::mean_at(const std::vector<double>& arm, std::size_t row) const {
  double s = 0;
  for (std::int32_t r = 0; r < replicates; ++r) s += arm[static_cast<std::size_t>(r) * terms.size() + row];
  return s / replicates;
}

std::string comparable(const Scenario& a, const Scenario& b) {
  if (a.world != b.world)
    return "the two scenarios generate different worlds (their 'world' sections differ); a paired "
           "comparison needs the same world in both arms";
  if (a.years != b.years)
    return "the two scenarios run for different numbers of years (" + std::to_string(a.years) + " and " +
           std::to_string(b.years) + ")";
  return "";
}

Comparison compare(const Scenario& a_in, const Scenario& b_in, const Registry& registry,
                   std::int32_t replicates, const RunOptions& options, Branch from) {
  // Only the system measures are needed; both arms share the seed.
  Scenario arms[2] = {a_in, b_in};
  for (auto& sc : arms) {
    sc.seed = a_in.seed;
    sc.record = RecordConfig{Cadence::year, {}, false, true, false};
  }
  const auto tasks = static_cast<std::size_t>(2 * replicates);
  std::vector<Recording> done(tasks);
  std::exception_ptr error;
  std::mutex mu;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> cancel{false};
  RunOptions worker = options;
  worker.cancel = &cancel;
  auto work = [&] {
    for (std::size_t t; !cancel && (t = next++) < tasks;) {
      try {
        if (options.cancel && options.cancel->load()) throw Interrupted();
        const auto rep = static_cast<std::int32_t>(t / 2);
        done[t] = from.state ? continue_replicate(arms[t % 2], registry, rep, *from.state, from.terms_done,
                                                  std::nullopt, worker)
                             : run_replicate(arms[t % 2], registry, rep, worker);
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
        cancel = true;
      }
    }
  };
  std::vector<std::thread> pool;
  const auto n_threads = static_cast<std::size_t>(std::max(1, std::min<std::int32_t>(options.threads, 2 * replicates)));
  for (std::size_t i = 1; i < n_threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  if (options.cancel && options.cancel->load()) throw Interrupted();

  Comparison c;
  c.replicates = replicates;
  c.terms = done[0].system_terms;
  const std::size_t rows = c.terms.size();
  c.a.assign(kMeasureCount, std::vector<double>(static_cast<std::size_t>(replicates) * rows));
  c.b = c.a;
  c.diff_mean.assign(kMeasureCount, std::vector<double>(rows));
  c.diff_lo = c.diff_hi = c.diff_mean;
  c.effect_size.assign(kMeasureCount, 0.0);
  c.effect_scale.assign(kMeasureCount, 1.0);
  c.effect_basis.assign(kMeasureCount, EffectBasis::pupil_sd);
  const double tf = t_factor(replicates);
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    // The effect's scale, from arm A at the end.
    const EffectBasis basis = effect_basis_of(m);
    double scale = 1.0;
    if (basis == EffectBasis::between_schools) {
      double var = 0;  // pooled over replicates
      for (std::int32_t r = 0; r < replicates; ++r) {
        const double sd = between_school_sd(m, done[static_cast<std::size_t>(2 * r)].final_state);
        var += sd * sd / replicates;
      }
      scale = std::sqrt(var);
    } else if (basis == EffectBasis::between_replicates) {
      double sum = 0, sum2 = 0;
      for (std::int32_t r = 0; r < replicates; ++r) {
        const double v = done[static_cast<std::size_t>(2 * r)].system[m][rows - 1];
        sum += v, sum2 += v * v;
      }
      const double mean = sum / replicates;
      scale = replicates > 1 ? std::sqrt(std::max(0.0, (sum2 - replicates * mean * mean) / (replicates - 1))) : kNaN;
    }
    c.effect_basis[m] = basis;
    c.effect_scale[m] = scale;
    for (std::int32_t r = 0; r < replicates; ++r)
      for (std::size_t row = 0; row < rows; ++row) {
        const std::size_t at = static_cast<std::size_t>(r) * rows + row;
        c.a[m][at] = done[static_cast<std::size_t>(2 * r)].system[m][row];
        c.b[m][at] = done[static_cast<std::size_t>(2 * r + 1)].system[m][row];
      }
    for (std::size_t row = 0; row < rows; ++row) {
      double sum = 0, sum2 = 0;
      for (std::int32_t r = 0; r < replicates; ++r) {
        const std::size_t at = static_cast<std::size_t>(r) * rows + row;
        const double d = c.b[m][at] - c.a[m][at];
        sum += d, sum2 += d * d;
      }
      const double mean = sum / replicates;
      const double var = replicates > 1 ? std::max(0.0, (sum2 - replicates * mean * mean) / (replicates - 1)) : 0.0;
      const double half = tf * std::sqrt(var / replicates);
      c.diff_mean[m][row] = mean;
      c.diff_lo[m][row] = mean - half;
      c.diff_hi[m][row] = mean + half;
      if (row + 1 == rows) c.effect_size[m] = scale > 0 ? mean / scale : kNaN;
    }
  }
  return c;
}

}  // namespace schoolsim
