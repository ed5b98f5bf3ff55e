// The run's output file (schema: docs/OUTPUT.md). The only code that touches HDF5.
#include "sim/io/output.hpp"

#include <sys/types.h>
#include <unistd.h>
#include <csignal>

#include <cerrno>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "sim/io/h5.hpp"

namespace schoolsim {

namespace fs = std::filesystem;

namespace {

// Chunk shape limits for per-school tables: rows (record points) x schools.
constexpr hsize_t kChunkRows = 8;
constexpr hsize_t kChunkSchools = 8192;
// Tie events are appended a chunk at a time, whatever batches they arrive in.
constexpr hsize_t kChunkEvents = 1024;

struct Describe {
  std::string_view unit;
  std::string_view meaning;
  int count = -1;  // a system measure's `count` attribute (1 or 0); -1: none
};

hsize_t product(const std::vector<hsize_t>& dims) {
  return std::accumulate(dims.begin(), dims.end(), hsize_t{1}, std::multiplies<>());
}

// A chunk no larger than the dataset in any dimension, and at least 1.
std::vector<hsize_t> chunk_for(const std::vector<hsize_t>& dims, const std::vector<hsize_t>& limits) {
  std::vector<hsize_t> c(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) c[i] = std::max<hsize_t>(1, std::min(dims[i], limits[i]));
  return c;
}

// Dataset creation properties: no time stamps; chunked when `chunk` is given,
// and then shuffled and deflated at `level` unless it is 0.
h5::Plist dataset_plist(const std::vector<hsize_t>& chunk, unsigned level) {
  h5::Plist dcpl = h5::untimed_plist(H5P_DATASET_CREATE);
  if (!chunk.empty()) {
    h5::check(H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()), "set chunk shape");
    // Edge chunks are filled with zeros in full, so no stray bytes reach the file.
    h5::check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_ALLOC), "set fill time");
    if (level > 0) {
      h5::check(H5Pset_shuffle(dcpl.id()), "set shuffle filter");
      h5::check(H5Pset_deflate(dcpl.id(), level), "set deflate filter");
    }
  }
  return dcpl;
}

void describe(hid_t obj, const Describe& d) {
  h5::write_string_attribute(obj, "unit", std::string(d.unit));
  h5::write_string_attribute(obj, "meaning", std::string(d.meaning));
  if (d.count >= 0) h5::write_scalar_attribute(obj, "count", static_cast<std::int32_t>(d.count));
}

// Creates an array of `dims` of T's type. Per-school tables (`chunk_limits`
// given) are chunked and compressed at `level`; uncompressed (level 0) they are
// contiguous, since chunks would only add the padding of the edge chunks, and
// their space is allocated at once, so that the file's layout does not depend on
// whether the rows come at once or one by one. Empty arrays are zero-size
// contiguous datasets.
template <class T>
h5::Dataset create_array(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                         const Describe& d, const std::vector<hsize_t>& chunk_limits = {},
                         unsigned level = 0) {
  const hsize_t n = product(dims);
  const h5::Dataspace space = h5::simple_space(dims);
  const bool chunked = n > 0 && level > 0 && !chunk_limits.empty();
  const h5::Plist dcpl =
      dataset_plist(chunked ? chunk_for(dims, chunk_limits) : std::vector<hsize_t>{}, level);
  if (!chunked && n > 0)
    h5::check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), "set allocation time");
  h5::Dataset ds(H5Dcreate2(parent, name.c_str(), h5::TypeOf<T>::file(), space.id(), H5P_DEFAULT,
                            dcpl.id(), H5P_DEFAULT),
                 "create dataset '" + name + "'");
  describe(ds.id(), d);
  return ds;
}

// Writes all of `ds` (`n` values) from `data` (row-major); nothing when n is 0.
template <class T>
void write_all(const h5::Dataset& ds, const std::string& name, const T* data, hsize_t n) {
  if (n == 0) return;
  h5::check(H5Dwrite(ds.id(), h5::TypeOf<T>::mem(), h5::kAll, h5::kAll, H5P_DEFAULT, data),
            "write dataset '" + name + "'");
}

