#include "sim/ties.hpp"

#include "sim/parallel.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace schoolsim {

void TieStore::reset(std::int32_t n_schools) {
  *this = TieStore();
  const auto n = static_cast<std::size_t>(n_schools);
  off_.assign(n, 0);
  cap_.assign(n, 0);
  degree_.assign(n, 0);
}

TieStore::Slot TieStore::add(const NewTie& t) {
  if (t.a == t.b || t.a < 0 || t.b < 0 || t.a >= n_schools() || t.b >= n_schools())
    throw std::invalid_argument("TieStore::add: bad endpoints");
  Slot s;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
  } else {
    s = static_cast<Slot>(alive.size());
    // The slot arrays grow by a quarter, not by doubling: ties accumulate over
    // a run, and doubling left up to half of every array unused at its peak
    // (docs/PERFORMANCE.md, issue 16: memory).
    if (alive.size() == alive.capacity()) {
      const std::size_t cap = alive.size() + alive.size() / 4 + 256;
      a.reserve(cap), b.reserve(cap), strength.reserve(cap), trust.reserve(cap), age.reserve(cap);
      kind.reserve(cap), lead.reserve(cap), network.reserve(cap), activities.reserve(cap),
          id.reserve(cap);
      alive.reserve(cap);
    }
    a.push_back(0), b.push_back(0), strength.push_back(0), trust.push_back(0), age.push_back(0);
    kind.push_back(TieKind::voluntary), lead.push_back(TieLead::none), network.push_back(-1);
    activities.push_back(0), id.push_back(0), alive.push_back(0);
  }
  a[s] = t.a, b[s] = t.b, strength[s] = t.strength, trust[s] = t.trust, age[s] = 0;
  kind[s] = t.kind, lead[s] = t.lead, network[s] = t.network, activities[s] = t.activities;
  id[s] = next_id_++;
  alive[s] = 1;
  link(t.a, s, t.b);
  link(t.b, s, t.a);
  ++n_alive_;
  return s;
}

void TieStore::remove(Slot s) {
  if (!is_alive(s)) throw std::invalid_argument("TieStore::remove: slot is not a live tie");
  unlink(a[s], s);
  unlink(b[s], s);
  alive[s] = 0;
  free_.push_back(s);
  --n_alive_;
}

void TieStore::link(std::int32_t school, Slot s, std::int32_t partner) {
  const auto i = static_cast<std::size_t>(school);
  if (static_cast<std::uint32_t>(degree_[i]) == cap_[i]) grow(i);
  adj_[off_[i] + static_cast<std::uint32_t>(degree_[i])] = End{s, partner};
  ++degree_[i];
}

void TieStore::unlink(std::int32_t school, Slot s) {
  const auto i = static_cast<std::size_t>(school);
  End* block = adj_.data() + off_[i];
  End* end = block + degree_[i];
  End* at = std::find_if(block, end, [s](const End& h) { return h.slot == s; });
  std::copy(at + 1, end, at);  // the others keep their order
  --degree_[i];
}

// Gives school i a block half as large again (4 entries at first). A block at
// the end of the pool grows in place; any other moves to the end, leaving its
// entries unused. When the pool is full and at least an eighth of it is
// unused, it is compacted in place first; otherwise it grows by a quarter.
void TieStore::grow(std::size_t i) {
  const std::uint32_t cap = std::max<std::uint32_t>(4, cap_[i] + cap_[i] / 2 + 1);
  const std::size_t more = cap - cap_[i];
  if (cap_[i] > 0 && off_[i] + cap_[i] == adj_.size()) {
    if (adj_.size() + more > adj_.capacity())
      adj_.reserve(adj_.size() + std::max(more, adj_.size() / 4 + 1024));
    adj_.resize(adj_.size() + more);
    cap_[i] = cap;
    return;
  }
  if (adj_.size() + cap > adj_.capacity() && unused_ >= adj_.size() / 8 && unused_ > 0) compact();
  if (adj_.size() + cap > adj_.capacity())
    adj_.reserve(adj_.size() + std::max<std::size_t>(cap, adj_.size() / 4 + 1024));
  if (adj_.size() + cap > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("TieStore: more tie ends than the store can index");
  const auto at = static_cast<std::uint32_t>(adj_.size());
  adj_.resize(adj_.size() + cap);
  std::copy_n(adj_.begin() + off_[i], degree_[i], adj_.begin() + at);
  unused_ += cap_[i];
  off_[i] = at;
  cap_[i] = cap;
}

// Slides every block towards the start of the pool, in the order of their
// offsets (so no block overwrites one not yet moved), keeping each capacity.
void TieStore::compact() {
  std::vector<std::uint32_t> order;
  order.reserve(off_.size());
  for (std::size_t i = 0; i < off_.size(); ++i)
    if (cap_[i] > 0) order.push_back(static_cast<std::uint32_t>(i));
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t x, std::uint32_t y) { return off_[x] < off_[y]; });
  std::uint32_t at = 0;
  for (std::uint32_t i : order) {
    if (off_[i] != at) std::copy_n(adj_.begin() + off_[i], degree_[i], adj_.begin() + at);
    off_[i] = at;
    at += cap_[i];
  }
  adj_.resize(at);
  unused_ = 0;
}

