#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "models/constructivism/constructivism.hpp"
// The tie loop's lambdas are inlined into it (GCC called them, which cost
// about 15% of the transfer step); GCC and clang (the teaching page) both
// take the attribute.
#define SCHOOLSIM_INLINE __attribute__((always_inline))

namespace schoolsim::models {

namespace {

struct ConstructivismParams {
  double alpha, c_half, alpha_construct, eta, cost, lead_gain, brokerage_gain, difference_min,
      informal_focus, expertise_gain;
};

using R = ParamType;
const ParamTable<ConstructivismParams> kTable = {
    {{"alpha", R::real, 0.05, 0, 1, "per term",
      "share of a stronger partner's capacity lead passed on per term over a tie of full strength "
      "and trust (alpha_T)",
      calibrated(0.01, 0.15, "gains from school-to-school support show after two to four "
                 "years (Chapman, Muijs & MacAllister 2011); no published rate of transfer: "
                 "at 0.05 a term, with the absorptive factor about 0.6, a tie of full "
                 "strength and trust closes about a quarter of the capacity gap in three "
                 "years")},
     &ConstructivismParams::alpha},
    {{"c_half", R::real, 0.3, 0.001, 10, "[0,1]",
      "capacity at which a school absorbs half of what it could (absorptive capacity, c_1/2)",
      calibrated(0.1, 1, "learning needs prior knowledge (Cohen & Levinthal 1990); no "
                 "published value on this scale: at 0.3 a school of capacity 0.3 absorbs half "
                 "of what it could")},
     &ConstructivismParams::c_half},
    {{"alpha_construct", R::real, 0.03, 0, 1, "per term",
      "rate at which partners make new knowledge together, per unit of tie strength x trust x "
      "both autonomies (ownership) x the difference of practice beyond difference_min x focus x "
      "(1 + expertise) (alpha_K); the tie's cost is paid whether or not it pays",
      calibrated(0, 0.1, "co-construction needs agency and different practice (Muijs, West & "
                 "Ainscow 2010); no published rate: the prior runs from none to twice alpha "
                 "(0.05), the rate of transfer from a stronger partner")},
     &ConstructivismParams::alpha_construct},
    {{"difference_min", R::real, 0.5, 0, 2, "practice distance",
      "difference of practice (distance of the unit practice vectors, 0 to 2; random partners "
      "differ by about 1.4) below which partners have nothing new to make together",
      calibrated(0.2, 1.0,
                 "CUREE (2005), Chapman & Muijs (2014), Muijs (2015): collaboration pays where "
                 "partners bring a real difference in what they know; converged partners learn "
                 "little. The prior spans from a small to most of a typical pair's difference")},
     &ConstructivismParams::difference_min},
    {{"informal_focus", R::real, 0.3, 0, 1, "factor",
      "co-construction on an informal (voluntary) tie relative to a tie with a specific shared "
      "focus (a programme network's goal, or a federation's improvement plan)",
      calibrated(0.1, 0.6,
                 "CUREE (2005); Chapman & Muijs (2014); Muijs (2015): effective partnerships have a "
                 "specific focus on teaching and learning; unfocused partnerships yield little. "
                 "The prior keeps informal ties well below focused ones without ruling them out")},
     &ConstructivismParams::informal_focus},
    {{"expertise_gain", R::real, 1.0, 0, 5, "factor per unit facilitation",
      "extra co-construction on a network tie per unit of the network's facilitation (external "
      "expertise brought in by the programme)",
      calibrated(0.25, 2,
                 "CUREE (2005): collaborative professional development with specialist expertise "
                 "is the kind linked to gains for teachers and pupils; Chapman & Muijs (2014). "
                 "The prior spans a modest to a doubling effect of full facilitation")},
     &ConstructivismParams::expertise_gain},
    {{"eta", R::real, 0.05, 0, 1, "per term",
      "rate at which partners' practices grow alike (convergence)",
      calibrated(0.01, 0.2, "positive: partners' practices grow alike, so dense networks use "
                 "up their own diversity (Lazer & Friedman 2007); no published rate")},
     &ConstructivismParams::eta},
    {{"cost", R::real, 0.002, 0, 1, "capacity per term per unit strength",
      "leadership time a tie takes from the school (gamma), paid on every tie whether or not it pays",
      calibrated(0.0005, 0.005,
                 "Muijs (2015); Chapman & Muijs (2014): partnership work takes heads' and senior "
                 "staff's time from their own school, a cost heads report in every study; no study "
                 "prices it. The prior puts a full-strength tie at 0.15% to 1.5% of capacity a year")},
     &ConstructivismParams::cost},
    {{"lead_gain", R::real, 1.0, 0, 10, "factor",
      "on a tie with a lead school, extra transfer from the leader (the led school learns "
      "1 + lead_gain times as fast, the leader nothing from the led)",
      calibrated(0, 3, "in performance federations the strong school leads improvement "
                 "(Chapman & Muijs 2014); no published size: at 1 the led school learns twice "
                 "as fast")},
     &ConstructivismParams::lead_gain},
    {{"brokerage_gain", R::real, 0.5, 0, 10, "factor",
      "extra co-construction of a school spanning structural holes, per unit brokerage; only "
      "with social_capital in the pipeline",
      calibrated(0, 2, "non-negative: brokers see more good ideas (Burt 1992, 2004); no "
                 "published size on this scale")},
     &ConstructivismParams::brokerage_gain},
};

class Constructivism final : public MechanismWith<ConstructivismParams> {
 public:
  Constructivism(const ParamTable<ConstructivismParams>& t, std::span<const double> v, const PipelineInfo& pl)
      : MechanismWith(t, v, pl), brokerage_(pl.has("social_capital")) {}

