#include "sim/experiment/calibrate.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numbers>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "sim/experiment/sweep.hpp"
#include "sim/io/calibration_state.hpp"
#include "sim/measures.hpp"
#include "sim/rng.hpp"
#include "sim/simulation.hpp"

namespace schoolsim {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint32_t kProposalKey = stream_key("calibrate.proposal");

// ------------------------------------------------------------ unit coordinates

double to_unit(const CalibParameter& p, double x) {
  if (p.prior == Prior::log_uniform) return (std::log(x) - std::log(p.lo)) / (std::log(p.hi) - std::log(p.lo));
  return (x - p.lo) / (p.hi - p.lo);
}

double from_unit(const CalibParameter& p, double u) {
  double x = p.prior == Prior::log_uniform ? std::exp(std::log(p.lo) + u * (std::log(p.hi) - std::log(p.lo)))
                                           : p.lo + u * (p.hi - p.lo);
  if (p.integer) x = std::round(x);
  return std::clamp(x, p.lo, p.hi);
}

// The random draws of one attempt: its streams depend on (seed, generation,
// attempt) only.
Stream attempt_stream(std::uint64_t seed, std::int32_t generation, std::int64_t attempt, std::uint32_t purpose) {
  const Streams streams(seed, static_cast<std::uint32_t>(generation));
  return streams.stream(kProposalKey, purpose, static_cast<std::uint64_t>(attempt));
}

std::uint64_t simulation_seed(std::uint64_t seed, std::int32_t generation, std::int64_t attempt) {
  Stream s = attempt_stream(seed, generation, attempt, 1);
  const std::uint64_t hi = s(), lo = s();
  return (hi << 32) | lo;
}

double normal(Stream& s) {
  // Box-Muller from two uniforms in (0, 1].
  const double u1 = 1.0 - s.uniform(), u2 = s.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// The perturbation kernel of a generation: the previous population in unit
// coordinates and twice its weighted covariance (Beaumont et al. 2009).
struct Kernel {
  Eigen::MatrixXd points;  // particles x d
  std::vector<double> cumulative;  // of the weights
  std::vector<double> weights;
  Eigen::MatrixXd chol;    // lower Cholesky factor of the covariance
  Eigen::LLT<Eigen::MatrixXd> llt;
};

Kernel make_kernel(const Calibration& c, const Generation& prev) {
  Kernel k;
  const auto n = static_cast<Eigen::Index>(prev.theta.size());
  const auto d = static_cast<Eigen::Index>(c.parameters.size());
  k.points.resize(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j)
      k.points(i, j) = to_unit(c.parameters[static_cast<std::size_t>(j)], prev.theta[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]);
  }
  k.weights = prev.weights;
  double run = 0;
  for (double w : k.weights) k.cumulative.push_back(run += w);
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
  for (Eigen::Index i = 0; i < n; ++i) mean += k.weights[static_cast<std::size_t>(i)] * k.points.row(i).transpose();
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::VectorXd x = k.points.row(i).transpose() - mean;
    cov += k.weights[static_cast<std::size_t>(i)] * x * x.transpose();
  }
  cov *= 2.0;
  // A population collapsed on one value in some coordinate still moves.
  for (Eigen::Index j = 0; j < d; ++j) cov(j, j) = std::max(cov(j, j), 1e-8);
  for (double jitter = 0;; jitter = jitter == 0 ? 1e-10 : jitter * 10) {
    k.llt.compute(cov + jitter * Eigen::MatrixXd::Identity(d, d));
    if (k.llt.info() == Eigen::Success) break;
    if (jitter > 1) throw std::runtime_error("calibrate: the kernel covariance is not positive definite");
  }
  k.chol = k.llt.matrixL();
  return k;
}

// Attempt k of generation g: its position in unit coordinates, or nothing when
// the move leaves the prior's support.
std::optional<Eigen::VectorXd> propose(const Calibration& c, const Kernel* kernel, std::int32_t g, std::int64_t k) {
  const auto d = static_cast<Eigen::Index>(c.parameters.size());
  Stream s = attempt_stream(c.seed, g, k, 0);
  Eigen::VectorXd u(d);
  if (!kernel) {
    for (Eigen::Index j = 0; j < d; ++j) u[j] = s.uniform();
    return u;
  }
  for (int tries = 0; tries < 10000; ++tries) {
    const double pick = s.uniform() * kernel->cumulative.back();
    const auto it = std::upper_bound(kernel->cumulative.begin(), kernel->cumulative.end(), pick);
    const auto from = std::min<std::ptrdiff_t>(it - kernel->cumulative.begin(), kernel->points.rows() - 1);
    Eigen::VectorXd z(d);
    for (Eigen::Index j = 0; j < d; ++j) z[j] = normal(s);
    u = kernel->points.row(from).transpose() + kernel->chol * z;
    bool inside = true;
    for (Eigen::Index j = 0; j < d; ++j) inside = inside && u[j] >= 0 && u[j] <= 1;
    if (inside) return u;
  }
  return std::nullopt;
}

