#include "sim/experiment/design.hpp"

#include <boost/random/uniform_int_distribution.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <system_error>

#include "sim/rng.hpp"

namespace schoolsim::experiment {

namespace {

constexpr std::uint32_t kLhsKey = stream_key("experiment.latin_hypercube");
constexpr std::uint32_t kSaltelliKey = stream_key("experiment.saltelli");
constexpr std::uint32_t kMorrisKey = stream_key("experiment.morris");

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// Uniform random permutation of 0..n-1 (Fisher-Yates).
std::vector<int> permutation(int n, Stream& rng) {
  std::vector<int> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int i = n - 1; i > 0; --i) {
    boost::random::uniform_int_distribution<int> pick(0, i);
    std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(pick(rng))]);
  }
  return p;
}

// Column j draws from its own stream, keyed by the design's key.
Eigen::MatrixXd lhs(int n, int d, std::uint64_t seed, std::uint32_t key) {
  const Streams streams(seed, 0);
  Eigen::MatrixXd x(n, d);
  for (int j = 0; j < d; ++j) {
    Stream rng = streams.stream(key, 0, static_cast<std::uint64_t>(j));
    const std::vector<int> stratum = permutation(n, rng);
    for (int i = 0; i < n; ++i) {
      const int k = stratum[static_cast<std::size_t>(i)];
      double v = (k + rng.uniform()) / n;
      // Rounding can put v on a neighbouring stratum's edge; step back inside
      // so that floor(v * n) == k holds exactly.
      while (std::floor(v * n) > k) v = std::nextafter(v, 0.0);
      while (std::floor(v * n) < k) v = std::nextafter(v, 1.0);
      x(i, j) = v;
    }
  }
  return x;
}

void append_double(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  if (r.ec != std::errc()) throw std::runtime_error("to_chars failed");
  out.append(buf, r.ptr);
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

Eigen::MatrixXd full_factorial(const std::vector<int>& levels) {
  require(!levels.empty(), "full_factorial: needs at least one factor");
  std::int64_t rows = 1;
  for (std::size_t j = 0; j < levels.size(); ++j) {
    require(levels[j] >= 1, "full_factorial: factor " + std::to_string(j) + " has " +
                                std::to_string(levels[j]) + " levels; needs at least 1");
    rows *= levels[j];
    require(rows <= std::numeric_limits<int>::max(), "full_factorial: too many combinations");
  }
  const auto d = static_cast<Eigen::Index>(levels.size());
  Eigen::MatrixXd x(rows, d);
  std::vector<int> k(levels.size(), 0);  // mixed-radix counter, last digit fastest
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const int n_levels = levels[static_cast<std::size_t>(j)];
      x(r, j) = n_levels == 1 ? 0.5 : static_cast<double>(k[static_cast<std::size_t>(j)]) / (n_levels - 1);
    }
    for (auto j = static_cast<std::ptrdiff_t>(levels.size()) - 1; j >= 0; --j) {
      const auto u = static_cast<std::size_t>(j);
      if (++k[u] < levels[u]) break;
      k[u] = 0;
    }
  }
  return x;
}

Eigen::MatrixXd latin_hypercube(int n, int d, std::uint64_t seed) {
  require(n >= 1, "latin_hypercube: n must be at least 1, got " + std::to_string(n));
  require(d >= 1, "latin_hypercube: d must be at least 1, got " + std::to_string(d));
  return lhs(n, d, seed, kLhsKey);
}

double morris_delta(int levels) {
  require(levels >= 2 && levels % 2 == 0,
          "morris: the number of levels must be even and at least 2, got " + std::to_string(levels));
  return levels / (2.0 * (levels - 1));
}

