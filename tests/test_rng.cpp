#include <doctest/doctest.h>

#include <boost/random/normal_distribution.hpp>
#include <cmath>

#include "sim/rng.hpp"

using namespace schoolsim;

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors") {
  CHECK(philox4x32({0, 0, 0, 0}, {0, 0}) ==
        std::array<std::uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
        std::array<std::uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
        std::array<std::uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("streams depend on their key only") {
  const Streams a(42, 0), b(42, 0), other_seed(43, 0), other_rep(42, 1);
  auto first = [](const Streams& s, std::uint32_t mech, std::uint32_t step, std::uint64_t entity) {
    Stream r = s.stream(mech, step, entity);
    return std::array<std::uint32_t, 3>{r(), r(), r()};
  };
  CHECK(first(a, 1, 2, 3) == first(b, 1, 2, 3));
  CHECK(first(a, 1, 2, 3) != first(other_seed, 1, 2, 3));
  CHECK(first(a, 1, 2, 3) != first(other_rep, 1, 2, 3));
  CHECK(first(a, 1, 2, 3) != first(a, 2, 2, 3));
  CHECK(first(a, 1, 2, 3) != first(a, 1, 3, 3));
  CHECK(first(a, 1, 2, 3) != first(a, 1, 2, 4));
  // Drawing from one stream does not disturb another.
  Stream x = a.stream(5, 0, 0);
  for (int i = 0; i < 100; ++i) x();
  CHECK(first(a, 5, 0, 1) == first(b, 5, 0, 1));
}

TEST_CASE("stream: uniforms in 0 to 1 and Boost normals with the right moments") {
  const Streams s(1, 0);
  Stream r = s.stream(stream_key("moments"), 0, 0);
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    lo = std::min(lo, u), hi = std::max(hi, u);
    sum += u;
  }
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  boost::random::normal_distribution<double> normal;
  sum = 0;
  for (int i = 0; i < n; ++i) {
    const double z = normal(r);
    sum += z, sum2 += z * z;
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(sum2 / n == doctest::Approx(1.0).epsilon(0.02));
  CHECK(stream_key("transfer") != stream_key("turnover"));
}
