// Schools within reach of each other: the local school market.
//
// For each school, the other schools of the same area and phase within reach
// of the families living nearest it, in compressed sparse rows sorted by
// distance (the school itself first, at distance 0). The rows are fixed when
// the world is generated; `overlap` is how much two schools' catchments
// overlap, and `rivalry` (written by the market each year) is how strongly
// they compete: choice intensity times overlap.
#pragma once

#include <cstdint>
#include <vector>

namespace schoolsim {

struct Neighbours {
  std::vector<std::int64_t> offsets;  // n_schools + 1 entries
  std::vector<std::int32_t> school;
  std::vector<double> distance_km;
  std::vector<double> overlap;  // [0,1]
  std::vector<double> rivalry;  // [0,1]

  [[nodiscard]] std::int32_t n_schools() const {
    return offsets.empty() ? 0 : static_cast<std::int32_t>(offsets.size() - 1);
  }
  // A state built without neighbours (by hand, in tests) has empty rows.
  [[nodiscard]] std::int64_t begin(std::int32_t i) const {
    return offsets.empty() ? 0 : offsets[static_cast<std::size_t>(i)];
  }
  [[nodiscard]] std::int64_t end(std::int32_t i) const {
    return offsets.empty() ? 0 : offsets[static_cast<std::size_t>(i) + 1];
  }
  [[nodiscard]] std::size_t size() const { return school.size(); }

  // The rivalry between i and j, or 0 when j is not within reach of i.
  [[nodiscard]] double rivalry_between(std::int32_t i, std::int32_t j) const {
    for (std::int64_t e = begin(i); e < end(i); ++e)
      if (school[static_cast<std::size_t>(e)] == j) return rivalry[static_cast<std::size_t>(e)];
    return 0.0;
  }
};

}  // namespace schoolsim
