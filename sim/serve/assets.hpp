// Files built into the binary by sim/serve/embed.cmake: the page of teaching
// mode (sim/serve/web/) and the classroom scenario `schoolsim serve` opens.
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

}  // namespace schoolsim::serve