std::vector<double> theta_of(const Calibration& c, const Eigen::VectorXd& u) {
  std::vector<double> t(c.parameters.size());
  for (std::size_t j = 0; j < t.size(); ++j) t[j] = from_unit(c.parameters[j], u[static_cast<Eigen::Index>(j)]);
  return t;
}

// ------------------------------------------------------------ statistics

// What one run of an experiment gives each of `stats`: a value per record year.
std::vector<std::vector<double>> run_series(const std::vector<const Statistic*>& stats, const Scenario& sc,
                                            const Registry& registry, std::int32_t replicate,
                                            const Stop& stop) {
  Simulation sim(sc, registry, replicate);
  std::vector<std::vector<double>> v(stats.size());
  auto record = [&](const State& s) {
    for (std::size_t k = 0; k < stats.size(); ++k) {
      const Statistic& st = *stats[k];
      if (st.kind == StatisticKind::measure) {
        v[k].push_back(kSystemMeasures[st.measure].compute(s));
        continue;
      }
      double sums[2] = {0, 0};
      std::int64_t counts[2] = {0, 0};
      visit_field(s, st.group_field, [&](const auto& col) {
        if constexpr (std::is_same_v<std::decay_t<decltype(col)>, Eigen::ArrayXi>) {
          for (std::int32_t i = 0; i < s.n_schools(); ++i) {
            const int g = col[i] == st.treated ? 0 : col[i] == st.control ? 1 : -1;
            if (g < 0) continue;
            sums[g] += school_result(s, i);
            ++counts[g];
          }
        }
      });
      v[k].push_back(counts[0] > 0 && counts[1] > 0
                         ? sums[0] / static_cast<double>(counts[0]) - sums[1] / static_cast<double>(counts[1])
                         : kNaN);
    }
  };
  record(sim.state());
  while (!sim.finished()) {
    if (stop.requested()) throw Interrupted();
    sim.step();
    if (sim.terms_done() % kTermsPerYear == 0) record(sim.state());
  }
  return v;
}

// The statistic of one run: (numerator, denominator).
std::pair<double, double> evaluate(const Statistic& st, const std::vector<double>& v) {
  const auto last = static_cast<std::int32_t>(v.size()) - 1;
  if (st.kind == StatisticKind::measure) {
    const std::int32_t y = st.year < 0 ? last : std::min(st.year, last);
    double x = 0;
    if (st.from_year >= 0) {
      const std::int32_t from = std::min(st.from_year, y);
      for (std::int32_t i = from; i <= y; ++i) x += v[static_cast<std::size_t>(i)];
      x /= static_cast<double>(y - from + 1);
    } else {
      x = v[static_cast<std::size_t>(y)];
    }
    if (st.change) x -= v[0];
    return {x, 1.0};
  }
  std::int32_t first = 0;
  while (first <= last && !std::isfinite(v[static_cast<std::size_t>(first)])) ++first;
  auto at = [&](std::int32_t after) {
    const std::int32_t i = first + after;
    if (i > last) return kNaN;
    return v[static_cast<std::size_t>(i)] - (st.change ? v[static_cast<std::size_t>(first)] : 0.0);
  };
  if (first > last) return {kNaN, 1.0};
  return {at(st.years_after), st.ratio_to >= 0 ? at(st.ratio_to) : 1.0};
}

