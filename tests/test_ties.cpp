#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <boost/random/uniform_int_distribution.hpp>
#include <set>

#include "sim/rng.hpp"
#include "sim/ties.hpp"

using namespace schoolsim;

TEST_CASE("tie store: add find iterate and remove on a hand-built network") {
  TieStore t(4);
  const auto s01 = t.add({.a = 0, .b = 1, .strength = 0.3});
  const auto s12 = t.add({.a = 1, .b = 2, .trust = 0.9});
  const auto s13 = t.add({.a = 1, .b = 3, .kind = TieKind::federation});
  CHECK(t.size() == 3);
  CHECK(t.degree(1) == 3);
  CHECK(t.degree(0) == 1);
  CHECK(t.find(2, 1) == s12);
  CHECK(t.find(0, 3) == TieStore::kNone);
  CHECK(t.strength[s01] == doctest::Approx(0.3));
  CHECK(t.kind[s13] == TieKind::federation);

  std::set<std::int32_t> partners;
  t.for_each_tie(1, [&](TieStore::Slot, std::int32_t j) { partners.insert(j); });
  CHECK(partners == std::set<std::int32_t>{0, 2, 3});

  const auto id12 = t.id[s12];
  t.remove(s12);
  CHECK(t.size() == 2);
  CHECK(t.degree(1) == 2);
  CHECK(t.degree(2) == 0);
  CHECK(t.find(1, 2) == TieStore::kNone);
  CHECK(t.check_invariants().empty());

  // A freed slot is reused, but the new tie gets a fresh id.
  const auto s23 = t.add({.a = 2, .b = 3});
  CHECK(s23 == s12);
  CHECK(t.id[s23] != id12);
  CHECK(t.id[s23] == 3);
  CHECK_THROWS(t.add({.a = 2, .b = 2}));
  CHECK_THROWS(t.add({.a = 0, .b = 4}));
  CHECK_THROWS(t.remove(99));
}

TEST_CASE("tie store: invariants hold under random add/remove sequences") {
  const Streams streams(7, 0);
  for (std::uint32_t trial = 0; trial < 20; ++trial) {
    Stream rng = streams.stream(stream_key("tie-test"), trial, 0);
    const std::int32_t n = 2 + static_cast<std::int32_t>(trial % 9);
    TieStore t(n);
    std::set<std::pair<std::int32_t, std::int32_t>> model;  // the reference: a set of pairs
    std::set<std::uint64_t> ids;
    boost::random::uniform_int_distribution<std::int32_t> school(0, n - 1);
    for (int op = 0; op < 400; ++op) {
      const std::int32_t x = school(rng), y = school(rng);
      if (x == y) continue;
      const auto key = std::minmax(x, y);
      const auto slot = t.find(x, y);
      CHECK((slot != TieStore::kNone) == model.count(key));
      if (slot == TieStore::kNone) {
        const auto s = t.add({.a = x, .b = y});
        CHECK(ids.insert(t.id[s]).second);  // ids are never reused
        model.insert(key);
      } else {
        t.remove(static_cast<TieStore::Slot>(slot));
        model.erase(key);
      }
      REQUIRE(t.size() == model.size());
    }
    const std::string problems = t.check_invariants();
    CHECK_MESSAGE(problems.empty(), problems);
    for (std::int32_t i = 0; i < n; ++i) {
      std::int32_t expected = 0;
      for (const auto& [a, b] : model) expected += (a == i) + (b == i);
      CHECK(t.degree(i) == expected);
    }
  }
}

