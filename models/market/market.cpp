#include "models/market/market.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "models/world/world.hpp"
#include "sim/measures.hpp"

namespace schoolsim::models {

void apportion(std::int64_t total, std::span<const double> weights, std::vector<std::int64_t>& out,
               std::vector<std::pair<double, std::size_t>>& scratch) {
  out.assign(weights.size(), 0);
  if (weights.empty() || total <= 0) return;
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  scratch.clear();
  std::int64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double exact = sum > 0 ? static_cast<double>(total) * weights[i] / sum
                                 : static_cast<double>(total) / static_cast<double>(weights.size());
    out[i] = static_cast<std::int64_t>(std::floor(exact));
    scratch.emplace_back(exact - static_cast<double>(out[i]), i);
    given += out[i];
  }
  // The largest remainders get the units left over; ties go to the lower index.
  const auto left = static_cast<std::size_t>(total - given);
  auto by_remainder = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (left < scratch.size()) {
    // Each of the `left` first in that (strict, total) order gets one unit:
    // only which they are matters, not their order, so selecting them is enough.
    // The order is strict and total, so the `left` first are one set however
    // they are found: a few are kept in a short sorted buffer in one pass (most
    // calls share a handful of pupils among a few dozen schools), more are
    // found with nth_element.
    constexpr std::size_t kFew = 8;
    if (left == 0) return;
    if (left <= kFew) {
      std::array<std::pair<double, std::size_t>, kFew> best;
      std::size_t kept = 0;
      for (const auto& e : scratch) {
        if (kept == left && !by_remainder(e, best[left - 1])) continue;
        std::size_t at = kept < left ? kept++ : left - 1;
        while (at > 0 && by_remainder(e, best[at - 1])) {
          best[at] = best[at - 1];
          --at;
        }
        best[at] = e;
      }
      for (std::size_t r = 0; r < left; ++r) ++out[best[r].second];
      return;
    }
    std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(left - 1), scratch.end(),
                     by_remainder);
    for (std::size_t r = 0; r < left; ++r) ++out[scratch[r].second];
    return;
  }
  std::sort(scratch.begin(), scratch.end(), by_remainder);
  for (std::size_t r = 0; given < total; r = (r + 1) % scratch.size(), ++given) ++out[scratch[r].second];
}

std::vector<std::int64_t> apportion(std::int64_t total, std::span<const double> weights) {
  std::vector<std::int64_t> out;
  std::vector<std::pair<double, std::size_t>> scratch;
  apportion(total, weights, out, scratch);
  return out;
}

