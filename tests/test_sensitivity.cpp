#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <numbers>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/experiment/design.hpp"
#include "sim/experiment/sensitivity.hpp"

using namespace schoolsim::experiment;

namespace {

bool on_grid(double v, int levels) {
  const double k = v * (levels - 1);
  return v >= 0 && v <= 1 && std::abs(k - std::round(k)) < 1e-12;
}

}  // namespace

TEST_CASE("full factorial: every combination with the last factor fastest") {
  const Eigen::MatrixXd x = full_factorial({2, 3, 1});
  REQUIRE(x.rows() == 6);
  REQUIRE(x.cols() == 3);
  Eigen::MatrixXd expected(6, 3);
  expected << 0, 0, 0.5,  //
      0, 0.5, 0.5,        //
      0, 1, 0.5,          //
      1, 0, 0.5,          //
      1, 0.5, 0.5,        //
      1, 1, 0.5;
  CHECK(x == expected);
  const Eigen::MatrixXd y = full_factorial({4});
  CHECK(y(1, 0) == 1.0 / 3);
  CHECK(y(3, 0) == 1.0);
  CHECK_THROWS_AS(full_factorial({}), std::invalid_argument);
  CHECK_THROWS_AS(full_factorial({3, 0}), std::invalid_argument);
}

TEST_CASE("latin hypercube: one point per stratum and reproducible for a seed") {
  for (const int n : {1, 7, 49, 100}) {
    const Eigen::MatrixXd x = latin_hypercube(n, 4, 11);
    REQUIRE(x.rows() == n);
    REQUIRE(x.cols() == 4);
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      std::set<int> strata;
      for (Eigen::Index i = 0; i < n; ++i) {
        CHECK(x(i, j) >= 0);
        CHECK(x(i, j) < 1);
        strata.insert(static_cast<int>(std::floor(x(i, j) * n)));
      }
      CHECK(strata.size() == static_cast<std::size_t>(n));
      CHECK(*strata.begin() == 0);
      CHECK(*strata.rbegin() == n - 1);
    }
  }
  CHECK(latin_hypercube(20, 3, 5) == latin_hypercube(20, 3, 5));
  CHECK(latin_hypercube(20, 3, 5) != latin_hypercube(20, 3, 6));
  // Columns are paired at random, not in the same order.
  const Eigen::MatrixXd x = latin_hypercube(20, 2, 5);
  CHECK((x.col(0).array() * 20).floor().matrix() != (x.col(1).array() * 20).floor().matrix());
  CHECK_THROWS_AS(latin_hypercube(0, 2, 1), std::invalid_argument);
}

TEST_CASE("morris design: trajectories step one factor by delta on the grid") {
  const int r = 10, d = 5, p = 4;
  const double delta = morris_delta(p);
  CHECK(delta == doctest::Approx(2.0 / 3));
  const MorrisDesign m = morris_design(r, d, p, 3);
  REQUIRE(m.points.rows() == r * (d + 1));
  REQUIRE(m.points.cols() == d);
  CHECK(m.trajectories == r);
  CHECK(m.levels == p);
  for (Eigen::Index i = 0; i < m.points.rows(); ++i)
    for (Eigen::Index j = 0; j < d; ++j) CHECK(on_grid(m.points(i, j), p));
  for (int t = 0; t < r; ++t) {
    std::set<Eigen::Index> moved;
    for (int k = 0; k < d; ++k) {
      const Eigen::Index row = t * (d + 1) + k;
      const Eigen::RowVectorXd step = m.points.row(row + 1) - m.points.row(row);
      int changed = 0;
      for (Eigen::Index j = 0; j < d; ++j)
        if (step(j) != 0) {
          ++changed;
          moved.insert(j);
          CHECK(std::abs(step(j)) == doctest::Approx(delta).epsilon(1e-12));
        }
      CHECK(changed == 1);
    }
    CHECK(moved.size() == static_cast<std::size_t>(d));
  }
  CHECK(morris_design(r, d, p, 3).points == m.points);
  CHECK(morris_design(r, d, p, 4).points != m.points);
  CHECK_THROWS_AS(morris_design(r, d, 3, 1), std::invalid_argument);
  CHECK_THROWS_AS(morris_design(0, d, 4, 1), std::invalid_argument);
}