// Writes row `row` of `ds` ([rows x ...], row-major) from `data`.
template <class T>
void write_row(const h5::Dataset& ds, const std::string& name, std::size_t row, const T* data) {
  std::vector<hsize_t> dims = h5::dims_of(ds.id());
  if (dims.empty() || row >= dims[0])
    throw std::logic_error("row " + std::to_string(row) + " is not in '" + name + "'");
  std::vector<hsize_t> start(dims.size(), 0);
  start[0] = row;
  dims[0] = 1;
  const h5::Dataspace file(H5Dget_space(ds.id()), "get dataspace of '" + name + "'");
  h5::check(
      H5Sselect_hyperslab(file.id(), H5S_SELECT_SET, start.data(), nullptr, dims.data(), nullptr),
      "select row of '" + name + "'");
  const h5::Dataspace mem = h5::simple_space({product(dims)});
  h5::check(H5Dwrite(ds.id(), h5::TypeOf<T>::mem(), mem.id(), file.id(), H5P_DEFAULT, data),
            "write a row of '" + name + "'");
}

// Writes an array of `dims` (row-major) from `data`, as create_array makes it.
template <class T>
void write_array(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                 const T* data, const Describe& d, const std::vector<hsize_t>& chunk_limits = {},
                 unsigned level = 0) {
  const h5::Dataset ds = create_array<T>(parent, name, dims, d, chunk_limits, level);
  write_all(ds, name, data, product(dims));
}

Describe describe_field(Field f) { return {info(f).unit, info(f).meaning}; }

// An enumeration over 8-bit unsigned integers with the given names (values 0, 1, ...).
template <std::size_t N>
h5::Datatype enum_type(hid_t base, const std::array<std::string_view, N>& names) {
  h5::Datatype t(H5Tenum_create(base), "create enum type");
  for (std::size_t i = 0; i < N; ++i) {
    const auto v = static_cast<std::uint8_t>(i);
    h5::check(H5Tenum_insert(t.id(), std::string(names[i]).c_str(), &v), "insert enum value");
  }
  return t;
}

inline constexpr std::array<std::string_view, 2> kTieEventNames = {"formed", "dissolved"};

// The tie event compound type: in memory (laid out as TieEvent) or in the file
// (packed, little-endian).
h5::Datatype tie_event_type(bool in_memory) {
  const auto pick = [&](hid_t mem, hid_t file) { return in_memory ? mem : file; };
  const hid_t u8 = pick(H5T_NATIVE_UINT8, H5T_STD_U8LE);
  const h5::Datatype kind = enum_type(u8, kTieKindNames);
  const h5::Datatype event = enum_type(u8, kTieEventNames);
  const h5::Datatype reason = enum_type(u8, kTieReasonNames);
  struct Member {
    const char* name;
    hid_t type;
    std::size_t mem_offset;
  };
  const Member members[] = {
      {"term", pick(H5T_NATIVE_INT32, H5T_STD_I32LE), offsetof(TieEvent, term)},
      {"tie", pick(H5T_NATIVE_UINT64, H5T_STD_U64LE), offsetof(TieEvent, tie)},
      {"school_a", pick(H5T_NATIVE_INT32, H5T_STD_I32LE), offsetof(TieEvent, school_a)},
      {"school_b", pick(H5T_NATIVE_INT32, H5T_STD_I32LE), offsetof(TieEvent, school_b)},
      {"kind", kind.id(), offsetof(TieEvent, kind)},
      {"event", event.id(), offsetof(TieEvent, event)},
      {"reason", reason.id(), offsetof(TieEvent, reason)},
  };
  std::size_t packed = 0;
  for (const auto& m : members) packed += H5Tget_size(m.type);
  h5::Datatype t(H5Tcreate(H5T_COMPOUND, in_memory ? sizeof(TieEvent) : packed), "create compound type");
  std::size_t offset = 0;
  for (const auto& m : members) {
    h5::check(H5Tinsert(t.id(), m.name, in_memory ? m.mem_offset : offset, m.type),
              std::string("insert compound member '") + m.name + "'");
    offset += H5Tget_size(m.type);
  }
  return t;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("inconsistent recording: " + what);
}

