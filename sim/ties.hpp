// The tie store: undirected collaboration ties between schools (docs/ODD.md).
//
// Ties live in slots of parallel arrays (one array per attribute). Each school
// keeps its ties as a contiguous block of (slot, partner) entries in one shared
// pool, oldest first, and visits them newest first, so a school's ties are read
// from consecutive memory rather than by following a link per tie (each link was
// a cache miss the next step waited on; docs/PERFORMANCE.md). Adding a tie
// appends to both schools' blocks (a full block moves to the end of the pool,
// which is compacted in place when it fills); removing one closes the gap,
// which keeps the order of the others. Freed slots are reused last-in first-out.
// Slots, blocks and visiting order are a deterministic function of the sequence
// of calls. Every tie gets a unique, never reused id that event records refer to.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace schoolsim {

class Team;

// trust: schools of one academy trust, as a register gives them (docs/DATA.md).
enum class TieKind : std::uint8_t { voluntary, programme, federation, movement, trust };
inline constexpr std::array<std::string_view, 5> kTieKindNames = {"voluntary", "programme",
                                                                  "federation", "movement", "trust"};

// Which side leads where power is unequal.
enum class TieLead : std::int8_t { none = -1, a = 0, b = 1 };

// Activities on a tie, as bit flags.
enum Activity : std::uint8_t {
  staff_development = 1u << 0,
  staff_exchange = 1u << 1,
  joint_provision = 1u << 2,
  shared_data = 1u << 3,
  shared_governance = 1u << 4,
};
inline constexpr std::array<std::string_view, 5> kActivityNames = {
    "staff_development", "staff_exchange", "joint_provision", "shared_data", "shared_governance"};

// Why a tie formed or dissolved; stored with every tie event.
enum class TieReason : std::uint8_t {
  initial,          // present when the world was generated
  search,           // formed by a school's own partner search
  programme,        // formed by a networking programme
  federation,       // formed by a federation or support pairing
  brokered,         // formed by an area strategy
  benefit_below_cost,
  trust_lost,
  funding_ended,
  withdrawal,       // an anomic school withdrew
  removed,          // removed by a scenario or a test
};
inline constexpr std::array<std::string_view, 10> kTieReasonNames = {
    "initial",   "search",  "programme",     "federation", "brokered", "benefit_below_cost",
    "trust_lost", "funding_ended", "withdrawal", "removed"};

enum class TieEventType : std::uint8_t { formed, dissolved };

struct TieEvent {
  std::int32_t term;  // terms completed when it happened (0 = present in the generated world)
  std::uint64_t tie;
  std::int32_t school_a;
  std::int32_t school_b;
  TieKind kind;
  TieEventType event;
  TieReason reason;
};

struct NewTie {
  std::int32_t a;
  std::int32_t b;
  double strength = 0.5;
  double trust = 0.5;
  TieKind kind = TieKind::voluntary;
  TieLead lead = TieLead::none;
  std::int32_t network = -1;
  std::uint8_t activities = staff_development;
};

class TieStore {
 public:
  using Slot = std::uint32_t;
  static constexpr std::int64_t kNone = -1;

  TieStore() = default;
  explicit TieStore(std::int32_t n_schools) { reset(n_schools); }

  void reset(std::int32_t n_schools);

  // Adds a tie and returns its slot. a != b, both in range, and not yet tied.
  Slot add(const NewTie& t);
  void remove(Slot s);

  [[nodiscard]] std::int32_t n_schools() const { return static_cast<std::int32_t>(degree_.size()); }
  [[nodiscard]] std::size_t size() const { return n_alive_; }
  // One past the highest slot ever used: loop bound for scanning all ties.
  [[nodiscard]] std::size_t slot_bound() const { return alive.size(); }
  [[nodiscard]] bool is_alive(Slot s) const { return s < alive.size() && alive[s] != 0; }
  [[nodiscard]] std::int32_t degree(std::int32_t school) const { return degree_[school]; }
  [[nodiscard]] std::uint64_t next_id() const { return next_id_; }

  // The slot of the tie between a and b, or kNone. O(min degree).
  [[nodiscard]] std::int64_t find(std::int32_t a, std::int32_t b) const;

