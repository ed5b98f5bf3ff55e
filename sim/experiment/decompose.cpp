#include "sim/experiment/decompose.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <exception>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "sim/experiment/compare.hpp"
#include "sim/measures.hpp"
#include "sim/rng.hpp"

namespace schoolsim {

namespace {

// One mechanism of the merged pipeline: in A, in B, or in both.
struct Merged {
  const MechanismInfo* info = nullptr;
  int in_a = -1, in_b = -1;  // index in each pipeline, -1 when absent
};

int index_of(const std::vector<PipelineEntry>& p, const MechanismInfo* info) {
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].info == info) return static_cast<int>(i);
  return -1;
}

// Both pipelines merged in run order; "" or why they cannot be merged.
std::string merge_pipelines(const Scenario& a, const Scenario& b, std::vector<Merged>& out) {
  std::vector<const MechanismInfo*> shared_a, shared_b;
  for (const auto& e : a.pipeline)
    if (index_of(b.pipeline, e.info) >= 0) shared_a.push_back(e.info);
  for (const auto& e : b.pipeline)
    if (index_of(a.pipeline, e.info) >= 0) shared_b.push_back(e.info);
  if (shared_a != shared_b) {
    for (std::size_t i = 0; i < shared_a.size(); ++i) {
      if (shared_a[i] != shared_b[i]) {
        return "the two scenarios run the mechanisms they share in different orders ('" + shared_a[i]->name +
               "' comes " + (i == 0 ? "first" : "after '" + shared_a[i - 1]->name + "'") + " in A but not in B); "
               "a decomposition switches parameters and mechanisms, not the order of the pipeline";
      }
    }
  }
  std::size_t i = 0, j = 0;
  while (i < a.pipeline.size() || j < b.pipeline.size()) {
    if (i < a.pipeline.size() && index_of(b.pipeline, a.pipeline[i].info) < 0) {
      out.push_back({a.pipeline[i].info, static_cast<int>(i), -1});
      ++i;
    } else if (j < b.pipeline.size() && index_of(a.pipeline, b.pipeline[j].info) < 0) {
      out.push_back({b.pipeline[j].info, -1, static_cast<int>(j)});
      ++j;
    } else {
      out.push_back({a.pipeline[i].info, static_cast<int>(i), static_cast<int>(j)});
      ++i, ++j;
    }
  }
  return "";
}

bool same_register(const Scenario& a, const Scenario& b) {
  if (a.world_register.has_value() != b.world_register.has_value()) return false;
  if (!a.world_register) return true;
  const RegisterSource &x = *a.world_register, &y = *b.world_register;
  return x.resolved == y.resolved && x.format == y.format && x.missing == y.missing && x.areas == y.areas &&
         x.around_urn == y.around_urn && x.around_easting == y.around_easting &&
         x.around_northing == y.around_northing && x.radius_km == y.radius_km;
}

// An event as (year, term, mechanism, parameter, value), independent of pipeline positions.
struct NamedEvent {
  std::int32_t year, term;
  const MechanismInfo* info;
  std::size_t param;
  double value;
  bool operator==(const NamedEvent&) const = default;
};

std::vector<NamedEvent> named_timeline(const Scenario& sc) {
  std::vector<NamedEvent> out;
  for (const auto& ev : sc.timeline)
    out.push_back({ev.year, ev.term, sc.pipeline[ev.entry].info, ev.param, ev.value});
  return out;
}

std::string events_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " event" : " events"); }

}  // namespace