// Checks every buffer's size against the recording's dimensions, so that no
// HDF5 write reads past the end of a buffer.
void validate(const Recording& rec) {
  const auto n = static_cast<std::size_t>(rec.n_schools);
  require(rec.n_schools >= 0, "negative n_schools");
  require(rec.replicate >= 0, "negative replicate index");
  for (const auto& fi : kFields) {
    if (fi.role != Role::fixed || rec.streamed)
      continue;  // streamed: written by begin(), then released
    visit_field(rec.initial, fi.field, [&](const auto& col) {
      const auto schools = fi.storage == Storage::vector ? col.cols() : col.size();
      require(static_cast<std::size_t>(schools) == n,
              "initial state column '" + std::string(fi.name) + "' does not have n_schools entries");
    });
  }
  const std::size_t rows = rec.series_terms.size();
  for (const auto& buf : rec.series) {
    const auto& fi = info(buf.field);
    const std::string name(fi.name);
    require(buf.width >= 1, "series '" + name + "' has width < 1");
    require(fi.storage == Storage::vector || buf.width == 1, "scalar series '" + name + "' has width != 1");
    const std::size_t expected = rec.streamed ? 0 : rows * n * static_cast<std::size_t>(buf.width);
    if (fi.storage == Storage::integer) {
      require(buf.integer.size() == expected && buf.real.empty(),
              "series '" + name + "' does not hold rows x n_schools integers");
    } else {
      require(buf.real.size() == expected && buf.integer.empty(),
              "series '" + name + "' does not hold rows x n_schools x width reals");
    }
  }
  const std::size_t years = rec.streamed ? 0 : rec.attainment_years.size();
  require(rec.attainment_dis.size() == years * n && rec.attainment_adv.size() == years * n,
          "attainment tables do not hold years x n_schools values");
  if (!rec.system.empty()) {
    require(rec.system.size() == kMeasureCount, "system measures do not match kSystemMeasures");
    for (std::size_t m = 0; m < kMeasureCount; ++m) {
      require(rec.system[m].size() == rec.system_terms.size(),
              "system measure '" + std::string(kSystemMeasures[m].name) + "' does not have one value per row");
    }
  }
}

void write_schools(hid_t rep, const Recording& rec, unsigned level) {
  const h5::Group g = h5::create_group(rep, "schools");
  const auto n = static_cast<hsize_t>(rec.n_schools);
  for (const auto& fi : kFields) {
    if (fi.role != Role::fixed) continue;
    const std::string name(fi.name);
    visit_field(rec.initial, fi.field, [&](const auto& col) {
      using T = std::decay_t<decltype(col)>;
      if constexpr (std::is_same_v<T, Eigen::ArrayXi>) {
        const std::vector<std::int32_t> v(col.data(), col.data() + col.size());
        write_array(g.id(), name, {n}, v.data(), describe_field(fi.field), {kChunkSchools}, level);
      } else if constexpr (std::is_same_v<T, Eigen::ArrayXd>) {
        write_array(g.id(), name, {n}, col.data(), describe_field(fi.field), {kChunkSchools}, level);
      } else {  // k x n column-major: school-major in memory, written as [n x k]
        const auto k = static_cast<hsize_t>(col.rows());
        write_array(g.id(), name, {n, k}, col.data(), describe_field(fi.field), {kChunkSchools, k}, level);
      }
    });
  }
}

// The per-school tables of the replicate being written, from open_replicate
// until write() adds the rest: its series and attainment, created at their
// final size, and how many rows each has received.
struct OpenReplicate {
  std::int32_t replicate = -1;
  h5::Group rep;
  std::vector<std::int32_t> series_terms, attainment_years;  // the rows to come
  std::vector<h5::Dataset> series;                           // one per series of the recording
  std::vector<std::string> names;
  std::vector<std::size_t> series_written;
  h5::Dataset dis, adv;
  std::size_t years_written = 0;
  hsize_t n = 0;
  h5::Dataset ties;               // extendible: tie events are appended
  std::vector<TieEvent> pending;  // events not yet written: less than a chunk
  hsize_t ties_written = 0;
};

// Appends events[0, n) to the replicate's `ties`: whole chunks as soon as they
// fill, the rest at finish_ties(), so the calls depend only on the events.
void write_events(OpenReplicate& o, const TieEvent* events, hsize_t n) {
  const h5::Datatype mem = tie_event_type(true);
  const hsize_t total = o.ties_written + n;
  h5::check(H5Dset_extent(o.ties.id(), &total), "extend dataset 'ties'");
  const h5::Dataspace file(H5Dget_space(o.ties.id()), "get dataspace of 'ties'");
  h5::check(H5Sselect_hyperslab(file.id(), H5S_SELECT_SET, &o.ties_written, nullptr, &n, nullptr),
            "select events of 'ties'");
  const h5::Dataspace memory = h5::simple_space({n});
  // The events are converted (padded in memory, packed in the file) through a
  // buffer of one chunk, not HDF5's default of 1 MiB, which its free lists
  // would then keep for the rest of the run.
  const h5::Plist dxpl(H5Pcreate(H5P_DATASET_XFER), "create transfer property list");
  h5::check(H5Pset_buffer(dxpl.id(), kChunkEvents * sizeof(TieEvent), nullptr, nullptr),
            "set conversion buffer");
  h5::check(H5Dwrite(o.ties.id(), mem.id(), memory.id(), file.id(), dxpl.id(), events),
            "write dataset 'ties'");
  o.ties_written = total;
}