namespace {

struct MarketParams {
  double choice, dis_active_ratio, beta_reputation, beta_peer_adv, beta_peer_dis, beta_distance_adv,
      beta_distance_dis, perceived_weight, inspection_fail_share, inspection_severity,
      league_pressure_share, pressure_decay, scrutiny_decay, base_funding, premium, need_disadvantaged,
      fixed_cost_share, funding_sensitivity, reference_occupancy;
  bool league_tables;
  std::int32_t inspection_cycle;
};

using R = ParamType;
const ParamTable<MarketParams> kTable = {
    {{"choice", R::real, 0.5, 0, 1, "share",
      "intensity of parental choice: the share of families who choose actively by results, peers "
      "and distance; the rest take the nearest school with room (0 = everyone does)",
      calibrated(0.2, 0.9, "fitted to the calibration scale of about 45% of English pupils at "
                 "their nearest school (docs/ODD.md), which falls as this share of active "
                 "choosers rises; more choice sorts pupils more (Hsieh & Urquiola 2006)")},
     &MarketParams::choice},
    {{"dis_active_ratio", R::real, 0.2, 0, 1, "ratio",
      "how likely a disadvantaged family is to choose actively, relative to an advantaged one",
      calibrated(0.1, 1, "below 1: middle-class families exercise choice more (Gewirtz, Ball "
                 "& Bowe 1995; Burgess, Greaves & Vignoles 2015); no published ratio of "
                 "active choosers")},
     &MarketParams::dis_active_ratio},
    {{"beta_reputation", R::real, 2.0, 0, 20, "utility per pupil SD",
      "weight active choosers give a school's (published or perceived) results",
      calibrated(0.5, 6, "results weigh heavily in parents' stated preferences (Burgess, "
                 "Greaves & Vignoles 2015), with no published weight in these units: at 2 a "
                 "school 0.5 pupil SD better is worth 2 km more travel to an advantaged "
                 "family (beta_distance_adv 0.5)")},
     &MarketParams::beta_reputation},
    {{"beta_peer_adv", R::real, 8.0, 0, 20, "utility per unit share",
      "weight advantaged active choosers give to a school's share of advantaged pupils",
      calibrated(2, 15, "families also choose by intake (Hastings, Kane & Staiger 2009; "
                 "Burgess et al. 2015); fitted with choice so that more choice raises "
                 "segregation (docs/ODD.md)")},
     &MarketParams::beta_peer_adv},
    {{"beta_peer_dis", R::real, 0.0, 0, 20, "utility per unit share",
      "weight disadvantaged active choosers give to a school's share of advantaged pupils",
      calibrated(0, 4, "low-income families weigh composition little (Hastings, Kane & "
                 "Staiger 2009); 0, the lower bound, with the other defaults reproduces "
                 "sorting by choice (docs/ODD.md)")},
     &MarketParams::beta_peer_dis},
    {{"beta_distance_adv", R::real, 0.5, 0, 10, "utility per km",
      "distance cost of advantaged families",
      calibrated(0.2, 1.5, "advantaged families travel further (car access); no published "
                 "distance cost in these units: at 0.5 a km costs half the utility of a 0.5 "
                 "pupil SD lead in results (beta_reputation 2)")},
     &MarketParams::beta_distance_adv},
    {{"beta_distance_dis", R::real, 1.5, 0, 10, "utility per km",
      "distance cost of disadvantaged families: higher, they are less mobile",
      calibrated(0.5, 4, "above beta_distance_adv: poorer families' choice sets are more "
                 "local (Burgess et al. 2015); no published distance cost in these units")},
     &MarketParams::beta_distance_dis},
    {{"league_tables", R::boolean, 1, 0, 1, "true/false",
      "results are published: reputation is last year's results, and low-ranked schools feel "
      "accountability pressure",
      "scenario choice: true, England's regime, which has published school performance tables "
      "since 1992; false models Wales after 2001 (Burgess, Wilson & Worth 2013)"},
     &MarketParams::league_tables},
    {{"perceived_weight", R::real, 0.3, 0, 1, "share",
      "without league tables, how much of a school's results families perceive (the rest is the "
      "local average)",
      calibrated(0, 0.7, "word of mouth carries part of the information tables publish; no "
                 "published share")},
     &MarketParams::perceived_weight},
    {{"inspection_cycle", R::integer, 4, 0, 20, "years",
      "years between a school's inspections (0 = no inspections)",
      "Ofsted inspects schools judged good about every 4 years and those requiring "
      "improvement within 30 months (Ofsted, school inspection handbook); 4 years is the "
      "cycle of most schools"},
     &MarketParams::inspection_cycle},
    {{"inspection_fail_share", R::real, 0.1, 0, 1, "share",
      "inspected schools in this bottom share of their phase's results are judged failing",
      calibrated(0.03, 0.2, "Ofsted judges roughly one school in ten less than good and a few "
                 "per cent inadequate; which of these a failed inspection stands for in the "
                 "model is a modelling question")},
     &MarketParams::inspection_fail_share},
    {{"inspection_severity", R::real, 0.5, 0, 1, "[0,1]",
      "crisis severity a failed inspection brings",
      calibrated(0.3, 1, "a failed inspection is an immediate problem (Ainscow, Muijs & West "
                 "2006); no published severity on this scale")},
     &MarketParams::inspection_severity},
    {{"league_pressure_share", R::real, 0.75, 0, 1, "share",
      "with league tables, schools in this bottom share of their phase feel pressure, rising "
      "linearly to 1 at the bottom",
      "Burgess, Wilson & Worth (2013): abolishing league tables lowered results in the lower 75% of "
      "schools and had no effect on the top quartile: pressure falls on the bottom 0.75"},
     &MarketParams::league_pressure_share},
    {{"pressure_decay", R::real, 0.5, 0, 1, "per year", "share of accountability pressure that fades each year",
      calibrated(0.2, 0.9, "pressure from one bad year lasts about two years; no published "
                 "duration: at 0.5 a year a quarter of it is left after two years")},
     &MarketParams::pressure_decay},
    {{"scrutiny_decay", R::real, 0.5, 0, 1, "per year",
      "share of a failed inspection's scrutiny (monitoring, re-inspection, a notice to improve) "
      "that fades each year",
      calibrated(0.3, 0.8,
                 "Allen & Burgess (2012; evidence to the Education Committee 2011): the gain after "
                 "just failing peaks about two years after the inspection and is gone by four; "
                 "decays of 0.3 to 0.8 a year put most of the focus inside that window")},
     &MarketParams::scrutiny_decay},
    {{"base_funding", R::real, 1.0, 0, 10, "money per pupil-year (normalised)",
      "funding per pupil",
      "scenario choice: money is measured in units of the national base rate per pupil, so "
      "the base is 1"},
     &MarketParams::base_funding},
    {{"premium", R::real, 0.3, 0, 5, "money per disadvantaged pupil-year",
      "extra funding per disadvantaged pupil (pupil premium)",
      "the pupil premium of 2023-24 was 1,455 pounds per eligible primary pupil and 1,035 per "
      "secondary pupil (DfE conditions of grant), against minimum per-pupil funding of 4,610 "
      "and 5,995 pounds in 2024-25 (national funding formula): 0.32 and 0.17 of base; 0.3 is "
      "near the primary ratio, four schools in five being primaries"},
     &MarketParams::premium},
    {{"need_disadvantaged", R::real, 0.3, 0, 5, "money per disadvantaged pupil-year",
      "extra cost of teaching a disadvantaged pupil to the same standard: a school's need per "
      "pupil is base_funding + need_disadvantaged x its disadvantaged share; funding below need "
      "erodes capacity (funding_sensitivity), above it builds capacity",
      calibrated(0.1, 0.6,
                 "the pupil premium was set to meet the extra cost of disadvantage, at about 0.3 of "
                 "base per-pupil funding; Holmlund, McNally & Viarengo (2010) find spending raises "
                 "results, more for disadvantaged pupils. Prior from a third to twice the premium")},
     &MarketParams::need_disadvantaged},
    {{"fixed_cost_share", R::real, 0.3, 0, 1, "share",
      "share of a school's costs that scale with its places rather than its pupils (buildings, "
      "leadership)",
      calibrated(0.1, 0.5, "buildings and leadership do not shrink with a falling roll; no "
                 "published share of costs that scale with places")},
     &MarketParams::fixed_cost_share},
    {{"funding_sensitivity", R::real, 0.1, 0, 1, "capacity per year per unit of funding shortfall",
      "how fast capacity drifts with funding relative to need",
      calibrated(0, 0.3, "no published effect of funding on staff capacity on this scale: at "
                 "0.1 a school 10% short of its need loses about 0.01 capacity a year, the "
                 "falling-roll spiral")},
     &MarketParams::funding_sensitivity},
    {{"reference_occupancy", R::real, 0.9, 0.1, 1, "share",
      "occupancy at which funding exactly meets need",
      "equal to world.occupancy: 611,000 unfilled primary places in 2023/24 (DfE, School "
      "capacity) against 4,614,990 primary pupils: 88% of places filled; secondaries fuller, "
      "so 0.9"},
     &MarketParams::reference_occupancy},
};

struct Application {
  std::int32_t home;    // the school whose families these are (they live nearest it)
  std::int32_t school;  // where they apply
  double distance;      // km from home to school
  std::int64_t count;
  bool disadvantaged;
  bool active;
};

class Market final : public MechanismWith<MarketParams> {
  // What one area's admissions work in, reused from area to area.
  struct Scratch {
    std::vector<std::int32_t> group, options;
    std::vector<double> weights;
    std::vector<std::int64_t> parts;
    std::vector<std::pair<double, std::size_t>> pairs;
    std::vector<std::size_t> starts, fill;  // sort_applications' buckets
  };

