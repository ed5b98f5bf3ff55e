// The /compare and /decompose groups of a paired file (docs/OUTPUT.md).
#include "sim/io/compare.hpp"

#include <cstddef>
#include <string>
#include <vector>

#include "sim/measures.hpp"

namespace schoolsim {

namespace {

void write_arms(OutputFile& file, const Arms& arms) {
  file.write_text("meta/scenario_a", arms.a_yaml, "arm A: the resolved scenario");
  file.write_text("meta/scenario_b", arms.b_yaml, "arm B: the resolved scenario");
  file.set_attribute("meta", "scenario_a_name", arms.a_name);
  file.set_attribute("meta", "scenario_b_name", arms.b_name);
}

}  // namespace

RunMeta paired_meta(const char* kind, const Arms& arms, std::uint64_t seed, std::int32_t replicates,
                    std::int32_t years, const std::string& program_version) {
  RunMeta meta;
  meta.kind = kind;
  meta.scenario_name = arms.a_name + " vs " + arms.b_name;
  meta.scenario_yaml = arms.a_yaml;
  meta.seed = seed;
  meta.replicates = replicates;
  meta.years = years;
  meta.program_version = program_version;
  return meta;
}

void write_comparison(OutputFile& file, const Arms& arms, const Comparison& c, const std::string& uncertainty) {
  const std::size_t rows = c.terms.size();
  const auto reps = static_cast<std::size_t>(c.replicates);
  write_arms(file, arms);
  file.set_attribute("meta", "uncertainty", uncertainty);
  file.write_table("compare/term", {rows}, c.terms.data(), "terms", "terms completed at each row (0 = start)");
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    const std::string g = "compare/" + std::string(mi.name);
    file.write_table(g + "/a", {reps, rows}, c.a[m].data(), mi.unit, "arm A, per replicate");
    file.write_table(g + "/b", {reps, rows}, c.b[m].data(), mi.unit, "arm B, per replicate");
    file.write_table(g + "/diff_mean", {rows}, c.diff_mean[m].data(), mi.unit, "mean of B - A over replicates");
    file.write_table(g + "/diff_lo", {rows}, c.diff_lo[m].data(), mi.unit, "lower end of the 95% interval of B - A");
    file.write_table(g + "/diff_hi", {rows}, c.diff_hi[m].data(), mi.unit, "upper end of the 95% interval of B - A");
    file.set_attribute(g, "unit", std::string(mi.unit));
    file.set_attribute(g, "meaning", std::string(mi.meaning));
    file.set_attribute(g, "count", std::int32_t{mi.count});
    file.set_attribute(g, "effect_size", c.effect_size[m]);
    file.set_attribute(g, "effect_scale", c.effect_scale[m]);
    file.set_attribute(g, "effect_standardiser", std::string(effect_basis_text(c.effect_basis[m])));
  }
}

void write_decomposition(OutputFile& file, const Arms& arms, const Decomposition& d) {
  write_arms(file, arms);
  const std::size_t rows = d.terms.size(), k = d.levers.size(), reps = static_cast<std::size_t>(d.replicates);
  std::vector<std::string> names, changes;
  for (const auto& l : d.levers) names.push_back(l.name), changes.push_back(l.change);
  file.write_strings("decompose/levers", names, "the levers that differ between A and B");
  file.write_strings("decompose/changes", changes, "what switching each lever from A to B does");
  file.write_table("decompose/term", {rows}, d.terms.data(), "terms",
                   "terms completed at each row: the start and the end of every year");
  file.set_attribute("decompose", "method", std::string(d.exact ? "exact" : "sampled"));
  file.set_attribute("decompose", "permutations", static_cast<double>(d.permutations));
  file.set_attribute("decompose", "runs", static_cast<double>(d.runs));
  file.set_attribute("decompose", "replicates", static_cast<double>(d.replicates));
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    const std::string g = "decompose/" + std::string(mi.name);
    std::vector<double> phi, mean, lo, hi;
    for (std::size_t i = 0; i < k; ++i) {
      phi.insert(phi.end(), d.phi[m][i].begin(), d.phi[m][i].end());
      mean.insert(mean.end(), d.phi_mean[m][i].begin(), d.phi_mean[m][i].end());
      lo.insert(lo.end(), d.phi_lo[m][i].begin(), d.phi_lo[m][i].end());
      hi.insert(hi.end(), d.phi_hi[m][i].begin(), d.phi_hi[m][i].end());
    }
    file.write_table(g + "/a", {reps, rows}, d.a[m].data(), mi.unit, "arm A (no lever switched), per replicate");
    file.write_table(g + "/b", {reps, rows}, d.b[m].data(), mi.unit, "arm B (every lever switched), per replicate");
    file.write_table(g + "/total_mean", {rows}, d.total_mean[m].data(), mi.unit, "mean of B - A over replicates");
    file.write_table(g + "/total_lo", {rows}, d.total_lo[m].data(), mi.unit, "lower end of the 95% interval of B - A");
    file.write_table(g + "/total_hi", {rows}, d.total_hi[m].data(), mi.unit, "upper end of the 95% interval of B - A");
    file.write_table(g + "/phi", {k, reps, rows}, phi.data(), mi.unit,
                     "each lever's Shapley value in each replicate; over levers they sum to B - A");
    file.write_table(g + "/phi_mean", {k, rows}, mean.data(), mi.unit, "each lever's Shapley value, mean over replicates");
    file.write_table(g + "/phi_lo", {k, rows}, lo.data(), mi.unit, "lower end of its 95% interval");
    file.write_table(g + "/phi_hi", {k, rows}, hi.data(), mi.unit, "upper end of its 95% interval");
    file.set_attribute(g, "unit", std::string(mi.unit));
    file.set_attribute(g, "meaning", std::string(mi.meaning));
    file.set_attribute(g, "count", std::int32_t{mi.count});
  }
}

}  // namespace schoolsim