std::size_t TieStore::memory_bytes() const {
  std::size_t bytes = 0;
  const auto held = [&bytes](const auto& v) { bytes += v.capacity() * sizeof(v[0]); };
  held(a), held(b), held(strength), held(trust), held(age), held(kind), held(lead), held(network);
  held(activities), held(id), held(alive), held(adj_), held(off_), held(cap_), held(degree_),
      held(free_);
  return bytes;
}

std::int64_t TieStore::find(std::int32_t x, std::int32_t y) const {
  if (degree_[y] < degree_[x]) std::swap(x, y);
  const End* block = adj_.data() + off_[static_cast<std::size_t>(x)];
  for (std::int32_t k = 0; k < degree_[x]; ++k)
    if (block[k].partner == y) return block[k].slot;
  return kNone;
}

std::string TieStore::check_invariants() const {
  std::ostringstream err;
  std::size_t live = 0;
  std::vector<std::int32_t> seen_degree(degree_.size(), 0);
  for (Slot s = 0; s < alive.size(); ++s) {
    if (!alive[s]) continue;
    ++live;
    if (a[s] == b[s]) err << "tie " << s << " is a loop; ";
    ++seen_degree[static_cast<std::size_t>(a[s])];
    ++seen_degree[static_cast<std::size_t>(b[s])];
  }
  if (live != n_alive_) err << "live count " << live << " != " << n_alive_ << "; ";
  if (live + free_.size() != alive.size()) err << "free list does not cover the dead slots; ";
  // Each live slot is listed once by each of its schools, with the other as partner.
  std::vector<std::uint8_t> listed(alive.size(), 0);
  for (std::size_t i = 0; i < degree_.size(); ++i) {
    const auto school = static_cast<std::int32_t>(i);
    for_each_tie(school, [&](Slot s, std::int32_t partner) {
      if (s >= alive.size() || !alive[s]) {
        err << "school " << i << " lists dead slot " << s << "; ";
        return;
      }
      if (!((a[s] == school && b[s] == partner) || (b[s] == school && a[s] == partner)))
        err << "school " << i << " lists slot " << s << " with the wrong schools; ";
      ++listed[s];
    });
    if (degree_[i] != seen_degree[i]) {
      err << "school " << i << " degree " << degree_[i] << " but has " << seen_degree[i]
          << " ties; ";
    }
  }
  for (Slot s = 0; s < alive.size(); ++s) {
    if (alive[s] && listed[s] != 2)
      err << "tie slot " << s << " is listed " << int{listed[s]} << " times; ";
  }
  if (!err.str().empty()) return err.str();
  for (Slot s = 0; s < alive.size(); ++s) {
    if (!alive[s]) continue;
    std::int32_t count = 0;
    for_each_tie(a[s], [&](Slot, std::int32_t partner) { count += partner == b[s]; });
    if (count != 1) err << "schools " << a[s] << " and " << b[s] << " are tied " << count << " times; ";
  }
  return err.str();
}