  // Tie by tie, in slot order (a fixed order, so results are reproducible):
  // each tie adds to both of its schools' sums, reading only the state at the
  // start of the term. This walks the tie arrays in memory order instead of
  // chasing each school's list.
  //
  // The ties' endpoints are scattered, so every read or sum of a school is a
  // cache miss: what the tie loop touches of one school (its practice, the
  // pull on it, its capacity, autonomy and sums) is first packed into one
  // record of adjacent cache lines, one miss per endpoint instead of seven.
  //
  // On a team of several (issue 16) the loop runs in two passes. First each tie's
  // terms (what it transfers to either side, what the pair makes together,
  // the pull of b's practice on a's) are computed in chunks of slots into a
  // per-slot array; then the schools are split into parts and each part walks
  // the slots in order, adding the terms of its own schools' ties. So every
  // school adds the same terms in the same (slot) order as one loop would:
  // the same bits at any thread count, and whatever the parts. On one thread
  // it is that one loop.
  //
  // Its records and sums (about 4 MB at England scale) are freed after each
  // step, for the mechanisms after it to reuse, instead of being held between
  // terms beside theirs. The per-slot terms of a team of several (about 5 MB)
  // are kept: allocated afresh each term they cost, on 2 threads, about 0.18 s
  // of system time a run in page faults and TLB flushes (docs/PERFORMANCE.md).
  void step(const State& in, State& out, const StepContext& ctx) override {
    transfer(in, out, ctx);
    storage_.reset();
    for (Eigen::ArrayXd* a : {&transfer_, &construct_, &strength_, &broker_}) *a = Eigen::ArrayXd();
  }