 public:
  using MechanismWith::MechanismWith;

  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    const std::int32_t n = in.n_schools();
    remain_.assign(static_cast<std::size_t>(n), 0);
    remain_dis_.assign(static_cast<std::size_t>(n), 0);
    admitted_.assign(static_cast<std::size_t>(n), 0);
    admitted_dis_.assign(static_cast<std::size_t>(n), 0);
    admitted_home_.assign(static_cast<std::size_t>(n), 0);
    free_.assign(static_cast<std::size_t>(n), 0);

    // Each area's schools are a contiguous block; admissions run per area and
    // phase. Families apply only within their area and phase (the neighbour
    // rows stay inside them), so the areas are independent of one another.
    areas_.clear();
    for (std::int32_t first = 0; first < n;) {
      std::int32_t last = first;
      while (last < n && in.area[last] == in.area[first]) ++last;
      areas_.emplace_back(first, last);
      first = last;
    }
    scratch_.resize(static_cast<std::size_t>(ctx.members()));
    ctx.for_chunks(
        areas_.size(),
        [&](std::int32_t member, std::size_t b, std::size_t e) {
          Scratch& sc = scratch_[static_cast<std::size_t>(member)];
          for (std::size_t a = b; a < e; ++a) {
            for (int phase = 0; phase < 2; ++phase) {
              sc.group.clear();
              for (std::int32_t i = areas_[a].first; i < areas_[a].second; ++i)
                if (in.phase[i] == phase) sc.group.push_back(i);
              if (!sc.group.empty()) admit(in, p, phase, sc);
            }
          }
        },
        1);

