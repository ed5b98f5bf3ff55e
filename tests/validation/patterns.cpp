#include "validation/patterns.hpp"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <tuple>

#include "models/policy/policy.hpp"
#include "models/register_all.hpp"
#include "models/school/school.hpp"
#include "sim/config/config.hpp"
#include "sim/measures.hpp"
#include "sim/simulation.hpp"

namespace schoolsim::validation {

namespace {

const Registry& reg() { return models::registry(); }

std::size_t world_param(const char* name) {
  const int at = param_index(reg().world().params, name);
  if (at < 0) throw std::logic_error(std::string("no world parameter ") + name);
  return static_cast<std::size_t>(at);
}

// A world of `size.schools` schools in areas of about 100 schools each.
void resize(Scenario& sc, const Size& size, std::uint64_t seed) {
  sc.seed = seed;
  sc.world[world_param("schools")] = size.schools;
  sc.world[world_param("areas")] = std::max(1.0, std::round(size.schools / 100.0));
}

Scenario from_text(const std::string& text) {
  auto r = parse_scenario(text, "validation.yaml", reg());
  if (!r.errors.empty()) throw std::logic_error("validation scenario: " + r.errors[0].str());
  return *r.scenario;
}

Scenario from_library(const std::string& name) {
  auto r = load_scenario(std::string(SCHOOLSIM_SOURCE_DIR) + "/scenarios/" + name + ".yaml", reg());
  if (!r.errors.empty()) throw std::logic_error("scenario " + name + ": " + r.errors[0].str());
  return *r.scenario;
}

double mean_result(const State& s, const std::vector<std::int32_t>& schools) {
  double sum = 0;
  for (auto i : schools) sum += school_result(s, i);
  return schools.empty() ? 0.0 : sum / static_cast<double>(schools.size());
}

// Experiments that several targets read are run once per seed and size.
template <class Result>
class Cache {
 public:
  Result get(std::uint64_t seed, const Size& size, const std::function<Result()>& make) {
    const auto key = std::make_pair(seed, size.schools);
    {
      std::lock_guard lock(mu_);
      if (auto it = done_.find(key); it != done_.end()) return it->second;
    }
    Result r = make();
    std::lock_guard lock(mu_);
    return done_.emplace(key, std::move(r)).first->second;
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::uint64_t, double>, Result> done_;
};

// ---------------------------------------------------------------- pattern 1

// Federated weak schools minus the matched comparison, 0..4 years after
// pairing, each relative to the gap at pairing (difference in differences).
std::vector<double> federation_gaps(std::uint64_t seed, const Size& size) {
  static Cache<std::vector<double>> cache;
  return cache.get(seed, size, [&] {
    Scenario sc = from_library("federations");
    resize(sc, size, seed);
    sc.years = 7;  // pairing at the end of year 2, then four more years
    Simulation sim(sc, reg(), 0);
    std::vector<std::int32_t> treated, comparison;
    std::vector<double> gaps;
    double at_pairing = 0;
    while (!sim.finished()) {
      sim.step();
      if (sim.terms_done() % kTermsPerYear != 0) continue;
      const State& s = sim.state();
      if (treated.empty()) {
        for (std::int32_t i = 0; i < s.n_schools(); ++i) {
          if (s.arm[i] == 1) treated.push_back(i);
          if (s.arm[i] == 2) comparison.push_back(i);
        }
        if (treated.empty()) continue;
        at_pairing = mean_result(s, treated) - mean_result(s, comparison);
      }
      gaps.push_back(mean_result(s, treated) - mean_result(s, comparison) - at_pairing);
    }
    if (gaps.size() < 5) throw std::logic_error("federations: no pairing happened");
    gaps.resize(5);
    return gaps;
  });
}

// ---------------------------------------------------------------- patterns 2, 3

struct MarketRun {
  double attainment_end = 0;  // mean attainment over the last three years
  double dissimilarity_change = 0;
};

MarketRun market_run(std::uint64_t seed, const Size& size, double choice) {
  static std::map<double, Cache<MarketRun>> caches;
  static std::mutex mu;
  Cache<MarketRun>* cache = nullptr;
  {
    std::lock_guard lock(mu);
    cache = &caches[choice];
  }
  return cache->get(seed, size, [&] {
    Scenario sc = from_text("years: 20\npipeline: [crises, turnover, attainment, {market: {choice: " +
                            std::to_string(choice) + "}}, opportunities]\n");
    resize(sc, size, seed);
    Simulation sim(sc, reg(), 0);
    MarketRun r;
    const double start = dissimilarity(sim.state());
    double last3 = 0;
    while (!sim.finished()) {
      sim.step();
      if (sim.terms_done() % kTermsPerYear == 0 && sim.terms_done() >= sc.terms() - 2 * kTermsPerYear)
        last3 += mean_attainment(sim.state()) / 3;
    }
    r.attainment_end = last3;
    r.dissimilarity_change = dissimilarity(sim.state()) - start;
    return r;
  });
}

// ---------------------------------------------------------------- pattern 4

double area_strategy_gain(std::uint64_t seed, const Size& size) {
  Scenario sc = from_library("ecology_of_equity");
  resize(sc, size, seed);
  Simulation sim(sc, reg(), 0);
  const State start = sim.state();
  while (!sim.finished()) sim.step();
  const State& end = sim.state();
  std::vector<double> d(start.disadvantaged.data(), start.disadvantaged.data() + start.n_schools());
  std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
  const double median = d[d.size() / 2];
  double in = 0, n_in = 0, out = 0, n_out = 0;
  for (std::int32_t i = 0; i < start.n_schools(); ++i) {
    if (start.disadvantaged[i] < median) continue;
    const double gain = end.attainment_dis[i] - start.attainment_dis[i];
    if (start.area[i] == 0)
      in += gain, ++n_in;
    else
      out += gain, ++n_out;
  }
  return in / n_in - out / n_out;
}

// ---------------------------------------------------------------- pattern 5

double weak_tie_change(std::uint64_t seed, const Size& size, bool pressure) {
  Scenario sc = from_text(
      std::string("years: 10\nworld: {initial_ties_per_school: 3}\n"
                  "pipeline: [crises, tie_formation, constructivism, social_capital, durkheim, turnover, "
                  "tie_dissolution, attainment, expectations, ") +
      (pressure ? "{market: {choice: 0.8}}" : "{market: {choice: 0.8, league_tables: false, inspection_cycle: 0}}") +
      ", opportunities]\n");
  resize(sc, size, seed);
  Simulation sim(sc, reg(), 0);
  std::vector<std::int32_t> order(static_cast<std::size_t>(sim.state().n_schools()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return sim.state().capacity[a] < sim.state().capacity[b]; });
  order.resize(order.size() / 5);
  auto mean_degree = [&] {
    double sum = 0;
    for (auto i : order) sum += sim.state().ties.degree(i);
    return sum / static_cast<double>(order.size());
  };
  const double start = mean_degree();
  while (!sim.finished()) sim.step();
  return mean_degree() - start;
}

// ---------------------------------------------------------------- pattern 6

struct ExpectationGroups {
  double qualifying = 0, other_tied = 0, untied = 0;
};

ExpectationGroups expectation_groups(std::uint64_t seed, const Size& size) {
  static Cache<ExpectationGroups> cache;
  return cache.get(seed, size, [&] {
    Scenario sc = from_text(
        "years: 5\nworld: {initial_ties_per_school: 1}\n"
        "pipeline: [crises, constructivism, turnover, attainment, expectations, {market: {choice: 0.3}}, "
        "opportunities]\n");
    resize(sc, size, seed);
    State world = generate_world(sc, reg(), 0);
    // Half of all ties lose their trust, so the same kinds of partner come
    // trusted and untrusted.
    Stream rng = Streams(seed, 0).stream(stream_key("validation_pattern6"), 0, 0);
    world.ties.for_each([&](TieStore::Slot s) {
      if (rng.uniform() < 0.5) world.ties.trust[s] = 0.2;
    });
    const State start = world;
    std::vector<int> group(static_cast<std::size_t>(start.n_schools()), 0);  // 0 untied, 1 other, 2 qualifying
    for (std::int32_t i = 0; i < start.n_schools(); ++i)
      start.ties.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) {
        const bool q = start.ties.trust[s] >= 0.5 && models::similar_intake(start.disadvantaged[i], start.disadvantaged[j]) &&
                       school_result(start, j) > school_result(start, i) + 0.2;
        auto& g = group[static_cast<std::size_t>(i)];
        g = std::max(g, q ? 2 : 1);
      });
    Simulation sim(sc, reg(), 0, world);
    while (!sim.finished()) sim.step();
    double sum[3] = {0, 0, 0}, n[3] = {0, 0, 0};
    for (std::int32_t i = 0; i < start.n_schools(); ++i) {
      const auto g = static_cast<std::size_t>(group[static_cast<std::size_t>(i)]);
      sum[g] += sim.state().expectations[i] - start.expectations[i];
      n[g] += 1;
    }
    return ExpectationGroups{sum[2] / n[2], sum[1] / n[1], sum[0] / n[0]};
  });
}

// ---------------------------------------------------------------- accountability

// Mean results over the last three years of the schools in the lower three
// quarters and in the top quarter of their phase at the start.
std::pair<double, double> league_table_run(std::uint64_t seed, const Size& size, bool tables) {
  static std::map<bool, Cache<std::pair<double, double>>> caches;
  static std::mutex mu;
  Cache<std::pair<double, double>>* cache = nullptr;
  {
    std::lock_guard lock(mu);
    cache = &caches[tables];
  }
  return cache->get(seed, size, [&] {
    Scenario sc = from_text(std::string("years: 10\npipeline: [crises, turnover, attainment, {market: {choice: 0.5, "
                                        "inspection_cycle: 0, league_tables: ") +
                            (tables ? "true" : "false") + "}}, opportunities]\n");
    resize(sc, size, seed);
    Simulation sim(sc, reg(), 0);
    const State& s0 = sim.state();
    std::vector<std::uint8_t> top(static_cast<std::size_t>(s0.n_schools()), 0);
    for (int phase = 0; phase < 2; ++phase) {
      std::vector<std::int32_t> ranked;
      for (std::int32_t i = 0; i < s0.n_schools(); ++i)
        if (s0.phase[i] == phase) ranked.push_back(i);
      std::stable_sort(ranked.begin(), ranked.end(),
                       [&](auto a, auto b) { return school_result(s0, a) > school_result(s0, b); });
      for (std::size_t r = 0; r < ranked.size() / 4; ++r) top[static_cast<std::size_t>(ranked[r])] = 1;
    }
    double low = 0, high = 0;
    while (!sim.finished()) {
      sim.step();
      if (sim.terms_done() % kTermsPerYear != 0 || sim.terms_done() < sc.terms() - 2 * kTermsPerYear) continue;
      std::vector<std::int32_t> lo_set, hi_set;
      for (std::int32_t i = 0; i < sim.state().n_schools(); ++i) (top[static_cast<std::size_t>(i)] ? hi_set : lo_set).push_back(i);
      low += mean_result(sim.state(), lo_set) / 3, high += mean_result(sim.state(), hi_set) / 3;
    }
    return std::make_pair(low, high);
  });
}

// Schools that just failed an inspection minus those that just passed: the
// change of results from the inspection year to two and three years later.
double inspection_effect(std::uint64_t seed, const Size& size) {
  Scenario sc = from_text(
      "years: 12\npipeline: [crises, turnover, attainment, {market: {choice: 0.5, inspection_cycle: 4}}, "
      "opportunities]\n");
  resize(sc, size, seed);
  const int at = param_index(sc.pipeline[3].info->params, "inspection_fail_share");
  const double fail = sc.pipeline[3].values[static_cast<std::size_t>(at)];
  const double band = 0.05;
  Simulation sim(sc, reg(), 0);
  std::vector<std::vector<double>> results;  // by year, per school
  std::vector<std::tuple<int, std::int32_t, bool>> events;  // year, school, failed
  while (!sim.finished()) {
    sim.step();
    if (sim.terms_done() % kTermsPerYear != 0) continue;
    const State& s = sim.state();
    const int year = sim.terms_done() / kTermsPerYear - 1;  // the year just ended
    std::vector<double> r(static_cast<std::size_t>(s.n_schools()));
    for (std::int32_t i = 0; i < s.n_schools(); ++i) r[static_cast<std::size_t>(i)] = school_result(s, i);
    results.push_back(r);
    for (int phase = 0; phase < 2; ++phase) {
      std::vector<std::pair<double, std::int32_t>> ranked;
      for (std::int32_t i = 0; i < s.n_schools(); ++i)
        if (s.phase[i] == phase) ranked.emplace_back(r[static_cast<std::size_t>(i)], i);
      std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      const double m = static_cast<double>(ranked.size());
      for (std::size_t k = 0; k < ranked.size(); ++k) {
        const std::int32_t i = ranked[k].second;
        if ((year + i) % 4 != 0) continue;
        const double pct = (static_cast<double>(k) + 0.5) / m;
        if (pct >= fail - band && pct < fail + band) events.emplace_back(year, i, pct < fail);
      }
    }
  }
  double sum[2] = {0, 0}, n[2] = {0, 0};
  for (const auto& [year, i, failed] : events) {
    const auto y = static_cast<std::size_t>(year);
    if (y + 3 >= results.size()) continue;
    const auto k = static_cast<std::size_t>(i);
    const double later = (results[y + 2][k] + results[y + 3][k]) / 2;
    sum[failed] += later - results[y][k];
    n[failed] += 1;
  }
  return sum[1] / n[1] - sum[0] / n[0];
}

// ---------------------------------------------------------------- calibration

State default_world(std::uint64_t seed, const Size& size) {
  Scenario sc = from_library("default");
  resize(sc, size, seed);
  return generate_world(sc, reg(), 0);
}

// With no lever, market or ties: the change of a measure over 20 years.
std::pair<double, double> stationary_drift(std::uint64_t seed, const Size& size) {
  static Cache<std::pair<double, double>> cache;
  return cache.get(seed, size, [&] {
    Scenario sc = from_text("years: 20\npipeline: [crises, turnover, attainment, opportunities]\n");
    resize(sc, size, seed);
    Simulation sim(sc, reg(), 0);
    const double a0 = mean_attainment(sim.state()), c0 = mean_capacity(sim.state());
    while (!sim.finished()) sim.step();
    return std::make_pair(mean_attainment(sim.state()) - a0, mean_capacity(sim.state()) - c0);
  });
}

double premium_gap_effect(std::uint64_t seed, const Size& size) {
  auto gap = [&](double premium) {
    Scenario sc = from_text("years: 20\npipeline: [crises, turnover, attainment, {market: {choice: 0.5, premium: " +
                            std::to_string(premium) + "}}, opportunities]\n");
    resize(sc, size, seed);
    Simulation sim(sc, reg(), 0);
    while (!sim.finished()) sim.step();
    return attainment_gap(sim.state());
  };
  return gap(0.3) - gap(0.0);
}

std::vector<Target> make_targets() {
  std::vector<Target> t;
  const std::string fed = "scenarios/federations.yaml (weak_strong pairing at the end of year 2); weak "
                          "schools paired (arm 1) minus the matched comparison (arm 2), change since pairing";
  t.push_back({"P1a", "a performance federation's weaker school pulls ahead of matched unpaired schools",
               "Chapman & Muijs (2014); Chapman, Muijs & MacAllister (2011): gains in results for the "
               "weaker partner, in proportions of pupils with 5 good GCSEs (no pupil-SD figure published)",
               fed + ", 4 years after pairing", "pupil SD", Claim::positive, std::nullopt, true,
               [](std::uint64_t seed, const Size& s) { return federation_gaps(seed, s)[4]; }});
  t.push_back({"P1b", "little of the gain shows after one year",
               "Chapman, Muijs & MacAllister (2011): effects on results appear after two to four years; "
               "Sammons et al. (2007): staff learning comes before results",
               fed + ": the 1-year gain as a share of the 4-year gain (at most a third)", "share",
               Claim::within, std::pair{-0.33, 0.33}, false,
               [](std::uint64_t seed, const Size& s) {
                 const auto g = federation_gaps(seed, s);
                 return g[1] / g[4];
               }});
  t.push_back({"P1c", "most of the gain is there by years two to four",
               "Chapman, Muijs & MacAllister (2011): effects on results two to four years after federating",
               fed + ": the 3-year gain as a share of the 4-year gain (at least a half)", "share",
               Claim::within, std::pair{0.5, 1.5}, false,
               [](std::uint64_t seed, const Size& s) {
                 const auto g = federation_gaps(seed, s);
                 return g[3] / g[4];
               }});
  t.push_back({"P2", "competition alone gives about zero average gain",
               "Gibbons, Machin & Silva (2008): no effect of choice and competition on primary pupils' "
               "progress; OECD (2014): no link between competition and system performance. Taken as "
               "an effect within ±0.05 pupil SD",
               "market only, 20 years: mean attainment over the last 3 years, choice 1 minus choice 0",
               "pupil SD", Claim::within, std::pair{-0.05, 0.05}, true,
               [](std::uint64_t seed, const Size& s) {
                 return market_run(seed, s, 1.0).attainment_end - market_run(seed, s, 0.0).attainment_end;
               }});
  t.push_back({"P3", "more choice raises segregation of disadvantaged pupils",
               "Hsieh & Urquiola (2006); Fiske & Ladd (2000); OECD (2019): direction only",
               "market only, 20 years: change of the dissimilarity index, choice 1 minus choice 0", "index",
               Claim::positive, std::nullopt, true, [](std::uint64_t seed, const Size& s) {
                 return market_run(seed, s, 1.0).dissimilarity_change - market_run(seed, s, 0.0).dissimilarity_change;
               }});
  t.push_back({"P4", "an area-wide brokered strategy raises disadvantaged pupils' results in its area",
               "Ainscow (2012); Ainscow et al. (2012), Greater Manchester Challenge: disadvantaged "
               "schools improved faster than nationally (no pupil-SD figure)",
               "scenarios/ecology_of_equity.yaml, 10 years: gain of disadvantaged pupils in the more "
               "disadvantaged half of schools, strategy area minus elsewhere",
               "pupil SD", Claim::positive, std::nullopt, true, area_strategy_gain});
  t.push_back({"P5", "accountability pressure isolates weak schools",
               "Daly & Finnigan (2010): low-performing schools under sanction lose ties (direction only)",
               "all frameworks, 10 years: change in mean ties of the weakest fifth, league tables and "
               "inspections minus neither",
               "ties per school", Claim::negative, std::nullopt, true, [](std::uint64_t seed, const Size& s) {
                 return weak_tie_change(seed, s, true) - weak_tie_change(seed, s, false);
               }});
  t.push_back({"P6a", "expectations rise with trusted, similar-intake, better-performing partners",
               "Ainscow, Muijs & West (2006): under these conditions only (direction only)",
               "5 years: change of expectations, schools with such a partner minus schools tied otherwise",
               "[0,1]", Claim::positive, std::nullopt, true, [](std::uint64_t seed, const Size& s) {
                 const auto g = expectation_groups(seed, s);
                 return g.qualifying - g.other_tied;
               }});
  t.push_back({"P6b", "ties as such do not raise expectations",
               "Ainscow, Muijs & West (2006). Taken as an effect within ±0.01",
               "5 years: change of expectations, schools tied otherwise minus untied schools", "[0,1]",
               Claim::within, std::pair{-0.01, 0.01}, true, [](std::uint64_t seed, const Size& s) {
                 const auto g = expectation_groups(seed, s);
                 return g.other_tied - g.untied;
               }});
  t.push_back({"A1a", "league tables raise results in the lower three quarters of schools",
               "Burgess, Wilson & Worth (2013): abolishing tables in Wales cost 1.92 GCSE grades per "
               "pupil per year in the lower 75% of schools (no pupil-SD figure in the paper's summary)",
               "market without inspections, 10 years: mean results over the last 3 years of the lower "
               "75% at the start, tables minus none",
               "pupil SD", Claim::positive, std::nullopt, true, [](std::uint64_t seed, const Size& s) {
                 return league_table_run(seed, s, true).first - league_table_run(seed, s, false).first;
               }});
  t.push_back({"A1b", "league tables make no difference to the top quarter",
               "Burgess, Wilson & Worth (2013): no effect in the top quartile. Taken as an effect within ±0.03",
               "as A1a, the top 25% at the start", "pupil SD", Claim::within, std::pair{-0.03, 0.03}, true,
               [](std::uint64_t seed, const Size& s) {
                 return league_table_run(seed, s, true).second - league_table_run(seed, s, false).second;
               }});
  t.push_back({"A2", "just failing an inspection raises results over the next two to three years",
               "Allen & Burgess (2012), regression discontinuity: about 0.10 pupil SD; taken as 0.05 to 0.15",
               "market with inspections every 4 years, 12 years: schools within 5 percentiles below the "
               "failing line minus within 5 above, change of results from the inspection year to 2-3 years on",
               "pupil SD", Claim::within, std::pair{0.05, 0.15}, false, inspection_effect});
  t.push_back({"C1", "about 40% of the variance of pupil results lies between schools",
               "OECD (2019), PISA 2018 for England: about 0.4; taken as 0.35 to 0.45",
               "scenarios/default.yaml: the world at year 0 (after the burn-in)", "share", Claim::within,
               std::pair{0.35, 0.45}, true,
               [](std::uint64_t seed, const Size& s) { return between_school_share(default_world(seed, s)); }});
  t.push_back({"C2", "the attainment gap of disadvantaged pupils is 0.5 to 0.8 pupil SD",
               "Education Endowment Foundation; ../shared/design/MODEL.md section 8: 0.5 to 0.8",
               "scenarios/default.yaml: the world at year 0", "pupil SD", Claim::within, std::pair{0.5, 0.8}, true,
               [](std::uint64_t seed, const Size& s) { return attainment_gap(default_world(seed, s)); }});
  t.push_back({"C3", "about 45% of pupils attend their nearest school",
               "Burgess, Greaves, Vignoles & Wilson (2015); ../shared/design/MODEL.md section 8: about "
               "45%; taken as 0.40 to 0.50",
               "scenarios/default.yaml (choice 0.5): entrants of the first admissions round at the "
               "school they live nearest",
               "share", Claim::within, std::pair{0.40, 0.50}, true,
               [](std::uint64_t seed, const Size& s) {
                 Scenario sc = from_library("default");
                 resize(sc, s, seed);
                 sc.years = 1;
                 Simulation sim(sc, reg(), 0);
                 while (!sim.finished()) sim.step();
                 return nearest_school_share(sim.state());
               }});
  t.push_back({"S1", "a world with nothing changing stays level (results)",
               "model requirement: the generated world is at the model's stationary state. Taken as "
               "a drift within ±0.02 pupil SD over 20 years",
               "crises, turnover, attainment and opportunities only, 20 years: change of mean attainment",
               "pupil SD", Claim::within, std::pair{-0.02, 0.02}, true,
               [](std::uint64_t seed, const Size& s) { return stationary_drift(seed, s).first; }});
  t.push_back({"S2", "a world with nothing changing stays level (capacity)",
               "model requirement, as S1. Taken as a drift within ±0.005", "as S1: change of mean capacity", "[0,1]",
               Claim::within, std::pair{-0.005, 0.005}, true,
               [](std::uint64_t seed, const Size& s) { return stationary_drift(seed, s).second; }});
  t.push_back({"F1", "funding for disadvantaged pupils narrows the gap",
               "Holmlund, McNally & Viarengo (2010): spending raises results, more for disadvantaged "
               "pupils (direction only)",
               "market, 20 years: attainment gap with the pupil premium (0.3) minus without", "pupil SD",
               Claim::negative, std::nullopt, true, premium_gap_effect});
  return t;
}

}  // namespace

