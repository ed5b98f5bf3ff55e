// Experimental designs over d parameters, as points in the unit hypercube
// [0,1]^d with one row per run; the caller scales each column to its range.
// Random designs draw from keyed streams (sim/rng.hpp), so a seed gives the
// same design on every machine. Invalid arguments throw std::invalid_argument.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace schoolsim::experiment {

// Every combination of the factors' levels, the last factor varying fastest.
// A factor with L levels takes the values k/(L-1), k = 0..L-1 (0.5 if L == 1).
Eigen::MatrixXd full_factorial(const std::vector<int>& levels);

// Latin hypercube (McKay et al. 1979): n points in d dimensions with exactly
// one point in each stratum [k/n, (k+1)/n) of every dimension, strata randomly
// paired across dimensions and each point uniform within its stratum.
Eigen::MatrixXd latin_hypercube(int n, int d, std::uint64_t seed);

// Morris (1991) one-at-a-time trajectories on the p-level grid {k/(p-1)}.
// Trajectory t is rows t(d+1) .. t(d+1)+d; each row after its first changes
// one factor by +-delta, delta = p / (2(p-1)), each factor exactly once, in a
// random order and direction (SALib's morris.sample layout). p must be even.
struct MorrisDesign {
  Eigen::MatrixXd points;  // trajectories * (d+1) rows, d columns
  int trajectories = 0;
  int levels = 0;
};
MorrisDesign morris_design(int trajectories, int d, int levels, std::uint64_t seed);

// Step of a Morris design with p levels: p / (2(p-1)).
double morris_delta(int levels);

// Saltelli (2002, 2010) design for first-order and total Sobol' indices. Base
// matrices A and B (n x d each) are the two halves of an n x 2d Latin
// hypercube, so they are independent. For each base row i, d+2 consecutive rows
// [A_i, AB_i^(1), ..., AB_i^(d), B_i], where AB^(j) is A with column j taken
// from B: SALib's saltelli.sample(..., calc_second_order=False) layout.
struct SaltelliDesign {
  Eigen::MatrixXd points;  // n * (d+2) rows, d columns
  int n = 0;
  int d = 0;
};
SaltelliDesign saltelli_design(int n, int d, std::uint64_t seed);

// The SALib problem definition as written in Python/JSON:
// {"num_vars": d, "names": ["a", ...], "bounds": [[lo, hi], ...]}.
// Needs one name per bound and finite lo < hi.
std::string to_salib_problem(const std::vector<std::string>& names, const Eigen::VectorXd& lo,
                             const Eigen::VectorXd& hi);

// One line per row, values separated by single spaces, each printed in the
// shortest form that reads back to the same double (numpy.loadtxt reads it).
std::string to_text_matrix(const Eigen::MatrixXd& m);

}  // namespace schoolsim::experiment
