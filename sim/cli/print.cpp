// What the commands print on the terminal.
#include "sim/cli/print.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "sim/cli/cli.hpp"
#include "sim/cli/common.hpp"
#include "sim/fields.hpp"

namespace schoolsim {

namespace {

// "[lo, hi]" (built in a stream: GCC 12 warns falsely of overlapping copies in "[" + ...).
std::string bracketed(const std::string& lo, const std::string& hi) {
  std::ostringstream t;
  t << '[' << lo << ", " << hi << ']';
  return t.str();
}

// "tie formation phase, every term": when a mechanism runs (docs/ODD.md, section 3).
std::string timing(const MechanismInfo& m) {
  return std::string(phase_name(m.phase)) + " phase, " + (m.cadence() == Cadence::term ? "every term" : "yearly");
}

std::string range_text(const ParamSpec& p) {
  if (p.type == ParamType::boolean) return "true/false";
  if (p.type == ParamType::choice) {
    std::string out;
    for (const auto& c : p.choices) out += (out.empty() ? "" : " / ") + c;
    return out;
  }
  return bracketed(format_number(p.lo), format_number(p.hi));
}

std::string default_text(const ParamSpec& p) { return value_text(p, p.def); }

std::string field_list(const Access& access) {
  const std::string out = access.text();
  return out.empty() ? "-" : out;
}

void describe_params_text(std::ostream& out, const std::vector<ParamSpec>& params) {
  if (params.empty()) out << "    (none)\n";
  for (const auto& p : params) {
    out << "    " << std::left << std::setw(30) << p.name << " default " << std::setw(8)
        << default_text(p) << " range " << std::setw(14) << range_text(p) << " " << p.unit << "\n"
        << "        " << p.meaning << "\n"
        << "        " << source_text(p.source) << "\n";
  }
}

void describe_params_markdown(std::ostream& out, const std::vector<ParamSpec>& params) {
  if (params.empty()) {
    out << "No parameters.\n";
    return;
  }
  out << "| parameter | default | range | unit | meaning | basis of the value |\n"
      << "|---|---|---|---|---|---|\n";
  for (const auto& p : params) {
    out << "| `" << p.name << "` | " << default_text(p) << " | " << range_text(p) << " | "
        << p.unit << " | " << p.meaning << " | " << source_text(p.source) << " |\n";
  }
}

}  // namespace

std::string basis_counts(const Registry& registry, const std::vector<std::string>& only) {
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  int count[3] = {0, 0, 0};
  auto add = [&](const std::vector<ParamSpec>& params) {
    for (const auto& p : params) ++count[static_cast<int>(basis_of(p.source))];
  };
  if (wanted("world")) add(registry.world().params);
  for (const auto& m : registry.mechanisms())
    if (wanted(m.name)) add(m.params);
  const int sourced = count[static_cast<int>(Basis::sourced)];
  const int calibrated = count[static_cast<int>(Basis::calibrated)];
  const int choices = count[static_cast<int>(Basis::scenario_choice)];
  return std::to_string(sourced + calibrated + choices) + " parameters: " +
         std::to_string(sourced) + " sourced, " + std::to_string(calibrated) + " calibrated, " +
         std::to_string(choices) + (choices == 1 ? " scenario choice" : " scenario choices");
}

std::string describe_markdown(const Registry& registry, const std::vector<std::string>& only) {
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  std::ostringstream out;
  if (only.empty()) out << "Basis of the values: " << basis_counts(registry, only) << ".\n\n";
  if (wanted("world")) {
    out << "### world\n\n" << registry.world().summary << "\n\n";
    describe_params_markdown(out, registry.world().params);
    out << "\n";
  }
  for (const auto& m : registry.mechanisms()) {
    if (!wanted(m.name)) continue;
    out << "### " << m.name << " (`models/" << m.family << "`, " << timing(m) << ")\n\n"
        << m.summary << "\n\nReads: " << field_list(m.reads) << ". Writes: " << field_list(m.writes) << ".\n\n";
    describe_params_markdown(out, m.params);
    out << "\n";
  }
  const bool all = only.empty();
  if (all || wanted("variables")) {
    if (all) out << "### School variables\n\n";
    out << "| variable | storage | fixed or dynamic | unit | meaning |\n|---|---|---|---|---|\n";
    for (const auto& f : kFields) {
      out << "| `" << f.name << "` | "
          << (f.storage == Storage::real ? "real" : f.storage == Storage::integer ? "integer" : "vector")
          << " | " << (f.role == Role::fixed ? "fixed" : "dynamic") << " | " << f.unit << " | "
          << f.meaning << " |\n";
    }
    out << "\n";
  }
  if (all || wanted("measures")) {
    if (all) out << "### System measures\n\n";
    out << "| measure | unit | meaning |\n|---|---|---|\n";
    for (const auto& m : kSystemMeasures)
      out << "| `" << m.name << "` | " << m.unit << " | " << m.meaning << " |\n";
    out << "\n";
  }
  return out.str();
}

namespace cli {

namespace {

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

// Four significant digits, for values of any size.
std::string sig(double v) {
  if (std::isnan(v)) return "-";
  std::ostringstream o;
  o << std::setprecision(4) << v;
  return o.str();
}

// Decimals that show three significant digits of a difference (or of its
// interval's half-width, if wider): a small measure beside a large effect
// is not shown as 0.000. With no difference at all, those of the values.
int table_decimals(double diff, double lo, double hi, std::initializer_list<double> values) {
  double ref = std::max(std::abs(diff), std::isfinite(hi - lo) ? (hi - lo) / 2 : 0.0);
  if (!(ref > 0))
    for (double v : values) ref = std::max(ref, std::isfinite(v) ? std::abs(v) : 0.0);
  if (!(ref > 0)) return 0;
  return std::clamp(2 - static_cast<int>(std::floor(std::log10(ref))), 0, 8);
}

std::string_view effect_basis_code(EffectBasis basis) {
  switch (basis) {
    case EffectBasis::pupil_sd: return "as is";
    case EffectBasis::between_schools: return "schools";
    case EffectBasis::between_replicates: return "reps";
  }
  return "";
}

}  // namespace

std::string uncertainty_text(const std::shared_ptr<const Posterior>& p) {
  if (!p) return "replicate noise only";
  return "replicate noise and parameter uncertainty (" + std::to_string(p->names.size()) +
         " parameters drawn from the posterior in " + p->source + ")";
}

void print_describe(std::ostream& out, const Registry& registry, const std::vector<std::string>& only) {
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  if (const auto counts = basis_counts(registry, only); !counts.starts_with("0 parameters"))
    out << counts << "\n\n";
  if (wanted("world")) {
    out << "world: " << registry.world().summary << "\n  parameters (scenario key 'world'):\n";
    describe_params_text(out, registry.world().params);
    out << "\n";
  }
  for (const auto& m : registry.mechanisms()) {
    if (!wanted(m.name)) continue;
    out << m.name << " (models/" << m.family << ", " << timing(m) << "): " << m.summary
        << "\n  reads: " << field_list(m.reads) << "\n  writes: " << field_list(m.writes) << "\n  parameters:\n";
    describe_params_text(out, m.params);
    out << "\n";
  }
  if (only.empty()) {
    out << "school variables:\n";
    for (const auto& f : kFields) {
      out << "  " << std::left << std::setw(16) << f.name << std::setw(24) << f.unit << f.meaning
          << "\n";
    }
    out << "\nsystem measures (/system):\n";
    for (const auto& m : kSystemMeasures) {
      out << "  " << std::left << std::setw(22) << m.name << std::setw(16) << m.unit << m.meaning
          << "\n";
    }
  }
}

void RunSummary::add(const Recording& rec) {
  schools = rec.n_schools;
  areas = rec.n_areas;
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const double at_start =
        rec.streamed ? rec.initial_measures.at(m) : kSystemMeasures[m].compute(rec.initial);
    start[m] += at_start / scenario->replicates;
    end[m] += kSystemMeasures[m].compute(rec.final_state) / scenario->replicates;
  }
}

void print_run(std::ostream& o, const RunSummary& s) {
  const Scenario& sc = *s.scenario;
  o << "schoolsim " << SCHOOLSIM_VERSION << ": scenario '" << sc.name << "' (" << s.scenario_file << "), seed "
    << sc.seed << "\n"
    << s.schools << " schools in " << s.areas << " areas, " << sc.years << " years (" << sc.terms() << " terms), "
    << sc.replicates << (sc.replicates == 1 ? " replicate" : " replicates")
    << (sc.replicates > 1 ? " (means shown)" : "") << "\n"
    << (s.posterior ? "parameters: each replicate drawn from the posterior in " + s.posterior->source + "\n"
                    : std::string())
    << "\n"
    << std::left << std::setw(26) << "" << std::right << std::setw(12) << "start" << std::setw(12) << "end" << "\n";
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    // Counts read as whole numbers (means over replicates get one decimal).
    o << std::left << std::setw(26) << mi.name << std::right << std::fixed
      << std::setprecision(mi.count ? (sc.replicates > 1 ? 1 : 0) : 3) << std::setw(12) << s.start[m]
      << std::setw(12) << s.end[m] << "  " << mi.unit << "\n";
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(s.output, ec);
  o << "\nwrote " << s.output.string() << " (" << (ec ? "?" : human_bytes(size)) << ") in " << std::setprecision(2)
    << s.seconds << " s\n";
}

void print_comparison(std::ostream& o, const ComparisonSummary& s, const Comparison& c) {
  const Scenario &a = *s.a, &b = *s.b;
  const std::size_t last = c.terms.size() - 1;
  o << "schoolsim compare: A = '" << a.name << "' (" << s.a_file << "), B = '" << b.name << "' (" << s.b_file << ")\n"
    << c.replicates << " paired replicates from seed " << a.seed << " (same world and random numbers in both arms), "
    << a.years << " years\n"
    << "intervals include: " << uncertainty_text(s.posterior) << "\n\n"
    << std::left << std::setw(22) << "measure" << std::right << std::setw(12) << "start" << std::setw(12) << "end: A"
    << std::setw(12) << "B" << std::setw(12) << "B - A" << std::setw(28) << "95% interval" << std::setw(8) << "effect"
    << "  " << std::left << std::setw(8) << "by" << std::setw(16) << "unit" << "meaning\n";
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    const double start = c.mean_at(c.a[m], 0), va = c.mean_at(c.a[m], last), vb = c.mean_at(c.b[m], last);
    const double diff = c.diff_mean[m][last], lo = c.diff_lo[m][last], hi = c.diff_hi[m][last];
    const int digits = table_decimals(diff, lo, hi, {start, va, vb});
    o << std::left << std::setw(22) << mi.name << std::right << std::setw(12) << fixed(start, digits) << std::setw(12)
      << fixed(va, digits) << std::setw(12) << fixed(vb, digits) << std::setw(12) << fixed(diff, digits)
      << std::setw(28) << bracketed(fixed(lo, digits), fixed(hi, digits)) << std::setw(8)
      << fixed(c.effect_size[m], 2) << "  " << std::left << std::setw(8) << effect_basis_code(c.effect_basis[m])
      << std::setw(16) << mi.unit << brief_meaning(mi.name) << "\n";
  }
  o << std::right
    << "\neffect: B - A on a common scale; \"by\" says which:\n"
       "  as is    measures in pupil SD: the difference itself, unstandardised (read against 0.2, 0.5, 0.8)\n"
       "  schools  means over schools: divided by the SD between schools (arm A, at the end), a d to read\n"
       "           against 0.2, 0.5, 0.8\n"
       "  reps     the others: divided by the SD between replicates of arm A (at the end), how much whole\n"
       "           systems differ; not Cohen's scale, large values are common; - where A does not vary\n"
       "The difference over time, per replicate, is in "
    << s.output.string() << "\n";
}

