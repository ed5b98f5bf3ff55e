#include <algorithm>
#include <array>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <cmath>
#include <numeric>
#include <span>
#include <string_view>

#include "models/policy/policy.hpp"

namespace schoolsim::models {

namespace {

// Where a network's members come from: the hub's area, nearest first, or anywhere.
enum class NetworkSpread : std::uint8_t { local, wide };
constexpr std::array<std::string_view, 2> kNetworkSpreadNames = {"local", "wide"};
constexpr std::span<const std::string_view> choice_names(NetworkSpread) { return kNetworkSpreadNames; }

struct ProgrammeParams {
  std::int32_t year, networks, size, size_max, activities, partners, funding_years;
  double size_spread;
  NetworkGoal goal;
  NetworkPower power;
  NetworkEntry entry;
  NetworkSpread spread;
  double facilitation, strength, trust;
};

using R = ParamType;
const ParamTable<ProgrammeParams> kTable = {
    {{"year", R::integer, 1, 0, 200, "year (0 = first)", "year at whose start the programme launches its networks",
      "scenario choice: the launch year, 1 leaves a year of history before it; the Networked "
      "Learning Communities launched in September 2002"},
     &ProgrammeParams::year},
    {{"networks", R::integer, 10, 0, 10000, "networks", "number of networks launched",
      "scenario choice: 10 networks of 11 schools reach 5.5% of a 2,000-school world, as the "
      "Networked Learning Communities' over 130 networks of about 1,500 schools reached about "
      "6% of England's schools (NCSL, Learning about learning networks); they launched with "
      "48 networks of 512 schools in 2002"},
     &ProgrammeParams::networks},
    {{"size", R::integer, 11, 2, 200, "schools", "schools per network",
      "the Networked Learning Communities averaged about 11 schools a network, from 6 to 40 "
      "(NCSL, Learning about learning networks: over 130 networks of about 1,500 schools)"},
     &ProgrammeParams::size},
    {{"size_spread", R::real, 0.0, 0, 2, "log SD",
      "spread of network sizes: sizes are drawn lognormal around `size` with this SD of the log (0: all equal)",
      "scenario choice: 0 gives every network the same size; 0.5 draws 95% of sizes within 11 "
      "x e^(+-0.98), 4 to 29 schools, near the Networked Learning Communities' range of 6 to "
      "40"},
     &ProgrammeParams::size_spread},
    {{"size_max", R::integer, 40, 2, 1000, "schools", "largest network the size distribution allows",
      "the largest Networked Learning Communities had about 40 schools (NCSL, Learning about "
      "learning networks: networks of 6 to 40 schools)"},
     &ProgrammeParams::size_max},
    {{"goal", R::choice, choice_value(NetworkGoal::curriculum), 0, 4, "choice", "what the networks are for",
      "scenario choice: what the programme's networks are for, one of the five goals of the "
      "design (networks differ in goals: Muijs, West & Ainscow 2010); 1 (curriculum) for the "
      "Networked Learning Communities' focus on pupil learning"},
     &ProgrammeParams::goal},
    {{"activities", R::integer, 1 + 2 + 8, 0, 31, "flags",
      "activities on the networks' ties, a sum of: 1 joint staff development, 2 staff exchange, "
      "4 joint provision for pupils, 8 shared data and review, 16 shared governance",
      "scenario choice: 11 = 1 + 2 + 8, joint staff development, staff exchange and shared "
      "data and review, the Networked Learning Communities' professional learning and enquiry "
      "(networks differ in activities: Muijs, West & Ainscow 2010)"},
     &ProgrammeParams::activities},
    {{"power", R::choice, choice_value(NetworkPower::flat), 0, 2, "choice",
      "power relations: flat, hub-led (every member tied to a hub), or a lead school that leads its ties",
      "scenario choice: 0 (flat), the Networked Learning Communities' partnership of equals; "
      "hub-led and lead-school networks are the alternatives Muijs, West & Ainscow (2010) "
      "describe"},
     &ProgrammeParams::power},
    {{"entry", R::choice, choice_value(NetworkEntry::voluntary), 0, 2, "choice",
      "how schools join: voluntary self-selection (keen, able schools), induced by incentives "
      "(any school), or mandated (assigned)",
      "scenario choice: 0 (voluntary), as schools applied to join the Networked Learning "
      "Communities with matched funding (Townsend 2013); induced and mandated entry are "
      "policy alternatives"},
     &ProgrammeParams::entry},
    {{"spread", R::choice, choice_value(NetworkSpread::local), 0, 1, "choice",
      "local: members from the hub's area, nearest first; wide: members from anywhere",
      "scenario choice: 0 (local), as Networked Learning Communities were usually "
      "geographically linked (NCSL); wide networks are the alternative"},
     &ProgrammeParams::spread},
    {{"partners", R::integer, 2, 0, 50, "ties",
      "partners a member works with inside its network (besides the hub, in hub-led and lead-school "
      "networks): set by a school's time and the network's activities, not by the network's size; "
      "no school goes beyond tie_formation.max_ties",
      calibrated(1, 4,
                 "Networked Learning Communities worked through small groups and pairs of schools "
                 "inside larger networks (Sammons et al. 2007; Muijs, West & Ainscow 2010); a "
                 "school's leadership time bounds how many partnerships it can sustain. One to four "
                 "partners spans a pair to a small cluster")},
     &ProgrammeParams::partners},
    {{"funding_years", R::integer, 3, 0, 100, "years", "years of funding from launch",
      "each Networked Learning Community received up to 50,000 pounds a year of matched "
      "funding for three years from September 2002 (DfES and NCSL announcement, June 2002)"},
     &ProgrammeParams::funding_years},
    {{"facilitation", R::real, 0.5, 0, 1, "[0,1]", "facilitation that helps members build trust",
      "scenario choice: a facilitated programme, as the Networked Learning Communities funded "
      "facilitators (Townsend 2013); 0.5 is a middle level, and what facilitation does is "
      "social_capital.facilitation_gain, which is calibrated"},
     &ProgrammeParams::facilitation},
    {{"strength", R::real, 0.6, 0, 1, "[0,1]", "strength of a programme tie",
      calibrated(0.3, 1, "funded joint work is more intense than a new voluntary tie "
                 "(tie_formation.strength 0.5) and less than a federation's shared governance "
                 "(1); no published measure of tie strength on this scale")},
     &ProgrammeParams::strength},
    {{"trust", R::real, 0.35, 0, 1, "[0,1]", "starting trust of a programme tie (mandated: 0.2 less)",
      calibrated(0.1, 0.6, "partners brought together by a programme start cautiously: "
                 "between an arranged federation (0.3) and a self-chosen partner (0.4); no "
                 "published measure of trust on this scale")},
     &ProgrammeParams::trust},
};

class Programme final : public MechanismWith<ProgrammeParams> {
 public:
  Programme(const ParamTable<ProgrammeParams>& t, std::span<const double> v, const PipelineInfo& pl)
      : MechanismWith(t, v, pl),
        max_ties_(static_cast<std::int32_t>(pl.param("tie_formation", "max_ties", 1e9))) {}

