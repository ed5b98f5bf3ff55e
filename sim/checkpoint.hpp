// Checkpoints: the complete state of one replicate after a given term, and
// what it has recorded so far, so a run can stop and continue with output
// byte-identical to an uninterrupted run, or branch into other regimes.
//
// The format is schoolsim's own binary (little-endian, as on every machine
// schoolsim builds on), versioned by kCheckpointVersion; it is not an archive
// format and is read only by the same version of schoolsim.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "sim/recording.hpp"
#include "sim/state.hpp"

namespace schoolsim {

inline constexpr std::uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::string scenario;  // the resolved scenario it was made by (YAML)
  std::int32_t replicate = 0;
  std::int32_t terms_done = 0;
  State state;
  Recording recording;
};

// Written under a temporary name and renamed, like every output.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c);
// Throws std::runtime_error naming the file when it is not a checkpoint of this version.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace schoolsim
