// Paired comparison of two regimes with common random numbers: replicate r of
// both arms runs from the same seed, so both start from the same generated
// world and every mechanism they share draws the same numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/measures.hpp"
#include "sim/registry.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace schoolsim {

struct Comparison {
  std::int32_t replicates = 0;
  std::vector<std::int32_t> terms;  // terms completed at each row (0 = start)
  // [measure][replicate * rows + row], per arm
  std::vector<std::vector<double>> a, b;
  // [measure][row]: mean of b - a over replicates and its 95% interval
  std::vector<std::vector<double>> diff_mean, diff_lo, diff_hi;
  // [measure]: paired effect size (mean / sd of b - a) at the last row; NaN
  // when the differences do not vary
  std::vector<double> effect_size;

  double mean_at(const std::vector<double>& arm, std::size_t row) const;
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
Comparison compare(const Scenario& a, const Scenario& b, const Registry& registry,
                   std::int32_t replicates, const RunOptions& options, Branch from = {});

// Two-sided 95% interval half-width factor for the mean of n paired
// differences (Student's t with n - 1 degrees of freedom); NaN for n < 2.
double t_factor(std::int32_t n);

}  // namespace schoolsim