    ctx.for_each(n, [&](std::int32_t i) {
      const auto k = static_cast<std::size_t>(i);
      const std::int64_t pupils = remain_[k] + admitted_[k];
      const std::int64_t dis = remain_dis_[k] + admitted_dis_[k];
      out.pupils[i] = static_cast<int>(pupils);
      out.entrants[i] = static_cast<int>(admitted_[k]);
      out.entrants_home[i] = static_cast<int>(admitted_home_[k]);
      out.disadvantaged[i] = pupils > 0 ? static_cast<double>(dis) / static_cast<double>(pupils)
                                        : in.disadvantaged[i];
      out.budget[i] = Funding{p.base_funding, p.premium}.budget(out.disadvantaged[i]);
      out.capacity[i] = std::clamp(in.capacity[i] + capacity_drift(p, pupils, in.places[i]) +
                                       funding_drift(p, out.budget[i], out.disadvantaged[i]),
                                   0.0, 1.0);
    });

    ctx.for_each(n, [&](std::int32_t i) {
      for (std::int64_t e = in.near.begin(i); e < in.near.end(i); ++e) {
        const auto ue = static_cast<std::size_t>(e);
        out.near.rivalry[ue] = in.near.school[ue] == i ? 0.0 : p.choice * in.near.overlap[ue];
      }
    });

    accountability(in, out, p, ctx.clock.year(), ctx);
  }

 private:
  // Capacity drifts with funding relative to need: funding follows pupils, but
  // a share of costs follows places, so an emptying school is squeezed.
  static double capacity_drift(const MarketParams& p, std::int64_t pupils, int places) {
    const double f = p.fixed_cost_share;
    const double occ = places > 0 ? static_cast<double>(pupils) / places : 0.0;
    const double ratio = occ / ((1 - f) * occ + f);
    const double ref = p.reference_occupancy / ((1 - f) * p.reference_occupancy + f);
    return p.funding_sensitivity * (ratio / ref - 1.0);
  }

  // Funding per pupil against need per pupil: the pupil premium reaches
  // capacity where it covers more, or less, than disadvantage costs.
  static double funding_drift(const MarketParams& p, double budget, double disadvantaged) {
    const double need = p.base_funding + p.need_disadvantaged * disadvantaged;
    return need > 0 ? p.funding_sensitivity * (budget / need - 1.0) : 0.0;
  }

  [[nodiscard]] double utility(const State& in, const MarketParams& p, std::int32_t school, double distance,
                 bool disadvantaged, double mean_reputation) const {
    const double rep = p.league_tables
                           ? in.reputation[school]
                           : p.perceived_weight * in.reputation[school] +
                                 (1 - p.perceived_weight) * mean_reputation;
    return p.beta_reputation * rep +
           (disadvantaged ? p.beta_peer_dis : p.beta_peer_adv) * (1.0 - in.disadvantaged[school]) -
           (disadvantaged ? p.beta_distance_dis : p.beta_distance_adv) * distance;
  }

  [[nodiscard]] bool open(std::int32_t j) const { return free_[static_cast<std::size_t>(j)] > 0; }