std::string TieStore::check_loaded(std::int32_t n_schools, std::size_t n_networks) const {
  const std::size_t n = alive.size();
  for (std::size_t len : {a.size(), b.size(), strength.size(), trust.size(), age.size(),
                          kind.size(), lead.size(), network.size(), activities.size(), id.size()})
    if (len != n) return "the tie arrays have different lengths";
  const auto schools = static_cast<std::size_t>(n_schools);
  if (degree_.size() != schools || off_.size() != schools || cap_.size() != schools)
    return "the tie lists do not cover the " + std::to_string(n_schools) + " schools";
  if (n > (std::size_t{1} << 31)) return "implausibly many tie slots";
  // The blocks lie inside the pool, do not overlap, and with the unused entries make it up.
  std::vector<std::uint32_t> order;
  std::uint64_t in_blocks = 0;
  for (std::size_t i = 0; i < schools; ++i) {
    if (degree_[i] < 0 || static_cast<std::uint64_t>(degree_[i]) > cap_[i] ||
        std::uint64_t{off_[i]} + cap_[i] > adj_.size())
      return "school " + std::to_string(i) + "'s tie list lies outside the store";
    in_blocks += cap_[i];
    if (cap_[i] > 0) order.push_back(static_cast<std::uint32_t>(i));
  }
  if (in_blocks + unused_ != adj_.size())
    return "the tie lists and the unused entries do not make up the pool";
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t x, std::uint32_t y) { return off_[x] < off_[y]; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (off_[order[k - 1]] + cap_[order[k - 1]] > off_[order[k]])
      return "two schools' tie lists overlap";
  }
  std::size_t live = 0;
  for (std::size_t s = 0; s < n; ++s) {
    if (alive[s] > 1) return "tie slot " + std::to_string(s) + " is neither alive nor dead";
    if (!alive[s]) continue;
    ++live;
    if (a[s] < 0 || a[s] >= n_schools || b[s] < 0 || b[s] >= n_schools) {
      return "tie " + std::to_string(id[s]) + " joins school " + std::to_string(a[s]) + " and " +
             std::to_string(b[s]) + ", outside 0.." + std::to_string(n_schools - 1);
    }
    if (static_cast<std::size_t>(kind[s]) >= kTieKindNames.size()) return "a tie has an unknown kind";
    if (static_cast<int>(lead[s]) < -1 || static_cast<int>(lead[s]) > 1) return "a tie has an unknown lead";
    if (network[s] < -1 || (network[s] >= 0 && static_cast<std::size_t>(network[s]) >= n_networks))
      return "a tie belongs to network " + std::to_string(network[s]) + ", which does not exist";
    if (id[s] >= next_id_) return "a tie's id is not below the next id";
    if (!(strength[s] >= 0 && strength[s] <= 1) || !(trust[s] >= 0 && trust[s] <= 1))
      return "a tie's strength or trust is outside [0,1]";
  }
  std::vector<std::uint8_t> listed(n, 0);
  for (Slot s : free_)
    if (s >= n || alive[s] || listed[s]++) return "the free list names a slot that is not free";
  if (live != n_alive_ || live + free_.size() != n) return "the tie counts do not add up";
  return check_invariants();
}

// ---------------------------------------------------------------- TieChanges

void TieChanges::begin(const TieStore& base) {
  base_ = &base;
  changes_.clear();
  added_.clear();
  n_trust_all_ = 0;
  next_.clear();
  const auto n = static_cast<std::size_t>(base.n_schools());
  if (delta_.size() != n) {
    delta_.clear(), head_.clear(), touched_.clear();
  } else {
    for (std::int32_t i : touched_) delta_[static_cast<std::size_t>(i)] = 0, head_[static_cast<std::size_t>(i)] = -1;
    touched_.clear();
  }
  for (Slot s : gone_slots_)
    if (s < gone_.size()) gone_[s] = 0;
  gone_slots_.clear();
}

namespace {
[[noreturn]] void bad_change(const std::string& what) { throw std::logic_error("tie change: " + what); }
}  // namespace

void TieChanges::check_slot(Slot s, std::string_view what) const {
  if (!base_) bad_change(std::string(what) + " before the phase began");
  if (!base_->is_alive(s)) {
    bad_change(std::string(what) + " names slot " + std::to_string(s) +
               ", which is not a live tie of the store at the start of the phase");
  }
}

bool TieChanges::tied(std::int32_t x, std::int32_t y) const {
  const std::int64_t s = base_->find(x, y);
  if (s != TieStore::kNone && !removed(static_cast<Slot>(s))) return true;
  bool found = false;
  for_each_added(x, [&](const NewTie& t) { found = found || t.a == y || t.b == y; });
  return found;
}

void TieChanges::add(const NewTie& t, TieReason reason) {
  if (!base_) bad_change("add before the phase began");
  const std::int32_t n = base_->n_schools();
  if (t.a == t.b || t.a < 0 || t.b < 0 || t.a >= n || t.b >= n)
    bad_change("add with bad endpoints " + std::to_string(t.a) + ", " + std::to_string(t.b));
  const bool counts = !tied(t.a, t.b);  // a second tie of one pair is skipped when applied
  const auto k = static_cast<Slot>(added_.size());
  added_.push_back(t);
  next_.push_back(-1), next_.push_back(-1);
  changes_.push_back({Op::add, reason, k, 0, 0});
  if (!counts) return;
  if (delta_.empty()) delta_.assign(static_cast<std::size_t>(n), 0), head_.assign(static_cast<std::size_t>(n), -1);
  for (int side = 0; side < 2; ++side) {
    const auto school = static_cast<std::size_t>(side == 0 ? t.a : t.b);
    const std::int64_t h = 2 * static_cast<std::int64_t>(k) + side;
    next_[static_cast<std::size_t>(h)] = head_[school];
    if (head_[school] < 0 && delta_[school] == 0) touched_.push_back(static_cast<std::int32_t>(school));
    head_[school] = h;
    ++delta_[school];
  }
}

