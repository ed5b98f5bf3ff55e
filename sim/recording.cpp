#include "sim/recording.hpp"

#include <array>
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

void Recorder::capture(const State& s, std::int32_t terms_done, bool year_end) {
  const bool series_due = config_.every == Cadence::term || year_end;
  if (series_due && !rec_.series.empty()) {
    rec_.series_terms.push_back(terms_done);
    for (auto& buf : rec_.series) {
      visit_field(s, buf.field, [&](const auto& col) {
        using T = std::decay_t<decltype(col)>;
        if constexpr (std::is_same_v<T, Eigen::ArrayXi>) {
          buf.integer.insert(buf.integer.end(), col.data(), col.data() + col.size());
        } else {
          for (Eigen::Index i = 0; i < col.size(); ++i)
            buf.real.push_back(static_cast<float>(col.data()[i]));
        }
      });
    }
  }
  // Attainment is produced once a year; the start of the run holds the
  // generated world's baseline.
  if (config_.attainment && year_end) {
    rec_.attainment_years.push_back(terms_done / kTermsPerYear);
    for (std::int32_t i = 0; i < s.n_schools(); ++i) {
      rec_.attainment_dis.push_back(static_cast<float>(s.attainment_dis[i]));
      rec_.attainment_adv.push_back(static_cast<float>(s.attainment_adv[i]));
    }
  }
  if (config_.system) {
    rec_.system_terms.push_back(terms_done);
    std::array<double, kMeasureCount> values;
    compute_system_measures(s, values.data(), &measure_cache_, team_);
    for (std::size_t m = 0; m < kMeasureCount; ++m) rec_.system[m].push_back(values[m]);
  }
}

void Recorder::reserve(std::int32_t first, std::int32_t last) {
  std::size_t series_rows = 0, years = 0, terms = 0;
  for (std::int32_t t = first; t <= last; ++t) {
    const bool year_end = t % kTermsPerYear == 0;
    series_rows += config_.every == Cadence::term || year_end ? 1 : 0;
    years += year_end ? 1 : 0;
    ++terms;
  }
  const auto n = static_cast<std::size_t>(rec_.n_schools);
  if (!rec_.series.empty()) {
    rec_.series_terms.reserve(rec_.series_terms.size() + series_rows);
    for (auto& buf : rec_.series) {
      if (info(buf.field).storage == Storage::integer) {
        buf.integer.reserve(buf.integer.size() + series_rows * n);
      } else {
        buf.real.reserve(buf.real.size() + series_rows * n * static_cast<std::size_t>(buf.width));
      }
    }
  }
  if (config_.attainment) {
    rec_.attainment_years.reserve(rec_.attainment_years.size() + years);
    rec_.attainment_dis.reserve(rec_.attainment_dis.size() + years * n);
    rec_.attainment_adv.reserve(rec_.attainment_adv.size() + years * n);
  }
  if (config_.system) {
    rec_.system_terms.reserve(rec_.system_terms.size() + terms);
    for (auto& v : rec_.system) v.reserve(v.size() + terms);
  }
}

void Recorder::add_events(const std::vector<TieEvent>& events) {
  if (config_.ties) rec_.tie_events.insert(rec_.tie_events.end(), events.begin(), events.end());
}

Recording Recorder::finish(State final_state) && {
  rec_.final_state = std::move(final_state);
  rec_.final_state.near = Neighbours{};
  return std::move(rec_);
}

}  // namespace schoolsim
