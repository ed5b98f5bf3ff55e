// A sweep's groups of the output file, its SALib export and its parts folder's
// fingerprint (docs/OUTPUT.md).
#include "sim/io/sweep.hpp"

#include <Eigen/Core>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "sim/measures.hpp"

namespace schoolsim {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> parameter_names(const Experiment& e) {
  std::vector<std::string> names;
  for (const auto& p : e.parameters) names.push_back(p.name);
  return names;
}

Eigen::VectorXd range_end(const Experiment& e, bool high) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(e.parameters.size()));
  for (std::size_t j = 0; j < e.parameters.size(); ++j)
    v[static_cast<Eigen::Index>(j)] = high ? e.parameters[j].hi : e.parameters[j].lo;
  return v;
}

void write_whole(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

RunMeta sweep_meta(const Experiment& e, const std::string& scenario_yaml, const std::string& program_version) {
  RunMeta meta;
  meta.kind = "sweep";
  meta.scenario_name = e.base.name;
  meta.scenario_yaml = scenario_yaml;
  meta.seed = e.base.seed;
  meta.replicates = e.replicates;
  meta.years = e.base.years;
  meta.program_version = program_version;
  return meta;
}

void export_design(const fs::path& dir, const Experiment& e, const Design& d) {
  fs::create_directories(dir);
  write_whole(dir / "problem.json",
              experiment::to_salib_problem(parameter_names(e), range_end(e, false), range_end(e, true)));
  write_whole(dir / "design.txt", experiment::to_text_matrix(d.values));
  write_whole(dir / "design_unit.txt", experiment::to_text_matrix(d.unit));
}

PartsFolder prepare_parts(const fs::path& parts, const std::string& fingerprint) {
  std::error_code ec;
  fs::create_directories(parts, ec);
  if (ec) return {PartsFolder::cannot_create, ec.message()};
  std::ifstream old(parts / "fingerprint");
  std::string seen;
  if (old >> seen && seen != fingerprint) return {PartsFolder::other_experiment, ""};
  std::ofstream(parts / "fingerprint") << fingerprint << '\n';
  return {};
}

std::size_t kept_parts(const fs::path& parts) {
  std::size_t kept = 0;
  std::error_code ec;
  for (fs::directory_iterator it(parts, ec), end; !ec && it != end; it.increment(ec))
    kept += it->path().extension() == ".bin";
  return kept;
}

void write_sweep(OutputFile& file, const Experiment& e, const Design& d, const SweepResults& r,
                 const std::vector<OutputSensitivity>& sensitivity, const std::string& uncertainty) {
  const auto runs = static_cast<std::size_t>(r.runs), reps = static_cast<std::size_t>(r.replicates);
  const std::size_t k = e.parameters.size();
  const std::vector<std::string> names = parameter_names(e);
  const Eigen::VectorXd lo = range_end(e, false), hi = range_end(e, true);
  file.write_text("meta/experiment", read_whole(e.source), "the experiment file");
  file.set_attribute("meta", "uncertainty", uncertainty);
  file.write_strings("design/names", names, "swept parameters");
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> values = d.values, unit = d.unit;
  file.write_table("design/values", {runs, k}, values.data(), "parameter units", "parameter values of each run");
  file.write_table("design/unit", {runs, k}, unit.data(), "[0,1]", "the design in the unit hypercube");
  file.write_table("design/lo", {k}, lo.data(), "parameter units", "low end of each range");
  file.write_table("design/hi", {k}, hi.data(), "parameter units", "high end of each range");
  file.set_attribute("design", "method", std::string(kDesignMethodNames[static_cast<std::size_t>(e.method)]));
  const std::vector<std::uint8_t> done(runs, 1);
  file.write_table("runs/done", {runs}, done.data(), "flag", "1 for each run completed");
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    file.write_table("runs/" + std::string(mi.name), {runs, reps}, r.finals[m].data(), mi.unit,
                     "value at the end of each run (rows) and replicate (columns)");
    file.set_attribute("runs/" + std::string(mi.name), "count", std::int32_t{mi.count});
    if (e.series) {
      file.write_table("runs/series/" + std::string(mi.name), {runs * reps, r.terms.size()}, r.series[m].data(),
                       mi.unit, "series of each run and replicate (row = run x replicates + replicate)");
      file.set_attribute("runs/series/" + std::string(mi.name), "count", std::int32_t{mi.count});
    }
  }
  if (e.series) file.write_table("runs/series/term", {r.terms.size()}, r.terms.data(), "terms", "terms completed");
  for (const auto& s : sensitivity) {
    const auto& mi = kSystemMeasures[s.measure];
    const std::string g = "sensitivity/" + std::string(mi.name);
    if (e.method == DesignMethod::morris) {
      file.write_strings(g + "/names", names, "parameters");
      file.write_table(g + "/mu", {k}, s.morris.mu.data(), mi.unit, "Morris mean elementary effect");
      file.write_table(g + "/mu_star", {k}, s.morris.mu_star.data(), mi.unit, "Morris mean absolute elementary effect");
      file.write_table(g + "/sigma", {k}, s.morris.sigma.data(), mi.unit, "Morris standard deviation of elementary effects");
    } else if (e.method == DesignMethod::saltelli) {
      file.write_strings(g + "/names", names, "parameters");
      file.write_table(g + "/first", {k}, s.sobol.first.data(), "share", "Sobol first-order index");
      file.write_table(g + "/first_lo", {k}, s.sobol.first_lo.data(), "share", "lower end of its 95% bootstrap interval");
      file.write_table(g + "/first_hi", {k}, s.sobol.first_hi.data(), "share", "upper end of its 95% bootstrap interval");
      file.write_table(g + "/total", {k}, s.sobol.total.data(), "share", "Sobol total index");
      file.write_table(g + "/total_lo", {k}, s.sobol.total_lo.data(), "share", "lower end of its 95% bootstrap interval");
      file.write_table(g + "/total_hi", {k}, s.sobol.total_hi.data(), "share", "upper end of its 95% bootstrap interval");
      file.set_attribute(g, "estimator", std::string(experiment::kSobolEstimator));
    }
  }
}

}  // namespace schoolsim
