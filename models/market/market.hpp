#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo market_info();

// Splits `total` into integers proportional to `weights` (largest remainder,
// ties to the lower index), so the parts always add up to `total`.
std::vector<std::int64_t> apportion(std::int64_t total, std::span<const double> weights);
// The same into `out`, reusing `scratch` (no allocation once they have grown).
void apportion(std::int64_t total, std::span<const double> weights, std::vector<std::int64_t>& out,
               std::vector<std::pair<double, std::size_t>>& scratch);

}  // namespace schoolsim::models