void append_events(OpenReplicate& o, const TieEvent* events, std::size_t n) {
  o.pending.insert(o.pending.end(), events, events + n);
  std::size_t done = 0;
  for (; o.pending.size() - done >= kChunkEvents; done += kChunkEvents)
    write_events(o, o.pending.data() + done, kChunkEvents);
  o.pending.erase(o.pending.begin(), o.pending.begin() + static_cast<std::ptrdiff_t>(done));
}

void finish_ties(OpenReplicate& o) {
  if (!o.pending.empty()) write_events(o, o.pending.data(), o.pending.size());
  o.pending.clear();
}

// Creates /replicates/<k> with its world (/schools) and its series and
// attainment tables, empty, for the rows given.
OpenReplicate open_replicate(hid_t replicates, const Recording& rec,
                             std::vector<std::int32_t> series_terms,
                             std::vector<std::int32_t> attainment_years, unsigned level) {
  OpenReplicate o;
  o.replicate = rec.replicate;
  o.n = static_cast<hsize_t>(rec.n_schools);
  o.rep = h5::create_group(replicates, std::to_string(rec.replicate));
  h5::write_scalar_attribute(o.rep.id(), "n_schools", rec.n_schools);
  h5::write_scalar_attribute(o.rep.id(), "n_areas", rec.n_areas);
  write_schools(o.rep.id(), rec, level);
  if (!rec.series.empty()) {
    const h5::Group g = h5::create_group(o.rep.id(), "series");
    const auto rows = static_cast<hsize_t>(series_terms.size());
    write_array(g.id(), "term", {rows}, series_terms.data(),
                {"terms", "terms completed at each record row (0 = the initial state)"});
    for (const auto& buf : rec.series) {
      const auto& fi = info(buf.field);
      const std::string name(fi.name);
      const auto d = describe_field(buf.field);
      switch (fi.storage) {
        case Storage::integer:
          o.series.push_back(create_array<std::int32_t>(g.id(), name, {rows, o.n}, d,
                                                        {kChunkRows, kChunkSchools}, level));
          break;
        case Storage::real:
          o.series.push_back(create_array<float>(g.id(), name, {rows, o.n}, d,
                                                 {kChunkRows, kChunkSchools}, level));
          break;
        case Storage::vector: {
          const auto w = static_cast<hsize_t>(buf.width);
          o.series.push_back(
              create_array<float>(g.id(), name, {rows, o.n, w}, d,
                                  {kChunkRows, std::max<hsize_t>(1, kChunkSchools / w), w}, level));
          break;
        }
      }
      o.names.push_back(name);
    }
    o.series_written.assign(o.series.size(), 0);
  }
  if (!attainment_years.empty()) {
    const h5::Group g = h5::create_group(o.rep.id(), "attainment");
    const auto years = static_cast<hsize_t>(attainment_years.size());
    write_array(g.id(), "year", {years}, attainment_years.data(),
                {"years",
                 "years completed when the row was recorded (0 = the generated world's baseline)"});
    o.dis = create_array<float>(g.id(), "attainment_dis", {years, o.n},
                                describe_field(Field::attainment_dis), {kChunkRows, kChunkSchools},
                                level);
    o.adv = create_array<float>(g.id(), "attainment_adv", {years, o.n},
                                describe_field(Field::attainment_adv), {kChunkRows, kChunkSchools},
                                level);
  }
  {
    const h5::Datatype file = tie_event_type(false);
    // Extendible, so chunked (and compressed) even when empty.
    const h5::Dataspace space = h5::simple_space({0}, {H5S_UNLIMITED});
    const h5::Plist dcpl = dataset_plist({kChunkEvents}, level);
    o.ties = h5::Dataset(
        H5Dcreate2(o.rep.id(), "ties", file.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
        "create dataset 'ties'");
    describe(o.ties.id(),
             {"events", "tie formation and dissolution events, in the order they happened"});
  }
  o.series_terms = std::move(series_terms);
  o.attainment_years = std::move(attainment_years);
  return o;
}

// Writes a recording's buffered series and attainment into its open tables.
void write_buffered(OpenReplicate& o, const Recording& rec) {
  const auto rows = static_cast<hsize_t>(o.series_terms.size());
  for (std::size_t k = 0; k < o.series.size(); ++k) {
    const SeriesBuffer& buf = rec.series[k];
    const hsize_t values = rows * o.n * static_cast<hsize_t>(buf.width);
    if (info(buf.field).storage == Storage::integer) {
      write_all(o.series[k], o.names[k], buf.integer.data(), values);
    } else {
      write_all(o.series[k], o.names[k], buf.real.data(), values);
    }
    o.series_written[k] = o.series_terms.size();
  }
  if (o.dis.valid()) {
    const hsize_t values = static_cast<hsize_t>(o.attainment_years.size()) * o.n;
    write_all(o.dis, "attainment_dis", rec.attainment_dis.data(), values);
    write_all(o.adv, "attainment_adv", rec.attainment_adv.data(), values);
    o.years_written = o.attainment_years.size();
  }
}

// Every row the tables were made for arrived, and they are the rows the
// recording says it captured.
void check_complete(const OpenReplicate& o, const Recording& rec) {
  require(o.replicate == rec.replicate, "replicate " + std::to_string(rec.replicate) +
                                            " was not the one being written (" +
                                            std::to_string(o.replicate) + ")");
  require(rec.series_terms == o.series_terms, "the series rows are not the rows announced");
  require(rec.attainment_years == o.attainment_years,
          "the attainment rows are not the rows announced");
  for (std::size_t k = 0; k < o.series.size(); ++k) {
    require(o.series_written[k] == o.series_terms.size(),
            "series '" + o.names[k] + "' is missing rows");
  }
  require(o.years_written == o.attainment_years.size(), "attainment is missing rows");
}

void write_system(hid_t rep, const Recording& rec) {
  if (rec.system.empty()) return;
  const h5::Group g = h5::create_group(rep, "system");
  const auto rows = static_cast<hsize_t>(rec.system_terms.size());
  write_array(g.id(), "term", {rows}, rec.system_terms.data(),
              {"terms", "terms completed at each row (0 = the initial state)"});
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const auto& mi = kSystemMeasures[m];
    write_array(g.id(), std::string(mi.name), {rows}, rec.system[m].data(), {mi.unit, mi.meaning, mi.count ? 1 : 0});
  }
}

}  // namespace