std::vector<double> simulate(const Calibration& c, const Registry& registry, const std::vector<double>& theta,
                             std::uint64_t seed, const Stop& stop) {
  std::vector<Scenario> scs = scenarios_for(c, theta);
  for (auto& sc : scs) sc.seed = seed;
  const std::size_t n_targets = c.targets.size();
  // Each experiment runs once per replicate for every target that reads it.
  std::vector<std::vector<const Statistic*>> reads(scs.size());
  std::vector<std::size_t> at(n_targets), at_against(n_targets);
  for (std::size_t t = 0; t < n_targets; ++t) {
    const CalibTarget& tg = c.targets[t];
    at[t] = reads[tg.experiment].size();
    reads[tg.experiment].push_back(&tg.statistic);
    if (tg.against) {
      at_against[t] = reads[*tg.against].size();
      reads[*tg.against].push_back(&tg.statistic);
    }
  }
  std::vector<double> num(n_targets, 0), den(n_targets, 0);
  for (std::int32_t r = 0; r < c.replicates; ++r) {
    std::vector<std::vector<std::vector<double>>> series(scs.size());
    for (std::size_t e = 0; e < scs.size(); ++e)
      if (!reads[e].empty()) series[e] = run_series(reads[e], scs[e], registry, r, stop);
    for (std::size_t t = 0; t < n_targets; ++t) {
      const CalibTarget& tg = c.targets[t];
      auto [n, d] = evaluate(tg.statistic, series[tg.experiment][at[t]]);
      if (tg.against) n -= evaluate(tg.statistic, series[*tg.against][at_against[t]]).first;
      num[t] += n;
      den[t] += d;
    }
  }
  std::vector<double> out(n_targets);
  for (std::size_t t = 0; t < n_targets; ++t) out[t] = num[t] / den[t];
  return out;
}

// Weights of a new generation (Beaumont et al. 2009): prior density, uniform in
// unit coordinates, over the kernel's mixture density at each kept particle.
std::vector<double> smc_weights(const Calibration& c, const Kernel& k, const Generation& g) {
  std::vector<double> w(g.theta.size());
  for (std::size_t i = 0; i < g.theta.size(); ++i) {
    Eigen::VectorXd u(static_cast<Eigen::Index>(c.parameters.size()));
    for (std::size_t j = 0; j < c.parameters.size(); ++j) u[static_cast<Eigen::Index>(j)] = to_unit(c.parameters[j], g.theta[i][j]);
    double mix = 0;
    for (Eigen::Index m = 0; m < k.points.rows(); ++m) {
      const Eigen::VectorXd x = k.llt.matrixL().solve(u - k.points.row(m).transpose());
      mix += k.weights[static_cast<std::size_t>(m)] * std::exp(-0.5 * x.squaredNorm());
    }
    w[i] = mix > 0 ? 1.0 / mix : 0.0;
  }
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  if (!(total > 0)) throw std::runtime_error("calibrate: every particle has zero weight");
  for (auto& x : w) x /= total;
  return w;
}

}  // namespace

// ------------------------------------------------------------ public

std::string remove_from_experiments(Calibration& c, const std::string& name) {
  bool found = false;
  for (auto& e : c.experiments) {
    Scenario& sc = e.scenario;
    std::vector<std::ptrdiff_t> moved(sc.pipeline.size(), -1);
    std::vector<PipelineEntry> kept;
    for (std::size_t i = 0; i < sc.pipeline.size(); ++i) {
      const MechanismInfo* info = sc.pipeline[i].info;
      if (info->name == name || info->family == name) {
        found = true;
        continue;
      }
      moved[i] = static_cast<std::ptrdiff_t>(kept.size());
      kept.push_back(sc.pipeline[i]);
    }
    std::vector<TimelineEvent> events;
    for (TimelineEvent ev : sc.timeline) {
      if (moved[ev.entry] < 0) continue;
      ev.entry = static_cast<std::size_t>(moved[ev.entry]);
      events.push_back(ev);
    }
    sc.pipeline = std::move(kept);
    sc.timeline = std::move(events);
  }
  if (!found) return "'" + name + "' is neither a framework nor a mechanism in any of the calibration's experiments";
  c.without.push_back(name);
  return "";
}

std::vector<double> current_values(const Calibration& c) {
  std::vector<double> v;
  for (const auto& p : c.parameters) {
    double x = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t at = 0; at < c.experiments.size() && std::isnan(x); ++at) {
      if (!p.only.empty() && std::find(p.only.begin(), p.only.end(), at) == p.only.end()) continue;
      const Scenario& sc = c.experiments[at].scenario;
      if (p.world) {
        x = sc.world[p.param];
        continue;
      }
      for (const auto& entry : sc.pipeline) {
        if (entry.info->name == p.mechanism) {
          x = entry.values[p.param];
          break;
        }
      }
    }
    v.push_back(x);
  }
  return v;
}