 private:
  void transfer(const State& in, State& out, const StepContext& ctx) {
    const auto& p = params();
    const TieStore& ties = in.ties;
    const auto n = static_cast<Eigen::Index>(in.n_schools());
    const Eigen::Index k = in.practice.rows();
    const bool construct_on = p.alpha_construct > 0, converge_on = p.eta > 0;
    // Record layout, in doubles: capacity and the sums of transfer and
    // strength; then, if co-construction or convergence is on, autonomy, the
    // sum of co-construction and practice [prac, prac + k); then, if
    // convergence is on, the pull [pull, pull + k). Only what the tie loop
    // reads is packed: with both off, two records share a cache line (the
    // stride is half a line), otherwise a record is whole lines.
    const Eigen::Index cap = kCap, aut = kAut, tra = kTra, con = kCon, str = kStr, prac = kPrac;
    const bool practice_on = construct_on || converge_on;
    const Eigen::Index pull = practice_on ? prac + k : prac;
    const Eigen::Index stride = practice_on ? (pull + (converge_on ? k : 0) + 7) / 8 * 8 : 4;
    pack(in, n, pull - prac, stride, ctx);
    double* const rec = records_;
    const double lead_factor = 1.0 + p.lead_gain;
    using Vec = Eigen::Map<Eigen::VectorXd>;
    using CVec = Eigen::Map<const Eigen::VectorXd>;
    const std::size_t bound = ties.slot_bound();
    // Per-slot terms: to a, to b, made together, then w (pb - pa) (k doubles).
    const Eigen::Index tk = 3 + k;
    // The endpoints of a tie some way ahead are known: their records are
    // fetched while this tie's arithmetic runs (a hint only; it changes no value).
    const auto prefetch = [&](TieStore::Slot s, std::size_t end) SCHOOLSIM_INLINE {
      if (s + kAhead < end && ties.alive[s + kAhead]) {
        const double* fa = rec + static_cast<Eigen::Index>(ties.a[s + kAhead]) * stride;
        const double* fb = rec + static_cast<Eigen::Index>(ties.b[s + kAhead]) * stride;
        __builtin_prefetch(fa);
        __builtin_prefetch(fa + stride - 1);
        __builtin_prefetch(fb);
        __builtin_prefetch(fb + stride - 1);
      }
    };
    // The terms of live tie s, into t.
    const auto tie_terms = [&](auto on, TieStore::Slot s, double* const t) SCHOOLSIM_INLINE {
      const double* const ra = rec + static_cast<Eigen::Index>(ties.a[s]) * stride;
      const double* const rb = rec + static_cast<Eigen::Index>(ties.b[s]) * stride;
      const double w = ties.strength[s], wt = w * ties.trust[s];
      const double ca = ra[cap], cb = rb[cap];
      // On a led tie, only the led school learns, and faster.
      const TieLead lead = ties.lead[s];
      const double to_a = lead == TieLead::none ? 1.0 : lead == TieLead::b ? lead_factor : 0.0;
      const double to_b = lead == TieLead::none ? 1.0 : lead == TieLead::a ? lead_factor : 0.0;
      t[0] = to_a * wt * std::max(0.0, cb - ca);
      t[1] = to_b * wt * std::max(0.0, ca - cb);
      const CVec pa(ra + prac, k), pb(rb + prac, k);
      if (on.construct()) {
        // Co-construction pays only on its conditions: ownership (both
        // autonomies), a real difference of practice, a specific focus, and
        // external expertise where a network brings it.
        const double beyond = (pa - pb).norm() - p.difference_min;
        const std::int32_t net = ties.network[s];
        const bool focused = net >= 0 || ties.kind[s] == TieKind::federation;
        const double expertise =
            net >= 0 ? 1.0 + p.expertise_gain * in.networks.facilitation[static_cast<std::size_t>(net)] : 1.0;
        t[2] = beyond > 0 ? wt * ra[aut] * rb[aut] * beyond * (focused ? 1.0 : p.informal_focus) * expertise
                          : 0.0;
      }
      // b's pull is a's negated: w (pa - pb) is exactly -(w (pb - pa)).
      if (on.converge()) Vec(t + 3, k) = w * (pb - pa);
    };
    // Adds tie s's terms t to the sums of its endpoints in [lo, hi).
    const auto add_terms = [&](auto on, TieStore::Slot s, const double* const t, std::int32_t lo,
                               std::int32_t hi) SCHOOLSIM_INLINE {
      const std::int32_t ia = ties.a[s], ib = ties.b[s];
      const double w = ties.strength[s];
      if (ia >= lo && ia < hi) {
        double* const ra = rec + static_cast<Eigen::Index>(ia) * stride;
        ra[tra] += t[0];
        ra[str] += w;
        if (on.construct()) ra[con] += t[2];
        if (on.converge()) Vec(ra + pull, k) += CVec(t + 3, k);
      }
      if (ib >= lo && ib < hi) {
        double* const rb = rec + static_cast<Eigen::Index>(ib) * stride;
        rb[tra] += t[1];
        rb[str] += w;
        if (on.construct()) rb[con] += t[2];
        if (on.converge()) Vec(rb + pull, k) -= CVec(t + 3, k);
      }
    };
    if (ctx.members() == 1) {
      // One thread: each tie's terms are added as soon as they are computed,
      // in slot order (the order of the second pass below), without the
      // per-slot array (about 5 MB at England scale), in a loop compiled for
      // the terms that are on (the same arithmetic as the general one). With
      // co-construction and convergence off, the records (768 KB at England
      // scale) stay in cache and prefetching them only costs time.
      if (k > static_cast<Eigen::Index>(kMaxPractice)) {
        throw std::logic_error(
            "constructivism: practice has more dimensions than its tie loop holds");
      }
      const auto one_thread = [&](auto on) {
        std::array<double, 3 + kMaxPractice> t{};
        const auto all = static_cast<std::int32_t>(n);
        for (TieStore::Slot s = 0; s < bound; ++s) {
          if (on.construct() || on.converge()) prefetch(s, bound);
          if (!ties.alive[s]) continue;
          tie_terms(on, s, t.data());
          add_terms(on, s, t.data(), 0, all);
        }
      };
      if (construct_on && converge_on) {
        one_thread(Terms<true, true>{});
      } else if (construct_on) {
        one_thread(Terms<true, false>{});
      } else if (converge_on) {
        one_thread(Terms<false, true>{});
      } else {
        one_thread(Terms<false, false>{});
      }
    } else {
      const RuntimeTerms on{construct_on, converge_on};
      terms_.resize(bound * static_cast<std::size_t>(tk));
      double* const terms = terms_.data();
      ctx.for_chunks(bound, [&](std::int32_t, std::size_t begin, std::size_t end) {
        for (auto s = static_cast<TieStore::Slot>(begin); s < end; ++s) {
          prefetch(s, end);
          if (ties.alive[s]) tie_terms(on, s, terms + static_cast<Eigen::Index>(s) * tk);
        }
      });
      const auto parts = static_cast<std::size_t>(ctx.members());
      ctx.for_chunks(
          parts,
          [&](std::int32_t, std::size_t part, std::size_t) {
            const auto lo = static_cast<std::int32_t>(static_cast<std::size_t>(n) * part / parts);
            const auto hi = static_cast<std::int32_t>(static_cast<std::size_t>(n) * (part + 1) / parts);
            for (TieStore::Slot s = 0; s < bound; ++s) {
              if (ties.alive[s])
                add_terms(on, s, terms + static_cast<Eigen::Index>(s) * tk, lo, hi);
            }
          },
          1);
    }
    // The new capacity per school, in chunks on the team: the same array
    // expression on each chunk's segments, so the same value for every school.
    transfer_.resize(n);
    construct_.resize(n);
    strength_.resize(n);
    broker_.resize(n);
    out.capacity.resize(n);
    ctx.for_chunks(static_cast<std::size_t>(n), [&](std::int32_t, std::size_t begin, std::size_t end) {
      const auto b = static_cast<Eigen::Index>(begin), len = static_cast<Eigen::Index>(end - begin);
      for (Eigen::Index i = b; i < b + len; ++i) {
        const double* r = rec + i * stride;
        transfer_[i] = r[tra];
        construct_[i] = construct_on ? r[con] : 0.0;  // no such field when it is off
        strength_[i] = r[str];
      }
      const auto c = in.capacity.segment(b, len);
      auto broker = broker_.segment(b, len);
      broker.setOnes();
      if (brokerage_) broker += p.brokerage_gain * in.brokerage.segment(b, len);
      out.capacity.segment(b, len) =
          (c + p.alpha * transfer_.segment(b, len) * c / (c + p.c_half) +
           p.alpha_construct * broker * construct_.segment(b, len) * (1.0 - c) - p.cost * strength_.segment(b, len))
              .max(0.0)
              .min(1.0);
    });
    if (!converge_on) return;
    // One vector per member reused for every school (a fresh one per school
    // cost a heap allocation and two copies each); the same arithmetic on the
    // same type.
    pi_.resize(static_cast<std::size_t>(ctx.members()));
    for (auto& v : pi_) v.resize(k);
    ctx.for_chunks(static_cast<std::size_t>(n), [&](std::int32_t member, std::size_t begin, std::size_t end) {
      Eigen::VectorXd& pi = pi_[static_cast<std::size_t>(member)];
      for (auto i = static_cast<Eigen::Index>(begin); i < static_cast<Eigen::Index>(end); ++i) {
        const double* r = rec + i * stride;
        pi = in.practice.col(i) + p.eta * CVec(r + pull, k);
        const double norm = pi.norm();
        if (norm > 0) {
          out.practice.col(i) = pi / norm;
        } else {
          out.practice.col(i) = in.practice.col(i);
        }
      }
    });
  }