struct OutputFile::Impl {
  fs::path destination;
  fs::path temporary;
  h5::File file;
  h5::Group replicates;
  unsigned compression = kDefaultCompression;
  bool committed = false;
  std::optional<OpenReplicate> open;  // the replicate being written
  std::unique_ptr<RowSink> rows;      // writes rows into `open` as they are recorded
  double row_seconds = 0;             // spent writing those rows

  ~Impl() {
    if (committed) return;
    open.reset();
    replicates.reset();
    file.reset();
    std::error_code ec;
    fs::remove(temporary, ec);  // best effort: never throws
  }

  [[noreturn]] void fail(const std::string& doing, const std::exception& e) const {
    throw std::runtime_error("output file " + destination.string() + " (temporary " + temporary.string() +
                             "): " + doing + ": " + e.what());
  }
};

// OutputFile's RowSink: begin() opens the replicate's tables, each row is
// written into them at once.
class FileRows final : public RowSink {
 public:
  explicit FileRows(OutputFile::Impl& m) : m_(m) {}
  void begin(const Recording& header, const std::vector<std::int32_t>& series_terms,
             const std::vector<std::int32_t>& attainment_years) override {
    guard("open replicate " + std::to_string(header.replicate), [&] {
      if (m_.committed || !m_.file.valid()) throw std::logic_error("the file is already closed");
      if (m_.open) {
        throw std::logic_error("replicate " + std::to_string(m_.open->replicate) +
                               " is still open");
      }
      if (m_.compression > 0)
        throw std::logic_error("compressed tables are written whole, not row by row");
      validate(header);
      m_.open = open_replicate(m_.replicates.id(), header, series_terms, attainment_years,
                               m_.compression);
    });
  }
  void tie_events(const std::vector<TieEvent>& events) override {
    guard("write tie events", [&] { append_events(opened(), events.data(), events.size()); });
  }
  void series_row(std::size_t k, std::size_t row, const float* values) override {
    series(k, row, values);
  }
  void series_row(std::size_t k, std::size_t row, const std::int32_t* values) override {
    series(k, row, values);
  }
  void attainment_row(std::size_t row, const float* dis, const float* adv) override {
    guard("write attainment row " + std::to_string(row), [&] {
      OpenReplicate& o = opened();
      if (!o.dis.valid() || row != o.years_written)
        throw std::logic_error("attainment rows out of order");
      write_row(o.dis, "attainment_dis", row, dis);
      write_row(o.adv, "attainment_adv", row, adv);
      ++o.years_written;
    });
  }