  void step(const State& in, State& out, const StepContext& ctx) override {
    const auto& p = params();
    const std::int32_t start = p.year * kTermsPerYear;
    if (ctx.clock.term != start) return;
    const std::int32_t n = in.n_schools();
    // New ties wait in ctx.ties until the phase ends: `ties` answers for the
    // store with the ties made so far, so no pair is tied twice.
    TieChanges& ties = ctx.ties;
    const NetworkEntry entry = p.entry;
    std::vector<std::uint8_t> member(static_cast<std::size_t>(n), 0);
    // Willingness to join: voluntary schools select themselves (keen and able);
    // induced and mandated membership ignores it.
    std::vector<double> willing(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) {
      Stream rng = ctx.stream(static_cast<std::uint64_t>(i));
      const double u = rng.uniform();
      willing[static_cast<std::size_t>(i)] =
          entry == NetworkEntry::voluntary ? u * (0.5 + in.capacity[i] + in.commitment[i]) : u;
    }
    for (std::int32_t k = 0; k < p.networks; ++k) {
      Stream rng = ctx.stream(static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(k));
      boost::random::normal_distribution<double> normal;
      const double drawn = p.size * std::exp(p.size_spread * normal(rng) - 0.5 * p.size_spread * p.size_spread);
      const std::int32_t largest = std::max(2, p.size_max);
      const auto size = static_cast<std::int32_t>(std::clamp(std::round(drawn), 2.0, static_cast<double>(largest)));
      // The hub: the most willing of a few random schools not yet in a network.
      boost::random::uniform_int_distribution<std::int32_t> anyone(0, n - 1);
      std::int32_t hub = -1;
      for (int t = 0; t < 20; ++t) {
        const std::int32_t c = anyone(rng);
        if (!member[static_cast<std::size_t>(c)] &&
            (hub < 0 || willing[static_cast<std::size_t>(c)] > willing[static_cast<std::size_t>(hub)]))
          hub = c;
      }
      if (hub < 0) break;
      // Members: local = the hub's area, nearest first among the willing; wide = anywhere, most willing.
      std::vector<std::pair<double, std::int32_t>> pool;
      for (std::int32_t j = 0; j < n; ++j) {
        if (j == hub || member[static_cast<std::size_t>(j)]) continue;
        if (p.spread == NetworkSpread::local) {
          if (in.area[j] != in.area[hub]) continue;
          const double d = std::hypot(in.x[j] - in.x[hub], in.y[j] - in.y[hub]);
          pool.emplace_back(d * (1.5 - willing[static_cast<std::size_t>(j)]), j);
        } else {
          pool.emplace_back(-willing[static_cast<std::size_t>(j)], j);
        }
      }
      const auto take = std::min<std::size_t>(pool.size(), static_cast<std::size_t>(size - 1));
      std::partial_sort(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(take), pool.end());
      std::vector<std::int32_t> members{hub};
      for (std::size_t m = 0; m < take; ++m) members.push_back(pool[m].second);
      for (auto m : members) member[static_cast<std::size_t>(m)] = 1;

      const NetworkPower power = p.power;
      std::int32_t leader = hub;
      if (power == NetworkPower::lead_school) {
        for (auto m : members)
          if (in.capacity[m] > in.capacity[leader]) leader = m;
      }
      const std::int32_t net = out.networks.add(
          p.goal, static_cast<std::uint8_t>(p.activities), power, entry, power == NetworkPower::flat ? -1 : leader,
          start, start + p.funding_years * kTermsPerYear, p.facilitation);
      const double trust = std::max(0.0, p.trust - (entry == NetworkEntry::mandated ? 0.2 : 0.0));
      auto tie = [&](std::int32_t x, std::int32_t y) {
        const std::int32_t a = std::min(x, y), b = std::max(x, y);
        TieLead lead = TieLead::none;
        if (power == NetworkPower::lead_school && (a == leader || b == leader))
          lead = a == leader ? TieLead::a : TieLead::b;
        ties.add({.a = a,
                  .b = b,
                  .strength = p.strength,
                  .trust = trust,
                  .kind = TieKind::programme,
                  .lead = lead,
                  .network = net,
                  .activities = static_cast<std::uint8_t>(p.activities)},
                 TieReason::programme);
      };
      // The hub (or lead school) is tied to every member: that is its funded
      // role, so its own ties are not bounded by max_ties.
      const bool led = power != NetworkPower::flat;
      if (led) {
        for (auto m : members)
          if (m != leader && !ties.tied(m, leader)) tie(m, leader);
      }
      // Peer partnerships: each member works with up to `partners` others,
      // nearest first (local networks) or in a random order (wide ones), and
      // no school beyond the tie limit of voluntary tie formation.
      const std::int32_t partners = p.partners;
      std::vector<std::int32_t> got(members.size(), 0);
      auto free = [&](std::size_t x) {
        return !(led && members[x] == leader) && got[x] < partners && ties.degree(members[x]) < max_ties_;
      };
      std::vector<double> key(members.size());
      for (double& draw : key) draw = rng.uniform();
      for (std::int32_t round = 0; round < partners; ++round) {
        for (std::size_t x = 0; x < members.size(); ++x) {
          if (!free(x)) continue;
          std::size_t best = members.size();
          double best_score = 1e300;
          for (std::size_t y = 0; y < members.size(); ++y) {
            if (y == x || !free(y) || ties.tied(members[x], members[y])) continue;
            const double score = p.spread == NetworkSpread::local
                                     ? std::hypot(in.x[members[x]] - in.x[members[y]], in.y[members[x]] - in.y[members[y]])
                                     : std::abs(key[x] - key[y]);
            if (score < best_score) best_score = score, best = y;
          }
          if (best == members.size()) continue;
          tie(members[x], members[best]);
          ++got[x], ++got[best];
        }
      }
    }
  }

 private:
  std::int32_t max_ties_;
};

}  // namespace

MechanismInfo programme_info() {
  MechanismInfo m;
  m.name = "programme";
  m.family = "policy";
  m.in_default_pipeline = false;
  m.summary =
      "A networking programme: in a given year it launches formal networks of a given size "
      "(or a lognormal distribution of sizes), "
      "goal, activities, power relations, entry rule, spread and partners per member, funded and "
      "facilitated for a number of years; what survives the funding is a result.";
  m.phase = Phase::policy;
  m.reads = {Field::capacity, Field::commitment, Field::area, Field::x, Field::y, Store::ties, Store::networks};
  m.writes = {Store::ties, Store::networks};
  m.params = kTable.specs();
  m.make = factory<Programme>(kTable);
  return m;
}

}  // namespace schoolsim::models
