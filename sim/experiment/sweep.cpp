#include "sim/experiment/sweep.hpp"

#include "sim/crc32c.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sim/simulation.hpp"

namespace schoolsim {

namespace fs = std::filesystem;

Design make_design(const Experiment& e) {
  Design d;
  const int k = static_cast<int>(e.parameters.size());
  switch (e.method) {
    case DesignMethod::factorial:
      d.unit = experiment::full_factorial(std::vector<int>(static_cast<std::size_t>(k), e.levels));
      break;
    case DesignMethod::lhs:
      d.unit = experiment::latin_hypercube(e.runs, k, e.base.seed);
      break;
    case DesignMethod::morris:
      d.morris = experiment::morris_design(e.runs, k, e.levels, e.base.seed);
      d.unit = d.morris.points;
      break;
    case DesignMethod::saltelli:
      d.saltelli = experiment::saltelli_design(e.runs, k, e.base.seed);
      d.unit = d.saltelli.points;
      break;
  }
  d.values = d.unit;
  for (int j = 0; j < k; ++j) {
    const auto& p = e.parameters[static_cast<std::size_t>(j)];
    for (Eigen::Index r = 0; r < d.values.rows(); ++r) {
      double v = p.lo + d.unit(r, j) * (p.hi - p.lo);
      if (p.integer) v = std::round(v);
      d.values(r, j) = v;
    }
  }
  return d;
}

Scenario scenario_for(const Experiment& e, const Eigen::RowVectorXd& values, std::int32_t replicate) {
  Scenario sc = e.base;
  sc.replicates = e.replicates;
  // The posterior's draw first, so the swept values below take precedence.
  if (e.posterior) apply_posterior(*e.posterior, e.base.seed, replicate, sc);
  sc.record = RecordConfig{Cadence::year, {}, false, true, false};
  for (std::size_t j = 0; j < e.parameters.size(); ++j) {
    const auto& p = e.parameters[j];
    const double v = values[static_cast<Eigen::Index>(j)];
    if (p.world) {
      sc.world[p.param] = v;
    } else {
      sc.pipeline[p.entry].values[p.param] = v;
    }
  }
  return sc;
}

std::string program_text(const Registry& registry, std::string_view program_version) {
  std::ostringstream s;
  s.precision(17);
  s << "schoolsim " << program_version << "\n";
  for (const auto& m : kSystemMeasures) s << m.name << " ";
  for (const auto& name : registry.names()) {
    s << "\nmechanism " << name;
    if (const MechanismInfo* info = registry.find(name))
      for (const auto& p : info->params) s << " " << p.name << "=" << p.def;
  }
  s << "\n";
  return s.str();
}

std::string fingerprint(const Experiment& e, const Registry& registry, std::string_view program_version) {
  std::ostringstream s;
  s.precision(17);
  // The program: a resume after an upgrade must not mix two versions' results.
  s << program_text(registry, program_version) << "parts " << kSweepPartVersion << "\n";
  s << "method " << static_cast<int>(e.method) << " runs " << e.runs << " levels " << e.levels << " replicates "
    << e.replicates << " series " << e.series << " seed " << e.base.seed << " years " << e.base.years << "\n";
  for (const auto& p : e.parameters) s << p.name << " " << p.lo << " " << p.hi << "\n";
  for (double w : e.base.world) s << w << " ";
  for (const auto& entry : e.base.pipeline) {
    s << "\n" << entry.info->name;
    for (double v : entry.values) s << " " << v;
  }
  for (const auto& ev : e.base.timeline) s << "\nevent " << ev.absolute_term() << " " << ev.entry << " " << ev.param << " " << ev.value;
  if (e.posterior) {
    s << "\nposterior";
    for (const auto& n : e.posterior->names) s << " " << n;
    for (std::size_t i = 0; i < e.posterior->theta.size(); ++i) {
      s << "\n" << e.posterior->weights[i];
      for (double x : e.posterior->theta[i]) s << " " << x;
    }
  }
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s.str()) h = (h ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
  std::ostringstream hex;
  hex << std::hex << h;
  return hex.str();
}

namespace {

fs::path part_path(const fs::path& dir, std::int64_t task) { return dir / ("run-" + std::to_string(task) + ".bin"); }

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

namespace {

void save(const fs::path& path, const Part& p, const std::string& print, std::int64_t task) {
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

// A part from an earlier, stopped sweep: "" and filled in when sound; else why
// not (then the task is run again).
std::string load(const fs::path& path, Part& p, const std::string& print, std::int64_t task, bool series,
                 std::size_t rows) {
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

}  // namespace

SweepResults run_sweep(const Experiment& e, const Design& d, const Registry& registry, const SweepOptions& options) {
  const auto runs = static_cast<std::int64_t>(d.values.rows());
  const std::int64_t tasks = runs * e.replicates;
  std::vector<Part> parts(static_cast<std::size_t>(tasks));
  std::vector<std::uint8_t> have(static_cast<std::size_t>(tasks), 0);
  SweepResults res;
  res.runs = static_cast<std::int32_t>(runs);
  res.replicates = e.replicates;
  const std::string print = fingerprint(e, registry);
  // Every run records its system measures at the start and after each term.
  const std::size_t rows = static_cast<std::size_t>(e.base.terms()) + 1;
  for (std::int64_t t = 0; t < tasks; ++t) {
    const std::string why = load(part_path(options.parts, t), parts[static_cast<std::size_t>(t)], print, t, e.series, rows);
    if (why.empty()) {
      have[static_cast<std::size_t>(t)] = 1;
      ++res.resumed;
    } else if (why != "missing") {
      parts[static_cast<std::size_t>(t)] = Part{};
      res.damaged.push_back(part_path(options.parts, t).filename().string() + ": " + why);
    }
  }

  // This process's share of the tasks not already done.
  std::vector<std::int64_t> todo;
  for (std::int64_t t = 0; t < tasks; ++t)
    if (!have[static_cast<std::size_t>(t)] && t % options.ranks == options.rank) todo.push_back(t);
  Parallel pool;
  pool.threads = options.threads;
  pool.cancel = options.cancel;
  // Each task saves its part as soon as it ends, so a killed sweep keeps it.
  run_tasks(todo.size(), pool, [&](std::size_t i, const Stop& stop) {
    const std::int64_t t = todo[i];
    const std::int64_t run = t / e.replicates;
    const auto rep = static_cast<std::int32_t>(t % e.replicates);
    const Scenario sc = scenario_for(e, d.values.row(run), rep);
    const Recording rec = run_replicate(sc, registry, rep, with_stop(RunOptions{}, stop));
    Part p;
    for (std::size_t m = 0; m < kMeasureCount; ++m) p.finals.push_back(rec.system[m].back());
    p.terms = rec.system_terms;
    if (e.series)
      for (std::size_t m = 0; m < kMeasureCount; ++m) p.series.insert(p.series.end(), rec.system[m].begin(), rec.system[m].end());
    if (p.terms.size() != rows) {
      throw std::logic_error("a sweep run recorded " + std::to_string(p.terms.size()) + " rows, not " +
                             std::to_string(rows));
    }
    save(part_path(options.parts, t), p, print, t);
    parts[static_cast<std::size_t>(t)] = std::move(p);
    if (options.on_task) options.on_task();
  });
  if (options.cancel && options.cancel->load()) throw Interrupted();
  if (options.ranks > 1) return res;

  res.finals.assign(kMeasureCount, std::vector<double>(static_cast<std::size_t>(tasks)));
  res.terms = parts.empty() ? std::vector<std::int32_t>{} : parts[0].terms;
  // Every part has `rows` record rows (checked when read and when run).
  if (e.series) res.series.assign(kMeasureCount, std::vector<double>(static_cast<std::size_t>(tasks) * rows));
  for (std::int64_t t = 0; t < tasks; ++t) {
    const Part& p = parts[static_cast<std::size_t>(t)];
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      res.finals[m][static_cast<std::size_t>(t)] = p.finals[m];
      if (e.series) {
        std::copy(p.series.begin() + static_cast<std::ptrdiff_t>(m * rows),
                  p.series.begin() + static_cast<std::ptrdiff_t>((m + 1) * rows),
                  res.series[m].begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(t) * rows));
      }
    }
  }
  return res;
}

}  // namespace schoolsim