LeverSet find_levers(const Scenario& a, const Scenario& b, const Registry& registry) {
  LeverSet out;
  if (a.years != b.years) {
    out.error = "the two scenarios run for different numbers of years (" + std::to_string(a.years) + " and " +
                std::to_string(b.years) + "); a decomposition needs the same length in both";
    return out;
  }
  if (!same_register(a, b)) {
    out.error = "the two scenarios read their worlds from different registers (world.register); a "
                "decomposition can switch generator parameters, not registers";
    return out;
  }
  std::vector<Merged> merged;
  if (out.error = merge_pipelines(a, b, merged); !out.error.empty()) return out;

  const auto& wp = registry.world().params;
  for (std::size_t p = 0; p < wp.size() && p < a.world.size() && p < b.world.size(); ++p) {
    if (a.world[p] != b.world[p]) {
      out.levers.push_back({LeverKind::world, "world." + wp[p].name,
                            value_text(wp[p], a.world[p]) + " -> " + value_text(wp[p], b.world[p]), p, nullptr});
    }
  }
  for (const Merged& m : merged) {
    const auto& specs = m.info->params;
    if (m.in_a >= 0 && m.in_b >= 0) {
      const auto& va = a.pipeline[static_cast<std::size_t>(m.in_a)].values;
      const auto& vb = b.pipeline[static_cast<std::size_t>(m.in_b)].values;
      for (std::size_t p = 0; p < specs.size(); ++p) {
        if (va[p] != vb[p]) {
          out.levers.push_back({LeverKind::param, m.info->name + "." + specs[p].name,
                                value_text(specs[p], va[p]) + " -> " + value_text(specs[p], vb[p]), p, m.info});
        }
      }
    } else if (m.in_b >= 0) {
      const auto& vb = b.pipeline[static_cast<std::size_t>(m.in_b)].values;
      std::string with;
      for (std::size_t p = 0; p < specs.size(); ++p) {
        if (vb[p] != specs[p].def)
          with += (with.empty() ? "" : ", ") + specs[p].name + " " + value_text(specs[p], vb[p]);
      }
      out.levers.push_back({LeverKind::add, "add " + m.info->name,
                            with.empty() ? "with default parameters" : "with " + with, 0, m.info});
    } else {
      out.levers.push_back({LeverKind::remove, "remove " + m.info->name, "taken out of the pipeline", 0, m.info});
    }
  }
  const auto ta = named_timeline(a), tb = named_timeline(b);
  if (ta != tb) {
    out.levers.push_back({LeverKind::timeline, "timeline", events_text(ta.size()) + " -> " + events_text(tb.size()),
                          0, nullptr});
  }
  if (out.levers.size() > 62) {
    out.error = "the two scenarios differ in " + std::to_string(out.levers.size()) +
                " levers; a decomposition takes at most 62";
  }
  return out;
}

Scenario hybrid(const Scenario& a, const Scenario& b, const std::vector<Lever>& levers, std::uint64_t on) {
  auto is_on = [&](LeverKind kind, const MechanismInfo* info, std::size_t param) {
    for (std::size_t i = 0; i < levers.size(); ++i) {
      if (levers[i].kind == kind && levers[i].mechanism == info && levers[i].param == param)
        return ((on >> i) & 1u) != 0;
    }
    return false;
  };
  Scenario out = a;
  for (std::size_t p = 0; p < out.world.size(); ++p)
    if (is_on(LeverKind::world, nullptr, p)) out.world[p] = b.world[p];
  std::vector<Merged> merged;
  merge_pipelines(a, b, merged);  // find_levers has checked that they merge
  out.pipeline.clear();
  for (const Merged& m : merged) {
    if (m.in_a >= 0 && m.in_b >= 0) {
      PipelineEntry e = a.pipeline[static_cast<std::size_t>(m.in_a)];
      const auto& vb = b.pipeline[static_cast<std::size_t>(m.in_b)].values;
      for (std::size_t p = 0; p < e.values.size(); ++p)
        if (is_on(LeverKind::param, m.info, p)) e.values[p] = vb[p];
      out.pipeline.push_back(std::move(e));
    } else if (m.in_a >= 0) {
      if (!is_on(LeverKind::remove, m.info, 0)) out.pipeline.push_back(a.pipeline[static_cast<std::size_t>(m.in_a)]);
    } else if (is_on(LeverKind::add, m.info, 0)) {
      out.pipeline.push_back(b.pipeline[static_cast<std::size_t>(m.in_b)]);
    }
  }
  // The timeline: B's events when its lever is on, else A's; an event of a
  // mechanism this hybrid does not run is left out.
  const Scenario& from = is_on(LeverKind::timeline, nullptr, 0) ? b : a;
  out.timeline.clear();
  for (const auto& ev : from.timeline) {
    const int at = index_of(out.pipeline, from.pipeline[ev.entry].info);
    if (at < 0) continue;
    TimelineEvent e = ev;
    e.entry = static_cast<std::size_t>(at);
    out.timeline.push_back(e);
  }
  return out;
}

