#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

WorldInfo world_info();

}  // namespace schoolsim::models