std::vector<Scenario> scenarios_for(const Calibration& c, const std::vector<double>& theta) {
  std::vector<Scenario> out;
  for (std::size_t at = 0; at < c.experiments.size(); ++at) {
    Scenario sc = c.experiments[at].scenario;
    for (std::size_t j = 0; j < c.parameters.size(); ++j) {
      const CalibParameter& p = c.parameters[j];
      if (!p.only.empty() && std::find(p.only.begin(), p.only.end(), at) == p.only.end()) continue;
      if (p.world) {
        sc.world[p.param] = theta[j];
        continue;
      }
      for (auto& entry : sc.pipeline)
        if (entry.info->name == p.mechanism) entry.values[p.param] = theta[j];
    }
    out.push_back(std::move(sc));
  }
  return out;
}

std::vector<double> simulate_targets(const Calibration& c, const Registry& registry, const std::vector<double>& theta,
                                     std::uint64_t seed) {
  return simulate(c, registry, theta, seed, Stop{});
}

double distance(const Calibration& c, const std::vector<double>& stats) {
  double s = 0;
  for (std::size_t t = 0; t < c.targets.size(); ++t) {
    const double z = (stats[t] - c.targets[t].observed) / c.targets[t].sd;
    if (!std::isfinite(z)) return kInf;
    s += z * z;
  }
  return std::sqrt(s / static_cast<double>(std::max<std::size_t>(c.targets.size(), 1)));
}

double weighted_quantile(const std::vector<double>& values, const std::vector<double>& weights, double q) {
  if (values.empty()) return kNaN;
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return values[a] < values[b] || (values[a] == values[b] && a < b);
  });
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  double run = 0;
  for (std::size_t i : order) {
    run += weights[i];
    if (run >= q * total) return values[i];
  }
  return values[order.back()];
}

std::string fingerprint(const Calibration& c, const Registry& registry, std::string_view program_version) {
  std::ostringstream s;
  s.precision(17);
  s << program_text(registry, program_version) << "calibration " << kCalibStateVersion << "\npopulation " << c.population << " generations " << c.generations << " replicates " << c.replicates
    << " seed " << c.seed << " quantile " << c.quantile << " min_acceptance " << c.min_acceptance << " batch "
    << c.batch << "\n";
  for (const auto& w : c.without) s << "without " << w << "\n";
  for (const auto& p : c.parameters)
  {
    s << "parameter " << p.name << " " << p.lo << " " << p.hi << " " << static_cast<int>(p.prior) << " " << p.integer;
    for (auto e : p.only) s << " in " << e;
    s << "\n";
  }
  for (const auto& e : c.experiments) {
    s << "experiment " << e.name << " years " << e.scenario.years << " world";
    for (double w : e.scenario.world) s << " " << w;
    for (const auto& entry : e.scenario.pipeline) {
      s << "\n  " << entry.info->name;
      for (double v : entry.values) s << " " << v;
    }
    for (const auto& ev : e.scenario.timeline)
      s << "\n  event " << ev.absolute_term() << " " << ev.entry << " " << ev.param << " " << ev.value;
    if (e.scenario.register_data) s << "\n  register " << e.scenario.register_data->schools.size();
    s << "\n";
  }
  for (const auto& t : c.targets) {
    const Statistic& st = t.statistic;
    s << "target " << t.id << " " << t.experiment << " " << (t.against ? static_cast<long long>(*t.against) : -1LL) << " "
      << static_cast<int>(st.kind) << " " << st.measure << " " << st.year << " " << st.from_year << " " << st.change << " "
      << static_cast<int>(st.group_field) << " " << st.treated << " " << st.control << " " << st.years_after << " "
      << st.ratio_to << " " << t.observed << " " << t.sd << "\n";
  }
  std::uint64_t h = 1469598103934665603ull;
  for (char ch : s.str()) h = (h ^ static_cast<std::uint8_t>(ch)) * 1099511628211ull;
  std::ostringstream hex;
  hex << std::hex << h;
  return hex.str();
}