  // One end of a tie as its school sees it.
  struct End {
    Slot slot;
    std::int32_t partner;
  };
  // The ties of `school`, oldest first (for_each_tie's order reversed): for
  // loops whose result does not depend on the order, such as counts. Valid
  // until a tie is added or removed.
  [[nodiscard]] std::span<const End> ends(std::int32_t school) const {
    const auto i = static_cast<std::size_t>(school);
    return {adj_.data() + off_[i], static_cast<std::size_t>(degree_[i])};
  }

  // Calls f(slot, partner) for each tie of `school`, newest first. f must not
  // add or remove ties.
  template <class F>
  void for_each_tie(std::int32_t school, F&& f) const {
    const auto i = static_cast<std::size_t>(school);
    const End* block = adj_.data() + off_[i];
    for (std::int32_t k = degree_[i]; k-- > 0;) f(block[k].slot, block[k].partner);
  }

  // Calls f(slot) for each live tie, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (Slot s = 0; s < alive.size(); ++s)
      if (alive[s]) f(s);
  }

  // Bytes the store holds: the capacity of every slot array, per-school array
  // and the pool of tie ends (for the benchmark report's bytes per tie).
  [[nodiscard]] std::size_t memory_bytes() const;

  // Checks every internal invariant; returns an empty string when all hold.
  [[nodiscard]] std::string check_invariants() const;
  // Whether the store is safe to use at all, for data read back from a file:
  // every array the same length, every endpoint, link, enum and free slot in
  // range, then check_invariants(). Empty when sound, else what is wrong.
  [[nodiscard]] std::string check_loaded(std::int32_t n_schools, std::size_t n_networks) const;

  // Calls f on every member, private ones included, in a fixed order: how a
  // checkpoint saves and restores the store exactly (slots, lists, free list).
  template <class F>
  void for_each_member(F&& f) {
    f(a), f(b), f(strength), f(trust), f(age), f(kind), f(lead), f(network), f(activities), f(id), f(alive);
    f(adj_), f(off_), f(cap_), f(degree_), f(unused_), f(free_), f(n_alive_), f(next_id_);
  }

  // Tie attributes, one entry per slot (valid where alive[s] != 0).
  std::vector<std::int32_t> a, b;
  std::vector<double> strength, trust;
  std::vector<std::int32_t> age;  // terms since formed
  std::vector<TieKind> kind;
  std::vector<TieLead> lead;
  std::vector<std::int32_t> network;  // formal network, or -1
  std::vector<std::uint8_t> activities;
  std::vector<std::uint64_t> id;
  std::vector<std::uint8_t> alive;

 private:
  void link(std::int32_t school, Slot s, std::int32_t partner);
  void unlink(std::int32_t school, Slot s);
  void grow(std::size_t school);
  void compact();

  // School i's ties are adj_[off_[i] .. off_[i] + degree_[i]), oldest first, in
  // a block of cap_[i] entries; unused_ counts the pool's entries in no block
  // (left behind by blocks that moved).
  std::vector<End> adj_;
  std::vector<std::uint32_t> off_, cap_;
  std::vector<std::int32_t> degree_;
  std::size_t unused_ = 0;
  std::vector<Slot> free_;
  std::size_t n_alive_ = 0;
  std::uint64_t next_id_ = 0;
};

// The changes mechanisms make to the ties during one phase of a term, applied
// by the kernel when the phase ends (docs/ODD.md, section 3, synchronous
// updates). Every mechanism of a phase reads the tie store as it was at the
// start of the phase (`in.ties`, the `base` here) and records what it changes:
// a new tie, the end of a tie, a tie's trust or strength, or every tie ageing a
// term. A change to an existing tie names its slot in the base store.
//
// The kernel applies the changes in the order they were recorded (the
// mechanisms' order in the phase, then each one's own order) and logs the tie
// events as it goes, so slots and ids are those that making the same changes
// directly on the store would give. A change that no longer applies when its
// turn comes is skipped and logs nothing: removing or changing a tie that an
// earlier change of the phase removed, and adding a tie between two schools
// that an earlier change of the phase already tied.
//
// A mechanism must not break a limit once its additions are applied (a school's
// tie budget, one tie per pair): `degree` and `tied` answer for the store as it
// will be once every change recorded so far in the phase is applied, and
// `for_each_added` visits a school's pending new ties. These queries are for
// such limits only; what a mechanism computes comes from the start-of-phase
// store.
class TieChanges {
 public:
  using Slot = TieStore::Slot;
  enum class Op : std::uint8_t { add, remove, set_trust, set_strength, age_all, set_trust_all };
  struct Change {
    Op op;
    TieReason reason;   // add, remove
    Slot slot;          // remove, set_*: a slot of the base store; add: index into added();
                        // set_trust_all: index of its values (trust_all())
    std::uint64_t id;   // remove, set_*: the tie's id, so that a tie removed meanwhile is skipped;
                        // set_trust_all: the base store's next id (ties below it are the base's)
    double value;       // set_*
  };

