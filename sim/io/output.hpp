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
#include <string_view>
#include <vector>

#include "sim/recording.hpp"

namespace schoolsim {

inline constexpr std::int32_t kSchemaVersion = 1;

// The deflate level files are written with unless --compression says otherwise.
inline constexpr unsigned kDefaultCompression = 0;

struct RunMeta {
  std::string scenario_name;
  std::string scenario_yaml;  // the resolved scenario, defaults filled in
  std::uint64_t seed = 0;
  std::int32_t replicates = 1;
  std::int32_t years = 0;
  std::string program_version;
  std::string kind = "run";  // "run", "compare" or "sweep": what the file holds
  // Deflate level of the per-school tables (shuffled first), 0 for none. The
  // default is chosen by measurement (docs/PERFORMANCE.md, issue 16).
  unsigned compression = kDefaultCompression;
};

class OutputFile {
 public:
  OutputFile(const std::filesystem::path& destination, const RunMeta& meta);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Writes one replicate under /replicates/<k>/. Call in replicate order. A
  // recording whose rows were streamed to row_sink() gets the rest of its
  // replicate written (system measures, tie events) and its tables checked.
  void write(const Recording& rec);

  // Where a replicate's series and attainment rows can go as they are recorded
  // (Recorder::stream_to), one replicate at a time: the file gets the same
  // calls in the same order as write() makes for a buffered recording, so its
  // bytes are the same either way. Only for uncompressed files (streams_rows()):
  // compressed tables are written whole.
  RowSink& row_sink();
  [[nodiscard]] bool streams_rows() const;
  // Seconds spent writing streamed rows so far (the benchmark report).
  [[nodiscard]] double row_seconds() const;

  // Generic tables for comparison and sweep files (docs/OUTPUT.md): `path` is
  // a dataset path such as "compare/mean_attainment/a"; missing groups are
  // created. Arrays are row-major with the given dimensions.
  void write_table(const std::string& path, const std::vector<std::size_t>& dims, const double* data,
                   std::string_view unit, std::string_view meaning);
  void write_table(const std::string& path, const std::vector<std::size_t>& dims,
                   const std::int32_t* data, std::string_view unit, std::string_view meaning);
  void write_table(const std::string& path, const std::vector<std::size_t>& dims,
                   const std::uint8_t* data, std::string_view unit, std::string_view meaning);
  void write_text(const std::string& path, const std::string& text, std::string_view meaning);
  void write_strings(const std::string& path, const std::vector<std::string>& values,
                     std::string_view meaning);
  // An attribute on a group or dataset that already exists ("" is the root).
  void set_attribute(const std::string& path, const std::string& name, double value);
  void set_attribute(const std::string& path, const std::string& name, std::int32_t value);
  void set_attribute(const std::string& path, const std::string& name, const std::string& value);
  // Flushes, closes and renames the file onto the destination.
  void commit();

  [[nodiscard]] const std::filesystem::path& temporary_path() const;

 private:
  template <class T>
  void table(const std::string& path, const std::vector<std::size_t>& dims, const T* data,
             std::string_view unit, std::string_view meaning);

  struct Impl;
  friend class FileRows;
  std::unique_ptr<Impl> impl_;
};

// /meta's `set` attribute: the --set changes of the command line, as one line
// ("a=1; b=2"); nothing when there are none.
void write_sets(OutputFile& file, const std::vector<std::string>& sets);

// /meta's `uncertainty` attribute: what the file's intervals include; with a
// posterior, /meta/posterior names the calibration file its parameters were
// drawn from.
void write_uncertainty(OutputFile& file, const std::string& uncertainty, const std::string& posterior_source = "");

// Removes `<destination>.tmp-<pid>`, the temporaries of OutputFile (and of
// checkpoints) that a process left when it was killed outright (SIGKILL, a
// power cut) and that no running process owns. Returns the paths removed.
std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& destination);

}  // namespace schoolsim
