// What one replicate of a run records, held in memory until it is written.
//
// Replicates may run on several threads; each fills its own Recording, and the
// output file is written replicate by replicate in order, so the file's bytes do
// not depend on the thread count.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "sim/fields.hpp"
#include "sim/measures.hpp"
#include "sim/scenario.hpp"
#include "sim/state.hpp"
#include "sim/ties.hpp"

namespace schoolsim {

// One per-school series: rows = record points, each row n_schools values
// (times width for vector fields), row-major.
struct SeriesBuffer {
  Field field{};
  std::int32_t width = 1;
  std::vector<float> real;        // real and vector fields
  std::vector<std::int32_t> integer;  // integer fields
};

struct Recording {
  std::int32_t replicate = 0;
  std::int32_t n_schools = 0;
  std::int32_t n_areas = 0;
  State initial;  // the generated world, for the static attributes in /schools

  std::vector<std::int32_t> series_terms;  // terms completed at each record row (0 = start)
  std::vector<SeriesBuffer> series;

  std::vector<std::int32_t> attainment_years;  // years completed at each row (0 = baseline)
  std::vector<float> attainment_dis, attainment_adv;  // [year x school], row-major

  std::vector<std::int32_t> system_terms;       // terms completed at each row (0 = start)
  std::vector<std::vector<double>> system;      // one vector per kSystemMeasures entry

  std::vector<TieEvent> tie_events;

  // Final state summary for the terminal.
  State final_state;
};

// Collects a Recording from the running simulation as the scenario asks.
class Recorder {
 public:
  Recorder(RecordConfig config, const State& initial, std::int32_t replicate);
  // Continues a recording (a run restarted from a checkpoint).
  Recorder(RecordConfig config, Recording so_far) : config_(std::move(config)), rec_(std::move(so_far)) {}
  [[nodiscard]] const Recording& so_far() const { return rec_; }
  // Called with the state after `terms_done` terms (0 = the initial state).
  void capture(const State& s, std::int32_t terms_done, bool year_end);
  // Makes room for the captures after terms first..last (inclusive), so that
  // the buffers are allocated once at their final size instead of growing by
  // doubling (which leaves up to half of each unused at the end of a run).
  void reserve(std::int32_t first, std::int32_t last);
  void add_events(const std::vector<TieEvent>& events);
  // The threads the system measures' loops run on (none: the calling thread).
  void use_team(const Team* team) { team_ = team; }
  Recording finish(State final_state) &&;

 private:
  RecordConfig config_;
  Recording rec_;
  MeasureCache measure_cache_;
  const Team* team_ = nullptr;
};

}  // namespace schoolsim
