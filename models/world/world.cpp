#include "models/world/world.hpp"

#include <algorithm>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>

#include "models/market/market.hpp"
#include "models/outcomes/outcomes.hpp"
#include "models/world/register.hpp"
#include "sim/measures.hpp"

namespace schoolsim::models {

namespace {

struct WorldParams {
  std::int32_t schools, areas, practice_dims, burn_in_years;
  double map_km, area_radius_km, secondary_share, primary_places, secondary_places, occupancy, mean_disadvantaged, area_disadvantage_sd,
      school_disadvantage_sd, capacity_mean, capacity_sd, capacity_disadvantage_slope,
      expectations_mean, expectations_sd, expectations_disadvantage_slope, autonomy_mean,
      reach_km, initial_ties_per_school;
};

using R = ParamType;
const ParamTable<WorldParams> kTable = {
    {{"schools", R::integer, 2000, 2, 1000000, "schools", "number of schools in the system",
      "scenario choice: a 2,000-school world keeps runs fast and its areas large enough for a "
      "market; England has 24,453 schools, 16,764 of them state-funded primaries (DfE, "
      "Schools, pupils and their characteristics, January 2024)"},
     &WorldParams::schools},
    {{"areas", R::integer, 20, 1, 10000, "areas", "number of areas (local authorities)",
      "scenario choice: 20 areas of about 100 schools each; England's state-funded schools "
      "lie in about 150 local authorities, about 135 schools each"},
     &WorldParams::areas},
    {{"map_km", R::real, 350, 1, 10000, "km", "side of the square map",
      "England covers 130,279 km^2, the area of a square of side 361 km; 350 km rounds it "
      "down"},
     &WorldParams::map_km},
    {{"area_radius_km", R::real, 12, 0.1, 1000, "km",
      "standard deviation of school locations around their area's centre",
      calibrated(5, 30, "fitted to the calibration scale of about six other schools within "
                 "ten minutes' drive of a typical English school (docs/ODD.md, with "
                 "reach_km); no published spread of schools around a local authority's centre")},
     &WorldParams::area_radius_km},
    {{"secondary_share", R::real, 0.15, 0, 1, "share", "share of schools that are secondary",
      "England has about 3,450 state-funded secondary and 16,764 state-funded primary schools "
      "(DfE, January 2024): a secondary share of 0.17; 0.15 is a little below it"},
     &WorldParams::secondary_share},
    {{"primary_places", R::real, 300, 10, 5000, "pupils", "mean places of a primary school",
      "4,614,990 pupils in 16,764 state-funded primary schools in January 2024 (DfE, Schools, "
      "pupils and their characteristics) is 275 pupils per school; at the 88% of places "
      "filled (see occupancy) that is about 310 places, rounded to 300"},
     &WorldParams::primary_places},
    {{"secondary_places", R::real, 1000, 10, 5000, "pupils", "mean places of a secondary school",
      "3,669,933 pupils in about 3,450 state-funded secondary schools in January 2024 (DfE, "
      "Schools, pupils and their characteristics) is about 1,060 pupils per school; 1,000 "
      "places at 0.9 occupancy (900 pupils) is about 15% below it"},
     &WorldParams::secondary_places},
    {{"occupancy", R::real, 0.9, 0.1, 1, "share", "initial pupils as a share of places",
      "611,000 unfilled primary places in 2023/24 (DfE, School capacity) against 4,614,990 "
      "primary pupils (DfE, January 2024): 88% of places filled; secondaries are fuller (23% "
      "of them at or over capacity in 2023), so 0.9 overall"},
     &WorldParams::occupancy},
    {{"practice_dims", R::integer, 4, 2, 8, "dimensions", "length k of the practice vector",
      "scenario choice: 4 independent dimensions of practice, the low end of the design's k "
      "of 4 to 8 (docs/ODD.md); only the angle between practices matters"},
     &WorldParams::practice_dims},
    {{"mean_disadvantaged", R::real, 0.24, 0.01, 0.99, "share",
      "mean share of disadvantaged pupils",
      "23.8% of pupils in England's state-funded schools were eligible for free school meals "
      "in January 2023 (DfE, Schools, pupils and their characteristics 2022/23; 24.6% in "
      "January 2024)"},
     &WorldParams::mean_disadvantaged},
    {{"area_disadvantage_sd", R::real, 0.6, 0, 5, "logit",
      "spread of disadvantage between areas, on the logit scale",
      calibrated(0.3, 1.2, "fitted with the other world spreads to about 40% of the variance "
                 "of pupil results between schools and a gap of 0.5 to 0.8 pupil SD "
                 "(docs/ODD.md calibration scales); regions alone span 18.8% (South East) to "
                 "30.4% (North East) of pupils eligible for free school meals in 2023, logits "
                 "0.63 apart, and local authorities differ more")},
     &WorldParams::area_disadvantage_sd},
    {{"school_disadvantage_sd", R::real, 0.8, 0, 5, "logit",
      "spread of disadvantage between schools of an area, on the logit scale",
      calibrated(0.4, 1.5, "fitted with the other world spreads to about 40% of the variance "
                 "of pupil results between schools and a gap of 0.5 to 0.8 pupil SD "
                 "(docs/ODD.md calibration scales); schools of one area differ in intake at "
                 "least as much as areas do")},
     &WorldParams::school_disadvantage_sd},
    {{"capacity_mean", R::real, 0.5, 0, 1, "[0,1]", "mean initial capacity",
      calibrated(0.3, 0.7, "capacity is an index on [0, 1] with no external unit: 0.5 is the "
                 "midpoint, and the bounded terms (1 - c) of co-construction make its level "
                 "matter; calibrate with turnover.target, the level staff turnover holds it "
                 "at")},
     &WorldParams::capacity_mean},
    {{"capacity_sd", R::real, 0.2, 0, 1, "[0,1]", "spread of initial capacity",
      calibrated(0.1, 0.3, "fitted with attainment.beta_capacity to about 40% of the variance "
                 "of pupil results between schools (docs/ODD.md calibration scales); results "
                 "identify only the product of the two")},
     &WorldParams::capacity_sd},
    {{"capacity_disadvantage_slope", R::real, -0.8, -2, 2, "capacity per unit share",
      "how initial capacity falls with the share of disadvantaged pupils",
      calibrated(-1.5, 0, "negative: schools in challenging circumstances struggle to recruit "
                 "(Ainscow, Muijs & West 2006); its size is fitted with the other world "
                 "spreads to the between-school variance and the gap (docs/ODD.md); calibrate "
                 "with turnover.recruitment_slope")},
     &WorldParams::capacity_disadvantage_slope},
    {{"expectations_mean", R::real, 0.5, 0, 1, "[0,1]", "mean initial expectations",
      calibrated(0.3, 0.7, "expectations are an index on [0, 1] with no external unit: 0.5 is "
                 "the midpoint; calibrate with turnover.expectations_target, the level new "
                 "staff bring")},
     &WorldParams::expectations_mean},
    {{"expectations_sd", R::real, 0.1, 0, 1, "[0,1]", "spread of initial expectations",
      calibrated(0.03, 0.2, "no survey measures staff expectations on this scale; narrower "
                 "than capacity's 0.2 so that expectations, with the smaller coefficient, "
                 "explain less of the between-school variance than capacity")},
     &WorldParams::expectations_sd},
    {{"expectations_disadvantage_slope", R::real, -0.4, -2, 2, "expectations per unit share",
      "how initial expectations fall with the share of disadvantaged pupils",
      calibrated(-1, 0, "negative: staff expect less of disadvantaged intakes (Ainscow, Muijs "
                 "& West 2006); no published size on this scale; calibrate with "
                 "turnover.expectations_slope")},
     &WorldParams::expectations_disadvantage_slope},
    {{"autonomy_mean", R::real, 0.6, 0, 1, "[0,1]", "initial professional autonomy",
      calibrated(0.3, 0.9, "no published measure of professional autonomy on this scale; "
                 "above the midpoint for the moderate prescription of the English system of "
                 "the 2000s (Townsend 2013); calibrate with durkheim.autonomy_baseline")},
     &WorldParams::autonomy_mean},
    {{"reach_km", R::real, 6, 0.1, 1000, "km",
      "distance within which families consider a school of their area and phase",
      calibrated(2, 12, "families choose among schools within a few kilometres (Burgess et "
                 "al. 2015); fitted with market.choice to about 45% of pupils at their "
                 "nearest school and about six schools within ten minutes' drive (docs/ODD.md "
                 "calibration scales)")},
     &WorldParams::reach_km},
    {{"initial_ties_per_school", R::real, 0, 0, 50, "ties per school",
      "mean degree of random within-area ties present at the start",
      "scenario choice: 0 lets every tie come from the mechanisms; benchmarks and tests set a "
      "few random ties per school to start with"},
     &WorldParams::initial_ties_per_school},
    {{"burn_in_years", R::integer, 40, 1, 200, "years",
      "years the scenario's own school processes (crises, staff turnover, attainment, "
      "opportunities) run on the generated world before year 0, so that the world starts at the "
      "model's stationary state and year 0 follows the scenario's equations",
      "scenario choice: staff turnover closes 2% of the gap to its target a term (a time "
      "constant of 17 years), so 40 years leave 10% of the generator's offset; the mean "
      "capacity after 40 and after 80 years agree to 0.001 (tests/test_evidence.cpp checks that "
      "a world with nothing changing stays level)"},
     &WorldParams::burn_in_years},
};

}  // namespace

// Share of one disc of radius r covered by another at distance d (the lens of
// two equal circles): how much two schools' catchments overlap.
double lens_overlap(double d, double r) {
  if (d >= 2 * r) return 0.0;
  const double pi = 3.14159265358979323846;
  const double area = 2 * r * r * std::acos(d / (2 * r)) - 0.5 * d * std::sqrt(4 * r * r - d * d);
  return area / (pi * r * r);
}

void build_neighbours(State& s, double reach_km, const Team& team) {
  const std::int32_t n = s.n_schools();
  Neighbours& nb = s.near;
  nb = Neighbours();
  nb.offsets.assign(static_cast<std::size_t>(n) + 1, 0);
  // Each chunk of schools builds its rows apart; they are joined in order.
  struct Rows {
    std::vector<std::int32_t> school;
    std::vector<double> distance_km, overlap;
  };
  constexpr std::size_t kChunk = 512;
  std::vector<Rows> parts(chunk_count(static_cast<std::size_t>(n), kChunk));
  team.for_chunks(static_cast<std::size_t>(n), kChunk, [&](std::int32_t, std::size_t begin, std::size_t end) {
    Rows& rows = parts[begin / kChunk];
    std::vector<std::pair<double, std::int32_t>> found;
    auto block_start = static_cast<std::int32_t>(begin);
    while (block_start > 0 && s.area[block_start - 1] == s.area[static_cast<std::int32_t>(begin)]) --block_start;
    for (auto i = static_cast<std::int32_t>(begin); i < static_cast<std::int32_t>(end); ++i) {
      while (s.area[block_start] != s.area[i]) ++block_start;
      found.clear();
      for (std::int32_t j = block_start; j < n && s.area[j] == s.area[i]; ++j) {
        if (s.phase[j] != s.phase[i]) continue;
        const double dx = s.x[i] - s.x[j], dy = s.y[i] - s.y[j];
        const double d2 = dx * dx + dy * dy;
        if (j == i || d2 <= reach_km * reach_km) found.emplace_back(j == i ? -1.0 : std::sqrt(d2), j);
      }
      std::sort(found.begin(), found.end());
      for (const auto& [d, j] : found) {
        rows.school.push_back(j);
        rows.distance_km.push_back(std::max(0.0, d));
        rows.overlap.push_back(j == i ? 1.0 : lens_overlap(d, reach_km));
      }
      nb.offsets[static_cast<std::size_t>(i) + 1] = static_cast<std::int64_t>(found.size());
    }
  });
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) nb.offsets[i + 1] += nb.offsets[i];
  // The rows are fixed from here on: each array is sized once, to its rows.
  const auto rows = static_cast<std::size_t>(nb.offsets.back());
  nb.school.reserve(rows);
  nb.distance_km.reserve(rows);
  nb.overlap.reserve(rows);
  for (const Rows& part : parts) {
    nb.school.insert(nb.school.end(), part.school.begin(), part.school.end());
    nb.distance_km.insert(nb.distance_km.end(), part.distance_km.begin(), part.distance_km.end());
    nb.overlap.insert(nb.overlap.end(), part.overlap.begin(), part.overlap.end());
  }
  nb.rivalry.assign(nb.school.size(), 0.0);
}