void print_sweep(std::ostream& o, const Experiment& e, const SweepResults& r,
                 const std::vector<OutputSensitivity>& sensitivity, const std::filesystem::path& output) {
  const std::size_t k = e.parameters.size();
  o << "schoolsim sweep: '" << e.name << "' over scenario '" << e.base.name << "': "
    << kDesignMethodNames[static_cast<std::size_t>(e.method)] << " design, " << r.runs << " runs x " << r.replicates
    << " replicates, " << k << " parameters";
  if (r.resumed > 0) o << " (" << r.resumed << " runs resumed)";
  o << "\nreplicates include: " << uncertainty_text(e.posterior) << "\n";
  if (!sensitivity.empty()) o << "\nsensitivity of the value at the end:\n";
  for (const auto& s : sensitivity) {
    const auto& mi = kSystemMeasures[s.measure];
    o << mi.name << " (" << mi.unit << ")\n";
    for (std::size_t j = 0; j < k; ++j) {
      const auto i = static_cast<Eigen::Index>(j);
      const std::string& name = e.parameters[j].name;
      if (e.method == DesignMethod::morris) {
        o << "  " << std::left << std::setw(34) << name << " mu* " << std::right << std::setw(10)
          << fixed(s.morris.mu_star[i], 4) << "  sigma " << std::setw(10) << fixed(s.morris.sigma[i], 4) << "\n";
      } else if (e.method == DesignMethod::saltelli) {
        o << "  " << std::left << std::setw(34) << name << " first " << std::right << fixed(s.sobol.first[i], 3)
          << " [" << fixed(s.sobol.first_lo[i], 3) << ", " << fixed(s.sobol.first_hi[i], 3) << "]  total "
          << fixed(s.sobol.total[i], 3) << " [" << fixed(s.sobol.total_lo[i], 3) << ", "
          << fixed(s.sobol.total_hi[i], 3) << "]\n";
      }
    }
  }
  o << "\nwrote " << output.string() << "\n";
}