  // Sends `count` families of `home` to schools with room: passive ones to the
  // nearest, active ones by logit over the schools within reach.
  void apply(const State& in, const MarketParams& p, std::int32_t home, std::int64_t count,
             bool dis, bool active, double mean_rep, std::vector<Application>& apps,
             Scratch& sc) const {
    if (count <= 0) return;
    sc.options.clear();
    sc.weights.clear();
    double best = -1e300;
    for (std::int64_t e = in.near.begin(home); e < in.near.end(home); ++e) {
      const auto ue = static_cast<std::size_t>(e);
      const std::int32_t j = in.near.school[ue];
      if (!open(j)) continue;
      if (!active) {  // the nearest school with room
        apps.push_back({home, j, in.near.distance_km[ue], count, dis, active});
        return;
      }
      sc.options.push_back(static_cast<std::int32_t>(e));
      const double u = utility(in, p, j, in.near.distance_km[ue], dis, mean_rep);
      sc.weights.push_back(u);
      best = std::max(best, u);
    }
    if (sc.options.empty()) {
      // No school within reach has room: the nearest school of the area and
      // phase that has (the local authority finds a place).
      std::int32_t nearest = -1;
      double nd = 1e300;
      for (std::int32_t j : sc.group) {
        if (!open(j)) continue;
        const double d = std::hypot(in.x[home] - in.x[j], in.y[home] - in.y[j]);
        if (d < nd) nd = d, nearest = j;
      }
      if (nearest >= 0) apps.push_back({home, nearest, nd, count, dis, active});
      return;
    }
    for (double& w : sc.weights) w = std::exp(w - best);
    apportion(count, sc.weights, sc.parts, sc.pairs);
    for (std::size_t o = 0; o < sc.options.size(); ++o) {
      if (sc.parts[o] > 0) {
        const auto e = static_cast<std::size_t>(sc.options[o]);
        apps.push_back({home, in.near.school[e], in.near.distance_km[e], sc.parts[o], dis, active});
      }
    }
  }

  void admit(const State& in, const MarketParams& p, int phase, Scratch& sc) {
    const int years = kYearsInPhase[static_cast<std::size_t>(phase)];
    std::int64_t entrants = 0;
    double mean_rep = 0;
    std::vector<double> home_weights;
    for (std::int32_t j : sc.group) {
      const auto k = static_cast<std::size_t>(j);
      const std::int64_t pupils = in.pupils[j];
      const std::int64_t dis = std::llround(in.disadvantaged[j] * static_cast<double>(pupils));
      const std::int64_t leavers = std::llround(static_cast<double>(pupils) / years);
      const auto leavers_dis = std::min<std::int64_t>(
          {dis, leavers, std::llround(in.disadvantaged[j] * static_cast<double>(leavers))});
      remain_[k] = pupils - leavers;
      remain_dis_[k] = dis - leavers_dis;
      free_[k] = std::max<std::int64_t>(0, in.places[j] - remain_[k]);
      entrants += leavers;
      mean_rep += in.reputation[j] / static_cast<double>(sc.group.size());
      home_weights.push_back(in.home_cohort[j]);
    }
    // The area's population is stationary: each leaver is replaced by a child
    // of the same area, living where the area's families live.
    const auto per_home = apportion(entrants, home_weights);
    std::vector<Application> apps, next;
    for (std::size_t h = 0; h < sc.group.size(); ++h) {
      const std::int32_t home = sc.group[h];
      const std::int64_t dis = std::llround(static_cast<double>(per_home[h]) * in.home_disadvantaged[home]);
      const std::int64_t adv = per_home[h] - dis;
      for (const auto& [count, is_dis] : {std::pair{dis, true}, std::pair{adv, false}}) {
        const double share = p.choice * (is_dis ? p.dis_active_ratio : 1.0);
        const std::int64_t active = std::llround(share * static_cast<double>(count));
        apply(in, p, home, active, is_dis, true, mean_rep, apps, sc);
        apply(in, p, home, count - active, is_dis, false, mean_rep, apps, sc);
      }
    }

    // Rounds of admission: a school with more applicants than places admits
    // the nearest families and fills; the rest apply again elsewhere.
    while (!apps.empty()) {
      sort_applications(apps, next, sc);
      next.clear();
      for (std::size_t a = 0; a < apps.size();) {
        std::size_t b = a;
        std::int64_t total = 0;
        while (b < apps.size() && apps[b].school == apps[a].school) total += apps[b++].count;
        const auto j = static_cast<std::size_t>(apps[a].school);
        if (total <= free_[j]) {
          for (std::size_t x = a; x < b; ++x) take(apps[x], apps[x].count);
          free_[j] -= total;
        } else {
          // Admit by distance; families of one home at the cut-off share the
          // remaining places in proportion.
          for (std::size_t x = a; x < b;) {
            std::size_t y = x;
            std::int64_t run = 0;
            while (y < b && apps[y].home == apps[x].home) run += apps[y++].count;
            if (run <= free_[j]) {
              for (std::size_t z = x; z < y; ++z) take(apps[z], apps[z].count);
              free_[j] -= run;
            } else {
              std::vector<double> w;
              for (std::size_t z = x; z < y; ++z) w.push_back(static_cast<double>(apps[z].count));
              const auto got = apportion(free_[j], w);  // rare: the cut-off home only
              for (std::size_t z = x; z < y; ++z) {
                take(apps[z], got[z - x]);
                if (apps[z].count > got[z - x]) {
                  Application rest = apps[z];
                  rest.count -= got[z - x];
                  next.push_back(rest);
                }
              }
              free_[j] = 0;
            }
            x = y;
          }
        }
        a = b;
      }
      apps.clear();
      for (const auto& r : next)
        apply(in, p, r.home, r.count, r.disadvantaged, r.active, mean_rep, apps, sc);
    }
  }

