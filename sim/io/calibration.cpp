// The calibration's groups of the output file (docs/OUTPUT.md) and the
// posterior reader.
#include "sim/io/calibration.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "sim/io/h5.hpp"

namespace schoolsim {

namespace {

std::vector<double> flat(const std::vector<std::vector<double>>& rows, std::size_t width) {
  std::vector<double> out;
  out.reserve(rows.size() * width);
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

}  // namespace

RunMeta calibration_meta(const Calibration& c, const std::string& scenario_yaml, const std::string& program_version) {
  RunMeta meta;
  meta.kind = "calibration";
  meta.scenario_name = c.name;
  meta.scenario_yaml = scenario_yaml;
  meta.seed = c.seed;
  meta.replicates = c.replicates;
  meta.years = c.experiments.empty() ? 0 : c.experiments.front().scenario.years;
  meta.program_version = program_version;
  return meta;
}

void write_calibration(OutputFile& f, const Calibration& c, const CalibrationResult& r) {
  if (!c.source.empty()) {
    std::ifstream in(c.source, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    f.write_text("meta/calibration", text.str(), "the calibration file");
  }
  const std::size_t d = c.parameters.size(), n_targets = c.targets.size();
  std::vector<std::string> names, priors, sources, ids, target_sources, experiments;
  std::vector<double> lo, hi, observed, sd;
  for (const auto& p : c.parameters) {
    names.push_back(p.name);
    priors.emplace_back(kPriorNames[static_cast<std::size_t>(p.prior)]);
    sources.push_back(p.source);
    lo.push_back(p.lo);
    hi.push_back(p.hi);
  }
  for (const auto& t : c.targets) {
    ids.push_back(t.id);
    target_sources.push_back(t.source);
    experiments.push_back(c.experiments[t.experiment].name +
                          (t.against ? " minus " + c.experiments[*t.against].name : std::string()));
    observed.push_back(t.observed);
    sd.push_back(t.sd);
  }
  f.write_strings("calibration/parameters/names", names, "calibrated parameters (world.x or mechanism.parameter)");
  f.write_strings("calibration/parameters/prior", priors, "each parameter's prior: uniform or log_uniform");
  f.write_strings("calibration/parameters/source", sources, "the parameter table's basis for the prior range");
  f.write_table("calibration/parameters/lo", {d}, lo.data(), "parameter units", "low end of the prior range");
  f.write_table("calibration/parameters/hi", {d}, hi.data(), "parameter units", "high end of the prior range");
  f.write_strings("calibration/targets/id", ids, "target ids (docs/VALIDATION.md)");
  f.write_strings("calibration/targets/source", target_sources, "where each observed value comes from");
  f.write_strings("calibration/targets/experiment", experiments, "the experiment each target reads");
  f.write_table("calibration/targets/observed", {n_targets}, observed.data(), "target units", "observed value");
  f.write_table("calibration/targets/sd", {n_targets}, sd.data(), "target units", "standard error or tolerance");
  if (!r.pred_median.empty()) {
    f.write_table("calibration/targets/predictive_median", {n_targets}, r.pred_median.data(), "target units",
                  "posterior-predictive median");
    f.write_table("calibration/targets/predictive_lo", {n_targets}, r.pred_lo.data(), "target units",
                  "posterior-predictive 2.5% quantile");
    f.write_table("calibration/targets/predictive_hi", {n_targets}, r.pred_hi.data(), "target units",
                  "posterior-predictive 97.5% quantile");
    f.write_table("calibration/targets/defaults_median", {n_targets}, r.def_median.data(), "target units",
                  "median at the scenarios' own parameter values");
    f.write_table("calibration/targets/defaults_lo", {n_targets}, r.def_lo.data(), "target units",
                  "2.5% quantile at the scenarios' own parameter values");
    f.write_table("calibration/targets/defaults_hi", {n_targets}, r.def_hi.data(), "target units",
                  "97.5% quantile at the scenarios' own parameter values");
    f.write_table("calibration/parameters/defaults", {d}, r.defaults.data(), "parameter units",
                  "the values the experiments' scenarios give the parameters");
    const auto pred = flat(r.predictive, n_targets);
    f.write_table("calibration/predictive", {r.predictive.size(), n_targets}, pred.data(), "target units",
                  "a fresh simulation of each particle of the last generation (rows) for each target (columns)");
  }
  for (std::size_t g = 0; g < r.generations.size(); ++g) {
    const Generation& gen = r.generations[g];
    const std::string at = "calibration/generations/" + std::to_string(g);
    const auto th = flat(gen.theta, d), st = flat(gen.stats, n_targets);
    f.write_table(at + "/theta", {gen.theta.size(), d}, th.data(), "parameter units",
                  "particles (rows) by parameter (columns)");
    f.write_table(at + "/weights", {gen.weights.size()}, gen.weights.data(), "share", "normalised importance weights");
    f.write_table(at + "/distances", {gen.distances.size()}, gen.distances.data(), "distance",
                  "root mean square of (simulated - observed) / sd over the targets");
    f.write_table(at + "/statistics", {gen.stats.size(), n_targets}, st.data(), "target units",
                  "each particle's simulated statistics (rows) for each target (columns)");
    f.set_attribute(at, "tolerance", gen.tolerance);
    f.set_attribute(at, "attempts", static_cast<double>(gen.attempts));
    f.set_attribute(at, "acceptance", static_cast<double>(gen.theta.size()) / static_cast<double>(gen.attempts));
  }
  if (!r.generations.empty()) {
    // The posterior carries the model's parameters only: one set `in` some
    // experiments describes those experiments' settings, not the model.
    const Generation& last = r.generations.back();
    std::vector<std::size_t> model;
    std::vector<std::string> model_names;
    for (std::size_t j = 0; j < d; ++j) {
      if (c.parameters[j].only.empty()) {
        model.push_back(j);
        model_names.push_back(names[j]);
      }
    }
    std::vector<double> th;
    for (const auto& row : last.theta)
      for (std::size_t j : model) th.push_back(row[j]);
    f.write_strings("calibration/posterior/names", model_names, "calibrated parameters of the model (those not set in named experiments only)");
    f.write_table("calibration/posterior/theta", {last.theta.size(), model.size()}, th.data(), "parameter units",
                  "the last generation's particles: the posterior sample");
    f.write_table("calibration/posterior/weights", {last.weights.size()}, last.weights.data(), "share",
                  "their normalised weights");
  }
  std::string without;
  for (const auto& w : c.without) without += (without.empty() ? "" : " ") + w;
  f.set_attribute("calibration", "name", c.name);
  f.set_attribute("calibration", "without", without);
  f.set_attribute("calibration", "population", static_cast<double>(c.population));
  f.set_attribute("calibration", "generations_done", static_cast<double>(r.generations.size()));
  f.set_attribute("calibration", "replicates", static_cast<double>(c.replicates));
  f.set_attribute("calibration", "seed", static_cast<double>(c.seed));
  f.set_attribute("calibration", "stopped", r.stopped);
}

Posterior read_posterior(const std::filesystem::path& path) {
  h5::silence_errors();
  const std::string where = path.string();
  if (!std::filesystem::is_regular_file(path)) throw std::runtime_error(where + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw std::runtime_error(where + ": not an HDF5 file");
  Posterior p;
  p.source = where;
  try {
    const h5::File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + where);
    if (H5Lexists(file.id(), "calibration", H5P_DEFAULT) <= 0 ||
        H5Lexists(file.id(), "calibration/posterior", H5P_DEFAULT) <= 0)
      throw std::runtime_error("it has no /calibration/posterior group; is it the output of schoolsim calibrate?");
    auto read_doubles = [&](const char* name, std::vector<hsize_t>& dims) {
      const h5::Dataset ds(H5Dopen2(file.id(), name, H5P_DEFAULT), std::string("open ") + name);
      dims = h5::dims_of(ds.id());
      hsize_t n = 1;
      for (auto x : dims) n *= x;
      if (n > (hsize_t{1} << 28)) throw std::runtime_error(std::string(name) + " is implausibly large");
      std::vector<double> v(static_cast<std::size_t>(n));
      if (n > 0) h5::check(H5Dread(ds.id(), H5T_NATIVE_DOUBLE, h5::kAll, h5::kAll, H5P_DEFAULT, v.data()), name);
      return v;
    };
    {
      const h5::Dataset ds(H5Dopen2(file.id(), "calibration/posterior/names", H5P_DEFAULT), "open names");
      const auto dims = h5::dims_of(ds.id());
      if (dims.size() != 1 || dims[0] == 0 || dims[0] > 10000) throw std::runtime_error("names: expected a list of parameters");
      const h5::Datatype type = h5::utf8_string_type();
      std::vector<char*> ptrs(static_cast<std::size_t>(dims[0]), nullptr);
      h5::check(H5Dread(ds.id(), type.id(), h5::kAll, h5::kAll, H5P_DEFAULT, ptrs.data()), "read names");
      for (char* s : ptrs) {
        p.names.emplace_back(s ? s : "");
        H5free_memory(s);
      }
    }
    std::vector<hsize_t> tdims, wdims;
    const auto theta = read_doubles("calibration/posterior/theta", tdims);
    const auto weights = read_doubles("calibration/posterior/weights", wdims);
    const std::size_t d = p.names.size();
    if (tdims.size() != 2 || tdims[1] != d || tdims[0] == 0)
      throw std::runtime_error("theta: expected one row per particle and one column per parameter name");
    if (wdims.size() != 1 || wdims[0] != tdims[0]) throw std::runtime_error("weights: expected one per particle");
    double total = 0;
    for (double w : weights) {
      if (!std::isfinite(w) || w < 0) throw std::runtime_error("weights: a weight is negative or not finite");
      total += w;
    }
    if (!(total > 0)) throw std::runtime_error("weights: they sum to zero");
    for (double x : theta)
      if (!std::isfinite(x)) throw std::runtime_error("theta: a parameter value is not finite");
    for (const auto& n : p.names) {
      if (n.empty() || n.find('.') == std::string::npos)
        throw std::runtime_error("names: '" + n + "' is not world.x or mechanism.parameter");
    }
    for (std::size_t i = 0; i < tdims[0]; ++i) p.theta.emplace_back(theta.begin() + static_cast<std::ptrdiff_t>(i * d),
                                                                    theta.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    p.weights = weights;
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": cannot read the posterior: " + e.what());
  }
  return p;
}

}  // namespace schoolsim
