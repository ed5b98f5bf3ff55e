// The one explicit list of everything a scenario can name.
#pragma once

#include "sim/registry.hpp"

namespace schoolsim::models {

// Fills the registry with the world generator and every mechanism, in the
// order of the process overview (docs/ODD.md, process overview); a scenario without a
// pipeline runs them all in this order.
void register_all(Registry& registry);

// A registry filled by register_all, built once.
const Registry& registry();

}  // namespace schoolsim::models