// ---------------------------------------------------------------- Shapley values

std::vector<std::vector<std::size_t>> lever_orders(std::size_t levers, std::int32_t replicate,
                                                   const ShapleyOptions& options) {
  std::vector<std::vector<std::size_t>> orders;
  if (options.exact(levers)) return orders;
  const Streams streams(options.seed, static_cast<std::uint32_t>(replicate));
  constexpr std::uint32_t kKey = stream_key("decompose");
  for (std::int32_t p = 0; p < options.permutations; ++p) {
    Stream s = streams.stream(kKey, 0, static_cast<std::uint64_t>(p));
    std::vector<std::size_t> order(levers);
    for (std::size_t i = 0; i < levers; ++i) order[i] = i;
    for (std::size_t i = levers; i > 1; --i) {  // Fisher-Yates
      const auto j = static_cast<std::size_t>(s.uniform() * static_cast<double>(i));
      std::swap(order[i - 1], order[std::min(j, i - 1)]);
    }
    orders.push_back(std::move(order));
  }
  return orders;
}

std::vector<std::uint64_t> subsets_needed(std::size_t levers, std::int32_t replicate, const ShapleyOptions& options) {
  const std::uint64_t full = levers >= 64 ? ~0ull : (1ull << levers) - 1;
  std::vector<std::uint64_t> out;
  if (options.exact(levers)) {
    for (std::uint64_t s = 0; s <= full; ++s) out.push_back(s);
    return out;
  }
  out = {0, full};
  for (const auto& order : lever_orders(levers, replicate, options)) {
    std::uint64_t s = 0;
    for (std::size_t i : order) out.push_back(s |= 1ull << i);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::vector<double>> shapley_values(std::size_t levers, std::int32_t replicate,
                                                const ShapleyOptions& options, const SubsetValue& value) {
  const std::size_t outputs = value(0).size();
  std::vector<std::vector<double>> phi(levers, std::vector<double>(outputs, 0.0));
  if (options.exact(levers)) {
    // weight[s] = s! (k - s - 1)! / k! = 1 / (k * C(k - 1, s))
    std::vector<double> weight(levers, 0.0);
    for (std::size_t s = 0; s < levers; ++s) {
      double c = 1;
      for (std::size_t t = 1; t <= s; ++t) c = c * static_cast<double>(levers - t) / static_cast<double>(t);
      weight[s] = 1.0 / (static_cast<double>(levers) * c);
    }
    const std::uint64_t full = (1ull << levers) - 1;
    for (std::size_t i = 0; i < levers; ++i) {
      const std::uint64_t bit = 1ull << i;
      for (std::uint64_t s = 0; s <= full; ++s) {
        if (s & bit) continue;
        const double w = weight[static_cast<std::size_t>(std::popcount(s))];
        const auto& with = value(s | bit);
        const auto& without = value(s);
        for (std::size_t o = 0; o < outputs; ++o) phi[i][o] += w * (with[o] - without[o]);
      }
    }
    return phi;
  }
  const auto orders = lever_orders(levers, replicate, options);
  for (const auto& order : orders) {
    std::uint64_t s = 0;
    for (std::size_t i : order) {
      const auto& without = value(s);
      const auto& with = value(s | (1ull << i));
      for (std::size_t o = 0; o < outputs; ++o) phi[i][o] += with[o] - without[o];
      s |= 1ull << i;
    }
  }
  for (auto& row : phi)
    for (double& x : row) x /= static_cast<double>(orders.size());
  return phi;
}

namespace {

// Mean and 95% t interval of xs.
void mean_interval(const std::vector<double>& xs, double& mean, double& lo, double& hi) {
  const auto n = static_cast<std::int32_t>(xs.size());
  double sum = 0;
  for (double x : xs) sum += x;
  mean = sum / n;
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  const double half = n > 1 ? t_factor(n) * std::sqrt(ss / (n - 1) / n) : std::numeric_limits<double>::quiet_NaN();
  lo = mean - half;
  hi = mean + half;
}

}  // namespace

ShapleyEstimate estimate_shapley(std::size_t levers, std::int32_t replicates, const ShapleyOptions& options,
                                 const ReplicateSubsetValue& value) {
  ShapleyEstimate e;
  const std::uint64_t full = (1ull << levers) - 1;
  const std::size_t outputs = value(0, 0).size();
  const auto reps = static_cast<std::size_t>(replicates);
  e.per_replicate.assign(levers, std::vector<std::vector<double>>(reps));
  e.total.assign(reps, std::vector<double>(outputs));
  for (std::int32_t r = 0; r < replicates; ++r) {
    auto phi = shapley_values(levers, r, options, [&](std::uint64_t s) -> const std::vector<double>& { return value(r, s); });
    for (std::size_t i = 0; i < levers; ++i) e.per_replicate[i][static_cast<std::size_t>(r)] = std::move(phi[i]);
    const auto& vf = value(r, full);
    const auto& v0 = value(r, 0);
    for (std::size_t o = 0; o < outputs; ++o) e.total[static_cast<std::size_t>(r)][o] = vf[o] - v0[o];
  }
  e.mean.assign(levers, std::vector<double>(outputs));
  e.lo = e.hi = e.mean;
  std::vector<double> xs(reps);
  for (std::size_t i = 0; i < levers; ++i) {
    for (std::size_t o = 0; o < outputs; ++o) {
      for (std::size_t r = 0; r < reps; ++r) xs[r] = e.per_replicate[i][r][o];
      mean_interval(xs, e.mean[i][o], e.lo[i][o], e.hi[i][o]);
    }
  }
  e.total_mean.assign(outputs, 0.0);
  e.total_lo = e.total_hi = e.total_mean;
  for (std::size_t o = 0; o < outputs; ++o) {
    for (std::size_t r = 0; r < reps; ++r) xs[r] = e.total[r][o];
    mean_interval(xs, e.total_mean[o], e.total_lo[o], e.total_hi[o]);
  }
  return e;
}

// ---------------------------------------------------------------- the decomposition

std::size_t decomposition_runs(std::size_t levers, std::int32_t replicates, const ShapleyOptions& options) {
  std::size_t n = 0;
  for (std::int32_t r = 0; r < replicates; ++r) n += subsets_needed(levers, r, options).size();
  return n;
}

Decomposition decompose(const Scenario& a_in, const Scenario& b_in, const Registry& registry, std::int32_t replicates,
                        const RunOptions& options, const ShapleyOptions& shapley, const State* branch_state,
                        std::int32_t branch_terms) {
  LeverSet set = find_levers(a_in, b_in, registry);
  if (!set.error.empty()) throw std::invalid_argument(set.error);
  if (set.levers.empty()) throw std::invalid_argument("the two scenarios do not differ in any lever");
  if (branch_state) {
    for (const auto& l : set.levers) {
      if (l.kind == LeverKind::world) {
        throw std::invalid_argument("the scenarios differ in " + l.name +
                                    ", but runs branched from a checkpoint share its world");
      }
    }
  }
  if (replicates < 1) throw std::invalid_argument("a decomposition needs at least one replicate");
  const std::size_t k = set.levers.size();
  // Every arm from A's seed, recording the system measures only (as compare does).
  Scenario a = a_in, b = b_in;
  for (Scenario* sc : {&a, &b}) {
    sc->seed = a_in.seed;
    sc->record = RecordConfig{Cadence::year, {}, false, true, false};
  }

  struct Task {
    std::int32_t replicate;
    std::uint64_t subset;
  };
  std::vector<Task> tasks;
  std::vector<std::vector<std::uint64_t>> needed(static_cast<std::size_t>(replicates));
  for (std::int32_t r = 0; r < replicates; ++r) {
    needed[static_cast<std::size_t>(r)] = subsets_needed(k, r, shapley);
    for (std::uint64_t s : needed[static_cast<std::size_t>(r)]) tasks.push_back({r, s});
  }
  // [task][measure * rows + row] at the yearly rows
  std::vector<std::vector<double>> values(tasks.size());
  std::vector<std::int32_t> terms;
  RunOptions worker = options;
  worker.threads = 1;
  worker.checkpoint_term = -1;
  worker.on_checkpoint = nullptr;
  worker.per_replicate = nullptr;  // a posterior draw would reset the levers each run switches
  struct Run {
    std::vector<double> values;
    std::vector<std::int32_t> terms;
  };
  Parallel pool;
  pool.threads = options.threads;
  pool.cancel = options.cancel;  // Ctrl-C stops the runs under way at their next term
  pool.window = tasks.size();    // a run's values are small: never hold a worker back
  run_ordered(
      tasks.size(), pool,
      [&](std::size_t t, const Stop& stop) {
        const Scenario sc = hybrid(a, b, set.levers, tasks[t].subset);
        const RunOptions ro = with_stop(worker, stop);
        const Recording rec =
            branch_state ? continue_replicate(sc, registry, tasks[t].replicate, *branch_state, branch_terms,
                                              std::nullopt, ro)
                         : run_replicate(sc, registry, tasks[t].replicate, ro);
        std::vector<std::size_t> rows;
        Run run;
        for (std::size_t i = 0; i < rec.system_terms.size(); ++i) {
          if (i == 0 || rec.system_terms[i] % kTermsPerYear == 0) {
            rows.push_back(i);
            run.terms.push_back(rec.system_terms[i]);
          }
        }
        run.values.resize(kMeasureCount * rows.size());
        for (std::size_t m = 0; m < kMeasureCount; ++m)
          for (std::size_t j = 0; j < rows.size(); ++j) run.values[m * rows.size() + j] = rec.system[m][rows[j]];
        return run;
      },
      [&](std::size_t t, Run&& run) {
        values[t] = std::move(run.values);
        if (terms.empty()) terms = std::move(run.terms);
      });
  if (options.cancel && options.cancel->load()) throw Interrupted();

  // The value of (replicate, subset): its task's yearly measures.
  std::vector<std::size_t> first(static_cast<std::size_t>(replicates) + 1, 0);
  for (std::int32_t r = 0; r < replicates; ++r)
    first[static_cast<std::size_t>(r) + 1] = first[static_cast<std::size_t>(r)] + needed[static_cast<std::size_t>(r)].size();
  auto value = [&](std::int32_t r, std::uint64_t s) -> const std::vector<double>& {
    const auto& n = needed[static_cast<std::size_t>(r)];
    const auto it = std::lower_bound(n.begin(), n.end(), s);
    if (it == n.end() || *it != s) throw std::logic_error("decompose: a subset that was not run");
    return values[first[static_cast<std::size_t>(r)] + static_cast<std::size_t>(it - n.begin())];
  };
  const ShapleyEstimate est = estimate_shapley(k, replicates, shapley, value);

  Decomposition d;
  d.levers = set.levers;
  d.replicates = replicates;
  d.exact = shapley.exact(k);
  d.permutations = d.exact ? 0 : shapley.permutations;
  d.runs = tasks.size();
  d.terms = terms;
  const std::size_t rows = terms.size(), reps = static_cast<std::size_t>(replicates);
  const std::uint64_t full = (1ull << k) - 1;
  d.a.assign(kMeasureCount, std::vector<double>(reps * rows));
  d.b = d.a;
  d.phi.assign(kMeasureCount, std::vector<std::vector<double>>(k, std::vector<double>(reps * rows)));
  d.phi_mean.assign(kMeasureCount, std::vector<std::vector<double>>(k, std::vector<double>(rows)));
  d.phi_lo = d.phi_hi = d.phi_mean;
  d.total_mean.assign(kMeasureCount, std::vector<double>(rows));
  d.total_lo = d.total_hi = d.total_mean;
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    for (std::size_t row = 0; row < rows; ++row) {
      const std::size_t o = m * rows + row;
      for (std::size_t r = 0; r < reps; ++r) {
        d.a[m][r * rows + row] = value(static_cast<std::int32_t>(r), 0)[o];
        d.b[m][r * rows + row] = value(static_cast<std::int32_t>(r), full)[o];
        for (std::size_t i = 0; i < k; ++i) d.phi[m][i][r * rows + row] = est.per_replicate[i][r][o];
      }
      for (std::size_t i = 0; i < k; ++i) {
        d.phi_mean[m][i][row] = est.mean[i][o];
        d.phi_lo[m][i][row] = est.lo[i][o];
        d.phi_hi[m][i][row] = est.hi[i][o];
      }
      d.total_mean[m][row] = est.total_mean[o];
      d.total_lo[m][row] = est.total_lo[o];
      d.total_hi[m][row] = est.total_hi[o];
    }
  }
  return d;
}

namespace {

// Enough decimals to show three significant figures of `scale`.
int digits_for(double scale) {
  if (!(scale > 0) || !std::isfinite(scale)) return 3;
  return std::clamp(2 - static_cast<int>(std::floor(std::log10(scale))), 0, 8);
}

std::string fixed_text(double v, int digits) {
  if (std::isnan(v)) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  std::string s = o.str();
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // no "-0.000"
  return s;
}

}  // namespace

std::string decomposition_table(const Decomposition& d) {
  std::ostringstream o;
  const std::size_t rows = d.terms.size(), last = rows - 1, k = d.levers.size();
  std::size_t width = 5;
  for (const auto& l : d.levers) width = std::max(width, l.name.size());
  o << k << " levers differ between A and B:\n";
  for (const auto& l : d.levers) o << "  " << std::left << std::setw(static_cast<int>(width)) << l.name << "  " << l.change << "\n";
  o << "\nShapley values: ";
  if (d.exact) {
    o << "exact, over all " << (1ull << k) << " lever subsets";
  } else {
    o << "sampled, " << d.permutations << " random lever orders per replicate (Castro et al. 2009); the intervals "
      << "include that sampling";
  }
  o << ". " << d.replicates << (d.replicates == 1 ? " replicate" : " replicates") << ", " << d.runs
    << " runs with common random numbers.\nEach lever's share is its mean contribution to B - A at the end; the "
       "shares sum to B - A.\n";
  std::vector<std::string> unchanged;
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    bool differs = false;
    for (std::size_t r = 0; r < static_cast<std::size_t>(d.replicates); ++r)
      differs = differs || d.a[m][r * rows + last] != d.b[m][r * rows + last];
    if (!differs) {
      unchanged.emplace_back(mi.name);
      continue;
    }
    double scale = std::abs(d.total_mean[m][last]);
    for (std::size_t i = 0; i < k; ++i) scale = std::max(scale, std::abs(d.phi_mean[m][i][last]));
    const int digits = digits_for(scale);
    auto interval = [&](double lo, double hi) {
      if (std::isnan(lo)) return std::string("-");
      std::ostringstream t;  // (not "[" + ...: GCC 12 warns falsely of overlapping copies there)
      t << '[' << fixed_text(lo, digits) << ", " << fixed_text(hi, digits) << ']';
      return t.str();
    };
    o << "\n" << mi.name << " (" << mi.unit << "): " << mi.meaning << "\n";
    o << "  " << std::left << std::setw(static_cast<int>(width)) << "B - A" << std::right << std::setw(12)
      << fixed_text(d.total_mean[m][last], digits) << "  " << interval(d.total_lo[m][last], d.total_hi[m][last])
      << "\n";
    for (std::size_t i = 0; i < k; ++i) {
      o << "  " << std::left << std::setw(static_cast<int>(width)) << d.levers[i].name << std::right << std::setw(12)
        << fixed_text(d.phi_mean[m][i][last], digits) << "  " << interval(d.phi_lo[m][i][last], d.phi_hi[m][i][last])
        << "\n";
    }
  }
  if (!unchanged.empty()) {
    o << "\nno difference at the end in any replicate:";
    for (const auto& n : unchanged) o << " " << n;
    o << "\n";
  }
  return o.str();
}

}  // namespace schoolsim
