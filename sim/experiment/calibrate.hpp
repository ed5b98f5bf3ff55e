// Calibration by approximate Bayesian computation with sequential Monte Carlo
// (ABC-SMC; Beaumont, Cornuet, Marin & Robert 2009 for the importance weights,
// Del Moral, Doucet & Jasra 2012 for the adaptive tolerances), against targets
// that are statistics of named experiments (docs/EXPERIMENTS.md, calibration).
//
// Generation 0 draws the population from the prior. Each later generation
// draws a particle of the previous one by its weight, moves it with a Gaussian
// kernel of twice the previous population's weighted covariance (in the
// prior's unit coordinates: linear for a uniform prior, logarithmic for a
// log-uniform one), simulates it and keeps it when its distance to the
// observed targets is at most the tolerance: a quantile of the previous
// generation's distances. A kept particle's weight is its prior density over
// the kernel's mixture density. A move that leaves the prior's support is
// drawn again (up to 10,000 times), so every attempt is simulated.
//
// Determinism: attempt k of generation g draws from streams keyed by (seed, g,
// k) only, attempts are simulated in batches of a fixed size and kept in
// attempt order, so the population depends on the calibration alone, never on
// threads, ranks or where a run resumed.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/registry.hpp"
#include "sim/scenario.hpp"