void TieChanges::remove(Slot s, TieReason reason) {
  check_slot(s, "remove");
  changes_.push_back({Op::remove, reason, s, base_->id[s], 0});
  if (removed(s)) return;  // removed twice: the second is skipped when applied
  if (gone_.size() < base_->slot_bound()) gone_.resize(base_->slot_bound(), 0);
  gone_[s] = 1;
  gone_slots_.push_back(s);
  const auto n = static_cast<std::size_t>(base_->n_schools());
  if (delta_.empty()) delta_.assign(n, 0), head_.assign(n, -1);
  for (std::int32_t school : {base_->a[s], base_->b[s]}) {
    const auto i = static_cast<std::size_t>(school);
    if (head_[i] < 0 && delta_[i] == 0) touched_.push_back(school);
    --delta_[i];
  }
}

void TieChanges::set_trust(Slot s, double trust) {
  check_slot(s, "set_trust");
  changes_.push_back({Op::set_trust, TieReason::initial, s, base_->id[s], trust});
}

void TieChanges::set_strength(Slot s, double strength) {
  check_slot(s, "set_strength");
  changes_.push_back({Op::set_strength, TieReason::initial, s, base_->id[s], strength});
}

void TieChanges::set_trust_all(std::span<const double> trust) {
  set_trust_all(std::vector<double>(trust.begin(), trust.end()));
}

void TieChanges::set_trust_all(std::vector<double>&& trust) {
  if (!base_) bad_change("set_trust_all before the phase began");
  if (trust.size() < base_->slot_bound()) {
    bad_change("set_trust_all with " + std::to_string(trust.size()) + " values for " +
               std::to_string(base_->slot_bound()) + " slots");
  }
  trust.resize(base_->slot_bound());
  if (trust_all_.size() <= n_trust_all_) trust_all_.resize(n_trust_all_ + 1);
  trust_all_[n_trust_all_] = std::move(trust);
  changes_.push_back({Op::set_trust_all, TieReason::initial, static_cast<Slot>(n_trust_all_), base_->next_id(), 0});
  ++n_trust_all_;
}

void TieChanges::age_all() { changes_.push_back({Op::age_all, TieReason::initial, 0, 0, 0}); }

void TieChanges::apply(TieStore& ties, std::int32_t event_term, std::vector<TieEvent>& events, const Team* team) {
  const auto same = [&](const Change& c) { return ties.is_alive(c.slot) && ties.id[c.slot] == c.id; };
  // A change to every tie: each slot on its own, so any chunks give the same store.
  const Team& crew = team ? *team : lone_team();
  constexpr std::size_t kChunk = 8192;
  const auto each_slot = [&](std::size_t bound, const auto& change) {
    crew.for_chunks(bound, kChunk, [&](std::int32_t, std::size_t begin, std::size_t end) {
      for (auto s = static_cast<Slot>(begin); s < end; ++s)
        if (ties.alive[s]) change(s);
    });
  };
  for (const Change& c : changes_) {
    switch (c.op) {
      case Op::add: {
        const NewTie& t = added_[c.slot];
        if (ties.find(t.a, t.b) != TieStore::kNone) break;  // tied by an earlier change of the phase
        const Slot s = ties.add(t);
        events.push_back({event_term, ties.id[s], ties.a[s], ties.b[s], ties.kind[s], TieEventType::formed, c.reason});
        break;
      }
      case Op::remove:
        if (!same(c)) break;  // removed by an earlier change of the phase
        events.push_back({event_term, ties.id[c.slot], ties.a[c.slot], ties.b[c.slot], ties.kind[c.slot],
                          TieEventType::dissolved, c.reason});
        ties.remove(c.slot);
        break;
      case Op::set_trust:
        if (same(c)) ties.trust[c.slot] = c.value;
        break;
      case Op::set_strength:
        if (same(c)) ties.strength[c.slot] = c.value;
        break;
      case Op::age_all:
        each_slot(ties.slot_bound(), [&](Slot s) { ++ties.age[s]; });
        break;
      case Op::set_trust_all: {
        // A live tie with an id below the base's next id was in the base
        // store, in this slot (ties never move): it is the base's tie, not
        // removed by an earlier change. Ties added since have higher ids.
        const std::vector<double>& values = trust_all_[c.slot];
        each_slot(std::min(values.size(), ties.slot_bound()), [&](Slot s) {
          if (ties.id[s] < c.id) ties.trust[s] = values[s];
        });
        break;
      }
    }
  }
  const TieStore* base = base_;
  begin(base ? *base : ties);
  base_ = nullptr;
}

}  // namespace schoolsim