TEST_CASE("saltelli design: blocks of A then AB_j then B") {
  const int n = 16, d = 3;
  const SaltelliDesign s = saltelli_design(n, d, 9);
  REQUIRE(s.points.rows() == n * (d + 2));
  REQUIRE(s.points.cols() == d);
  CHECK(s.n == n);
  CHECK(s.d == d);
  Eigen::MatrixXd a(n, d), b(n, d);
  for (int i = 0; i < n; ++i) {
    const Eigen::Index r = i * (d + 2);
    a.row(i) = s.points.row(r);
    b.row(i) = s.points.row(r + d + 1);
    for (int j = 0; j < d; ++j) {
      Eigen::RowVectorXd expected = a.row(i);
      expected(j) = b(i, j);
      CHECK(s.points.row(r + 1 + j) == expected);
    }
  }
  // A and B are independent draws, each a Latin hypercube.
  CHECK((a - b).cwiseAbs().minCoeff() > 0);
  for (const Eigen::MatrixXd* m : {&a, &b})
    for (int j = 0; j < d; ++j) {
      std::set<int> strata;
      for (int i = 0; i < n; ++i) strata.insert(static_cast<int>(std::floor((*m)(i, j) * n)));
      CHECK(strata.size() == static_cast<std::size_t>(n));
    }
  CHECK(saltelli_design(n, d, 9).points == s.points);
  CHECK(saltelli_design(n, d, 10).points != s.points);
}

TEST_CASE("morris indices: a linear function has mu_star equal to the coefficients and no spread") {
  const Eigen::Vector4d c(2.0, -3.0, 0.5, 0.0);
  const MorrisDesign m = morris_design(12, 4, 6, 21);
  const Eigen::VectorXd y = m.points * c;
  const MorrisIndices mi = morris_indices(m, y);
  for (int j = 0; j < 4; ++j) {
    CHECK(mi.mu(j) == doctest::Approx(c(j)).epsilon(1e-12));
    CHECK(mi.mu_star(j) == doctest::Approx(std::abs(c(j))).epsilon(1e-12));
    CHECK(mi.sigma(j) == doctest::Approx(0.0).epsilon(1e-12));
  }
}

TEST_CASE("morris indices: an interaction shows in sigma and validation catches mismatches") {
  const MorrisDesign m = morris_design(20, 3, 4, 2);
  Eigen::VectorXd y(m.points.rows());
  for (Eigen::Index i = 0; i < y.size(); ++i) y(i) = m.points(i, 0) * m.points(i, 1) + m.points(i, 2);
  const MorrisIndices mi = morris_indices(m, y);
  CHECK(mi.sigma(0) > 0.1);
  CHECK(mi.sigma(1) > 0.1);
  CHECK(mi.sigma(2) == doctest::Approx(0.0).epsilon(1e-12));
  CHECK(mi.mu_star(2) == doctest::Approx(1.0));

  CHECK_THROWS_AS(morris_indices(m, y.head(y.size() - 1)), std::invalid_argument);
  MorrisDesign bad = m;
  bad.points.row(1) = bad.points.row(0);  // row 1 changes no factor
  CHECK_THROWS_AS(morris_indices(bad, y), std::invalid_argument);
  bad.points(1, 0) += 0.25;  // now two
  bad.points(1, 1) += 0.25;
  CHECK_THROWS_AS(morris_indices(bad, y), std::invalid_argument);
  Eigen::VectorXd nan_y = y;
  nan_y(3) = std::nan("");
  CHECK_THROWS_AS(morris_indices(m, nan_y), std::invalid_argument);
}

TEST_CASE("sobol indices: Ishigami function against the analytic values") {
  // Ishigami and Homma (1990), a = 7, b = 0.1, x uniform on [-pi, pi]^3.
  const double a = 7, b = 0.1, pi = std::numbers::pi;
  const int n = 8192, d = 3;
  const SaltelliDesign s = saltelli_design(n, d, 2024);
  Eigen::VectorXd y(s.points.rows());
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const Eigen::Array3d x = -pi + 2 * pi * s.points.row(i).transpose().array();
    y(i) = std::sin(x(0)) + a * std::pow(std::sin(x(1)), 2) + b * std::pow(x(2), 4) * std::sin(x(0));
  }
  const SobolIndices si = sobol_indices(s, y, 500, 0.95, 7);

  const double first[] = {0.3139, 0.4424, 0.0};
  const double total[] = {0.5576, 0.4424, 0.2437};
  // Absolute, on each index. At n = 8192 the standard error of the first-order
  // estimate is about 0.015: 0.03 fails for about 5 seeds in 100, 0.05 for none.
  const double tolerance = 0.05;
  for (int j = 0; j < d; ++j) {
    std::ostringstream msg;
    msg << "x" << j + 1 << ": S1 = " << si.first(j) << " [" << si.first_lo(j) << ", " << si.first_hi(j)
        << "] (analytic " << first[j] << "), ST = " << si.total(j) << " [" << si.total_lo(j) << ", "
        << si.total_hi(j) << "] (analytic " << total[j] << ")";
    MESSAGE(msg.str());
    CHECK(std::abs(si.first(j) - first[j]) < tolerance);
    CHECK(std::abs(si.total(j) - total[j]) < tolerance);
    CHECK(si.first_lo(j) <= si.first(j));
    CHECK(si.first(j) <= si.first_hi(j));
    CHECK(si.total_lo(j) <= si.total(j));
    CHECK(si.total(j) <= si.total_hi(j));
    CHECK(si.first_hi(j) - si.first_lo(j) < 0.2);
    CHECK(si.total_hi(j) - si.total_lo(j) < 0.2);
  }

  // Same seed, same intervals; sizes are checked.
  const SobolIndices again = sobol_indices(s, y, 500, 0.95, 7);
  CHECK(again.first_lo == si.first_lo);
  CHECK(again.total_hi == si.total_hi);
  CHECK_THROWS_AS(sobol_indices(s, y.head(y.size() - 1), 10, 0.95, 1), std::invalid_argument);
  CHECK_THROWS_AS(sobol_indices(s, y, 10, 1.5, 1), std::invalid_argument);
  SaltelliDesign wrong = s;
  wrong.d = 2;
  CHECK_THROWS_AS(sobol_indices(wrong, y, 10, 0.95, 1), std::invalid_argument);
  // No bootstrap: NaN intervals.
  const SobolIndices plain = sobol_indices(s, y, 0, 0.95, 1);
  CHECK(plain.first == si.first);
  CHECK(std::isnan(plain.first_lo(0)));
}

