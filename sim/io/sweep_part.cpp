// A sweep's part files: their bytes, where they live, and the checks on
// reading one back (sim/io/sweep_part.hpp).
#include "sim/io/sweep_part.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "sim/crc32c.hpp"
#include "sim/measures.hpp"

namespace schoolsim {

namespace fs = std::filesystem;

namespace {

constexpr char kPartMagic[8] = {'S', 'C', 'H', 'S', 'I', 'M', 'P', 'T'};

template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

std::string encode_part(const Part& p, const std::string& print, std::int64_t task) {
  std::string out(kPartMagic, sizeof kPartMagic);
  put(out, kSweepPartVersion);
  put(out, static_cast<std::uint32_t>(print.size()));
  out += print;
  put(out, static_cast<std::uint64_t>(task));
  put(out, static_cast<std::uint64_t>(p.finals.size()));
  put(out, static_cast<std::uint64_t>(p.terms.size()));
  put(out, static_cast<std::uint64_t>(p.series.size()));
  out.append(reinterpret_cast<const char*>(p.finals.data()), p.finals.size() * sizeof(double));
  out.append(reinterpret_cast<const char*>(p.terms.data()), p.terms.size() * sizeof(std::int32_t));
  out.append(reinterpret_cast<const char*>(p.series.data()), p.series.size() * sizeof(double));
  put(out, crc32c(out));
  return out;
}

std::string decode_part(std::string_view bytes, const std::string& print, std::int64_t task, bool series,
                        std::size_t rows, Part& p) {
  std::size_t at = 0;
  auto take = [&](void* dst, std::size_t n) {
    if (n > bytes.size() - at) return false;
    if (n) std::memcpy(dst, bytes.data() + at, n);
    at += n;
    return true;
  };
  char magic[sizeof kPartMagic];
  if (!take(magic, sizeof magic) || !std::equal(std::begin(magic), std::end(magic), std::begin(kPartMagic)))
    return "not a schoolsim sweep part";
  if (bytes.size() < sizeof kPartMagic + 8) return "cut short";
  std::uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + bytes.size() - 4, 4);
  if (crc32c(bytes.substr(0, bytes.size() - 4)) != crc) return "its checksum does not match (corrupted or cut short)";
  bytes = bytes.substr(0, bytes.size() - 4);
  std::uint32_t version = 0, print_size = 0;
  take(&version, 4);
  if (version != kSweepPartVersion) return "written by part version " + std::to_string(version);
  if (!take(&print_size, 4) || print_size > bytes.size() - at) return "cut short";
  if (bytes.substr(at, print_size) != print) return "made by a different experiment or version of schoolsim";
  at += print_size;
  std::uint64_t t = 0, n_finals = 0, n_rows = 0, n_series = 0;
  if (!take(&t, 8) || !take(&n_finals, 8) || !take(&n_rows, 8) || !take(&n_series, 8)) return "cut short";
  if (t != static_cast<std::uint64_t>(task)) return "it holds task " + std::to_string(t) + ", not " + std::to_string(task);
  if (n_finals != kMeasureCount) return "it holds " + std::to_string(n_finals) + " measures, not " + std::to_string(kMeasureCount);
  if (n_rows != rows) return "it holds " + std::to_string(n_rows) + " record rows, not " + std::to_string(rows);
  if (n_series != (series ? kMeasureCount * rows : 0)) return "its series have the wrong shape";
  const std::size_t expect = n_finals * sizeof(double) + n_rows * sizeof(std::int32_t) + n_series * sizeof(double);
  if (bytes.size() - at != expect) return "its length does not match its shape";
  p.finals.resize(n_finals);
  p.terms.resize(n_rows);
  p.series.resize(n_series);
  take(p.finals.data(), n_finals * sizeof(double));
  take(p.terms.data(), n_rows * sizeof(std::int32_t));
  take(p.series.data(), n_series * sizeof(double));
  return "";
}

fs::path part_path(const fs::path& dir, std::int64_t task) { return dir / ("run-" + std::to_string(task) + ".bin"); }

void save_part(const fs::path& path, const Part& p, const std::string& print, std::int64_t task) {
  // The process id in the temporary name: several processes (MPI ranks) may share the folder.
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    const std::string bytes = encode_part(p, print, task);
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(path, ec))) fs::remove(path, ec);  // an empty directory in its place
  fs::rename(tmp, path);  // a part is there whole, or not at all
}

std::string load_part(const fs::path& path, const std::string& print, std::int64_t task, bool series,
                      std::size_t rows, Part& p) {
  std::error_code ec;
  const auto st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) return "missing";
  if (!fs::is_regular_file(st)) return "not a regular file";
  const auto size = fs::file_size(path, ec);
  if (ec || size > (std::uintmax_t{1} << 30)) return "too large";
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) return "cannot be read";
  return decode_part(bytes, print, task, series, rows, p);
}

}  // namespace schoolsim
