// libFuzzer target: the checkpoint loader (docs/SECURITY.md, "Fuzzing"). The
// checksum is skipped so that mutations reach the checks behind it: any bytes
// are either refused with a reason or give a checkpoint whose every length,
// index and tie endpoint is in range. AddressSanitizer reports the rest.
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "sim/io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace schoolsim;
  try {
    const Checkpoint c = parse_checkpoint(std::string_view(reinterpret_cast<const char*>(data), size), false);
    // Accepted: walk what the kernel walks first.
    std::int64_t sum = 0;
    c.state.ties.for_each([&](TieStore::Slot s) { sum += c.state.ties.a[s] + c.state.ties.b[s]; });
    for (std::int32_t i = 0; i < c.state.n_schools(); ++i)
      c.state.ties.for_each_tie(i, [&](TieStore::Slot, std::int32_t j) { sum += c.state.area[j]; });
    for (std::int64_t e = 0; e < static_cast<std::int64_t>(c.state.near.size()); ++e)
      sum += c.state.area[c.state.near.school[static_cast<std::size_t>(e)]];
    return static_cast<int>(sum & 0);
  } catch (const std::runtime_error&) {
    return 0;
  }
}