  static constexpr TieStore::Slot kAhead = 12;
  static constexpr std::size_t kMaxPractice = 8;  // world's practice_dims at most
  // Which of a tie's optional terms are on: fixed at compile time (Terms), or
  // read at run time (RuntimeTerms).
  template <bool Construct, bool Converge>
  struct Terms {
    [[nodiscard]] static constexpr bool construct() { return Construct; }
    [[nodiscard]] static constexpr bool converge() { return Converge; }
  };
  struct RuntimeTerms {
    bool construct_on, converge_on;
    [[nodiscard]] bool construct() const { return construct_on; }
    [[nodiscard]] bool converge() const { return converge_on; }
  };
  // The fixed fields of a school's record (see transfer).
  static constexpr Eigen::Index kCap = 0, kTra = 1, kStr = 2, kAut = 3, kCon = 4, kPrac = 5;
  // Fills the records from the state (capacity, autonomy if the record has
  // room for it, the first `k` dimensions of practice: all of them, or none),
  // sums and pull zero; 64-byte aligned. The layout is transfer's.
  void pack(const State& in, Eigen::Index n, Eigen::Index k, Eigen::Index stride, const StepContext& ctx) {
    const auto doubles = static_cast<std::size_t>(n * stride);
    // Left uninitialised: every record is written below. (Not
    // make_unique_for_overwrite, which the teaching page's libc++ lacks.)
    storage_.reset(new double[doubles + 8]);
    auto base = reinterpret_cast<std::uintptr_t>(storage_.get());
    records_ = storage_.get() + ((base + 63) / 64 * 64 - base) / sizeof(double);
    ctx.for_each(static_cast<std::int32_t>(n), [&](std::int32_t school) {
      const Eigen::Index i = school;
      double* r = records_ + i * stride;
      const double* pr = in.practice.col(i).data();
      for (Eigen::Index d = 0; d < stride; ++d) r[d] = 0.0;
      r[kCap] = in.capacity[i];
      if (stride > kAut) r[kAut] = in.autonomy[i];
      for (Eigen::Index d = 0; d < k; ++d) r[kPrac + d] = pr[d];
    });
  }

 private:
  bool brokerage_;
  // Per-school sums.
  Eigen::ArrayXd transfer_, construct_, strength_, broker_;
  // Each team member's practice vector, reused from school to school.
  std::vector<Eigen::VectorXd> pi_;
  // The terms of each tie slot, on a team of several (see step), kept from term to term.
  std::vector<double> terms_;
  // The packed per-school records (see step), and where the aligned ones start.
  std::unique_ptr<double[]> storage_;
  double* records_ = nullptr;
};

}  // namespace

MechanismInfo constructivism_info() {
  MechanismInfo m;
  m.name = "constructivism";
  m.family = "constructivism";
  m.summary =
      "Along ties, know-how moves from stronger to weaker partners (absorptive capacity), partners "
      "make new knowledge together only on its conditions (ownership, a real difference of "
      "practice, a specific focus, external expertise), practices converge, and every tie costs "
      "leadership time whether or not it pays.";
  m.phase = Phase::interaction;
  m.reads = {Field::capacity, Field::autonomy, Field::practice, Field::brokerage, Store::ties, Store::networks};
  m.writes = {Field::capacity, Field::practice};
  m.params = kTable.specs();
  m.make = factory<Constructivism>(kTable);
  return m;
}

}  // namespace schoolsim::models
