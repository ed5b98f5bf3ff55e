// What one replicate of a run records, held in memory until it is written, or
// with its per-school rows written to the file as they are recorded.
//
// Replicates may run on several threads; each fills its own Recording, and the
// output file is written replicate by replicate in order, so the file's bytes do
// not depend on the thread count. When replicates run one at a time, a run
// streams each one's series and attainment rows to the file (RowSink): the file
// receives the same calls in the same order, so its bytes are the same, and the
// rows are not held (docs/PERFORMANCE.md, issue 16).
#pragma once

#include <cstddef>
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

  // The series and attainment rows and the tie events went to a RowSink as they
  // were recorded: series_terms and attainment_years say which rows, the
  // buffers and tie_events are empty.
  // The sink wrote the generated world's fixed columns too, so `initial` is
  // released, and `initial_measures` holds its system measures (kSystemMeasures
  // order) for the terminal summary.
  bool streamed = false;
  std::vector<double> initial_measures;
};

// Receives a replicate's per-school rows and tie events as they are recorded,
// in order.
// OutputFile's sink writes them to the file at once (sim/io/output.hpp).
class RowSink {
 public:
  RowSink() = default;
  RowSink(const RowSink&) = delete;
  RowSink& operator=(const RowSink&) = delete;
  RowSink(RowSink&&) = delete;
  RowSink& operator=(RowSink&&) = delete;
  virtual ~RowSink() = default;
  // Before the first row: the replicate (its number, size, generated world and
  // series fields, no rows) and the rows that will follow, by the term of each
  // series row and the year of each attainment row.
  virtual void begin(const Recording& header, const std::vector<std::int32_t>& series_terms,
                     const std::vector<std::int32_t>& attainment_years) = 0;
  // Row `row` of series `k` of the header: n_schools x width values.
  virtual void series_row(std::size_t k, std::size_t row, const float* values) = 0;
  virtual void series_row(std::size_t k, std::size_t row, const std::int32_t* values) = 0;
  // Attainment row `row`: n_schools values each.
  virtual void attainment_row(std::size_t row, const float* dis, const float* adv) = 0;
  // Tie events, appended in the order they happened.
  virtual void tie_events(const std::vector<TieEvent>& events) = 0;
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
  // Sends the rows of the captures after terms first..last (inclusive), and
  // the tie events, to `sink` instead of holding them. Call before the first capture; the
  // Recording then comes back with `streamed` set, and finish() throws unless
  // every row announced to the sink was captured.
  void stream_to(RowSink& sink, std::int32_t first, std::int32_t last);
  void add_events(const std::vector<TieEvent>& events);
  // The threads the system measures' loops run on (none: the calling thread).
  void use_team(const Team* team) { team_ = team; }
  Recording finish(State final_state) &&;

 private:
  RecordConfig config_;
  Recording rec_;
  MeasureCache measure_cache_;
  const Team* team_ = nullptr;
  RowSink* sink_ = nullptr;
  std::size_t planned_series_ = 0, planned_years_ = 0;  // rows announced to sink_
  std::vector<float> row_, row2_;                       // one row converted to float, for sink_
};

}  // namespace schoolsim
