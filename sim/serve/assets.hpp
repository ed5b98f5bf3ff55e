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

extern const Asset kAssets[];
extern const std::size_t kAssetCount;
extern const char* const kClassroomYaml;

// scenarios/classroom.yaml and the arms of the comparison that extend it.
struct ScenarioText {
  const char* file;  // e.g. "classroom_collaborative.yaml"
  const char* text;
};
extern const ScenarioText kScenarioFiles[];
extern const std::size_t kScenarioFileCount;

}  // namespace schoolsim::serve
