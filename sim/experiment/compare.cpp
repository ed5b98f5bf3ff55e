#include "sim/experiment/compare.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>

namespace schoolsim {

double t_factor(std::int32_t n) {
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const boost::math::students_t dist(n - 1);
  return boost::math::quantile(dist, 0.975);
}

namespace {

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
  switch (kSystemMeasures.at(measure).effect) {
    case EffectScale::pupil_sd: return EffectBasis::pupil_sd;
    case EffectScale::replicates: return EffectBasis::between_replicates;
    case EffectScale::capacity:
    case EffectScale::expectations:
    case EffectScale::crisis:
    case EffectScale::degree: return EffectBasis::between_schools;
  }
  return EffectBasis::between_replicates;  // unreachable: every enumerator is handled above
}

double between_school_sd(std::size_t measure, const State& s) {
  switch (kSystemMeasures.at(measure).effect) {
    case EffectScale::capacity: return population_sd(s.capacity);
    case EffectScale::expectations: return population_sd(s.expectations);
    case EffectScale::crisis: return population_sd(s.crisis);
    case EffectScale::degree: {
      Eigen::ArrayXd degree = Eigen::ArrayXd::Zero(s.n_schools());
      s.ties.for_each([&](TieStore::Slot t) {
        degree(s.ties.a[t]) += 1;
        degree(s.ties.b[t]) += 1;
      });
      return population_sd(degree);
    }
    case EffectScale::pupil_sd:
    case EffectScale::replicates: break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double Comparison::mean_at(const std::vector<double>& arm, std::size_t row) const {
  double s = 0;
  for (std::int32_t r = 0; r < replicates; ++r) s += arm[static_cast<std::size_t>(r) * terms.size() + row];
  return s / replicates;
}

std::string comparable(const Scenario& a, const Scenario& b) {
  if (a.world != b.world) {
    return "the two scenarios generate different worlds (their 'world' sections differ); a paired "
           "comparison needs the same world in both arms";
  }
  if (a.years != b.years) {
    return "the two scenarios run for different numbers of years (" + std::to_string(a.years) + " and " +
           std::to_string(b.years) + ")";
  }
  return "";
}

namespace {

// What compare keeps of one arm's run: its system series and, for arm A, the
// between-schools SD of its final state (the state itself is dropped at once).
struct ArmRun {
  std::vector<std::int32_t> terms;
  std::vector<std::vector<double>> system;  // [measure][row]
  std::vector<double> school_sd;            // [measure]; arm A only, NaN unless between_schools
};

}  // namespace

Comparison compare(const Scenario& a_in, const Scenario& b_in, const Registry& registry,
                   std::int32_t replicates, const RunOptions& options, Branch from) {
  // Only the system measures are needed; both arms share the seed.
  Scenario arms[2] = {a_in, b_in};
  for (auto& sc : arms) {
    sc.seed = a_in.seed;
    sc.record = RecordConfig{Cadence::year, {}, false, true, false};
  }
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::vector<EffectBasis> basis(kMeasureCount);
  for (std::size_t m = 0; m < kMeasureCount; ++m) basis[m] = effect_basis_of(m);

  Comparison c;
  c.replicates = replicates;
  // Running sums, folded pair by pair in replicate order.
  std::vector<std::vector<Welford>> diff;  // [measure][row]: b - a
  std::vector<Welford> end_a(kMeasureCount);  // arm A at the last row, between replicates
  std::vector<double> school_var(kMeasureCount, 0.0);  // pooled between-schools variance of arm A
  std::optional<ArmRun> pending_a;
  std::size_t rows = 0;
  std::int32_t folded = 0;

  auto fold = [&](const ArmRun& ra, const ArmRun& rb) {
    if (folded == 0) {
      c.terms = ra.terms;
      rows = c.terms.size();
      c.a.assign(kMeasureCount, std::vector<double>(static_cast<std::size_t>(replicates) * rows));
      c.b = c.a;
      diff.assign(kMeasureCount, std::vector<Welford>(rows));
    }
    if (ra.terms != c.terms || rb.terms != c.terms)
      throw std::logic_error("compare: replicate " + std::to_string(folded) + " recorded other terms than replicate 0");
    const std::size_t base = static_cast<std::size_t>(folded) * rows;
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      for (std::size_t row = 0; row < rows; ++row) {
        c.a[m][base + row] = ra.system[m][row];
        c.b[m][base + row] = rb.system[m][row];
        diff[m][row].add(rb.system[m][row] - ra.system[m][row]);
      }
      if (rows > 0) end_a[m].add(ra.system[m][rows - 1]);
      if (basis[m] == EffectBasis::between_schools) school_var[m] += ra.school_sd[m] * ra.school_sd[m] / replicates;
    }
    ++folded;
  };

  Parallel pool;
  pool.threads = options.threads;
  pool.cancel = options.cancel;
  run_ordered(
      2 * static_cast<std::size_t>(std::max(0, replicates)), pool,
      [&](std::size_t t, const Stop& stop) {
        const auto rep = static_cast<std::int32_t>(t / 2);
        const RunOptions ro = with_stop(options, stop);
        Recording rec = from.state ? continue_replicate(arms[t % 2], registry, rep, *from.state, from.terms_done,
                                                        std::nullopt, ro)
                                   : run_replicate(arms[t % 2], registry, rep, ro);
        ArmRun run;
        run.terms = std::move(rec.system_terms);
        run.system = std::move(rec.system);
        if (t % 2 == 0) {
          run.school_sd.assign(kMeasureCount, kNaN);
          for (std::size_t m = 0; m < kMeasureCount; ++m)
            if (basis[m] == EffectBasis::between_schools) run.school_sd[m] = between_school_sd(m, rec.final_state);
        }
        return run;
      },
      [&](std::size_t t, ArmRun&& run) {
        if (t % 2 == 0) {
          pending_a = std::move(run);
        } else {
          fold(*pending_a, run);
          pending_a.reset();
        }
      });
  if (options.cancel && options.cancel->load()) throw Interrupted();

  c.diff_mean.assign(kMeasureCount, std::vector<double>(rows));
  c.diff_lo = c.diff_hi = c.diff_mean;
  c.effect_size.assign(kMeasureCount, 0.0);
  c.effect_scale.assign(kMeasureCount, 1.0);
  c.effect_basis = basis;
  const double tf = t_factor(replicates);
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    // The effect's scale, from arm A at the end.
    double scale = 1.0;
    if (basis[m] == EffectBasis::between_schools) {
      scale = std::sqrt(school_var[m]);
    } else if (basis[m] == EffectBasis::between_replicates) {
      scale = replicates > 1 ? std::sqrt(end_a[m].variance()) : kNaN;
    }
    c.effect_scale[m] = scale;
    for (std::size_t row = 0; row < rows; ++row) {
      const Welford& w = diff[m][row];
      const double var = replicates > 1 ? w.variance() : 0.0;
      const double half = tf * std::sqrt(var / replicates);
      c.diff_mean[m][row] = w.mean;
      c.diff_lo[m][row] = w.mean - half;
      c.diff_hi[m][row] = w.mean + half;
      if (row + 1 == rows) c.effect_size[m] = scale > 0 ? w.mean / scale : kNaN;
    }
  }
  return c;
}

}  // namespace schoolsim
