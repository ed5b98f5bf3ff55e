// Teaching mode's scenarios, loaded from files: the single world's (a file
// given to `schoolsim serve`, or the built-in scenarios/classroom.yaml) and the
// comparison's arms, scenarios/classroom_competitive.yaml and
// scenarios/classroom_collaborative.yaml, built into the binary and the web
// build (sim/serve/embed.cmake).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/config/config.hpp"
#include "sim/serve/classroom.hpp"

namespace schoolsim::live {

struct ClassroomLoad {
  std::optional<ClassroomScenarios> scenarios;  // set only when there are no errors
  std::vector<Diagnostic> errors;
};

// `path` empty: the built-in classroom.yaml.
ClassroomLoad load_classroom(const std::string& path, const Registry& registry);

// The built-in text of scenarios/FILE (e.g. "classroom.yaml"), if built in.
std::optional<std::string> builtin_scenario(const std::string& file);

}  // namespace schoolsim::live