  // Orders the applications by school, then distance, then home, equal ones
  // in the order they were made: the order of a stable sort on that key. A
  // counting sort by school (the group's schools are ascending and lie
  // between its first and last), then each school's few applications sorted
  // in place: stable_sort's merge passes and buffer cost more than the
  // admissions that follow them.
  static void sort_applications(std::vector<Application>& apps, std::vector<Application>& sorted,
                                Scratch& sc) {
    const std::int32_t base = sc.group.front();
    const auto span = static_cast<std::size_t>(sc.group.back() - base) + 1;
    const auto bucket = [base](const Application& a) {
      return static_cast<std::size_t>(a.school - base);
    };
    sc.starts.assign(span + 1, 0);
    for (const Application& a : apps) ++sc.starts[bucket(a) + 1];
    for (std::size_t k = 0; k < span; ++k) sc.starts[k + 1] += sc.starts[k];
    sc.fill.assign(sc.starts.begin(), sc.starts.end() - 1);
    sorted.resize(apps.size());
    for (const Application& a : apps) sorted[sc.fill[bucket(a)]++] = a;
    const auto before = [](const Application& a, const Application& b) {
      return a.distance != b.distance ? a.distance < b.distance : a.home < b.home;
    };
    for (std::size_t k = 0; k < span; ++k) {
      const auto first = sorted.begin() + static_cast<std::ptrdiff_t>(sc.starts[k]);
      const auto last = sorted.begin() + static_cast<std::ptrdiff_t>(sc.starts[k + 1]);
      if (last - first > 32) {
        std::stable_sort(first, last, before);
        continue;
      }
      // Insertion sort: an element moves only past ones strictly after it, so
      // equal ones keep their order.
      for (auto it = first + (first != last ? 1 : 0); it < last; ++it) {
        const Application x = *it;
        auto hole = it;
        for (; hole != first && before(x, *(hole - 1)); --hole) *hole = *(hole - 1);
        *hole = x;
      }
    }
    apps.swap(sorted);
  }

  void take(const Application& a, std::int64_t count) {
    const auto k = static_cast<std::size_t>(a.school);
    admitted_[k] += count;
    if (a.disadvantaged) admitted_dis_[k] += count;
    if (a.home == a.school) admitted_home_[k] += count;
  }

