#include "sim/measures.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace schoolsim {

namespace {

// Pupil weights of the two groups in each school.
struct GroupWeights {
  Eigen::ArrayXd dis, adv;
};

GroupWeights weights(const State& s) {
  const Eigen::ArrayXd n = s.pupils.cast<double>();
  return {n * s.disadvantaged, n * (1.0 - s.disadvantaged)};
}

}  // namespace

double mean_capacity(const State& s) { return s.n_schools() ? s.capacity.mean() : 0.0; }
double mean_expectations(const State& s) { return s.n_schools() ? s.expectations.mean() : 0.0; }
double mean_crisis(const State& s) { return s.n_schools() ? s.crisis.mean() : 0.0; }

double mean_attainment(const State& s) {
  const auto w = weights(s);
  const double total = w.dis.sum() + w.adv.sum();
  if (total <= 0) return 0.0;
  return ((w.dis * s.attainment_dis).sum() + (w.adv * s.attainment_adv).sum()) / total;
}

double attainment_gap(const State& s) {
  const auto w = weights(s);
  const double nd = w.dis.sum(), na = w.adv.sum();
  if (nd <= 0 || na <= 0) return 0.0;
  return (w.adv * s.attainment_adv).sum() / na - (w.dis * s.attainment_dis).sum() / nd;
}

double between_school_share(const State& s) {
  // Pupils within a school and group vary around the group mean with unit
  // variance (attainment is in pupil-SD units), so the total variance is
  // 1 + variance of the group means, weighted by pupils.
  const auto w = weights(s);
  const double total = w.dis.sum() + w.adv.sum();
  if (total <= 0) return 0.0;
  const double mean = ((w.dis * s.attainment_dis).sum() + (w.adv * s.attainment_adv).sum()) / total;
  const Eigen::ArrayXd school_mean =
      (w.dis * s.attainment_dis + w.adv * s.attainment_adv) / (w.dis + w.adv).max(1e-12);
  const Eigen::ArrayXd n = w.dis + w.adv;
  const double between = (n * (school_mean - mean).square()).sum() / total;
  // Group differences inside a school are part of the within-school variance.
  const double within_groups =
      ((w.dis * (s.attainment_dis - school_mean).square()).sum() +
       (w.adv * (s.attainment_adv - school_mean).square()).sum()) /
      total;
  return between / (between + within_groups + kWithinGroupVariance);
}

double school_sd(const State& s) {
  const auto w = weights(s);
  const Eigen::ArrayXd n = w.dis + w.adv;
  const double total = n.sum();
  if (total <= 0) return 0.0;
  const Eigen::ArrayXd m = (w.dis * s.attainment_dis + w.adv * s.attainment_adv) / n.max(1e-12);
  const double mean = (n * m).sum() / total;
  return std::sqrt((n * (m - mean).square()).sum() / total);
}

double total_pupils(const State& s) { return static_cast<double>(s.pupils.cast<double>().sum()); }

double dissimilarity(const State& s) {
  // Schools of an area are a contiguous block of indices.
  const std::int32_t n = s.n_schools();
  double weighted = 0, all = 0;
  for (std::int32_t first = 0; first < n;) {
    std::int32_t last = first;
    while (last < n && s.area[last] == s.area[first]) ++last;
    for (int phase = 0; phase < 2; ++phase) {
      double dis = 0, adv = 0;
      for (std::int32_t i = first; i < last; ++i)
        if (s.phase[i] == phase) {
          dis += s.pupils[i] * s.disadvantaged[i];
          adv += s.pupils[i] * (1 - s.disadvantaged[i]);
        }
      if (dis <= 0 || adv <= 0) continue;
      double d = 0;
      for (std::int32_t i = first; i < last; ++i)
        if (s.phase[i] == phase)
          d += std::abs(s.pupils[i] * s.disadvantaged[i] / dis - s.pupils[i] * (1 - s.disadvantaged[i]) / adv);
      weighted += 0.5 * d * (dis + adv);
      all += dis + adv;
    }
    first = last;
  }
  return all > 0 ? weighted / all : 0.0;
}

double enrolment_gini(const State& s) {
  const std::int32_t n = s.n_schools();
  if (n == 0) return 0.0;
  std::vector<double> occ(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i)
    occ[static_cast<std::size_t>(i)] = s.places[i] > 0 ? static_cast<double>(s.pupils[i]) / s.places[i] : 0.0;
  std::sort(occ.begin(), occ.end());
  double cum = 0, sum = 0;
  for (std::size_t i = 0; i < occ.size(); ++i) {
    cum += (2.0 * static_cast<double>(i + 1) - static_cast<double>(n) - 1.0) * occ[i];
    sum += occ[i];
  }
  return sum > 0 ? cum / (static_cast<double>(n) * sum) : 0.0;
}

double n_challenging(const State& s) {
  const double mean = mean_attainment(s);
  double count = 0;
  for (std::int32_t i = 0; i < s.n_schools(); ++i) {
    const double d = s.disadvantaged[i];
    const double m = d * s.attainment_dis[i] + (1 - d) * s.attainment_adv[i];
    count += (d >= kChallengingDisadvantaged || m - mean <= kChallengingResult) ? 1 : 0;
  }
  return count;
}

double n_schools_in_crisis(const State& s) {
  return static_cast<double>((s.crisis > kCrisisThreshold).count());
}

double n_ties(const State& s) { return static_cast<double>(s.ties.size()); }

double mean_degree(const State& s) {
  return s.n_schools() ? 2.0 * static_cast<double>(s.ties.size()) / s.n_schools() : 0.0;
}

}  // namespace schoolsim