TEST_CASE("text matrix round-trips exactly and the SALib problem is written as in Python") {
  Eigen::MatrixXd m = latin_hypercube(5, 3, 1);
  m(0, 0) = 1.0 / 3;
  m(1, 1) = -1e-300;
  m(2, 2) = 123456789.123456789;
  m(3, 0) = 0.1 + 0.2;
  m(4, 1) = 0;
  const std::string text = to_text_matrix(m);
  std::istringstream in(text);
  std::string line;
  Eigen::Index i = 0;
  while (std::getline(in, line)) {
    REQUIRE(i < m.rows());
    std::istringstream row(line);
    std::string token;
    Eigen::Index j = 0;
    while (row >> token) {
      REQUIRE(j < m.cols());
      CHECK(std::strtod(token.c_str(), nullptr) == m(i, j));
      ++j;
    }
    CHECK(j == m.cols());
    ++i;
  }
  CHECK(i == m.rows());

  const std::string problem =
      to_salib_problem({"alpha", "b\"eta"}, Eigen::Vector2d(0, -1.5), Eigen::Vector2d(1, 2.25));
  CHECK(problem == R"({"num_vars": 2, "names": ["alpha", "b\"eta"], "bounds": [[0, 1], [-1.5, 2.25]]})");
  CHECK_THROWS_AS(to_salib_problem({"a"}, Eigen::Vector2d(0, 0), Eigen::Vector2d(1, 1)),
                  std::invalid_argument);
  CHECK_THROWS_AS(to_salib_problem({"a"}, Eigen::VectorXd::Constant(1, 1.0), Eigen::VectorXd::Constant(1, 0.0)),
                  std::invalid_argument);
}

TEST_CASE("sobol indices: an output with a large offset gives the same indices (Ishigami + 1000)") {
  // The first-order estimator works on centred output: f(B) uncentred adds
  // 1000 * mean(f(AB_j) - f(A)), zero only on average, which at n = 1024 moves
  // S1 by several units (a standard error of about 8). Centred, the offset cancels to rounding.
  const double a = 7, b = 0.1, pi = std::numbers::pi;
  const int n = 1024, d = 3;
  const SaltelliDesign s = saltelli_design(n, d, 11);
  Eigen::VectorXd y(s.points.rows());
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const Eigen::Array3d x = -pi + 2 * pi * s.points.row(i).transpose().array();
    y(i) = std::sin(x(0)) + a * std::pow(std::sin(x(1)), 2) + b * std::pow(x(2), 4) * std::sin(x(0));
  }
  const Eigen::VectorXd shifted = y.array() + 1000.0;
  const SobolIndices plain = sobol_indices(s, y, 200, 0.95, 3);
  const SobolIndices offset = sobol_indices(s, shifted, 200, 0.95, 3);
  const double first[] = {0.3139, 0.4424, 0.0};
  const double total[] = {0.5576, 0.4424, 0.2437};
  for (int j = 0; j < d; ++j) {
    CAPTURE(j);
    // The same indices and intervals, to rounding (y + 1000 keeps about 13 of y's 16 digits).
    CHECK(std::abs(offset.first(j) - plain.first(j)) < 1e-9);
    CHECK(std::abs(offset.total(j) - plain.total(j)) < 1e-9);
    CHECK(std::abs(offset.first_lo(j) - plain.first_lo(j)) < 1e-9);
    CHECK(std::abs(offset.first_hi(j) - plain.first_hi(j)) < 1e-9);
    CHECK(std::abs(offset.total_hi(j) - plain.total_hi(j)) < 1e-9);
    // Both near the analytic values: at n = 1024, with random points, the
    // standard errors are about 0.03 (first order) and up to 0.045 (total);
    // uncentred, the first-order one is about 8.
    CHECK(std::abs(offset.first(j) - first[j]) < 0.12);
    CHECK(std::abs(plain.first(j) - first[j]) < 0.12);
    CHECK(std::abs(offset.total(j) - total[j]) < 0.15);
    CHECK(offset.first_hi(j) - offset.first_lo(j) < 0.5);
  }
}
