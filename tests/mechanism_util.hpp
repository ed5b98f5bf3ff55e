// Building mechanisms of the registry with chosen parameters, for unit tests.
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <utility>
#include <vector>

#include "models/register_all.hpp"
#include "sim/mechanism.hpp"

namespace schoolsim::test {

inline const MechanismInfo& mech(const char* name) {
  const MechanismInfo* m = models::registry().find(name);
  REQUIRE_MESSAGE(m != nullptr, name);
  return *m;
}

// The mechanism's defaults with the named parameters changed.
inline std::vector<double> with(const MechanismInfo& m,
                                std::initializer_list<std::pair<const char*, double>> set) {
  auto v = defaults(m.params);
  for (auto [k, x] : set) {
    const int i = param_index(m.params, k);
    REQUIRE_MESSAGE(i >= 0, k);
    v[static_cast<std::size_t>(i)] = x;
  }
  return v;
}

// The value of the choice named `choice` of the mechanism's parameter `param`.
inline double choice(const MechanismInfo& m, const char* param, const char* choice) {
  const int i = param_index(m.params, param);
  REQUIRE_MESSAGE(i >= 0, param);
  return choice_index(m.params[static_cast<std::size_t>(i)], choice);
}

}  // namespace schoolsim::test
