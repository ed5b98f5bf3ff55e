// A calibration's state file (`<output>.calib-state`, `calibrate --state`):
// the finished generations and the one under way, saved after every batch so
// that a stopped calibration resumes where it stopped (docs/OUTPUT.md,
// docs/EXPERIMENTS.md). The algorithm (sim/experiment/calibrate.cpp) decides
// what goes in it; this file owns the format and what is checked before a
// state read back is trusted.
//
// The format (little-endian, as on every machine schoolsim builds on): magic
// "SCHSIMCA", the version (u32), the calibration's fingerprint (u64 length and
// its bytes), the simulations done (i64), the number of finished generations
// (u64), each finished generation and then the one under way, and a CRC-32C
// (u32) of everything before it. A generation is its tolerance (f64), its
// attempts (i64), its particle count (u64) and per particle its parameters,
// weight, distance and statistics (f64 each; the weight is 0 in the
// generation under way).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "sim/experiment/calibrate.hpp"

namespace schoolsim {

inline constexpr std::uint32_t kCalibStateVersion = 1;

struct CalibState {
  std::vector<Generation> done;
  Generation current;  // the generation under way (its tolerance set)
  std::int64_t simulations = 0;
};

std::string encode_state(const CalibState& s, const std::string& fingerprint);
// "" when `bytes` is a sound state of this calibration (with `d` parameters and
// `t` targets), filling `s`; else the reason it is not.
std::string decode_state(std::string_view bytes, const std::string& fingerprint, std::size_t d, std::size_t t,
                         CalibState& s);

// Writes the state under a temporary name and renames it into place: the file
// is the last whole state. Throws std::runtime_error when it cannot be written.
void save_state(const std::filesystem::path& path, const CalibState& s, const std::string& fingerprint);

// Reads the state saved at `path`: false (and `s` untouched) when there is
// none; true with `s` filled when it is a sound state of this calibration
// (decode_state). Throws std::runtime_error naming the file and saying why
// when it cannot be used.
bool load_state(const std::filesystem::path& path, const std::string& fingerprint, std::size_t d, std::size_t t,
                CalibState& s);

}  // namespace schoolsim