TEST_CASE("tie store: each school visits its ties newest first through block moves and compaction") {
  // The reference: each school's list of (slot, partner), oldest first; a
  // school visits it newest first, as the linked lists of earlier versions did. 60 schools and 20,000 random
  // additions and removals make blocks outgrow their room many times, move to
  // the end of the pool and the pool compact; the order must survive all of it.
  const Streams streams(11, 0);
  Stream rng = streams.stream(stream_key("tie-order-test"), 0, 0);
  constexpr std::int32_t n = 60;
  TieStore t(n);
  std::vector<std::vector<std::pair<TieStore::Slot, std::int32_t>>> model(n);
  boost::random::uniform_int_distribution<std::int32_t> school(0, n - 1);
  std::size_t most = 0;
  for (int op = 0; op < 20000; ++op) {
    const std::int32_t x = school(rng), y = school(rng);
    if (x == y) continue;
    const auto slot = t.find(x, y);
    if (slot == TieStore::kNone) {
      const auto s = t.add({.a = x, .b = y});
      model[x].emplace_back(s, y);
      model[y].emplace_back(s, x);
    } else {
      const auto s = static_cast<TieStore::Slot>(slot);
      t.remove(s);
      for (const std::int32_t i : {x, y})
        std::erase_if(model[i], [s](const auto& e) { return e.first == s; });
    }
    most = std::max(most, t.size());
    if (op % 1000 == 0) REQUIRE(t.check_invariants().empty());
  }
  CHECK(most > 600);  // schools of degree 20 and more: blocks grew from 4 several times
  CHECK(t.check_invariants().empty());
  // What the store holds: at least 44 bytes a slot and two 8-byte ends a tie,
  // and well under the 200 bytes a tie the design allows.
  CHECK(t.memory_bytes() >= 44 * t.slot_bound() + 16 * t.size());
  CHECK(t.memory_bytes() <= 200 * most);
  for (std::int32_t i = 0; i < n; ++i) {
    std::vector<std::pair<TieStore::Slot, std::int32_t>> seen;
    t.for_each_tie(i, [&](TieStore::Slot s, std::int32_t j) { seen.emplace_back(s, j); });
    const auto& oldest_first = model[static_cast<std::size_t>(i)];
    CHECK(seen == std::vector(oldest_first.rbegin(), oldest_first.rend()));
  }
}

// ---------------------------------------------------------------- TieChanges

namespace {
// Every attribute and list of two stores, slot by slot.
void check_same_store(const TieStore& x, const TieStore& y) {
  REQUIRE(x.check_invariants().empty());
  REQUIRE(y.check_invariants().empty());
  CHECK(x.size() == y.size());
  CHECK(x.next_id() == y.next_id());
  CHECK(x.alive == y.alive);
  CHECK(x.id == y.id);
  CHECK(x.a == y.a);
  CHECK(x.b == y.b);
  CHECK(x.strength == y.strength);
  CHECK(x.trust == y.trust);
  CHECK(x.age == y.age);
  CHECK(x.kind == y.kind);
  for (std::int32_t i = 0; i < x.n_schools(); ++i) {
    std::vector<std::int32_t> px, py;
    x.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) { px.push_back(j); });
    y.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) { py.push_back(j); });
    CHECK(px == py);
  }
}
}  // namespace

