#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo market_info();

// A school's funding per pupil-year (State::budget) by the market's funding
// equation: base_funding + premium x its share of disadvantaged pupils.
struct Funding {
  double base_funding = 1;
  double premium = 0;
  [[nodiscard]] double budget(double disadvantaged) const { return base_funding + premium * disadvantaged; }
};
// The funding of the pipeline's market; with no market listed, every school
// has the base rate 1 (nothing funds it otherwise).
Funding market_funding(const PipelineInfo& pipeline);

// Splits `total` into integers proportional to `weights` (largest remainder,
// ties to the lower index), so the parts always add up to `total`.
std::vector<std::int64_t> apportion(std::int64_t total, std::span<const double> weights);
// The same into `out`, reusing `scratch` (no allocation once they have grown).
void apportion(std::int64_t total, std::span<const double> weights, std::vector<std::int64_t>& out,
               std::vector<std::pair<double, std::size_t>>& scratch);

}  // namespace schoolsim::models