CalibrationResult calibrate(const Calibration& c, const Registry& registry, const CalibrateOptions& opt) {
  const std::size_t d = c.parameters.size(), n_targets = c.targets.size();
  const auto n_particles = static_cast<std::size_t>(c.population);
  const std::int64_t batch = c.batch > 0 ? c.batch : c.population;
  const std::string fp = fingerprint(c, registry);
  Parallel pool;  // the simulations of a batch, and of the posterior predictive
  pool.threads = opt.threads;
  pool.cancel = opt.cancel;
  CalibrationResult res;
  CalibState st;
  st.current.tolerance = kInf;
  if (!opt.state.empty()) res.resumed = load_state(opt.state, fp, d, n_targets, st);
  auto save = [&] {
    if (!opt.state.empty() && opt.rank == 0) save_state(opt.state, st, fp);
  };
  const std::int64_t max_attempts =
      static_cast<std::int64_t>(std::ceil(static_cast<double>(n_particles) / std::max(c.min_acceptance, 1e-6)));
  const std::size_t slot = n_targets + 2;  // per attempt: simulated flag, distance, statistics

  while (static_cast<std::int32_t>(st.done.size()) < c.generations && res.stopped.empty()) {
    const auto g = static_cast<std::int32_t>(st.done.size());
    std::optional<Kernel> kernel;
    if (g > 0) kernel = make_kernel(c, st.done.back());
    Generation& gen = st.current;
    while (gen.theta.size() < n_particles) {
      if (gen.attempts >= max_attempts) {
        res.stopped = "generation " + std::to_string(g) + " kept " + std::to_string(gen.theta.size()) + " of " +
                      std::to_string(gen.attempts) + " attempts, below the minimum acceptance of " +
                      std::to_string(c.min_acceptance) + "; it is left out and the calibration ends";
        break;
      }
      const std::int64_t first = gen.attempts;
      std::vector<std::optional<Eigen::VectorXd>> moves(static_cast<std::size_t>(batch));
      for (std::int64_t a = 0; a < batch; ++a)
        moves[static_cast<std::size_t>(a)] = propose(c, kernel ? &*kernel : nullptr, g, first + a);
      std::vector<double> slots(static_cast<std::size_t>(batch) * slot, 0.0);
      std::vector<std::size_t> mine;
      for (std::int64_t a = 0; a < batch; ++a)
        if (moves[static_cast<std::size_t>(a)] && (first + a) % opt.ranks == opt.rank) mine.push_back(static_cast<std::size_t>(a));
      run_tasks(mine.size(), pool, [&](std::size_t i, const Stop& stop) {
        const std::size_t a = mine[i];
        const auto theta = theta_of(c, *moves[a]);
        const auto stats = simulate(c, registry, theta, simulation_seed(c.seed, g, first + static_cast<std::int64_t>(a)), stop);
        double* out = &slots[a * slot];
        out[0] = 1;
        out[1] = distance(c, stats);
        std::copy(stats.begin(), stats.end(), out + 2);
        if (opt.on_simulation) opt.on_simulation();
      });
      res.simulations += static_cast<std::int64_t>(mine.size());
      st.simulations += static_cast<std::int64_t>(mine.size());
      if (opt.ranks > 1 && opt.share) opt.share(slots);
      for (std::int64_t a = 0; a < batch && gen.theta.size() < n_particles; ++a) {
        gen.attempts = first + a + 1;
        const double* in = &slots[static_cast<std::size_t>(a) * slot];
        if (in[0] != 1 || !(in[1] <= gen.tolerance)) continue;
        gen.theta.push_back(theta_of(c, *moves[static_cast<std::size_t>(a)]));
        gen.distances.push_back(in[1]);
        gen.stats.emplace_back(in + 2, in + 2 + n_targets);
      }
      save();
      if (opt.on_batch) opt.on_batch(g, static_cast<std::int32_t>(gen.theta.size()), gen.attempts);
    }
    if (!res.stopped.empty()) break;
    gen.weights = kernel ? smc_weights(c, *kernel, gen) : std::vector<double>(n_particles, 1.0 / static_cast<double>(n_particles));
    Generation next;
    next.tolerance = weighted_quantile(gen.distances, gen.weights, c.quantile);
    st.done.push_back(std::move(gen));
    st.current = std::move(next);
    save();
  }
  res.generations = st.done;
  if (st.done.empty()) return res;

  // Posterior predictive: each particle of the last generation simulated
  // afresh; and as many runs at the scenarios' own values, to compare.
  const Generation& last = st.done.back();
  const auto generation = static_cast<std::int32_t>(st.done.size()) + 1000;  // streams of their own
  const std::size_t n = last.theta.size();
  res.defaults = current_values(c);
  std::vector<double> slots(2 * n * n_targets, 0.0);
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < 2 * n; ++i)
    if (static_cast<std::int64_t>(i) % opt.ranks == opt.rank) mine.push_back(i);
  run_tasks(mine.size(), pool, [&](std::size_t m, const Stop& stop) {
    const std::size_t i = mine[m];
    const auto& theta = i < n ? last.theta[i] : res.defaults;
    const auto stats = simulate(c, registry, theta, simulation_seed(c.seed, generation, static_cast<std::int64_t>(i % n)), stop);
    std::copy(stats.begin(), stats.end(), &slots[i * n_targets]);
    if (opt.on_simulation) opt.on_simulation();
  });
  res.simulations += static_cast<std::int64_t>(mine.size());
  if (opt.ranks > 1 && opt.share) opt.share(slots);
  res.predictive.assign(n, std::vector<double>(n_targets));
  res.at_defaults.assign(n, std::vector<double>(n_targets));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t t = 0; t < n_targets; ++t) {
      res.predictive[i][t] = slots[i * n_targets + t];
      res.at_defaults[i][t] = slots[(n + i) * n_targets + t];
    }
  }
  auto summarise = [&](const std::vector<std::vector<double>>& runs, const std::vector<double>& weights,
                       std::vector<double>& med, std::vector<double>& lo, std::vector<double>& hi) {
    for (std::size_t t = 0; t < n_targets; ++t) {
      std::vector<double> v, w;
      for (std::size_t i = 0; i < runs.size(); ++i) {
        if (std::isfinite(runs[i][t])) {
          v.push_back(runs[i][t]);
          w.push_back(weights[i]);
        }
      }
      med.push_back(weighted_quantile(v, w, 0.5));
      lo.push_back(weighted_quantile(v, w, 0.025));
      hi.push_back(weighted_quantile(v, w, 0.975));
    }
  };
  summarise(res.predictive, last.weights, res.pred_median, res.pred_lo, res.pred_hi);
  summarise(res.at_defaults, std::vector<double>(n, 1.0), res.def_median, res.def_lo, res.def_hi);
  return res;
}

