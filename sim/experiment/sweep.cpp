#include "sim/experiment/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "sim/io/sweep_part.hpp"
#include "sim/simulation.hpp"

namespace schoolsim {

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
    const std::string why = load_part(part_path(options.parts, t), print, t, e.series, rows, parts[static_cast<std::size_t>(t)]);
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
    save_part(part_path(options.parts, t), p, print, t);
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