TEST_CASE("tie changes applied in the order recorded give the slots and ids of the same changes made directly") {
  // A random store, then a random mix of changes: applying the buffer must
  // give the store that making each change at once on a copy gives.
  TieStore start(60);
  Stream rng = Streams(11, 0).stream(1, 0, 0);
  boost::random::uniform_int_distribution<std::int32_t> school(0, 59);
  for (int k = 0; k < 150; ++k) {
    const std::int32_t a = school(rng), b = school(rng);
    if (a != b && start.find(a, b) == TieStore::kNone) start.add({.a = std::min(a, b), .b = std::max(a, b)});
  }
  std::vector<TieStore::Slot> live;
  start.for_each([&](TieStore::Slot s) { live.push_back(s); });
  for (std::size_t k = 0; k < live.size(); k += 5) start.remove(live[k]);  // a free list to reuse
  live.clear();
  start.for_each([&](TieStore::Slot s) { live.push_back(s); });
  REQUIRE(live.size() > 50);

  TieStore direct = start, buffered = start;
  TieChanges changes(start);
  std::vector<TieEvent> direct_events, events;
  for (std::size_t k = 0; k < live.size(); ++k) {
    const TieStore::Slot s = live[k];
    if (k % 3 == 0) {
      direct_events.push_back({7, direct.id[s], direct.a[s], direct.b[s], direct.kind[s], TieEventType::dissolved,
                               TieReason::trust_lost});
      direct.remove(s);
      changes.remove(s, TieReason::trust_lost);
    } else {
      direct.trust[s] = 0.01 * static_cast<double>(k % 100);
      changes.set_trust(s, 0.01 * static_cast<double>(k % 100));
      direct.strength[s] = 0.2;
      changes.set_strength(s, 0.2);
    }
    if (k % 4 == 0) {  // interleaved additions reuse the freed slots
      const std::int32_t a = school(rng), b = school(rng);
      if (a == b || direct.find(a, b) != TieStore::kNone) continue;
      const NewTie t{.a = std::min(a, b), .b = std::max(a, b), .kind = TieKind::programme};
      CHECK(!changes.tied(a, b));
      const auto d = direct.add(t);
      direct_events.push_back({7, direct.id[d], t.a, t.b, t.kind, TieEventType::formed, TieReason::programme});
      changes.add(t, TieReason::programme);
      CHECK(changes.tied(a, b));
    }
  }
  direct.for_each([&](TieStore::Slot s) { ++direct.age[s]; });
  changes.age_all();
  // The pending view answers for the store once the changes are applied.
  for (std::int32_t i = 0; i < 60; ++i) CHECK(changes.degree(i) == direct.degree(i));
  changes.apply(buffered, 7, events);
  check_same_store(buffered, direct);
  REQUIRE(events.size() == direct_events.size());
  for (std::size_t k = 0; k < events.size(); ++k) {
    CAPTURE(k);
    CHECK(events[k].term == 7);
    CHECK(events[k].tie == direct_events[k].tie);
    CHECK(events[k].school_a == direct_events[k].school_a);
    CHECK(events[k].school_b == direct_events[k].school_b);
    CHECK(events[k].event == direct_events[k].event);
    CHECK(events[k].reason == direct_events[k].reason);
  }
  CHECK(changes.empty());
}

TEST_CASE("a tie removed twice in one phase is removed once and logged once") {
  TieStore t(4);
  const auto s01 = t.add({.a = 0, .b = 1});
  const auto s12 = t.add({.a = 1, .b = 2});
  const auto id01 = t.id[s01];
  TieChanges changes(t);
  changes.remove(s01, TieReason::withdrawal);        // say, durkheim
  changes.remove(s01, TieReason::benefit_below_cost);  // a later mechanism of the same phase
  CHECK(changes.degree(0) == 0);
  CHECK(changes.degree(1) == 1);
  CHECK(changes.removed(s01));
  CHECK(!changes.tied(0, 1));
  // A new tie takes the freed slot before a change to the removed tie's slot
  // comes: that change is skipped, not applied to the new tie.
  changes.add({.a = 2, .b = 3, .trust = 0.3}, TieReason::search);
  changes.set_trust(s01, 0.9);
  changes.set_trust(s12, 0.7);
  std::vector<TieEvent> events;
  changes.apply(t, 4, events);
  REQUIRE(events.size() == 2);
  CHECK(events[0].tie == id01);
  CHECK(events[0].event == TieEventType::dissolved);
  CHECK(events[0].reason == TieReason::withdrawal);
  CHECK(events[1].event == TieEventType::formed);
  CHECK(events[1].tie == 2);
  CHECK(t.size() == 2);
  const auto s23 = static_cast<TieStore::Slot>(t.find(2, 3));
  CHECK(s23 == s01);                 // the freed slot, reused
  CHECK(t.trust[s23] == 0.3);        // not the removed tie's change
  CHECK(t.trust[s12] == 0.7);
  CHECK(t.check_invariants().empty());
}