  // League tables and inspections: pressure on the low-ranked; a failed
  // inspection is an immediate problem.
  // The league table of each phase: schools ranked by result, ties in index
  // order (what a stable sort of the schools in index order gives; that order
  // is unique, so sorting pieces on the team and merging them gives it too).
  void accountability(const State& in, State& out, const MarketParams& p, std::int32_t year,
                      const StepContext& ctx) {
    const std::int32_t n = in.n_schools();
    using Ranked = std::pair<double, std::int32_t>;
    const auto before = [](const Ranked& a, const Ranked& b) {
      return a.first < b.first || (!(b.first < a.first) && a.second < b.second);
    };
    for (int phase = 0; phase < 2; ++phase) {
      // Each school's result computed once, not at every comparison.
      std::vector<Ranked>& ranked = ranked_[static_cast<std::size_t>(phase)];
      ranked.clear();
      for (std::int32_t i = 0; i < n; ++i)
        if (in.phase[i] == phase) ranked.emplace_back(school_result(in, i), i);
    }
    // Each phase's table in kRankPieces pieces sorted side by side, then merged.
    const auto piece = [&](std::size_t task) {
      const std::vector<Ranked>& ranked = ranked_[task / kRankPieces];
      const std::size_t k = task % kRankPieces, size = ranked.size();
      return std::pair{size * k / kRankPieces, size * (k + 1) / kRankPieces};
    };
    ctx.for_chunks(
        2 * kRankPieces,
        [&](std::int32_t, std::size_t task, std::size_t) {
          const auto [b, e] = piece(task);
          auto& ranked = ranked_[task / kRankPieces];
          std::sort(ranked.begin() + static_cast<std::ptrdiff_t>(b), ranked.begin() + static_cast<std::ptrdiff_t>(e),
                    before);
        },
        1);
    ctx.for_chunks(
        2,
        [&](std::int32_t, std::size_t phase, std::size_t) {
          auto& ranked = ranked_[phase];
          for (std::size_t k = 1; k < kRankPieces; ++k) {
            const auto [b, e] = piece(phase * kRankPieces + k);
            std::inplace_merge(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(b),
                               ranked.begin() + static_cast<std::ptrdiff_t>(e), before);
          }
        },
        1);
    for (int phase = 0; phase < 2; ++phase) {
      const std::vector<Ranked>& ranked = ranked_[static_cast<std::size_t>(phase)];
      const auto m = static_cast<double>(ranked.size());
      ctx.for_chunks(ranked.size(), [&](std::int32_t, std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
          const std::int32_t i = ranked[r].second;
          const double pct = (static_cast<double>(r) + 0.5) / m;  // 0 = worst
          double now = 0;
          if (p.league_tables && p.league_pressure_share > 0 && pct < p.league_pressure_share)
            now = 1.0 - pct / p.league_pressure_share;
          const std::int32_t cycle = p.inspection_cycle;
          double scrutiny = in.scrutiny[i] * (1 - p.scrutiny_decay);
          if (cycle > 0 && (year + i) % cycle == 0 && pct < p.inspection_fail_share) {
            out.crisis[i] = std::max(in.crisis[i], p.inspection_severity);
            now = 1.0;
            scrutiny = 1.0;
          }
          out.pressure[i] = std::max(in.pressure[i] * (1 - p.pressure_decay), now);
          out.scrutiny[i] = scrutiny;
        }
      });
    }
  }

  static constexpr std::size_t kRankPieces = 4;
  // The two phases' league tables, reused from year to year.
  std::array<std::vector<std::pair<double, std::int32_t>>, 2> ranked_;

  // Per school: each area's admissions write only the entries of its own
  // schools, so areas can run on several threads with the same results.
  std::vector<std::int64_t> remain_, remain_dis_, admitted_, admitted_dis_, admitted_home_, free_;
  // Each area's block of schools [first, last).
  std::vector<std::pair<std::int32_t, std::int32_t>> areas_;
  // Scratch buffers reused across areas and years, one per member of the team
  // (no parameters live here).
  std::vector<Scratch> scratch_;
};

}  // namespace

Funding market_funding(const PipelineInfo& pipeline) {
  if (!pipeline.has("market")) return {};
  const MarketParams p = kTable.make(pipeline.values_of("market"));
  return {p.base_funding, p.premium};
}

MechanismInfo market_info() {
  MechanismInfo m;
  m.name = "market";
  m.family = "market";
  m.summary =
      "Yearly admissions by parental choice within each area and phase (logit on results, peers "
      "and distance; places respected, oversubscribed schools admit the nearest), funding that "
      "follows pupils with a premium, capacity drifting with funding, rivalry between schools "
      "within reach, league-table pressure and inspections.";
  m.phase = Phase::yearly;
  m.reads = {Field::pupils,     Field::places,   Field::disadvantaged, Field::reputation,
             Field::home_cohort, Field::home_disadvantaged, Field::attainment_dis,
             Field::attainment_adv, Field::capacity, Field::crisis, Field::pressure,
             Field::scrutiny, Field::x, Field::y, Field::area, Field::phase};
  m.writes = {Field::pupils, Field::disadvantaged, Field::budget, Field::capacity, Field::crisis,
              Field::pressure, Field::scrutiny, Field::entrants, Field::entrants_home, Store::rivalry};
  m.params = kTable.specs();
  m.make = factory<Market>(kTable);
  return m;
}

}  // namespace schoolsim::models
