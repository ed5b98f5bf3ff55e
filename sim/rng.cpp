#include "sim/rng.hpp"

namespace schoolsim {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Streams::Streams(std::uint64_t seed, std::uint32_t replicate) {
  const std::uint64_t k = splitmix64(splitmix64(seed) ^ (0xA0761D6478BD642Full * (replicate + 1ull)));
  key_ = {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32)};
}

}  // namespace schoolsim
