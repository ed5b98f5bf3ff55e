// The groups of a paired file (docs/OUTPUT.md): /compare, written by
// `schoolsim compare`, and /decompose, written by `schoolsim compare
// --decompose`, with the two arms' resolved scenarios under /meta.
#pragma once

#include <string>

#include "sim/experiment/compare.hpp"
#include "sim/experiment/decompose.hpp"
#include "sim/io/output.hpp"

namespace schoolsim {

// The two arms as a paired file's /meta holds them.
struct Arms {
  std::string a_name, a_yaml;  // arm A: its name and its resolved scenario
  std::string b_name, b_yaml;  // arm B
};

// The /meta of a paired file of `kind` ("compare" or "decompose"): named
// "A vs B", with arm A's resolved scenario, seed and length.
RunMeta paired_meta(const char* kind, const Arms& arms, std::uint64_t seed, std::int32_t replicates,
                    std::int32_t years, const std::string& program_version);

// /meta/scenario_a, /meta/scenario_b and the arms' names, then /compare: for
// each system measure both arms per replicate, the mean of B - A with its 95%
// interval, and the effect size at the end; `uncertainty` says what the
// intervals include.
void write_comparison(OutputFile& file, const Arms& arms, const Comparison& c, const std::string& uncertainty);

// /meta/scenario_a, /meta/scenario_b and the arms' names, then /decompose:
// the levers, and for each measure both arms, B - A and each lever's Shapley
// value per replicate, with means and 95% intervals.
void write_decomposition(OutputFile& file, const Arms& arms, const Decomposition& d);

}  // namespace schoolsim
