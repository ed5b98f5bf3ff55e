#include "sim/experiment/sweep.hpp"

#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

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

Scenario scenario_for(const Experiment& e, const Eigen::RowVectorXd& values) {
  Scenario sc = e.base;
  sc.replicates = e.replicates;
  sc.record = RecordConfig{Cadence::year, {}, false, true, false};
  for (std::size_t j = 0; j < e.parameters.size(); ++j) {
    const auto& p = e.parameters[j];
    const double v = values[static_cast<Eigen::Index>(j)];
    if (p.world)
      sc.world[p.param] = v;
    else
      sc.pipeline[p.entry].values[p.param] = v;
  }
  return sc;
}

std::string fingerprint(const Experiment& e, const Registry&) {
  std::ostringstream s;
  s.precision(17);
  s << "method " << static_cast<int>(e.method) << " runs " << e.runs << " levels " << e.levels << " replicates "
    << e.replicates << " series " << e.series << " seed " << e.base.seed << " years " << e.base.years << "\n";
  for (const auto& p : e.parameters) s << p.name << " " << p.lo << " " << p.hi << "\n";
  for (double w : e.base.world) s << w << " ";
  for (const auto& entry : e.base.pipeline) {
    s << "\n" << entry.info->name;
    for (double v : entry.values) s << " " << v;
  }
  for (const auto& ev : e.base.timeline) s << "\nevent " << ev.absolute_term() << " " << ev.entry << " " << ev.param << " " << ev.value;
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s.str()) h = (h ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
  std::ostringstream hex;
  hex << std::hex << h;
  return hex.str();
}

namespace {

fs::path part_path(const fs::path& dir, std::int64_t task) { return dir / ("run-" + std::to_string(task) + ".bin"); }

// One finished task: its final measures, then its series (rows x measures).
struct Part {
  std::vector<double> finals;
  std::vector<std::int32_t> terms;
  std::vector<double> series;  // [measure][row]
};

void save(const fs::path& path, const Part& p) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    const auto rows = static_cast<std::uint64_t>(p.terms.size());
    out.write(reinterpret_cast<const char*>(p.finals.data()), static_cast<std::streamsize>(p.finals.size() * sizeof(double)));
    out.write(reinterpret_cast<const char*>(&rows), sizeof rows);
    out.write(reinterpret_cast<const char*>(p.terms.data()), static_cast<std::streamsize>(rows * sizeof(std::int32_t)));
    out.write(reinterpret_cast<const char*>(p.series.data()), static_cast<std::streamsize>(p.series.size() * sizeof(double)));
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);  // a part is there whole, or not at all
}

bool load(const fs::path& path, Part& p, bool series) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  p.finals.assign(kMeasureCount, 0.0);
  std::uint64_t rows = 0;
  in.read(reinterpret_cast<char*>(p.finals.data()), static_cast<std::streamsize>(kMeasureCount * sizeof(double)));
  in.read(reinterpret_cast<char*>(&rows), sizeof rows);
  if (!in || rows > (1u << 20)) return false;
  p.terms.assign(rows, 0);
  in.read(reinterpret_cast<char*>(p.terms.data()), static_cast<std::streamsize>(rows * sizeof(std::int32_t)));
  if (series) {
    p.series.assign(kMeasureCount * rows, 0.0);
    in.read(reinterpret_cast<char*>(p.series.data()), static_cast<std::streamsize>(p.series.size() * sizeof(double)));
  }
  return static_cast<bool>(in);
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
  for (std::int64_t t = 0; t < tasks; ++t)
    if (load(part_path(options.parts, t), parts[static_cast<std::size_t>(t)], e.series)) {
      have[static_cast<std::size_t>(t)] = 1;
      ++res.resumed;
    }

  std::atomic<std::int64_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
  auto work = [&] {
    for (std::int64_t t; (t = next++) < tasks;) {
      if (have[static_cast<std::size_t>(t)] || t % options.ranks != options.rank) continue;
      if (options.cancel && options.cancel->load()) return;
      try {
        const std::int64_t run = t / e.replicates;
        const auto rep = static_cast<std::int32_t>(t % e.replicates);
        const Scenario sc = scenario_for(e, d.values.row(run));
        RunOptions ro;
        ro.cancel = options.cancel;
        const Recording rec = run_replicate(sc, registry, rep, ro);
        Part p;
        for (std::size_t m = 0; m < kMeasureCount; ++m) p.finals.push_back(rec.system[m].back());
        p.terms = rec.system_terms;
        if (e.series)
          for (std::size_t m = 0; m < kMeasureCount; ++m) p.series.insert(p.series.end(), rec.system[m].begin(), rec.system[m].end());
        save(part_path(options.parts, t), p);
        parts[static_cast<std::size_t>(t)] = std::move(p);
        if (options.on_task) options.on_task();
      } catch (const Interrupted&) {
        return;
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::int32_t i = 1; i < options.threads; ++i) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  if (options.cancel && options.cancel->load()) throw Interrupted();
  if (options.ranks > 1) return res;

  res.finals.assign(kMeasureCount, std::vector<double>(static_cast<std::size_t>(tasks)));
  res.terms = parts.empty() ? std::vector<std::int32_t>{} : parts[0].terms;
  const std::size_t rows = res.terms.size();
  if (e.series) res.series.assign(kMeasureCount, std::vector<double>(static_cast<std::size_t>(tasks) * rows));
  for (std::int64_t t = 0; t < tasks; ++t) {
    const Part& p = parts[static_cast<std::size_t>(t)];
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      res.finals[m][static_cast<std::size_t>(t)] = p.finals[m];
      if (e.series)
        std::copy(p.series.begin() + static_cast<std::ptrdiff_t>(m * rows),
                  p.series.begin() + static_cast<std::ptrdiff_t>((m + 1) * rows),
                  res.series[m].begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(t) * rows));
    }
  }
  return res;
}

}  // namespace schoolsim
