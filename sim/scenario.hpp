// A scenario as the kernel sees it: plain, validated structs with every default
// filled in. Only sim/config turns YAML into these.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/fields.hpp"
#include "sim/mechanism.hpp"
#include "sim/register.hpp"

namespace schoolsim {

struct PipelineEntry {
  const MechanismInfo* info = nullptr;
  std::vector<double> values;  // one per info->params, in table order
};

// A parameter change that fires once, at the start of the given term.
struct TimelineEvent {
  std::int32_t year = 0;  // 0-based year of the run
  std::int32_t term = 1;  // 1, 2 or 3
  std::size_t entry = 0;  // index into Scenario::pipeline
  std::size_t param = 0;  // index into that mechanism's params
  double value = 0;
  [[nodiscard]] std::int32_t absolute_term() const { return year * kTermsPerYear + term - 1; }
};

struct RecordConfig {
  Cadence every = Cadence::year;   // rate of per-school series
  std::vector<Field> schools;      // per-school series to record
  bool attainment = true;          // yearly attainment by pupil group
  bool system = true;              // per-term system measures
  bool ties = true;                // tie formation and dissolution events
};

struct Scenario {
  std::string name;
  std::string description;
  std::string source;  // the file it was read from
  std::uint64_t seed = 1;
  std::int32_t replicates = 1;
  std::int32_t years = 10;
  std::vector<double> world;  // one per registry.world().params
  // A world read from a register (docs/DATA.md) instead of generated: the
  // source as written, and the schools read from it when the scenario loaded.
  std::optional<RegisterSource> world_register;
  std::shared_ptr<const SchoolRegister> register_data;
  std::vector<PipelineEntry> pipeline;
  std::vector<TimelineEvent> timeline;
  RecordConfig record;

  [[nodiscard]] std::int32_t terms() const { return years * kTermsPerYear; }
};

}  // namespace schoolsim
