// schoolsim's validation patterns and calibration targets (docs/VALIDATION.md).
//
// Each target is a claim from the literature turned into an experiment that
// gives one number per seed: an effect in the claim's unit. Over a set of
// seeds the effect gets its mean and 95% t interval; a target passes when the
// interval lies on the claimed side of zero (a direction) and, where the
// literature gives a size, when the interval overlaps the published range.
// The same experiments run small and fast in the test suite
// (tests/test_validation.cpp) and at full size in `bash tools/dev validate`,
// which writes docs/VALIDATION.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace schoolsim::validation {

struct Size {
  double schools = 3000;  // schools in the experiment's world
  int threads = 1;
};

// How a target is judged.
enum class Claim { positive, negative, within };

struct Target {
  std::string id;          // "P1a"
  std::string claim;       // what the literature says, in a sentence
  std::string source;      // citation, with the published figure where one exists
  std::string experiment;  // what is run and what is measured
  std::string unit;
  Claim kind = Claim::positive;
  // The published (or target) range of the effect, where one exists: a
  // `within` target needs it; a direction may carry one too.
  std::optional<std::pair<double, double>> range;
  // Whether the test suite's small, fast ensemble is expected to judge this
  // target as the full one does (some need the full world's numbers of schools).
  bool fast_checks = true;
  // Runs the experiment once for one seed: the effect.
  std::function<double(std::uint64_t seed, const Size&)> run;
};

struct Estimate {
  std::vector<double> values;  // one per seed
  double mean = 0, lo = 0, hi = 0;  // 95% t interval of the mean
};

Estimate estimate(std::vector<double> values);

// Direction and size as the target claims them.
bool passes(const Target& t, const Estimate& e);

const std::vector<Target>& targets();

// Seeds kept for validation: no other test uses them.
std::vector<std::uint64_t> validation_seeds(int n);

}  // namespace schoolsim::validation
