// Keyed random streams.
//
// Every draw comes from a stream keyed by (seed, replicate, mechanism, step,
// entity), where the entity is a school index or a tie id. The stream is a
// Philox4x32-10 counter-based generator (Salmon et al. 2011, "Parallel random
// numbers: as easy as 1, 2, 3"): the key holds (seed, replicate), the counter
// holds (mechanism, step, entity, draw index). A stream therefore depends on
// nothing but its key, so results are identical for any visit order or thread
// count, and switching one mechanism off leaves every other mechanism's draws
// unchanged. Distributions come from Boost.Random, which gives the same numbers
// on every compiler (std:: distributions do not).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

namespace schoolsim {

// Stable 32-bit key of a mechanism name (FNV-1a), so a mechanism's streams do
// not depend on its position in the pipeline.
constexpr std::uint32_t stream_key(std::string_view name) {
  std::uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

// Defined here, inline, because every draw of every mechanism goes through it:
// out of line, the call and the array copies cost as much as the ten rounds.
inline std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> c,
                                               std::array<std::uint32_t, 2> k) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c[2];
    const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kWeyl0;
    k[1] += kWeyl1;
  }
  return c;
}

// A UniformRandomNumberGenerator (32-bit words) for Boost.Random distributions.
class Stream {
 public:
  using result_type = std::uint32_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  Stream(std::array<std::uint32_t, 2> key, std::uint32_t mechanism, std::uint32_t step,
         std::uint32_t entity)
      : key_(key), counter_{0, entity, step, mechanism} {}

  result_type operator()() {
    if (used_ == 4) {
      block_ = philox4x32(counter_, key_);
      ++counter_[0];
      used_ = 0;
    }
    return block_[used_++];
  }

  // A uniform double in [0, 1) with 53 random bits.
  double uniform() {
    const std::uint64_t hi = (*this)() >> 5;  // 27 bits
    const std::uint64_t lo = (*this)() >> 6;  // 26 bits
    return static_cast<double>((hi << 26) | lo) * 0x1.0p-53;
  }

 private:
  std::array<std::uint32_t, 2> key_;
  std::array<std::uint32_t, 4> counter_;
  std::array<std::uint32_t, 4> block_{};
  int used_ = 4;
};

// The streams of one replicate of one run.
class Streams {
 public:
  Streams(std::uint64_t seed, std::uint32_t replicate);

  [[nodiscard]] Stream stream(std::uint32_t mechanism, std::uint32_t step, std::uint64_t entity) const {
    // The entity is taken modulo 2^32: tie ids would have to pass four billion
    // in one run before two ties shared a stream.
    return {key_, mechanism, step, static_cast<std::uint32_t>(entity)};
  }
  // The (seed, replicate) key: two Streams with the same key give the same draws.
  [[nodiscard]] std::array<std::uint32_t, 2> key() const { return key_; }

 private:
  std::array<std::uint32_t, 2> key_;
};

}  // namespace schoolsim
