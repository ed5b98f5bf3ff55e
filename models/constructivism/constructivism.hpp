#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo constructivism_info();

}  // namespace schoolsim::models