std::size_t posterior_draw(const Posterior& p, std::uint64_t seed, std::int32_t replicate) {
  const Streams streams(seed, static_cast<std::uint32_t>(replicate));
  Stream s = streams.stream(stream_key("posterior"), 0, 0);
  const double total = std::accumulate(p.weights.begin(), p.weights.end(), 0.0);
  const double pick = s.uniform() * total;
  double run = 0;
  for (std::size_t i = 0; i < p.weights.size(); ++i)
    if ((run += p.weights[i]) > pick) return i;
  return p.weights.size() - 1;
}

std::string resolve_posterior(Posterior& p, const Registry& registry) {
  p.world_param.clear();
  for (const auto& name : p.names) {
    const auto dot = name.find('.');
    const std::string head = name.substr(0, dot), param = dot == std::string::npos ? "" : name.substr(dot + 1);
    if (head == "world") {
      const int at = param_index(registry.world().params, param);
      if (at < 0) return "'" + name + "' is not a parameter of the world generator";
      p.world_param.push_back(at);
      continue;
    }
    const MechanismInfo* info = registry.find(head);
    if (!info || param_index(info->params, param) < 0)
      return "'" + name + "' is not a parameter of any mechanism of this schoolsim";
    p.world_param.push_back(-1);
  }
  return "";
}

std::vector<std::string> unused_by(const Posterior& p, const Scenario& sc) {
  std::vector<std::string> out;
  for (std::size_t j = 0; j < p.names.size(); ++j) {
    if (j < p.world_param.size() && p.world_param[j] >= 0) continue;
    const std::string mech = p.names[j].substr(0, p.names[j].find('.'));
    bool found = false;
    for (const auto& entry : sc.pipeline) found = found || entry.info->name == mech;
    if (!found) out.push_back(p.names[j]);
  }
  return out;
}

std::size_t apply_posterior(const Posterior& p, std::uint64_t seed, std::int32_t replicate, Scenario& sc) {
  const std::size_t i = posterior_draw(p, seed, replicate);
  std::size_t set = 0;
  for (std::size_t j = 0; j < p.names.size(); ++j) {
    const double v = p.theta[i][j];
    if (j < p.world_param.size() && p.world_param[j] >= 0) {
      sc.world[static_cast<std::size_t>(p.world_param[j])] = v;
      ++set;
      continue;
    }
    const auto dot = p.names[j].find('.');
    const std::string mech = p.names[j].substr(0, dot), param = p.names[j].substr(dot + 1);
    for (auto& entry : sc.pipeline) {
      if (entry.info->name != mech) continue;
      const int at = param_index(entry.info->params, param);
      if (at < 0) continue;
      entry.values[static_cast<std::size_t>(at)] = v;
      ++set;
    }
  }
  return set;
}

}  // namespace schoolsim
