#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo turnover_info();

}  // namespace schoolsim::models