MorrisDesign morris_design(int trajectories, int d, int levels, std::uint64_t seed) {
  require(trajectories >= 1,
          "morris_design: trajectories must be at least 1, got " + std::to_string(trajectories));
  require(d >= 1, "morris_design: d must be at least 1, got " + std::to_string(d));
  morris_delta(levels);  // validates levels
  // Grid level indices: a base level in 0..p/2-1 and the step of p/2 levels
  // (delta = (p/2)/(p-1)) keep both values of a factor on the grid.
  const int half = levels / 2;
  const double step = 1.0 / (levels - 1);
  const Streams streams(seed, 0);
  MorrisDesign out{Eigen::MatrixXd(static_cast<Eigen::Index>(trajectories) * (d + 1), d), trajectories,
                   levels};
  boost::random::uniform_int_distribution<int> base_level(0, half - 1), coin(0, 1);
  for (int t = 0; t < trajectories; ++t) {
    Stream rng = streams.stream(kMorrisKey, 0, static_cast<std::uint64_t>(t));
    // Morris (1991): random base point x*, random directions D*, random order P*.
    std::vector<int> lo(static_cast<std::size_t>(d)), up(static_cast<std::size_t>(d));
    for (int j = 0; j < d; ++j) lo[static_cast<std::size_t>(j)] = base_level(rng);
    for (int j = 0; j < d; ++j) up[static_cast<std::size_t>(j)] = coin(rng);
    const std::vector<int> order = permutation(d, rng);
    std::vector<int> level(static_cast<std::size_t>(d));
    for (std::size_t j = 0; j < level.size(); ++j) level[j] = lo[j] + (up[j] ? 0 : half);
    const Eigen::Index first = static_cast<Eigen::Index>(t) * (d + 1);
    for (int r = 0; r <= d; ++r) {
      if (r > 0) {
        const auto j = static_cast<std::size_t>(order[static_cast<std::size_t>(r - 1)]);
        level[j] += up[j] ? half : -half;
      }
      for (int j = 0; j < d; ++j) out.points(first + r, j) = level[static_cast<std::size_t>(j)] * step;
    }
  }
  return out;
}

SaltelliDesign saltelli_design(int n, int d, std::uint64_t seed) {
  require(n >= 1, "saltelli_design: n must be at least 1, got " + std::to_string(n));
  require(d >= 1, "saltelli_design: d must be at least 1, got " + std::to_string(d));
  const Eigen::MatrixXd base = lhs(n, 2 * d, seed, kSaltelliKey);  // [A | B]
  SaltelliDesign out{Eigen::MatrixXd(static_cast<Eigen::Index>(n) * (d + 2), d), n, d};
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index r = i * (d + 2);
    out.points.row(r) = base.row(i).head(d);
    for (Eigen::Index j = 0; j < d; ++j) {
      out.points.row(r + 1 + j) = base.row(i).head(d);
      out.points(r + 1 + j, j) = base(i, d + j);
    }
    out.points.row(r + d + 1) = base.row(i).tail(d);
  }
  return out;
}

std::string to_salib_problem(const std::vector<std::string>& names, const Eigen::VectorXd& lo,
                             const Eigen::VectorXd& hi) {
  const auto d = static_cast<Eigen::Index>(names.size());
  require(d >= 1, "to_salib_problem: needs at least one parameter");
  require(lo.size() == d && hi.size() == d,
          "to_salib_problem: " + std::to_string(d) + " names but " + std::to_string(lo.size()) +
              " lower and " + std::to_string(hi.size()) + " upper bounds");
  for (Eigen::Index j = 0; j < d; ++j) {
    require(std::isfinite(lo(j)) && std::isfinite(hi(j)) && lo(j) < hi(j),
            "to_salib_problem: parameter '" + names[static_cast<std::size_t>(j)] +
                "' needs finite bounds with lower < upper");
  }
  std::string out = "{\"num_vars\": " + std::to_string(d) + ", \"names\": [";
  for (Eigen::Index j = 0; j < d; ++j) {
    if (j) out += ", ";
    append_json_string(out, names[static_cast<std::size_t>(j)]);
  }
  out += "], \"bounds\": [";
  for (Eigen::Index j = 0; j < d; ++j) {
    out += j ? ", [" : "[";
    append_double(out, lo(j));
    out += ", ";
    append_double(out, hi(j));
    out += ']';
  }
  out += "]}";
  return out;
}

std::string to_text_matrix(const Eigen::MatrixXd& m) {
  std::string out;
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      if (j) out += ' ';
      append_double(out, m(i, j));
    }
    out += '\n';
  }
  return out;
}

}  // namespace schoolsim::experiment
