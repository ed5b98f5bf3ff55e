// Paired comparison of two regimes with common random numbers: replicate r of
// both arms runs from the same seed, so both start from the same generated
// world and every mechanism they share draws the same numbers.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "sim/measures.hpp"
#include "sim/registry.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace schoolsim {

// What a measure's effect size is standardised by.
enum class EffectBasis {
  pupil_sd,            // already in pupil SD: the difference as it is
  between_schools,     // a per-school mean: SD of the school variable between schools (arm A, at the end)
  between_replicates,  // anything else: SD of the measure between replicates of arm A (at the end)
};
// How the basis reads in a table, the HDF5 attribute and the report.
std::string_view effect_basis_text(EffectBasis basis);
// The basis of a system measure (its EffectScale in the measure table).
EffectBasis effect_basis_of(std::size_t measure);
// With EffectBasis::between_schools: the standard deviation between the
// schools of `s` of the variable the measure averages (population SD).
double between_school_sd(std::size_t measure, const State& s);

struct Comparison {
  std::int32_t replicates = 0;
  std::vector<std::int32_t> terms;  // terms completed at each row (0 = start)
  // [measure][replicate * rows + row], per arm
  std::vector<std::vector<double>> a, b;
  // [measure][row]: mean of b - a over replicates and its 95% interval
  std::vector<std::vector<double>> diff_mean, diff_lo, diff_hi;
  // [measure]: the effect size at the last row, the mean of b - a divided by
  // effect_scale: a difference analysts can read against 0.2, 0.5 and 0.8.
  // (The paired d_z, mean / SD of b - a, is no such thing under common random
  // numbers: the pairs' differences hardly vary, and d_z runs into the
  // thousands.) NaN when the scale is 0 or unknown.
  std::vector<double> effect_size;
  // [measure]: what the difference is divided by (1 for pupil SD) and how it
  // is defined (effect_basis).
  std::vector<double> effect_scale;
  std::vector<EffectBasis> effect_basis;

  [[nodiscard]] double mean_at(const std::vector<double>& arm, std::size_t row) const;
};

// Why two scenarios cannot be compared (different worlds or lengths), or "".
std::string comparable(const Scenario& a, const Scenario& b);

// A warmed-up world both arms branch from: the state after `terms_done` terms.
struct Branch {
  const State* state = nullptr;
  std::int32_t terms_done = 0;
};

// Runs both arms; a.seed seeds both. With a branch, every replicate of both
// arms continues from its state. Throws Interrupted when cancelled.
// Pairs are folded into running sums as they complete, in replicate order, so
// memory holds the system series, not every run's recording and final state;
// the result is the same at any thread count.
Comparison compare(const Scenario& a, const Scenario& b, const Registry& registry,
                   std::int32_t replicates, const RunOptions& options, Branch from = {});

// Running mean and variance (Welford's update): numerically stable where the
// one-pass sum of squares loses every digit to a large mean.
struct Welford {
  std::int64_t n = 0;
  double mean = 0, m2 = 0;  // m2: the sum of squared deviations from the mean
  void add(double x) {
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
  }
  // The sample variance (n - 1 in the denominator); NaN for n < 2.
  [[nodiscard]] double variance() const {
    return n < 2 ? std::numeric_limits<double>::quiet_NaN() : m2 / static_cast<double>(n - 1);
  }
};

// Two-sided 95% interval half-width factor for the mean of n paired
// differences (Student's t with n - 1 degrees of freedom); NaN for n < 2.
double t_factor(std::int32_t n);

}  // namespace schoolsim
