// The run's output file: the only code that touches HDF5 (docs/OUTPUT.md).
//
// The file is written under a temporary name beside the destination and renamed
// onto it by commit(); an OutputFile destroyed without commit() removes its
// temporary, so an interrupted or failed run never leaves a file at the
// destination (nor replaces a good one that was there).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "sim/recording.hpp"

namespace schoolsim {

inline constexpr std::int32_t kSchemaVersion = 1;

struct RunMeta {
  std::string scenario_name;
  std::string scenario_yaml;  // the resolved scenario, defaults filled in
  std::uint64_t seed = 0;
  std::int32_t replicates = 1;
  std::int32_t years = 0;
  std::string program_version;
};

class OutputFile {
 public:
  OutputFile(const std::filesystem::path& destination, const RunMeta& meta);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Writes one replicate under /replicates/<k>/. Call in replicate order.
  void write(const Recording& rec);
  // Flushes, closes and renames the file onto the destination.
  void commit();

  const std::filesystem::path& temporary_path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace schoolsim