void print_design_export(std::ostream& o, const Experiment& e, const Design& d, const std::filesystem::path& dir) {
  o << "wrote the " << kDesignMethodNames[static_cast<std::size_t>(e.method)] << " design of " << d.values.rows()
    << " runs over " << e.parameters.size() << " parameters to " << dir.string()
    << " (problem.json, design.txt: parameter values, design_unit.txt: unit hypercube)\n";
}

void print_calibration(std::ostream& o, const Calibration& c, const CalibrationResult& r, double seconds,
                       const std::filesystem::path& output) {
  o << "schoolsim calibrate: '" << c.name << "'";
  if (!c.without.empty()) {
    o << " without";
    for (const auto& w : c.without) o << " " << w;
  }
  o << ": ABC-SMC, " << r.generations.size() << " generations of " << c.population << " particles, "
    << c.replicates << " replicate(s) per particle, " << r.simulations << " simulations in "
    << fixed(seconds, 0) << " s" << (r.resumed ? " (resumed)" : "") << "\n";
  if (!r.stopped.empty()) o << "stopped early: " << r.stopped << "\n";
  o << "\n" << std::left << std::setw(12) << "generation" << std::right << std::setw(12) << "tolerance"
    << std::setw(12) << "attempts" << std::setw(12) << "acceptance" << "\n";
  for (std::size_t g = 0; g < r.generations.size(); ++g) {
    const auto& gen = r.generations[g];
    o << std::left << std::setw(12) << g << std::right << std::setw(12)
      << (std::isinf(gen.tolerance) ? std::string("inf") : sig(gen.tolerance)) << std::setw(12) << gen.attempts
      << std::setw(12) << fixed(static_cast<double>(gen.theta.size()) / static_cast<double>(gen.attempts), 3) << "\n";
  }
  if (r.generations.empty()) return;
  const auto& last = r.generations.back();
  o << "\nposterior (last generation, weighted)\n"
    << std::left << std::setw(40) << "parameter" << std::right << std::setw(10) << "median" << std::setw(24)
    << "95% interval" << std::setw(22) << "prior" << std::setw(10) << "now" << "\n";
  for (std::size_t j = 0; j < c.parameters.size(); ++j) {
    std::vector<double> v;
    for (const auto& th : last.theta) v.push_back(th[j]);
    const auto& p = c.parameters[j];
    o << std::left << std::setw(40) << p.name << std::right << std::setw(10) << sig(weighted_quantile(v, last.weights, 0.5))
      << std::setw(24)
      << bracketed(sig(weighted_quantile(v, last.weights, 0.025)), sig(weighted_quantile(v, last.weights, 0.975)))
      << std::setw(22) << (std::string(p.prior == Prior::log_uniform ? "log " : "").append(bracketed(sig(p.lo), sig(p.hi))))
      << std::setw(10) << sig(r.defaults[j]) << "\n";
  }
  auto fits = [&](std::size_t t, const std::vector<double>& lo, const std::vector<double>& hi) {
    const auto& tg = c.targets[t];
    return lo[t] <= tg.observed + 2 * tg.sd && hi[t] >= tg.observed - 2 * tg.sd;
  };
  o << "\nfit: posterior-predictive median and 95% interval beside the observed value, and the same at the\n"
       "parameters' current values (\"now\": the scenarios' own, over as many runs)\n"
    << std::left << std::setw(8) << "target" << std::right << std::setw(10) << "observed" << std::setw(9) << "sd"
    << std::setw(11) << "posterior" << std::setw(24) << "95% interval" << std::setw(6) << "fits" << std::setw(11)
    << "now" << std::setw(24) << "95% interval" << std::setw(6) << "fits" << "\n";
  int fit_post = 0, fit_now = 0;
  for (std::size_t t = 0; t < c.targets.size(); ++t) {
    const auto& tg = c.targets[t];
    const bool a = fits(t, r.pred_lo, r.pred_hi), b = fits(t, r.def_lo, r.def_hi);
    fit_post += a;
    fit_now += b;
    o << std::left << std::setw(8) << tg.id << std::right << std::setw(10) << sig(tg.observed) << std::setw(9)
      << sig(tg.sd) << std::setw(11) << sig(r.pred_median[t]) << std::setw(24)
      << bracketed(sig(r.pred_lo[t]), sig(r.pred_hi[t])) << std::setw(6) << (a ? "yes" : "no")
      << std::setw(11) << sig(r.def_median[t]) << std::setw(24)
      << bracketed(sig(r.def_lo[t]), sig(r.def_hi[t])) << std::setw(6) << (b ? "yes" : "no") << "\n";
  }
  std::vector<double> d_post, d_now;
  for (const auto& run : r.predictive) d_post.push_back(distance(c, run));
  for (const auto& run : r.at_defaults) d_now.push_back(distance(c, run));
  o << "\nfits: the 95% interval meets the observed value's range (observed +- 2 sd). Targets fitted: " << fit_post
    << " of " << c.targets.size() << " by the posterior, " << fit_now << " at the current values; median distance "
    << sig(weighted_quantile(d_post, r.generations.back().weights, 0.5)) << " against "
    << sig(weighted_quantile(d_now, std::vector<double>(d_now.size(), 1.0), 0.5)) << "\nwrote " << output.string()
    << "\n";
}

void print_serving(const Scenario& sc, const std::vector<std::string>& urls) {
  std::printf("schoolsim: serving %s at %s\n", sc.name.c_str(), urls.front().c_str());
  for (std::size_t i = 1; i < urls.size(); ++i) std::printf("schoolsim:    and at %s\n", urls[i].c_str());
  std::printf("schoolsim: open %s in a browser; press Ctrl-C to stop\n",
              urls.size() > 1 ? "one of those addresses" : "that address");
  std::fflush(stdout);
}

}  // namespace cli

}  // namespace schoolsim
