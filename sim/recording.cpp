#include "sim/recording.hpp"

#include <array>
#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace schoolsim {

Recorder::Recorder(RecordConfig config, const State& initial, std::int32_t replicate)
    : config_(std::move(config)) {
  rec_.replicate = replicate;
  rec_.n_schools = initial.n_schools();
  rec_.n_areas = initial.n_areas;
  rec_.initial = initial;
  // The recording keeps the generated world for its fixed columns and its
  // system measures; neither needs the neighbour rows.
  rec_.initial.near = Neighbours{};
  for (Field f : config_.schools) {
    SeriesBuffer buf;
    buf.field = f;
    buf.width = info(f).storage == Storage::vector ? static_cast<std::int32_t>(initial.practice_dims()) : 1;
    rec_.series.push_back(std::move(buf));
  }
  if (config_.system) rec_.system.resize(kMeasureCount);
  // Ties present in the generated world are logged as formed at term 0, so the
  // event log adds up to the tie counts from the start.
  if (config_.ties) {
    initial.ties.for_each([&](TieStore::Slot t) {
      const TieStore& ties = initial.ties;
      rec_.tie_events.push_back({0, ties.id[t], ties.a[t], ties.b[t], ties.kind[t],
                                 TieEventType::formed, TieReason::initial});
    });
  }
}

namespace {

// The record points of captures after terms first..last (inclusive): the terms
// of the series rows and the years of the attainment rows.
struct RecordPoints {
  std::vector<std::int32_t> series_terms, attainment_years;
  std::size_t terms = 0;  // captures (system measures: one row each)
};

RecordPoints record_points(const RecordConfig& config, std::int32_t first, std::int32_t last) {
  RecordPoints p;
  for (std::int32_t t = first; t <= last; ++t) {
    const bool year_end = t % kTermsPerYear == 0;
    if (config.every == Cadence::term || year_end) p.series_terms.push_back(t);
    if (year_end) p.attainment_years.push_back(t / kTermsPerYear);
    ++p.terms;
  }
  return p;
}

}  // namespace

void Recorder::capture(const State& s, std::int32_t terms_done, bool year_end) {
  const bool series_due = config_.every == Cadence::term || year_end;
  if (series_due && !rec_.series.empty()) {
    const std::size_t row = rec_.series_terms.size();
    if (sink_ && row >= planned_series_) {
      throw std::logic_error("Recorder: a series row the sink was not told of");
    }
    rec_.series_terms.push_back(terms_done);
    for (std::size_t k = 0; k < rec_.series.size(); ++k) {
      SeriesBuffer& buf = rec_.series[k];
      visit_field(s, buf.field, [&](const auto& col) {
        using T = std::decay_t<decltype(col)>;
        if constexpr (std::is_same_v<T, Eigen::ArrayXi>) {
          if (sink_) {
            sink_->series_row(k, row, col.data());
          } else {
            buf.integer.insert(buf.integer.end(), col.data(), col.data() + col.size());
          }
        } else {
          std::vector<float>& out = sink_ ? row_ : buf.real;
          if (sink_) out.clear();
          for (Eigen::Index i = 0; i < col.size(); ++i)
            out.push_back(static_cast<float>(col.data()[i]));
          if (sink_) sink_->series_row(k, row, out.data());
        }
      });
    }
  }
  // Attainment is produced once a year; the start of the run holds the
  // generated world's baseline.
  if (config_.attainment && year_end) {
    const std::size_t row = rec_.attainment_years.size();
    if (sink_ && row >= planned_years_) {
      throw std::logic_error("Recorder: an attainment row the sink was not told of");
    }
    rec_.attainment_years.push_back(terms_done / kTermsPerYear);
    std::vector<float>& dis = sink_ ? row_ : rec_.attainment_dis;
    std::vector<float>& adv = sink_ ? row2_ : rec_.attainment_adv;
    if (sink_) {
      dis.clear();
      adv.clear();
    }
    for (std::int32_t i = 0; i < s.n_schools(); ++i) {
      dis.push_back(static_cast<float>(s.attainment_dis[i]));
      adv.push_back(static_cast<float>(s.attainment_adv[i]));
    }
    if (sink_) sink_->attainment_row(row, dis.data(), adv.data());
  }
  if (config_.system) {
    rec_.system_terms.push_back(terms_done);
    std::array<double, kMeasureCount> values;
    compute_system_measures(s, values.data(), &measure_cache_, team_);
    for (std::size_t m = 0; m < kMeasureCount; ++m) rec_.system[m].push_back(values[m]);
  }
}

void Recorder::reserve(std::int32_t first, std::int32_t last) {
  const RecordPoints p = record_points(config_, first, last);
  const std::size_t series_rows = p.series_terms.size(), years = p.attainment_years.size();
  const auto n = static_cast<std::size_t>(rec_.n_schools);
  if (!rec_.series.empty()) {
    rec_.series_terms.reserve(rec_.series_terms.size() + series_rows);
    for (auto& buf : rec_.series) {
      if (sink_) continue;  // the rows go to the sink
      if (info(buf.field).storage == Storage::integer) {
        buf.integer.reserve(buf.integer.size() + series_rows * n);
      } else {
        buf.real.reserve(buf.real.size() + series_rows * n * static_cast<std::size_t>(buf.width));
      }
    }
  }
  if (config_.attainment) {
    rec_.attainment_years.reserve(rec_.attainment_years.size() + years);
    if (!sink_) {
      rec_.attainment_dis.reserve(rec_.attainment_dis.size() + years * n);
      rec_.attainment_adv.reserve(rec_.attainment_adv.size() + years * n);
    }
  }
  if (config_.system) {
    rec_.system_terms.reserve(rec_.system_terms.size() + p.terms);
    for (auto& v : rec_.system) v.reserve(v.size() + p.terms);
  }
}

void Recorder::stream_to(RowSink& sink, std::int32_t first, std::int32_t last) {
  if (!rec_.series_terms.empty() || !rec_.attainment_years.empty() || sink_) {
    throw std::logic_error("Recorder::stream_to: rows were already captured or streamed");
  }
  RecordPoints p = record_points(config_, first, last);
  if (rec_.series.empty()) p.series_terms.clear();
  if (!config_.attainment) p.attainment_years.clear();
  sink.begin(rec_, p.series_terms, p.attainment_years);
  for (const auto& m : kSystemMeasures) rec_.initial_measures.push_back(m.compute(rec_.initial));
  rec_.initial = State{};
  sink.tie_events(rec_.tie_events);  // the generated world's ties
  std::vector<TieEvent>().swap(rec_.tie_events);
  sink_ = &sink;
  planned_series_ = p.series_terms.size();
  planned_years_ = p.attainment_years.size();
  rec_.streamed = true;
}

void Recorder::add_events(const std::vector<TieEvent>& events) {
  if (!config_.ties) return;
  if (sink_) {
    sink_->tie_events(events);
  } else {
    rec_.tie_events.insert(rec_.tie_events.end(), events.begin(), events.end());
  }
}

Recording Recorder::finish(State final_state) && {
  if (sink_ && (rec_.series_terms.size() != planned_series_ ||
                rec_.attainment_years.size() != planned_years_))
    throw std::logic_error("Recorder::finish: fewer rows were captured than the sink was told of");
  rec_.final_state = std::move(final_state);
  rec_.final_state.near = Neighbours{};
  return std::move(rec_);
}

}  // namespace schoolsim