Estimate estimate(std::vector<double> values) {
  Estimate e;
  e.values = std::move(values);
  const auto n = static_cast<double>(e.values.size());
  if (e.values.empty()) return e;
  e.mean = std::accumulate(e.values.begin(), e.values.end(), 0.0) / n;
  if (e.values.size() < 2) {
    e.lo = e.hi = e.mean;
    return e;
  }
  double ss = 0;
  for (double v : e.values) ss += (v - e.mean) * (v - e.mean);
  const double se = std::sqrt(ss / (n - 1) / n);
  const boost::math::students_t t(n - 1);
  const double q = boost::math::quantile(boost::math::complement(t, 0.025));
  e.lo = e.mean - q * se;
  e.hi = e.mean + q * se;
  return e;
}

bool passes(const Target& t, const Estimate& e) {
  if (!std::isfinite(e.lo) || !std::isfinite(e.hi)) return false;
  const bool overlaps = !t.range || (e.hi >= t.range->first && e.lo <= t.range->second);
  switch (t.kind) {
    case Claim::positive: return e.lo > 0 && overlaps;
    case Claim::negative: return e.hi < 0 && overlaps;
    case Claim::within: return overlaps;
  }
  return false;
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all = make_targets();
  return all;
}

std::vector<std::uint64_t> validation_seeds(int n) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(900001 + static_cast<std::uint64_t>(i));
  return out;
}

}  // namespace schoolsim::validation
