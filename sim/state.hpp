// The state of a simulated school system: one column per school variable
// (sim/fields.hpp) plus the tie store.
#pragma once

#include <Eigen/Core>
#include <cstdint>

#include "sim/fields.hpp"
#include "sim/neighbours.hpp"
#include "sim/networks.hpp"
#include "sim/ties.hpp"

namespace schoolsim {

template <Storage S>
struct ColumnType;
template <>
struct ColumnType<Storage::real> {
  using type = Eigen::ArrayXd;
};
template <>
struct ColumnType<Storage::integer> {
  using type = Eigen::ArrayXi;
};
template <>
struct ColumnType<Storage::vector> {
  using type = Eigen::MatrixXd;  // k rows, one column per school
};

struct State {
#define SCHOOLSIM_MEMBER(name, storage, role, bounds, unit, meaning) \
  ColumnType<Storage::storage>::type name;
  SCHOOLSIM_SCHOOL_FIELDS(SCHOOLSIM_MEMBER)
#undef SCHOOLSIM_MEMBER

  TieStore ties;
  Neighbours near;  // schools within reach, and their rivalry
  Networks networks;  // formal networks
  std::int32_t n_areas = 0;
  std::int32_t terms_done = 0;  // terms simulated so far (kept by the kernel)
  // Per area: strength of the area's beyond-school strategy in [0,1] (brokering
  // ties, mitigating disadvantage), raised by policy or by mobilisation.
  Eigen::ArrayXd area_strategy;

  [[nodiscard]] std::int32_t n_schools() const { return static_cast<std::int32_t>(capacity.size()); }
  [[nodiscard]] Eigen::Index practice_dims() const { return practice.rows(); }

  // Sizes every column for n schools (zero-filled) and empties the tie store.
  void allocate(std::int32_t n, std::int32_t areas, Eigen::Index practice_dims);

  // Exchanges one column with another state's (O(1)).
  void swap_field(Field f, State& other);
  // Frees field f's column (the kernel's scratch state between mechanisms).
  void release_field(Field f);
};

// The one definition of a bridging tie: a tie between schools a and b is bridging when it links schools of different
// areas or phases, and bonding otherwise (Putnam 2000; Muijs, West & Ainscow 2010).
inline bool bridging(const State& s, std::int32_t a, std::int32_t b) {
  return s.area[a] != s.area[b] || s.phase[a] != s.phase[b];
}

// Calls f(column) with the column of field `fld`, typed by its storage.
template <class S, class F>
decltype(auto) visit_field(S& state, Field fld, F&& f) {
  switch (fld) {
#define SCHOOLSIM_CASE(name, storage, role, bounds, unit, meaning) \
  case Field::name:                                        \
    return f(state.name);
    SCHOOLSIM_SCHOOL_FIELDS(SCHOOLSIM_CASE)
#undef SCHOOLSIM_CASE
  }
  return f(state.capacity);  // unreachable: every enumerator is handled above
}

}  // namespace schoolsim
