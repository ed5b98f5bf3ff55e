#include "sim/measures.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include <utility>

#include "sim/parallel.hpp"

namespace schoolsim {

MeasureInputs::MeasureInputs(const State& s, const Team* t) : team(t) {
  // Side by side on the team: the sum of trust, a floating-point one, in slot
  // order by one member (the first task, so that it starts first); the pupil
  // columns and mean result by another (whole-array expressions, as one
  // thread computes them); and the counts of ties, whole numbers, chunk by
  // chunk, added in chunk order afterwards.
  struct Counts {
    std::array<std::size_t, kTieKindNames.size()> kind{};
    std::size_t bridging = 0;
    double after_funding = 0;
  };
  const std::size_t bound = s.ties.slot_bound(), chunk = 4096;
  std::vector<Counts> parts(chunk_count(bound, chunk));
  constexpr std::size_t kFirstCount = 2;
  (t ? *t : lone_team()).for_chunks(parts.size() + kFirstCount, 1, [&](std::int32_t, std::size_t task, std::size_t) {
    if (task == 0) {
      double sum = 0;
      s.ties.for_each([&](TieStore::Slot k) { sum += s.ties.trust[k]; });
      trust = sum;
      return;
    }
    if (task == 1) {
      const Eigen::ArrayXd n = s.pupils.cast<double>();
      dis = n * s.disadvantaged;
      adv = n * (1.0 - s.disadvantaged);
      const double total = dis.sum() + adv.sum();
      mean_attainment =
          total <= 0 ? 0.0 : ((dis * s.attainment_dis).sum() + (adv * s.attainment_adv).sum()) / total;
      return;
    }
    const std::size_t begin = (task - kFirstCount) * chunk, end = std::min(bound, begin + chunk);
    Counts& c = parts[task - kFirstCount];
    for (auto k = static_cast<TieStore::Slot>(begin); k < end; ++k) {
      if (!s.ties.alive[k]) continue;
      const TieKind k_kind = s.ties.kind[k];
      ++c.kind[static_cast<std::size_t>(k_kind)];
      c.bridging += schoolsim::bridging(s, s.ties.a[k], s.ties.b[k]) ? 1 : 0;
      const std::int32_t net = s.ties.network[k];
      if (k_kind == TieKind::programme && net >= 0 &&
          s.networks.funded_until_term[static_cast<std::size_t>(net)] <= s.terms_done)
        c.after_funding += 1;
    }
  });
  for (const Counts& c : parts) {
    for (std::size_t k = 0; k < kind.size(); ++k) kind[k] += c.kind[k];
    bridging += c.bridging;
    after_funding += c.after_funding;
  }
}

// The named measures of the header: each the table's one implementation.
double mean_attainment(const State& s) { return system_measure::mean_attainment(s, MeasureInputs(s)); }
double attainment_gap(const State& s) { return system_measure::attainment_gap(s, MeasureInputs(s)); }
double between_school_share(const State& s) { return system_measure::between_school_share(s, MeasureInputs(s)); }
double school_sd(const State& s) { return system_measure::school_sd(s, MeasureInputs(s)); }
double n_challenging(const State& s) { return system_measure::n_challenging(s, MeasureInputs(s)); }
double ties_voluntary(const State& s) { return system_measure::ties_voluntary(s, MeasureInputs(s)); }
double ties_programme(const State& s) { return system_measure::ties_programme(s, MeasureInputs(s)); }
double ties_federation(const State& s) { return system_measure::ties_federation(s, MeasureInputs(s)); }
double ties_movement(const State& s) { return system_measure::ties_movement(s, MeasureInputs(s)); }
double ties_after_funding(const State& s) { return system_measure::ties_after_funding(s, MeasureInputs(s)); }
double mean_trust(const State& s) { return system_measure::mean_trust(s, MeasureInputs(s)); }
double bridging_share(const State& s) { return system_measure::bridging_share(s, MeasureInputs(s)); }
double bonding_share(const State& s) { return system_measure::bonding_share(s, MeasureInputs(s)); }

std::string_view brief_meaning(std::string_view measure) {
  static constexpr std::pair<std::string_view, std::string_view> kBrief[] = {
      {"mean_capacity", "mean professional capacity"},
      {"mean_expectations", "mean staff expectations"},
      {"mean_crisis", "mean crisis severity"},
      {"mean_attainment", "mean attainment of all pupils"},
      {"attainment_gap", "advantaged minus disadvantaged"},
      {"between_school_share", "variance share between schools"},
      {"school_sd", "SD of school mean attainment"},
      {"dissimilarity", "segregation of disadvantaged"},
      {"enrolment_gini", "inequality of occupancy (Gini)"},
      {"n_challenging", "schools in challenging circumstances"},
      {"n_schools_in_crisis", "schools in crisis (severity > 0.5)"},
      {"pupils", "pupils enrolled"},
      {"nearest_school_share", "entrants at their nearest school"},
      {"n_ties", "collaboration ties"},
      {"mean_degree", "mean ties of a school"},
      {"density", "share of school pairs tied"},
      {"clustering", "partners who are partners"},
      {"components", "separate groups of tied schools"},
      {"isolates", "schools without a tie"},
      {"bridging_share", "ties across areas or phases"},
      {"bonding_share", "ties within area and phase"},
      {"centralisation", "ties concentrated on a hub"},
      {"ties_voluntary", "ties schools chose"},
      {"ties_programme", "ties a programme formed"},
      {"ties_federation", "federation or support ties"},
      {"ties_movement", "ties of the equity movement"},
      {"ties_after_funding", "programme ties after funding"},
      {"mean_trust", "mean trust over ties"},
  };
  for (const auto& [name, brief] : kBrief)
    if (name == measure) return brief;
  for (const auto& m : kSystemMeasures)
    if (m.name == measure) return m.meaning;
  return {};
}

double mean_capacity(const State& s) { return s.n_schools() ? s.capacity.mean() : 0.0; }
double mean_expectations(const State& s) { return s.n_schools() ? s.expectations.mean() : 0.0; }
double mean_crisis(const State& s) { return s.n_schools() ? s.crisis.mean() : 0.0; }

namespace system_measure {

double mean_attainment(const State&, const MeasureInputs& in) { return in.mean_attainment; }

double attainment_gap(const State& s, const MeasureInputs& in) {
  const double nd = in.dis.sum(), na = in.adv.sum();
  if (nd <= 0 || na <= 0) return 0.0;
  return (in.adv * s.attainment_adv).sum() / na - (in.dis * s.attainment_dis).sum() / nd;
}

double between_school_share(const State& s, const MeasureInputs& in) {
  // Pupils within a school and group vary around the group mean with unit
  // variance (attainment is in pupil-SD units), so the total variance is
  // 1 + variance of the group means, weighted by pupils.
  const Eigen::ArrayXd &dis = in.dis, &adv = in.adv;
  const double total = dis.sum() + adv.sum();
  if (total <= 0) return 0.0;
  const double mean = ((dis * s.attainment_dis).sum() + (adv * s.attainment_adv).sum()) / total;
  const Eigen::ArrayXd school_mean = (dis * s.attainment_dis + adv * s.attainment_adv) / (dis + adv).max(1e-12);
  const Eigen::ArrayXd n = dis + adv;
  const double between = (n * (school_mean - mean).square()).sum() / total;
  // Group differences inside a school are part of the within-school variance.
  const double within_groups =
      ((dis * (s.attainment_dis - school_mean).square()).sum() + (adv * (s.attainment_adv - school_mean).square()).sum()) /
      total;
  return between / (between + within_groups + kWithinGroupVariance);
}

double school_sd(const State& s, const MeasureInputs& in) {
  const Eigen::ArrayXd n = in.dis + in.adv;
  const double total = n.sum();
  if (total <= 0) return 0.0;
  const Eigen::ArrayXd m = (in.dis * s.attainment_dis + in.adv * s.attainment_adv) / n.max(1e-12);
  const double mean = (n * m).sum() / total;
  return std::sqrt((n * (m - mean).square()).sum() / total);
}

double n_challenging(const State& s, const MeasureInputs& in) {
  double count = 0;
  for (std::int32_t i = 0; i < s.n_schools(); ++i) {
    const double m = school_result(s, i);
    count += (s.disadvantaged[i] >= kChallengingDisadvantaged || m - in.mean_attainment <= kChallengingResult) ? 1 : 0;
  }
  return count;
}

namespace {
double ties_of_kind(const MeasureInputs& in, TieKind k) { return static_cast<double>(in.kind[static_cast<std::size_t>(k)]); }
}  // namespace
double ties_voluntary(const State&, const MeasureInputs& in) { return ties_of_kind(in, TieKind::voluntary); }
double ties_programme(const State&, const MeasureInputs& in) { return ties_of_kind(in, TieKind::programme); }
double ties_federation(const State&, const MeasureInputs& in) { return ties_of_kind(in, TieKind::federation); }
double ties_movement(const State&, const MeasureInputs& in) { return ties_of_kind(in, TieKind::movement); }
double ties_after_funding(const State&, const MeasureInputs& in) { return in.after_funding; }

double mean_trust(const State& s, const MeasureInputs& in) {
  return s.ties.size() ? in.trust / static_cast<double>(s.ties.size()) : 0.0;
}

double bridging_share(const State& s, const MeasureInputs& in) {
  return s.ties.size() == 0 ? 0.0 : static_cast<double>(in.bridging) / static_cast<double>(s.ties.size());
}

double bonding_share(const State& s, const MeasureInputs& in) {
  return s.ties.size() == 0 ? 0.0 : 1.0 - bridging_share(s, in);
}

}  // namespace system_measure

double total_pupils(const State& s) { return static_cast<double>(s.pupils.cast<double>().sum()); }

double nearest_school_share(const State& s) {
  const double all = s.entrants.cast<double>().sum();
  return all > 0 ? s.entrants_home.cast<double>().sum() / all : 0.0;
}

double dissimilarity(const State& s) {
  // Schools of an area are a contiguous block of indices.
  const std::int32_t n = s.n_schools();
  double weighted = 0, all = 0;
  for (std::int32_t first = 0; first < n;) {
    std::int32_t last = first;
    while (last < n && s.area[last] == s.area[first]) ++last;
    for (int phase = 0; phase < 2; ++phase) {
      double dis = 0, adv = 0;
      for (std::int32_t i = first; i < last; ++i) {
        if (s.phase[i] == phase) {
          dis += s.pupils[i] * s.disadvantaged[i];
          adv += s.pupils[i] * (1 - s.disadvantaged[i]);
        }
      }
      if (dis <= 0 || adv <= 0) continue;
      double d = 0;
      for (std::int32_t i = first; i < last; ++i) {
        if (s.phase[i] == phase)
          d += std::abs(s.pupils[i] * s.disadvantaged[i] / dis - s.pupils[i] * (1 - s.disadvantaged[i]) / adv);
      }
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

double n_schools_in_crisis(const State& s) {
  return static_cast<double>((s.crisis > kCrisisThreshold).count());
}

double n_ties(const State& s) { return static_cast<double>(s.ties.size()); }

double mean_degree(const State& s) {
  return s.n_schools() ? 2.0 * static_cast<double>(s.ties.size()) / s.n_schools() : 0.0;
}

namespace {

std::size_t idx(std::int32_t i) { return static_cast<std::size_t>(i); }

}  // namespace

double density(const State& s) {
  const double n = s.n_schools();
  if (n < 2) return 0.0;
  return static_cast<double>(s.ties.size()) / (n * (n - 1) / 2);
}

double clustering(const State& s, const Team* team) {
  // Transitivity: 3 x triangles / connected triples. For each school i: mark
  // its partners, and count the ties among them by walking its higher-numbered
  // partners' partners, so that each triangle is counted once. O(sum of
  // squared degrees). The counts do not depend on the order of a school's
  // ties, so they are read straight from the tie store's blocks.
  const std::int32_t n = s.n_schools();
  // Scratch kept from call to call (one set per calling thread). The chunks
  // below may run on other threads: they use these through references (a
  // thread_local named in a lambda is the running thread's own).
  thread_local std::vector<std::vector<std::int32_t>> kept_marks;
  std::vector<std::vector<std::int32_t>>& marks = kept_marks;
  const Team& crew = team ? *team : lone_team();
  // Both counts are whole numbers (triples below 2^53 in a double), so summing
  // them chunk by chunk, on several threads, gives the same values.
  const std::size_t chunk = 512, chunks = chunk_count(idx(n), chunk);
  marks.resize(idx(crew.threads()));
  for (auto& mark : marks) mark.assign(idx(n), 0);  // mark[j] == i + 1 when j is a partner of i
  std::vector<double> chunk_triples(chunks, 0.0);
  std::vector<std::int64_t> chunk_triangles(chunks, 0);
  const auto count = [&](std::int32_t member, std::size_t b, std::size_t e) {
    std::vector<std::int32_t>& mark = marks[idx(member)];
    double triples = 0;
    std::int64_t triangles = 0;
    for (auto i = static_cast<std::int32_t>(b); i < static_cast<std::int32_t>(e); ++i) {
      const auto mine = s.ties.ends(i);
      const auto d = static_cast<double>(mine.size());
      triples += d * (d - 1) / 2;
      if (mine.size() < 2) continue;
      for (const TieStore::End& p : mine) mark[idx(p.partner)] = i + 1;
      // Each triangle once, from its lowest school i, through its middle one j.
      for (const TieStore::End& p : mine) {
        const std::int32_t j = p.partner;
        if (j < i) continue;
        // Both tests without a branch (whether q is past j is a coin toss).
        for (const TieStore::End& q : s.ties.ends(j)) {
          triangles += static_cast<std::int64_t>(static_cast<int>(q.partner > j) &
                                                 static_cast<int>(mark[idx(q.partner)] == i + 1));
        }
      }
    }
    chunk_triples[b / chunk] = triples;
    chunk_triangles[b / chunk] = triangles;
  };
  crew.for_chunks(idx(n), chunk, count);
  double triples = 0;
  std::int64_t triangles = 0;
  for (std::size_t c = 0; c < chunks; ++c)
    triples += chunk_triples[c], triangles += chunk_triangles[c];
  // closed = 6 x triangles, counted exactly as an integer; 3 x triangles = closed / 2.
  const double closed = 6.0 * static_cast<double>(triangles);
  return triples > 0 ? closed / 2 / triples : 0.0;
}

double components(const State& s) {
  const std::int32_t n = s.n_schools();
  thread_local std::vector<std::int32_t> parent;
  parent.resize(idx(n));
  for (std::int32_t i = 0; i < n; ++i) parent[idx(i)] = i;
  const auto find = [&](std::int32_t x) {
    while (parent[idx(x)] != x) {
      parent[idx(x)] = parent[idx(parent[idx(x)])];  // path halving
      x = parent[idx(x)];
    }
    return x;
  };
  std::int32_t tied = 0, merges = 0;
  for (std::int32_t i = 0; i < n; ++i) tied += s.ties.degree(i) > 0 ? 1 : 0;
  s.ties.for_each([&](TieStore::Slot t) {
    const std::int32_t ra = find(s.ties.a[t]), rb = find(s.ties.b[t]);
    if (ra == rb) return;
    parent[idx(std::max(ra, rb))] = std::min(ra, rb);
    ++merges;
  });
  // Each merge joins two components of the schools that have ties.
  return static_cast<double>(tied - merges);
}

double isolates(const State& s) {
  std::int32_t count = 0;
  for (std::int32_t i = 0; i < s.n_schools(); ++i) count += s.ties.degree(i) == 0 ? 1 : 0;
  return count;
}

double centralisation(const State& s) {
  const std::int32_t n = s.n_schools();
  if (n < 3) return 0.0;
  std::int32_t max_degree = 0;
  for (std::int32_t i = 0; i < n; ++i) max_degree = std::max(max_degree, s.ties.degree(i));
  // Sum of (max - deg_i) = n * max - sum of degrees = n * max - 2 * ties.
  const double gap = static_cast<double>(n) * max_degree - 2.0 * static_cast<double>(s.ties.size());
  return gap / ((static_cast<double>(n) - 1) * (static_cast<double>(n) - 2));
}

namespace {

// The same bytes (so -0 and 0, or two NaNs, are told apart as the measures would).
template <class A>
bool same(const A& a, const A& b) {
  return a.size() == b.size() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(a.data()[0])) == 0);
}

}  // namespace

void compute_system_measures(const State& s, double* out, MeasureCache* cache, const Team* team) {
  const bool reuse = cache && cache->valid && same(cache->pupils, s.pupils) && same(cache->disadvantaged, s.disadvantaged);
  const Team& crew = team ? *team : lone_team();
  const MeasureInputs in(s, &crew);
  // The measures are independent: each is computed whole by one member of the
  // team, several at once, except the clustering, which runs its own loops on
  // the team afterwards (no other measure uses in.team).
  std::array<std::size_t, kMeasureCount> tasks{};
  std::size_t n_tasks = 0, clustering_at = kMeasureCount;
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const MeasureInfo& info = kSystemMeasures[m];
    if (reuse && info.enrolment_only) {
      out[m] = cache->values[m];
    } else if (info.name == "clustering") {
      clustering_at = m;
    } else {
      tasks[n_tasks++] = m;
    }
  }
  crew.for_chunks(n_tasks, 1, [&](std::int32_t, std::size_t begin, std::size_t end) {
    for (std::size_t t = begin; t < end; ++t) out[tasks[t]] = kSystemMeasures[tasks[t]].of(s, in);
  });
  if (clustering_at < kMeasureCount) out[clustering_at] = kSystemMeasures[clustering_at].of(s, in);
  if (cache) {
    for (std::size_t m = 0; m < kMeasureCount; ++m)
      if (kSystemMeasures[m].enrolment_only) cache->values[m] = out[m];
  }
  if (cache && !reuse) {
    cache->pupils = s.pupils;
    cache->disadvantaged = s.disadvantaged;
    cache->valid = true;
  }
}

}  // namespace schoolsim