TEST_CASE("setting the trust of every tie at once gives what one set_trust per live tie in slot order gives") {
  // A store with free slots; in the phase, ties are removed and new ones take
  // their slots before (and after) the trust of all is set.
  TieStore start(40);
  Stream rng = Streams(5, 0).stream(1, 0, 0);
  boost::random::uniform_int_distribution<std::int32_t> school(0, 39);
  for (int k = 0; k < 90; ++k) {
    const std::int32_t a = school(rng), b = school(rng);
    if (a != b && start.find(a, b) == TieStore::kNone) start.add({.a = std::min(a, b), .b = std::max(a, b)});
  }
  std::vector<TieStore::Slot> live;
  start.for_each([&](TieStore::Slot s) { live.push_back(s); });
  for (std::size_t k = 0; k < live.size(); k += 4) start.remove(live[k]);
  std::vector<double> trust(start.slot_bound(), std::nan(""));  // free slots' values are not read
  start.for_each([&](TieStore::Slot s) { trust[s] = 0.001 * static_cast<double>(s + 1); });
  const auto record = [&](TieChanges& changes, bool all) {
    std::int32_t removed = 0;
    start.for_each([&](TieStore::Slot s) {
      if (s % 5 == 1 && removed++ < 4) changes.remove(s, TieReason::trust_lost);
    });
    changes.add({.a = 0, .b = 39, .trust = 0.25}, TieReason::search);  // takes a freed slot
    if (all) {
      changes.set_trust_all(trust);
    } else {
      start.for_each([&](TieStore::Slot s) { changes.set_trust(s, trust[s]); });
    }
    changes.add({.a = 1, .b = 38, .trust = 0.75}, TieReason::search);
  };
  TieStore one = start, each = start;
  TieChanges all_changes(start), each_changes(start);
  record(all_changes, true);
  record(each_changes, false);
  CHECK(all_changes.size() < each_changes.size());
  std::vector<TieEvent> all_events, each_events;
  all_changes.apply(one, 3, all_events);
  each_changes.apply(each, 3, each_events);
  check_same_store(one, each);
  CHECK(one.trust[static_cast<TieStore::Slot>(one.find(0, 39))] == 0.25);
  CHECK(one.trust[static_cast<TieStore::Slot>(one.find(1, 38))] == 0.75);
  CHECK(all_events.size() == each_events.size());
  CHECK(one.check_invariants().empty());
  TieChanges short_changes(start);
  CHECK_THROWS_WITH_AS(short_changes.set_trust_all(std::span<const double>(trust).first(1)),
                       doctest::Contains("values for"), std::logic_error);
}

TEST_CASE("a pair tied twice in one phase is tied once and a change must name a live tie of the start") {
  TieStore t(3);
  const auto s = t.add({.a = 0, .b = 1});
  TieChanges changes(t);
  changes.add({.a = 1, .b = 2}, TieReason::programme);
  CHECK(changes.degree(1) == 2);
  changes.add({.a = 1, .b = 2}, TieReason::brokered);  // a second mechanism that did not look
  CHECK(changes.degree(1) == 2);                      // counted once
  std::size_t seen = 0;
  changes.for_each_added(2, [&](const NewTie& n) { seen += n.a == 1 ? 1 : 0; });
  CHECK(seen == 1);
  CHECK_THROWS_WITH_AS(changes.remove(s + 5, TieReason::removed), doctest::Contains("not a live tie"), std::logic_error);
  CHECK_THROWS_WITH_AS(changes.add({.a = 2, .b = 2}, TieReason::search), doctest::Contains("bad endpoints"),
                       std::logic_error);
  std::vector<TieEvent> events;
  changes.apply(t, 1, events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].reason == TieReason::programme);
  CHECK(t.size() == 2);
  CHECK(t.degree(1) == 2);
}