 private:
  template <class T>
  void series(std::size_t k, std::size_t row, const T* values) {
    guard("write series row " + std::to_string(row), [&] {
      OpenReplicate& o = opened();
      if (k >= o.series.size() || row != o.series_written[k])
        throw std::logic_error("series rows out of order");
      write_row(o.series[k], o.names[k], row, values);
      ++o.series_written[k];
    });
  }
  OpenReplicate& opened() {
    if (!m_.open) throw std::logic_error("a row before begin()");
    return *m_.open;
  }
  template <class F>
  void guard(const std::string& doing, F&& body) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      body();
    } catch (const std::exception& e) {
      m_.fail("cannot " + doing, e);
    }
    m_.row_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  OutputFile::Impl& m_;
};

OutputFile::OutputFile(const fs::path& destination, const RunMeta& meta) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.destination = destination;
  if (meta.compression > 9) {
    throw std::invalid_argument("output file " + destination.string() + ": compression level " +
                                std::to_string(meta.compression) + " is not a deflate level (0 to 9)");
  }
  m.compression = meta.compression;
  m.temporary = destination;
  m.temporary += ".tmp-" + std::to_string(::getpid());
  try {
    if (destination.has_parent_path()) fs::create_directories(destination.parent_path());
    h5::silence_errors();
    // HDF5 keeps freed blocks on its own free lists, by default without limit
    // (about 2 MB by the end of an England run, never returned): 256 KiB per
    // kind of list is enough to reuse them, and changes no byte of the file.
    h5::check(
        H5set_free_list_limits(256 * 1024, 64 * 1024, 256 * 1024, 64 * 1024, 256 * 1024, 64 * 1024),
        "set HDF5's free list limits");

    const h5::Plist fcpl = h5::untimed_plist(H5P_FILE_CREATE);  // the root group's times
    const h5::Plist fapl(H5Pcreate(H5P_FILE_ACCESS), "create file access property list");
    h5::check(H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG), "set file close degree");
    m.file = h5::File(H5Fcreate(m.temporary.c_str(), H5F_ACC_TRUNC, fcpl.id(), fapl.id()), "create file");

    const h5::Group g = h5::create_group(m.file.id(), "meta");
    h5::write_string_attribute(g.id(), "kind", meta.kind);
    h5::write_scalar_attribute(g.id(), "schema_version", kSchemaVersion);
    h5::write_string_attribute(g.id(), "program", "schoolsim");
    h5::write_string_attribute(g.id(), "program_version", meta.program_version);
    h5::write_scalar_attribute(g.id(), "seed", meta.seed);
    h5::write_scalar_attribute(g.id(), "replicates", meta.replicates);
    h5::write_scalar_attribute(g.id(), "years", meta.years);
    h5::write_string_attribute(g.id(), "scenario_name", meta.scenario_name);
    {
      const h5::Datatype type = h5::utf8_string_type();
      const h5::Dataspace space = h5::scalar_space();
      const h5::Plist dcpl = dataset_plist({}, 0);
      const h5::Dataset ds(H5Dcreate2(g.id(), "scenario", type.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                           "create dataset 'scenario'");
      const char* text = meta.scenario_yaml.c_str();
      h5::check(H5Dwrite(ds.id(), type.id(), h5::kAll, h5::kAll, H5P_DEFAULT, &text), "write dataset 'scenario'");
      describe(ds.id(), {"YAML", "the resolved scenario, every default filled in"});
    }
    m.replicates = h5::create_group(m.file.id(), "replicates");
  } catch (const std::exception& e) {
    m.fail("cannot create", e);  // impl_'s destructor removes the temporary
  }
}