void set_year_zero(const PipelineInfo& pipeline, State& s) {
  const AttainmentParams ap = attainment_params(pipeline);
  const OpportunityParams op = opportunity_params(pipeline);
  const Funding funding = market_funding(pipeline);
  for (std::int32_t i = 0; i < s.n_schools(); ++i) {
    const double d = s.disadvantaged[i];
    s.teaching[i] = practice_target(ap, s.capacity[i], 0, 0);
    s.opportunity[i] = own_opportunity(op, s.pupils[i], s.phase[i]);
    s.budget[i] = funding.budget(d);
    // Last year's results, so that reputation and the system measures have a
    // baseline before the first simulated year ends. A first guess: the
    // burn-in's attainment (with the same parameters, and its cohort noise)
    // replaces it before year 0.
    const SchoolInputs inputs{s.teaching[i], s.expectations[i], s.opportunity[i], d};
    s.attainment_dis[i] = expected_attainment(ap, inputs, true);
    s.attainment_adv[i] = expected_attainment(ap, inputs, false);
    s.reputation[i] = school_result(s, i);
  }
}

namespace {

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

void build(std::span<const double> values, const PipelineInfo& pipeline, const Streams& streams, State& s,
           const Team* team) {
  const WorldParams p = kTable.make(values);
  const std::int32_t n = p.schools;
  const std::int32_t areas = std::min(p.areas, p.schools);
  const auto k = static_cast<Eigen::Index>(p.practice_dims);
  s.allocate(n, areas, k);
  boost::random::normal_distribution<double> normal;

  // Area centres and area-level disadvantage (logit scale).
  std::vector<double> cx(static_cast<std::size_t>(areas)), cy(cx.size()), area_logit(cx.size());
  const double base_logit = std::log(p.mean_disadvantaged / (1 - p.mean_disadvantaged));
  for (std::int32_t a = 0; a < areas; ++a) {
    Stream rng = streams.stream(kWorldStreamKey, 0, static_cast<std::uint64_t>(a));
    const auto ai = static_cast<std::size_t>(a);
    cx[ai] = rng.uniform() * p.map_km;
    cy[ai] = rng.uniform() * p.map_km;
    area_logit[ai] = base_logit + p.area_disadvantage_sd * normal(rng);
  }

  // Schools, assigned to areas in contiguous blocks.
  for (std::int32_t i = 0; i < n; ++i) {
    Stream rng = streams.stream(kWorldStreamKey, 1, static_cast<std::uint64_t>(i));
    const auto a = static_cast<std::int32_t>(static_cast<std::int64_t>(i) * areas / n);
    const auto ai = static_cast<std::size_t>(a);
    s.area[i] = a;
    s.x[i] = std::clamp(cx[ai] + p.area_radius_km * normal(rng), 0.0, p.map_km);
    s.y[i] = std::clamp(cy[ai] + p.area_radius_km * normal(rng), 0.0, p.map_km);
    const bool secondary = rng.uniform() < p.secondary_share;
    s.phase[i] = secondary ? 1 : 0;
    const double mean_places = secondary ? p.secondary_places : p.primary_places;
    s.places[i] = std::max(10, static_cast<int>(std::lround(mean_places * std::exp(0.25 * normal(rng)))));
    s.pupils[i] = static_cast<int>(std::lround(p.occupancy * s.places[i]));
    const double d = logistic(area_logit[ai] + p.school_disadvantage_sd * normal(rng));
    s.disadvantaged[i] = d;
    s.capacity[i] = clamp01(p.capacity_mean + p.capacity_disadvantage_slope * (d - p.mean_disadvantaged) +
                            p.capacity_sd * normal(rng));
    s.expectations[i] =
        clamp01(p.expectations_mean + p.expectations_disadvantage_slope * (d - p.mean_disadvantaged) +
                p.expectations_sd * normal(rng));
    s.autonomy[i] = clamp01(p.autonomy_mean + 0.1 * normal(rng));
    for (Eigen::Index j = 0; j < k; ++j) s.practice(j, i) = normal(rng);
    s.practice.col(i).normalize();
    s.home_cohort[i] = s.pupils[i] / static_cast<double>(kYearsInPhase[static_cast<std::size_t>(s.phase[i])]);
    s.home_disadvantaged[i] = d;
  }
  set_year_zero(pipeline, s);

  build_neighbours(s, p.reach_km, team ? *team : lone_team());

  // Random within-area ties (off by default).
  if (p.initial_ties_per_school > 0) {
    const double attempts_per_school = p.initial_ties_per_school / 2;
    for (std::int32_t i = 0; i < n; ++i) {
      Stream rng = streams.stream(kWorldStreamKey, 2, static_cast<std::uint64_t>(i));
      const std::int32_t a = s.area[i];
      const auto first = static_cast<std::int32_t>((static_cast<std::int64_t>(a) * n + areas - 1) / areas);
      const auto last = static_cast<std::int32_t>((static_cast<std::int64_t>(a + 1) * n + areas - 1) / areas);
      const auto whole = static_cast<int>(attempts_per_school);
      const int tries = whole + (rng.uniform() < attempts_per_school - whole ? 1 : 0);
      boost::random::uniform_int_distribution<std::int32_t> pick(first, last - 1);
      for (int t = 0; t < tries && last - first > 1; ++t) {
        const std::int32_t j = pick(rng);
        if (j == i || s.ties.find(i, j) != TieStore::kNone) continue;
        s.ties.add({.a = std::min(i, j), .b = std::max(i, j), .strength = 0.5, .trust = 0.5});
      }
    }
  }
}

}  // namespace

WorldInfo world_info() {
  WorldInfo w;
  w.summary =
      "Schools on a square map in areas (local authorities): clustered locations, primary and "
      "secondary phases, places, and spatially correlated disadvantage (area and school effects "
      "on the logit scale); capacity and expectations fall with disadvantage.";
  w.params = kTable.specs();
  w.build = build;
  w.schools_param = 0;
  w.areas_param = 1;
  w.load_register = load_register;  // a world from a school register (register.cpp)
  w.build_register = build_register_world;
  return w;
}

}  // namespace schoolsim::models
