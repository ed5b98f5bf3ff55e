// System measures, computed from the state after every term and stored in /system.
// The table lists each measure once (name, unit, meaning); it drives the output
// and the docs.
#pragma once

#include <array>
#include <string_view>

#include "sim/state.hpp"

namespace schoolsim {

// What several measures share, computed once per state: the pupils of each
// group in each school, the mean result, and the counts and sums of one pass
// over the ties in slot order.
class Team;

struct MeasureInputs {
  // `team`, when given, runs the measures' per-school loops on its threads
  // (the same values at any thread count).
  explicit MeasureInputs(const State& s, const Team* team = nullptr);
  const Team* team = nullptr;
  Eigen::ArrayXd dis, adv;  // pupils of each group, per school
  double mean_attainment = 0;
  std::array<std::size_t, kTieKindNames.size()> kind{};  // live ties of each kind
  std::size_t bridging = 0;                              // live bridging ties
  double after_funding = 0;                              // programme ties past their funding
  double trust = 0;                                      // sum of trust over live ties
};

// What `schoolsim compare` divides a difference in the measure by for its
// effect size (docs/EXPERIMENTS.md).
enum class EffectScale {
  replicates,  // the SD of the measure between replicates of arm A, at the end
  pupil_sd,    // nothing: the measure is in pupil SD already
  // The SD between schools (arm A, at the end) of the school variable the
  // measure is the mean of: capacity, expectations, crisis, or a school's
  // number of ties.
  capacity,
  expectations,
  crisis,
  degree,
};

struct MeasureInfo {
  std::string_view name;
  std::string_view unit;
  std::string_view meaning;
  // The one implementation of the measure.
  double (*of)(const State&, const MeasureInputs&);
  // Depends only on enrolment (pupils, disadvantaged shares) and fixed fields,
  // so a recorder may reuse its value while the enrolment is unchanged.
  bool enrolment_only = false;
  // A count (of schools, pupils, ties or groups): tables show whole numbers,
  // and output files mark it (the `count` attribute, docs/OUTPUT.md).
  bool count = false;
  EffectScale effect = EffectScale::replicates;
  [[nodiscard]] double compute(const State& s) const { return of(s, MeasureInputs(s)); }
};


// A school's mean result: its two pupil groups weighted by their shares.
inline double school_result(const State& s, std::int32_t i) {
  const double d = s.disadvantaged[i];
  return d * s.attainment_dis[i] + (1 - d) * s.attainment_adv[i];
}

double mean_capacity(const State& s);
double mean_expectations(const State& s);
double mean_crisis(const State& s);
double mean_attainment(const State& s);
double attainment_gap(const State& s);
double between_school_share(const State& s);
double n_schools_in_crisis(const State& s);
double n_ties(const State& s);
double total_pupils(const State& s);
double nearest_school_share(const State& s);
double dissimilarity(const State& s);
double enrolment_gini(const State& s);
double school_sd(const State& s);
double n_challenging(const State& s);
double mean_degree(const State& s);

// Measures of the collaboration network: schools are nodes, live ties are
// undirected edges.
double density(const State& s);
double clustering(const State& s, const Team* team = nullptr);
double components(const State& s);
double isolates(const State& s);
double bridging_share(const State& s);
double bonding_share(const State& s);
double centralisation(const State& s);
double ties_voluntary(const State& s);
double ties_programme(const State& s);
double ties_federation(const State& s);
double ties_movement(const State& s);
double ties_after_funding(const State& s);
double mean_trust(const State& s);

// The measures that use what others share: the implementations the table and
// the functions above call.
namespace system_measure {
double mean_attainment(const State& s, const MeasureInputs& in);
double attainment_gap(const State& s, const MeasureInputs& in);
double between_school_share(const State& s, const MeasureInputs& in);
double school_sd(const State& s, const MeasureInputs& in);
double n_challenging(const State& s, const MeasureInputs& in);
double ties_voluntary(const State& s, const MeasureInputs& in);
double ties_programme(const State& s, const MeasureInputs& in);
double ties_federation(const State& s, const MeasureInputs& in);
double ties_movement(const State& s, const MeasureInputs& in);
double ties_after_funding(const State& s, const MeasureInputs& in);
double mean_trust(const State& s, const MeasureInputs& in);
double bridging_share(const State& s, const MeasureInputs& in);
double bonding_share(const State& s, const MeasureInputs& in);
}  // namespace system_measure

// A measure that needs nothing the others share, as the table holds it.
template <double (*F)(const State&)>
double plain(const State& s, const MeasureInputs&) {
  return F(s);
}

// Crisis severity above which a school counts as being in crisis.
inline constexpr double kCrisisThreshold = 0.5;
// Variance of pupils' results around their school-and-group mean, in pupil
// SD^2: with the default world, school means vary by about 0.4 SD^2, so the
// total variance of pupil results is about 1 (attainment is in pupil-SD units)
// and about 40% of it lies between schools (OECD 2019).
inline constexpr double kWithinGroupVariance = 0.6;
// A school is in challenging circumstances when at least 35% of its pupils are
// disadvantaged or its mean result is half a pupil SD or more below average:
// the two criteria of the DfES "schools facing challenging circumstances"
// programme (high free-school-meal share, or low results).
inline constexpr double kChallengingDisadvantaged = 0.35;
inline constexpr double kChallengingResult = -0.5;

inline constexpr std::array kSystemMeasures = {
    MeasureInfo{"mean_capacity", "[0,1]", "mean professional capacity over schools", plain<mean_capacity>, false, false, EffectScale::capacity},
    MeasureInfo{"mean_expectations", "[0,1]", "mean staff expectations over schools",
                plain<mean_expectations>, false, false, EffectScale::expectations},
    MeasureInfo{"mean_crisis", "[0,1]", "mean crisis severity over schools", plain<mean_crisis>, false, false, EffectScale::crisis},
    MeasureInfo{"mean_attainment", "pupil SD",
                "pupil-weighted mean attainment of all pupils (latest yearly results)",
                system_measure::mean_attainment, false, false, EffectScale::pupil_sd},
    MeasureInfo{"attainment_gap", "pupil SD",
                "pupil-weighted mean attainment of advantaged minus disadvantaged pupils",
                system_measure::attainment_gap, false, false, EffectScale::pupil_sd},
    MeasureInfo{"between_school_share", "share",
                "share of the variance of pupil attainment that lies between schools "
                "(pupils vary around their school-and-group mean with variance 0.6 SD^2)",
                system_measure::between_school_share},
    MeasureInfo{"school_sd", "pupil SD",
                "pupil-weighted standard deviation of school mean attainment (polarisation "
                "between schools)",
                system_measure::school_sd, false, false, EffectScale::pupil_sd},
    MeasureInfo{"dissimilarity", "index [0,1]",
                "segregation of disadvantaged pupils: the dissimilarity index over the schools of "
                "each area and phase, averaged with pupil weights",
                plain<dissimilarity>, true},
    MeasureInfo{"enrolment_gini", "index [0,1]",
                "Gini coefficient of occupancy (pupils per place) across schools",
                plain<enrolment_gini>, true},
    MeasureInfo{"n_challenging", "schools",
                "schools in challenging circumstances: at least 35% disadvantaged pupils or a mean "
                "result at least 0.5 pupil SD below average",
                system_measure::n_challenging, false, true},
    MeasureInfo{"n_schools_in_crisis", "schools", "schools whose crisis severity exceeds 0.5",
                plain<n_schools_in_crisis>, false, true},
    MeasureInfo{"pupils", "pupils", "pupils enrolled in all schools", plain<total_pupils>, true,
                true},
    MeasureInfo{"nearest_school_share", "share",
                "share of the last admissions round's entrants admitted to the school they live "
                "nearest (0 before the first round)",
                plain<nearest_school_share>},
    MeasureInfo{"n_ties", "ties", "collaboration ties in place", plain<n_ties>, false, true},
    MeasureInfo{"mean_degree", "ties per school", "mean number of ties per school", plain<mean_degree>, false, false, EffectScale::degree},
    MeasureInfo{"density", "share", "share of school pairs that are tied", plain<density>},
    MeasureInfo{"clustering", "share",
                "share of a school's pairs of partners that are themselves tied (transitivity: "
                "3 x triangles / connected triples)",
                [](const State& s, const MeasureInputs& in) { return clustering(s, in.team); }},
    MeasureInfo{"components", "count",
                "separate groups of tied schools (schools without a tie are not counted)",
                plain<components>, false, true},
    MeasureInfo{"isolates", "schools", "schools with no collaboration tie", plain<isolates>, false,
                true},
    MeasureInfo{"bridging_share", "share",
                "share of ties that link schools in different areas or phases",
                system_measure::bridging_share},
    MeasureInfo{"bonding_share", "share",
                "share of ties that link schools in the same area and phase",
                system_measure::bonding_share},
    MeasureInfo{"centralisation", "index [0,1]",
                "Freeman degree centralisation: how far ties concentrate on one hub school "
                "(1 for a star, 0 when all schools have equally many ties)",
                plain<centralisation>},
    MeasureInfo{"ties_voluntary", "ties", "voluntary ties formed by schools' own choice",
                system_measure::ties_voluntary, false, true},
    MeasureInfo{"ties_programme", "ties", "ties formed by a networking programme",
                system_measure::ties_programme, false, true},
    MeasureInfo{"ties_federation", "ties", "federation or support-pairing ties",
                system_measure::ties_federation, false, true},
    MeasureInfo{"ties_movement", "ties",
                "value-based ties between schools that share a commitment to equity",
                system_measure::ties_movement, false, true},
    MeasureInfo{"ties_after_funding", "ties",
                "programme ties still in place after their network's funding ended",
                system_measure::ties_after_funding, false, true},
    MeasureInfo{"mean_trust", "[0,1]", "mean trust over ties in place", system_measure::mean_trust},
};

inline constexpr std::size_t kMeasureCount = kSystemMeasures.size();

// A measure's meaning in a few words, for tables printed on a terminal (the
// full meaning is kSystemMeasures' `meaning`); the full meaning for a measure
// with none.
std::string_view brief_meaning(std::string_view measure);

// What compute_system_measures may keep from one call to the next, within one
// run (a cache belongs to one replicate's recorder): the enrolment measures
// (MeasureInfo::enrolment_only: Gini of occupancy, dissimilarity, pupils)
// depend on pupils and disadvantaged shares, which change only yearly in most
// pipelines, and on places, areas and phases, which are fixed. While pupils and
// shares are unchanged since the last call, their values are reused instead of
// recomputed (the Gini sorts every school's occupancy).
struct MeasureCache {
  bool valid = false;
  Eigen::ArrayXi pupils;
  Eigen::ArrayXd disadvantaged;
  std::array<double, kMeasureCount> values{};  // of the enrolment measures
};

// Every system measure of a state, in kSystemMeasures order, into out (which
// holds kMeasureCount values): each measure's one implementation, with the
// inputs they share computed once, and with a cache, the enrolment measures
// reused while the enrolment is unchanged.
void compute_system_measures(const State& s, double* out, MeasureCache* cache = nullptr,
                             const Team* team = nullptr);

}  // namespace schoolsim