OutputFile::~OutputFile() = default;

void OutputFile::write(const Recording& rec) {
  Impl& m = *impl_;
  const std::string where = "replicate " + std::to_string(rec.replicate);
  try {
    if (m.committed || !m.file.valid()) throw std::logic_error("the file is already closed");
    validate(rec);
    if (rec.streamed) {
      require(m.open.has_value(), "its rows were streamed, but not to this file");
    } else {
      if (m.open) {
        throw std::logic_error("replicate " + std::to_string(m.open->replicate) + " is still open");
      }
      m.open = open_replicate(m.replicates.id(), rec, rec.series_terms, rec.attainment_years,
                              m.compression);
      write_buffered(*m.open, rec);
    }
    if (rec.streamed) {
      require(rec.tie_events.empty(), "its tie events were streamed, yet it holds some");
    } else {
      append_events(*m.open, rec.tie_events.data(), rec.tie_events.size());
    }
    check_complete(*m.open, rec);
    finish_ties(*m.open);
    write_system(m.open->rep.id(), rec);
    m.open.reset();
  } catch (const std::exception& e) {
    m.fail("cannot write " + where, e);
  }
}

RowSink& OutputFile::row_sink() {
  if (!impl_->rows) impl_->rows = std::make_unique<FileRows>(*impl_);
  return *impl_->rows;
}

bool OutputFile::streams_rows() const { return impl_->compression == 0; }

double OutputFile::row_seconds() const { return impl_->row_seconds; }

void OutputFile::commit() {
  Impl& m = *impl_;
  try {
    if (m.committed || !m.file.valid()) throw std::logic_error("commit() called twice");
    if (m.open) {
      throw std::logic_error("replicate " + std::to_string(m.open->replicate) +
                             " was not finished");
    }
    m.replicates.close("close group /replicates");
    m.file.close("close file");
    fs::rename(m.temporary, m.destination);
    m.committed = true;
  } catch (const std::exception& e) {
    m.fail("cannot commit", e);
  }
}

const fs::path& OutputFile::temporary_path() const { return impl_->temporary; }

