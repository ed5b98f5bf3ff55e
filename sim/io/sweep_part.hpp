// A sweep's part files: one finished (run, replicate) each, kept in the parts
// folder (`<output>.parts/run-<task>.bin`) so that a stopped sweep resumes
// where it stopped (docs/OUTPUT.md, docs/EXPERIMENTS.md). The experiment
// (sim/experiment/sweep.cpp) decides which tasks to run; this file owns the
// format: its bytes, where a part lives, and what is checked before a part
// read back is trusted.
//
// The format (little-endian, as on every machine schoolsim builds on): magic
// "SCHSIMPT", the version (u32), the experiment's fingerprint (u32 length and
// its bytes), the task (u64), the lengths of the finals, the terms and the
// series (u64 each), then the finals (f64), the terms (i32) and the series
// (f64), and a CRC-32C (u32) of everything before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace schoolsim {

// A finished sweep task as kept in the parts folder: its final measures, the
// terms of its record rows, and its series ([measure][row]) when kept.
struct Part {
  std::vector<double> finals;
  std::vector<std::int32_t> terms;
  std::vector<double> series;
};

inline constexpr std::uint32_t kSweepPartVersion = 2;

// The bytes of task `task`'s part, made by the experiment of `fingerprint`.
std::string encode_part(const Part& p, const std::string& fingerprint, std::int64_t task);
// "" when `bytes` is a sound part of this experiment's `task` with `rows` record
// rows (and series when `series`), filling `p`; else the reason it is not.
std::string decode_part(std::string_view bytes, const std::string& fingerprint, std::int64_t task, bool series,
                        std::size_t rows, Part& p);

// Where task `task`'s part lives in the parts folder `dir`.
std::filesystem::path part_path(const std::filesystem::path& dir, std::int64_t task);

// Writes the part under a temporary name and renames it into place: a part is
// there whole or not at all. Throws std::runtime_error when it cannot be written.
void save_part(const std::filesystem::path& path, const Part& p, const std::string& fingerprint, std::int64_t task);

// Reads back a part from an earlier, stopped sweep: "" and `p` filled in when
// it is sound (decode_part); "missing" when there is none; else why it cannot
// be used (then the task is run again).
std::string load_part(const std::filesystem::path& path, const std::string& fingerprint, std::int64_t task,
                      bool series, std::size_t rows, Part& p);

}  // namespace schoolsim
