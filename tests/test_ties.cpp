#include <doctest/doctest.h>

#include <algorithm>
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
