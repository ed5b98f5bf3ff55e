// Files built into the binary by sim/serve/embed.cmake: the page of teaching
// mode (sim/serve/web/) and the classroom scenarios `schoolsim serve` opens and compares.
#pragma once

#include <cstddef>

namespace schoolsim::serve {

struct Asset {
  const char* path;  // as requested, e.g. "/app.js"
  const char* type;  // Content-Type
  const char* body;
};

extern const Asset k_assets[];
extern const std::size_t k_asset_count;
extern const char* const k_classroom_yaml;

// scenarios/classroom.yaml and the arms of the comparison that extend it.
struct ScenarioText {
  const char* file;  // e.g. "classroom_collaborative.yaml"
  const char* text;
};
extern const ScenarioText k_scenario_files[];
extern const std::size_t k_scenario_file_count;

}  // namespace schoolsim::serve
