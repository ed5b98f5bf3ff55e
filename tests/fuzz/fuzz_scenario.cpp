// libFuzzer target: the scenario parser (docs/SECURITY.md, "Fuzzing").
// Any text either parses or gives errors; a parsed scenario's resolved YAML
// parses back to the same text (a fixed point). Anything else aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace schoolsim;
  const std::string text(reinterpret_cast<const char*>(data), size);
  LoadResult r = parse_scenario(text, "fuzz.yaml", models::registry());
  if (!r.scenario) {
    if (r.errors.empty()) std::abort();  // refused without a reason
    return 0;
  }
  const std::string once = to_yaml(*r.scenario, models::registry());
  LoadResult again = parse_scenario(once, "fuzz.yaml", models::registry());
  if (!again.scenario) {
    std::fprintf(stderr, "the resolved scenario does not parse:\n%s\n%s\n", once.c_str(), again.errors[0].str().c_str());
    std::abort();
  }
  again.scenario->name = r.scenario->name;
  if (to_yaml(*again.scenario, models::registry()) != once) {
    std::fprintf(stderr, "the resolved scenario is not a fixed point:\n%s\n", once.c_str());
    std::abort();
  }
  return 0;
}
