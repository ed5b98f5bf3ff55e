// Which lever did it: the difference B - A of every system measure between two
// regimes, attributed to the levers that differ between them (docs/EXPERIMENTS.md).
//
// A lever is one world parameter, one mechanism parameter, one mechanism added
// (with its parameters) or removed, or the timeline, that differs between the
// resolved scenarios A and B. For a set S of levers, v(S) is the measure of A
// with the levers in S switched to B's values; each lever's Shapley value is
// its marginal contribution to v averaged over the orders in which the levers
// could be switched. The values sum to v(all) - v(none) = B - A (efficiency).
//
// Every run uses common random numbers: replicate r of every lever subset runs
// from the same seed, so it starts from the same world wherever the levers
// leave the world alone, and each mechanism draws from its own keyed streams.
// Shapley values are computed per replicate; their mean and a t interval over
// replicates are reported. With up to ShapleyOptions::exact_max levers every
// subset is run (exact); above that each replicate samples its own random
// lever orders (Castro, Gomez & Tejada 2009), so the interval over replicates
// includes the sampling.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/registry.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace schoolsim {

enum class LeverKind { world, param, add, remove, timeline };

struct Lever {
  LeverKind kind = LeverKind::param;
  std::string name;    // "world.schools", "market.choice", "add programme", "remove durkheim", "timeline"
  std::string change;  // what switching it does: "0.8 -> 0.2", "with year 1, networks 150", ...
  std::size_t param = 0;                     // world and param levers: index of the parameter
  const MechanismInfo* mechanism = nullptr;  // param, add and remove levers
};

struct LeverSet {
  std::vector<Lever> levers;
  std::string error;  // why A and B cannot be decomposed, or ""
};

// The levers that differ between A and B, world first, then the pipeline in
// run order, then the timeline. Differences of name, description, seed,
// replicates and record are not levers. A and B must run the same number of
// years from the same register (if any), and run the mechanisms they share in
// the same order.
LeverSet find_levers(const Scenario& a, const Scenario& b, const Registry& registry);

// A with the levers whose bits are set in `on` (bit i = levers[i]) switched to
// B's values. hybrid(.., 0) runs as A does and hybrid(.., all bits) as B does.
// A mechanism only A has runs where A runs it; one only B has, where B does;
// between two shared mechanisms, A's own run before B's own.
Scenario hybrid(const Scenario& a, const Scenario& b, const std::vector<Lever>& levers, std::uint64_t on);

// ---------------------------------------------------------------- Shapley values

struct ShapleyOptions {
  std::size_t exact_max = 6;        // every subset for up to this many levers
  std::int32_t permutations = 32;   // else: random lever orders per replicate
  std::uint64_t seed = 1;           // seeds the orders (with the replicate)

  [[nodiscard]] bool exact(std::size_t levers) const { return levers <= exact_max; }
};

// The random lever orders of one replicate (empty when exact): a function of
// (seed, replicate) only.
std::vector<std::vector<std::size_t>> lever_orders(std::size_t levers, std::int32_t replicate,
                                                   const ShapleyOptions& options);

// The lever subsets (bit masks) one replicate needs, in increasing order; the
// empty set and the full set are always among them.
std::vector<std::uint64_t> subsets_needed(std::size_t levers, std::int32_t replicate, const ShapleyOptions& options);

// Each lever's Shapley value for one replicate, [lever][output], from the value
// of each needed subset (a vector of outputs).
using SubsetValue = std::function<const std::vector<double>&(std::uint64_t subset)>;
std::vector<std::vector<double>> shapley_values(std::size_t levers, std::int32_t replicate,
                                                const ShapleyOptions& options, const SubsetValue& value);

// Shapley values over replicates: per replicate, and their mean with a 95% t
// interval; `total` is v(all) - v(none).
struct ShapleyEstimate {
  std::vector<std::vector<std::vector<double>>> per_replicate;  // [lever][replicate][output]
  std::vector<std::vector<double>> mean, lo, hi;                // [lever][output]
  std::vector<std::vector<double>> total;                       // [replicate][output]
  std::vector<double> total_mean, total_lo, total_hi;           // [output]
};
using ReplicateSubsetValue = std::function<const std::vector<double>&(std::int32_t replicate, std::uint64_t subset)>;
ShapleyEstimate estimate_shapley(std::size_t levers, std::int32_t replicates, const ShapleyOptions& options,
                                 const ReplicateSubsetValue& value);

// ---------------------------------------------------------------- the decomposition

struct Decomposition {
  std::vector<Lever> levers;
  std::int32_t replicates = 0;
  bool exact = true;
  std::int32_t permutations = 0;   // per replicate, when sampled
  std::size_t runs = 0;            // simulation runs made
  std::vector<std::int32_t> terms;  // terms completed at each row: the start and every year's end
  // [measure][replicate * rows + row]: arms A and B (the empty and the full lever set)
  std::vector<std::vector<double>> a, b;
  // [measure][lever][replicate * rows + row]: each replicate's Shapley value
  std::vector<std::vector<std::vector<double>>> phi;
  // [measure][lever][row]: mean over replicates and its 95% interval
  std::vector<std::vector<std::vector<double>>> phi_mean, phi_lo, phi_hi;
  // [measure][row]: B - A, mean over replicates and its 95% interval
  std::vector<std::vector<double>> total_mean, total_lo, total_hi;
};

// How many simulation runs decompose() makes (for a progress bar).
std::size_t decomposition_runs(std::size_t levers, std::int32_t replicates, const ShapleyOptions& options);

// Runs every needed lever subset of every replicate on options.threads
// threads (results identical for any count) from a.seed, and attributes B - A.
// `shapley.seed` seeds the sampled lever orders (the command line gives a.seed).
// options.per_replicate is not applied (it would reset the levers a run switches).
// With a branch, every run continues from its state (then the levers may not
// include world parameters). Throws Interrupted when cancelled, and
// std::invalid_argument when find_levers() gives an error or there is no lever.
Decomposition decompose(const Scenario& a, const Scenario& b, const Registry& registry, std::int32_t replicates,
                        const RunOptions& options, const ShapleyOptions& shapley, const State* branch_state = nullptr,
                        std::int32_t branch_terms = 0);

// The terminal table: for each measure whose B - A is not zero, B - A with its
// interval and each lever's share of it, at the end of the run.
std::string decomposition_table(const Decomposition& d);

// (Its group of the output file is written by sim/io/compare.hpp.)

}  // namespace schoolsim