namespace {

// Opens the group at `path` (slash-separated, relative to the root), creating
// missing groups on the way.
h5::Group group_at(hid_t root, const std::string& path) {
  h5::Group g = h5::open_group(root, "/");
  std::size_t start = 0;
  while (start < path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string part = path.substr(start, end - start);
    if (!part.empty()) {
      const htri_t exists = H5Lexists(g.id(), part.c_str(), H5P_DEFAULT);
      g = exists > 0 ? h5::open_group(g.id(), part) : h5::create_group(g.id(), part);
    }
    start = end + 1;
  }
  return g;
}

std::pair<std::string, std::string> split_path(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

template <class T>
void OutputFile::table(const std::string& path, const std::vector<std::size_t>& dims, const T* data,
                       std::string_view unit, std::string_view meaning) {
  Impl& m = *impl_;
  try {
    const auto [dir, name] = split_path(path);
    const h5::Group g = group_at(m.file.id(), dir);
    std::vector<hsize_t> d(dims.begin(), dims.end());
    std::vector<hsize_t> limits(d.size(), 0);
    for (std::size_t i = 0; i < d.size(); ++i) limits[i] = i + 1 == d.size() ? kChunkSchools : kChunkRows;
    write_array(g.id(), name, d, data, {unit, meaning}, limits, m.compression);
  } catch (const std::exception& e) {
    m.fail("cannot write " + path, e);
  }
}

void OutputFile::write_table(const std::string& path, const std::vector<std::size_t>& dims, const double* data,
                             std::string_view unit, std::string_view meaning) {
  table(path, dims, data, unit, meaning);
}
void OutputFile::write_table(const std::string& path, const std::vector<std::size_t>& dims,
                             const std::int32_t* data, std::string_view unit, std::string_view meaning) {
  table(path, dims, data, unit, meaning);
}
void OutputFile::write_table(const std::string& path, const std::vector<std::size_t>& dims,
                             const std::uint8_t* data, std::string_view unit, std::string_view meaning) {
  table(path, dims, data, unit, meaning);
}

void OutputFile::write_text(const std::string& path, const std::string& text, std::string_view meaning) {
  Impl& m = *impl_;
  try {
    const auto [dir, name] = split_path(path);
    const h5::Group g = group_at(m.file.id(), dir);
    const h5::Datatype type = h5::utf8_string_type();
    const h5::Dataspace space = h5::scalar_space();
    const h5::Plist dcpl = dataset_plist({}, 0);
    const h5::Dataset ds(H5Dcreate2(g.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                         "create dataset '" + name + "'");
    const char* c = text.c_str();
    h5::check(H5Dwrite(ds.id(), type.id(), h5::kAll, h5::kAll, H5P_DEFAULT, &c), "write dataset '" + name + "'");
    describe(ds.id(), {"text", meaning});
  } catch (const std::exception& e) {
    m.fail("cannot write " + path, e);
  }
}

void OutputFile::write_strings(const std::string& path, const std::vector<std::string>& values,
                               std::string_view meaning) {
  Impl& m = *impl_;
  try {
    const auto [dir, name] = split_path(path);
    const h5::Group g = group_at(m.file.id(), dir);
    const h5::Datatype type = h5::utf8_string_type();
    const h5::Dataspace space = h5::simple_space({values.size()});
    const h5::Plist dcpl = dataset_plist({}, 0);
    const h5::Dataset ds(H5Dcreate2(g.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                         "create dataset '" + name + "'");
    std::vector<const char*> ptrs;
    ptrs.reserve(values.size());
for (const auto& v : values) ptrs.push_back(v.c_str());
    if (!ptrs.empty()) {
      h5::check(H5Dwrite(ds.id(), type.id(), h5::kAll, h5::kAll, H5P_DEFAULT, ptrs.data()),
                "write dataset '" + name + "'");
    }
    describe(ds.id(), {"text", meaning});
  } catch (const std::exception& e) {
    m.fail("cannot write " + path, e);
  }
}

namespace {
h5::Handle<H5Oclose> open_object(hid_t file, const std::string& path) {
  return {H5Oopen(file, path.empty() ? "/" : path.c_str(), H5P_DEFAULT),
                              "open object '" + path + "'"};
}
}  // namespace

void OutputFile::set_attribute(const std::string& path, const std::string& name, double value) {
  try {
    const auto obj = open_object(impl_->file.id(), path);
    h5::write_scalar_attribute(obj.id(), name, value);
  } catch (const std::exception& e) {
    impl_->fail("cannot write attribute " + name + " of " + path, e);
  }
}

void OutputFile::set_attribute(const std::string& path, const std::string& name, std::int32_t value) {
  try {
    const auto obj = open_object(impl_->file.id(), path);
    h5::write_scalar_attribute(obj.id(), name, value);
  } catch (const std::exception& e) {
    impl_->fail("cannot write attribute " + name + " of " + path, e);
  }
}

void OutputFile::set_attribute(const std::string& path, const std::string& name, const std::string& value) {
  try {
    const auto obj = open_object(impl_->file.id(), path);
    h5::write_string_attribute(obj.id(), name, value);
  } catch (const std::exception& e) {
    impl_->fail("cannot write attribute " + name + " of " + path, e);
  }
}

void write_sets(OutputFile& file, const std::vector<std::string>& sets) {
  if (sets.empty()) return;
  std::string line;
  for (const auto& s : sets) line += (line.empty() ? "" : "; ") + s;
  file.set_attribute("meta", "set", line);
}

void write_uncertainty(OutputFile& file, const std::string& uncertainty, const std::string& posterior_source) {
  file.set_attribute("meta", "uncertainty", uncertainty);
  if (!posterior_source.empty())
    file.write_text("meta/posterior", posterior_source, "the calibration file the parameters were drawn from");
}

std::vector<fs::path> remove_stale_temporaries(const fs::path& destination) {
  std::error_code ec;
  const fs::path dir = destination.has_parent_path() ? destination.parent_path() : fs::path(".");
  const std::string prefix = destination.filename().string() + ".tmp-";
  std::vector<fs::path> stale, removed;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to know)
    std::error_code type_ec;
    if (!fs::is_regular_file(it->symlink_status(type_ec))) continue;
    stale.push_back(it->path());
  }
  for (const auto& p : stale) {
    std::error_code rm;
    if (fs::remove(p, rm)) removed.push_back(p);
  }
  return removed;
}

}  // namespace schoolsim
