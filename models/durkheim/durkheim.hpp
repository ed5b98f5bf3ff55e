#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo durkheim_info();

}  // namespace schoolsim::models
