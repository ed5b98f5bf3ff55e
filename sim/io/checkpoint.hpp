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
#include <string_view>

#include "sim/recording.hpp"
#include "sim/state.hpp"

namespace schoolsim {

// 2: a header with the body's length and CRC-32C, and every shape checked on reading.
// 3: each school's ties as a block of a shared pool instead of linked lists.
inline constexpr std::uint32_t kCheckpointVersion = 3;
// No checkpoint schoolsim writes is larger; a larger file is refused unread.
inline constexpr std::uintmax_t kMaxCheckpointBytes = std::uintmax_t{16} << 30;

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
// A bad checkpoint (cut short, corrupted, inconsistent) is refused with the reason;
// nothing in it is used before every length, index and tie endpoint is checked.
Checkpoint load_checkpoint(const std::filesystem::path& path);

// The file's bytes, and reading them back (for tests and the fuzz target, which
// may skip the checksum to reach the checks behind it). parse throws
// std::runtime_error with the reason.
std::string checkpoint_bytes(const Checkpoint& c);
Checkpoint parse_checkpoint(std::string_view bytes, bool verify_checksum = true);

}  // namespace schoolsim