namespace schoolsim {

enum class Prior { uniform, log_uniform };
inline constexpr std::array<std::string_view, 2> kPriorNames = {"uniform", "log_uniform"};

// A calibrated parameter: a world parameter or a parameter of a mechanism,
// set in every experiment whose pipeline has that mechanism.
struct CalibParameter {
  std::string name;       // "world.x" or "mechanism.parameter"
  bool world = false;
  std::string mechanism;  // when not world
  std::size_t param = 0;  // index in the world's or the mechanism's parameter table
  double lo = 0, hi = 1;  // the prior's range
  Prior prior = Prior::uniform;
  bool integer = false;
  std::string source;     // why the range is what it is (the parameter table's text)
  // The experiments it is set in (indices); empty: every experiment that has
  // its mechanism (or every experiment, for a world parameter).
  std::vector<std::size_t> only;
};

// What a target measures in one run of its experiment, per record year (0 =
// the start, then the end of each year).
enum class StatisticKind {
  measure,  // a system measure
  groups,   // mean school result of one group of schools minus another's
};

struct Statistic {
  StatisticKind kind = StatisticKind::measure;
  std::size_t measure = 0;  // measure: index in kSystemMeasures
  // measure: the record year read (-1: the last), or the mean over the years
  // from `from_year` to `year` when from_year >= 0; with `change`, minus the
  // value at year 0.
  std::int32_t year = -1;
  std::int32_t from_year = -1;
  bool change = false;
  // groups: schools whose integer field `group_field` equals `treated` minus
  // those where it equals `control`, `years_after` years after the first
  // record year in which both groups have schools; with `change`, minus the
  // difference in that first year (a difference in differences). With
  // `ratio_to` >= 0, divided by the same statistic at `ratio_to` years after
  // (a ratio of the means over replicates).
  Field group_field = Field::arm;
  std::int32_t treated = 1, control = 2;
  std::int32_t years_after = 0;
  std::int32_t ratio_to = -1;
};

// A named experiment the targets read: a scenario (or an `extends` of one) and
// any overrides the calibration file gives it.
struct CalibExperiment {
  std::string name;
  Scenario scenario;
};

struct CalibTarget {
  std::string id;
  std::string source;       // the published figure and where it is from
  std::size_t experiment = 0;
  std::optional<std::size_t> against;  // a contrast: this experiment minus `against`, same seeds
  Statistic statistic;
  double observed = 0;
  double sd = 1;            // standard error or tolerance: the distance's unit for this target
};

struct Calibration {
  std::string name;
  std::string source;  // the calibration file
  std::vector<CalibParameter> parameters;
  std::vector<CalibExperiment> experiments;
  std::vector<CalibTarget> targets;
  std::int32_t population = 100;
  std::int32_t generations = 5;
  std::int32_t replicates = 1;    // runs per particle; the statistic is their mean
  std::uint64_t seed = 1;
  double quantile = 0.5;          // the next tolerance: this quantile of the kept distances
  double min_acceptance = 0.02;   // stop when a generation keeps fewer of its attempts
  std::int32_t batch = 0;         // attempts simulated together (0: the population size)
  std::vector<std::string> without;  // frameworks (models/ families) or mechanisms removed
};

// Removes the mechanisms of a framework (a models/ folder: constructivism,
// social_capital, durkheim, social_movement, market, ...) or a mechanism by
// name from every experiment; "" or the reason it cannot (not in any pipeline).
std::string remove_from_experiments(Calibration& c, const std::string& name);

// One generation of particles, kept in attempt order.
struct Generation {
  double tolerance = 0;            // +inf for generation 0
  std::int64_t attempts = 0;       // proposals made (including those outside the prior)
  std::vector<std::vector<double>> theta;  // [particle][parameter], parameter units
  std::vector<double> weights;             // normalised
  std::vector<double> distances;
  std::vector<std::vector<double>> stats;  // [particle][target]
};

struct CalibrationResult {
  std::vector<Generation> generations;
  // Posterior predictive: one fresh simulation of each particle of the last
  // generation, [particle][target], and each target's weighted median and
  // 95% interval.
  std::vector<std::vector<double>> predictive;
  std::vector<double> pred_median, pred_lo, pred_hi;
  // The same at the values the experiments' scenarios give the parameters
  // (the parameter tables' defaults unless a scenario sets them), over as many
  // runs as there are particles: whether the posterior fits better.
  std::vector<double> defaults;  // [parameter]
  std::vector<std::vector<double>> at_defaults;  // [run][target]
  std::vector<double> def_median, def_lo, def_hi;
  std::int64_t simulations = 0;  // particle simulations done (this process's share under ranks)
  bool resumed = false;
  std::string stopped;           // why it stopped before the last generation, or ""
};

struct CalibrateOptions {
  std::int32_t threads = 1;
  const std::atomic<bool>* cancel = nullptr;
  // After each particle simulation (thread-safe).
  std::function<void()> on_simulation;
  // After each batch: the generation, its kept particles so far and attempts.
  std::function<void(std::int32_t generation, std::int32_t kept, std::int64_t attempts)> on_batch;
  // Progress is saved here after every batch and read back on the next start
  // (validated first); empty: no saving.
  std::filesystem::path state;
  // Several processes (MPI ranks): this one simulates the attempts k with
  // k % ranks == rank, and `share` combines every rank's slots (each slot is
  // filled by one rank and zero elsewhere: a sum gives every rank all of them).
  std::int32_t rank = 0, ranks = 1;
  std::function<void(std::vector<double>&)> share;
};

// Runs (or resumes) the calibration. Throws Interrupted when cancelled (the
// state file then holds every finished batch) and std::runtime_error when the
// state file belongs to another calibration.
CalibrationResult calibrate(const Calibration& c, const Registry& registry, const CalibrateOptions& options);

// The values the experiments' scenarios give the calibrated parameters (the
// first experiment that sets each).
std::vector<double> current_values(const Calibration& c);

// The experiments' scenarios with the parameters set to theta.
std::vector<Scenario> scenarios_for(const Calibration& c, const std::vector<double>& theta);

// Each target's statistic for one particle, the mean over c.replicates runs
// seeded from `seed`.
std::vector<double> simulate_targets(const Calibration& c, const Registry& registry,
                                     const std::vector<double>& theta, std::uint64_t seed);

// The distance of simulated statistics to the observed targets: the root mean
// square of (simulated - observed) / sd; +inf when a statistic is not finite.
double distance(const Calibration& c, const std::vector<double>& stats);

// A weighted quantile (weights need not be normalised).
double weighted_quantile(const std::vector<double>& values, const std::vector<double>& weights, double q);

// A fingerprint of the calibration and of the program, kept in the state file.
std::string fingerprint(const Calibration& c, const Registry& registry,
                        std::string_view program_version = SCHOOLSIM_VERSION);

// The state file format: magic, version, fingerprint, the finished
// generations, the current one's kept particles and attempts, then a CRC-32C.
inline constexpr std::uint32_t kCalibStateVersion = 1;
struct CalibState {
  std::vector<Generation> done;
  Generation current;  // the generation under way (its tolerance set)
  std::int64_t simulations = 0;
};
std::string encode_state(const CalibState& s, const std::string& fingerprint);
// "" when `bytes` is a sound state of this calibration (with `d` parameters and
// `t` targets), filling `s`; else the reason it is not.
std::string decode_state(std::string_view bytes, const std::string& fingerprint, std::size_t d, std::size_t t,
                         CalibState& s);

// A posterior as `--posterior` reads it: the last generation's particles.
struct Posterior {
  std::string source;                   // the file
  std::vector<std::string> names;       // "world.x" or "mechanism.parameter"
  std::vector<std::vector<double>> theta;
  std::vector<double> weights;
  std::vector<int> world_param;         // per name: index of a world parameter, or -1 (set by resolve_posterior)
};

// Checks every name against the registry and fills world_param: "" or what is wrong.
std::string resolve_posterior(Posterior& p, const Registry& registry);

// The posterior's parameters a scenario does not have (neither a world
// parameter nor a parameter of a mechanism in its pipeline).
std::vector<std::string> unused_by(const Posterior& p, const Scenario& sc);

// Sets, in `sc`, every parameter of the posterior that the scenario has (a
// world parameter, or a parameter of a mechanism in its pipeline), to the
// particle drawn for replicate `replicate`: the draw depends on the seed and
// the replicate only, so both arms of a comparison get the same parameters.
// Returns the number of parameters set.
std::size_t apply_posterior(const Posterior& p, std::uint64_t seed, std::int32_t replicate, Scenario& sc);
std::size_t posterior_draw(const Posterior& p, std::uint64_t seed, std::int32_t replicate);

}  // namespace schoolsim