  TieChanges() = default;
  explicit TieChanges(const TieStore& base) { begin(base); }

  // Starts a phase: no changes yet, slots refer to `base`.
  void begin(const TieStore& base);

  void add(const NewTie& t, TieReason reason);
  void remove(Slot s, TieReason reason);
  void set_trust(Slot s, double trust);
  void set_strength(Slot s, double strength);
  void age_all();  // every live tie ages one term
  // Sets the trust of every live tie of the base store at once: the tie in
  // slot s gets trust[s] (trust has a value for each slot below the base's
  // slot_bound(); those of free slots are not read). The same as set_trust on
  // each live tie in slot order, as one change: a loop on the team may fill
  // `trust` and the change is recorded by one call.
  void set_trust_all(std::span<const double> trust);
  // The same, taking the values' memory (`trust` may be longer than the slot bound).
  void set_trust_all(std::vector<double>&& trust);

  // The store once the changes recorded so far are applied: degree of a school,
  // and whether two schools are tied.
  [[nodiscard]] std::int32_t degree(std::int32_t school) const {
    return base_->degree(school) + (delta_.empty() ? 0 : delta_[static_cast<std::size_t>(school)]);
  }
  [[nodiscard]] bool tied(std::int32_t x, std::int32_t y) const;
  // Calls f(const NewTie&) for each pending new tie of `school`.
  template <class F>
  void for_each_added(std::int32_t school, F&& f) const {
    if (head_.empty()) return;
    for (std::int64_t h = head_[static_cast<std::size_t>(school)]; h >= 0;
         h = next_[static_cast<std::size_t>(h)])
      f(added_[static_cast<std::size_t>(h >> 1)]);
  }
  [[nodiscard]] bool removed(Slot s) const { return s < gone_.size() && gone_[s] != 0; }

  [[nodiscard]] std::size_t size() const { return changes_.size(); }
  [[nodiscard]] bool empty() const { return changes_.empty(); }
  [[nodiscard]] const std::vector<Change>& changes() const { return changes_; }
  [[nodiscard]] const std::vector<NewTie>& added() const { return added_; }
  // The values of the set_trust_all change whose Change::slot is k.
  [[nodiscard]] std::span<const double> trust_all(Slot k) const { return trust_all_[k]; }
  [[nodiscard]] const TieStore* base() const { return base_; }

  // Applies every change to `ties` (the base store itself, or an exact copy of
  // it) in the order recorded, appends the tie events to `events` with term
  // `event_term`, and clears the buffer (begin() must be called again). A
  // change to every tie (age_all, set_trust_all) runs in chunks of slots on
  // `team`, when given; the others in order on the calling thread.
  void apply(TieStore& ties, std::int32_t event_term, std::vector<TieEvent>& events, const Team* team = nullptr);

 private:
  void check_slot(Slot s, std::string_view what) const;

  const TieStore* base_ = nullptr;
  std::vector<Change> changes_;
  std::vector<NewTie> added_;
  // The values of the set_trust_all changes (the first n_trust_all_ are this
  // phase's; the vectors are kept from phase to phase for their memory).
  std::vector<std::vector<double>> trust_all_;
  std::size_t n_trust_all_ = 0;
  // Pending view: degree change per school, pending removals of base slots and
  // each school's pending new ties (half-edges 2*add + side, -1 ends a list).
  std::vector<std::int32_t> delta_;
  std::vector<std::uint8_t> gone_;
  std::vector<std::int64_t> head_, next_;
  std::vector<std::int32_t> touched_;
  std::vector<Slot> gone_slots_;
};

}  // namespace schoolsim
