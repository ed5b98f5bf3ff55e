#pragma once

#include "sim/mechanism.hpp"

namespace schoolsim::models {

MechanismInfo transfer_info();

}  // namespace schoolsim::models
