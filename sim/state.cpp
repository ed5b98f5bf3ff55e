#include "sim/state.hpp"

#include <type_traits>

namespace schoolsim {

void State::allocate(std::int32_t n, std::int32_t areas, Eigen::Index practice_dims) {
  for (const auto& fi : kFields) {
    visit_field(*this, fi.field, [&](auto& col) {
      using T = std::decay_t<decltype(col)>;
      if constexpr (std::is_same_v<T, Eigen::MatrixXd>) {
        col = T::Zero(practice_dims, n);
      } else {
        col = T::Zero(n);
      }
    });
  }
  ties.reset(n);
  networks = Networks();
  n_areas = areas;
  area_strategy = Eigen::ArrayXd::Zero(areas);
}

void State::swap_field(Field f, State& other) {
  visit_field(*this, f, [&](auto& col) {
    visit_field(other, f, [&](auto& o) {
      if constexpr (std::is_same_v<std::decay_t<decltype(col)>, std::decay_t<decltype(o)>>)
        col.swap(o);
    });
  });
}

void State::release_field(Field f) {
  visit_field(*this, f, [](auto& col) { col = std::decay_t<decltype(col)>(); });
}

}  // namespace schoolsim
