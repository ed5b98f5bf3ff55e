#include "sim/measures.hpp"

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
  return between / (between + within_groups + 1.0);
}

double n_schools_in_crisis(const State& s) {
  return static_cast<double>((s.crisis > kCrisisThreshold).count());
}

double n_ties(const State& s) { return static_cast<double>(s.ties.size()); }

double mean_degree(const State& s) {
  return s.n_schools() ? 2.0 * static_cast<double>(s.ties.size()) / s.n_schools() : 0.0;
}

}  // namespace schoolsim
