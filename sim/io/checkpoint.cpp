#include "sim/io/checkpoint.hpp"

#include "sim/crc32c.hpp"

#include <unistd.h>

#include <array>
#include <new>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <stdexcept>
#include <type_traits>

namespace schoolsim {

namespace {

constexpr char kMagic[8] = {'S', 'C', 'H', 'S', 'I', 'M', 'C', 'K'};

class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  template <class T>
  void operator()(const T& v) {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      out_.write(reinterpret_cast<const char*>(&v), sizeof v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      (*this)(static_cast<std::uint64_t>(v.size()));
      out_.write(v.data(), static_cast<std::streamsize>(v.size()));
    } else if constexpr (requires { v.data(); v.size(); typename T::value_type; }) {
      (*this)(static_cast<std::uint64_t>(v.size()));
      if constexpr (std::is_trivially_copyable_v<typename T::value_type>) {
        out_.write(reinterpret_cast<const char*>(v.data()),
                   static_cast<std::streamsize>(v.size() * sizeof(typename T::value_type)));
      } else {
        for (const auto& x : v) (*this)(x);
      }
    } else {
      static_assert(sizeof(T) == 0, "no checkpoint encoding for this type");
    }
  }
  void matrix(const Eigen::MatrixXd& m) {
    (*this)(static_cast<std::int64_t>(m.rows())), (*this)(static_cast<std::int64_t>(m.cols()));
    out_.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.size() * sizeof(double)));
  }
  template <class A>
  void array(const A& a) {
    (*this)(static_cast<std::int64_t>(a.size()));
    out_.write(reinterpret_cast<const char*>(a.data()),
               static_cast<std::streamsize>(a.size() * sizeof(typename A::Scalar)));
  }

 private:
  std::ostream& out_;
};

// Reads from the checkpoint's body in memory: nothing is read past its end, and
// no length is trusted before it is known to fit in what is left.
class Reader {
 public:
  explicit Reader(std::string_view body) : body_(body) {}
  template <class T>
  void operator()(T& v) {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      take(&v, sizeof v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      v.resize(size(1));
      take(v.data(), v.size());
    } else if constexpr (requires { v.data(); v.size(); typename T::value_type; }) {
      if constexpr (std::is_trivially_copyable_v<typename T::value_type>) {
        v.resize(size(sizeof(typename T::value_type)));
        take(v.data(), v.size() * sizeof(typename T::value_type));
      } else {
        v.resize(size(1));
        for (auto& x : v) (*this)(x);
      }
    }
  }
  void matrix(Eigen::MatrixXd& m) {
    std::int64_t rows = 0, cols = 0;
    (*this)(rows), (*this)(cols);
    if (rows < 0 || cols < 0 || (rows > 0 && cols > static_cast<std::int64_t>(left() / sizeof(double)) / rows))
      throw std::runtime_error("a matrix's size does not fit in the file");
    m.resize(rows, cols);
    take(m.data(), static_cast<std::size_t>(m.size()) * sizeof(double));
  }
  template <class A>
  void array(A& a) {
    std::int64_t n = 0;
    (*this)(n);
    if (n < 0 || static_cast<std::uint64_t>(n) > left() / sizeof(typename A::Scalar))
      throw std::runtime_error("an array's length does not fit in the file");
    a.resize(n);
    take(a.data(), static_cast<std::size_t>(n) * sizeof(typename A::Scalar));
  }
  [[nodiscard]] std::size_t left() const { return body_.size() - at_; }

 private:
  void take(void* out, std::size_t n) {
    if (n > left()) throw std::runtime_error("the file ends early");
    if (n) std::memcpy(out, body_.data() + at_, n);
    at_ += n;
  }
  // A length, checked against the bytes left for elements of `unit` bytes each.
  std::size_t size(std::size_t unit) {
    std::uint64_t n = 0;
    (*this)(n);
    if (n > left() / unit) throw std::runtime_error("a length in the file is longer than the file");
    return static_cast<std::size_t>(n);
  }
  std::string_view body_;
  std::size_t at_ = 0;
};

template <class IO>
void visit_state(IO& io, State& s) {
  for (const auto& fi : kFields) {
    visit_field(s, fi.field, [&](auto& col) {
      if constexpr (std::is_same_v<std::decay_t<decltype(col)>, Eigen::MatrixXd>) {
        io.matrix(col);
      } else {
        io.array(col);
      }
    });
  }
  s.ties.for_each_member([&](auto& m) { io(m); });
  io(s.near.offsets), io(s.near.school), io(s.near.distance_km), io(s.near.overlap), io(s.near.rivalry);
  io(s.networks.goal), io(s.networks.activities), io(s.networks.power), io(s.networks.entry);
  io(s.networks.hub), io(s.networks.start_term), io(s.networks.funded_until_term), io(s.networks.facilitation);
  io(s.n_areas), io(s.terms_done);
  io.array(s.area_strategy);
}

// One visit of everything a checkpoint holds, for writing or reading.
template <class IO>
void visit(IO& io, Checkpoint& c) {
  io(c.scenario), io(c.replicate), io(c.terms_done);
  visit_state(io, c.state);
  Recording& r = c.recording;
  visit_state(io, r.initial);
  io(r.replicate), io(r.n_schools), io(r.n_areas), io(r.series_terms);
  std::uint64_t n_series = r.series.size();
  io(n_series);
  if constexpr (requires { io.left(); }) {  // reading: each series takes at least 28 bytes
    if (n_series > io.left() / 28) throw std::runtime_error("a length in the file is longer than the file");
  }
  r.series.resize(n_series);
  for (auto& b : r.series) io(b.field), io(b.width), io(b.real), io(b.integer);
  io(r.attainment_years), io(r.attainment_dis), io(r.attainment_adv), io(r.system_terms), io(r.system);
  io(r.tie_events);
}

// Whether a state read back is one the kernel and mechanisms can index safely.
std::string check_state(const State& s, const char* what) {
  const std::int32_t n = s.n_schools();
  const std::string where = std::string(what) + ": ";
  std::string problem;
  for (const auto& fi : kFields) {
    visit_field(const_cast<State&>(s), fi.field, [&](const auto& col) {
      if (!problem.empty()) return;
      if constexpr (std::is_same_v<std::decay_t<decltype(col)>, Eigen::MatrixXd>) {
        if (col.cols() != n || col.rows() < 1 || col.rows() > 64) {
          problem = where + std::string(fi.name) + " is not " + std::to_string(n) + " columns of up to 64 rows";
        } else if (!col.allFinite()) {
          problem = where + std::string(fi.name) + " holds a value that is not a number";
        }
      } else {
        if (col.size() != n) problem = where + std::string(fi.name) + " does not have one value per school";
        if constexpr (std::is_same_v<std::decay_t<decltype(col)>, Eigen::ArrayXd>) {
          if (problem.empty() && !col.allFinite()) problem = where + std::string(fi.name) + " holds a value that is not a number";
          // Shares stay shares, and no value is so large that the model's
          // integer arithmetic on it (admissions round pupils) could overflow.
          if (problem.empty() && n > 0 && fi.bounds == Bounds::unit_interval && (col.minCoeff() < 0 || col.maxCoeff() > 1))
            problem = where + std::string(fi.name) + " holds a value outside [0, 1]";
          if (problem.empty() && n > 0 && col.abs().maxCoeff() > 1e7)
            problem = where + std::string(fi.name) + " holds an implausibly large value";
        }
      }
    });
  }
  if (!problem.empty()) return problem;
  if (n < 0) return where + "a negative number of schools";
  if (s.n_areas < 1 || s.n_areas > n + 1) return where + "the number of areas is implausible";
  if (n > 0 && (s.area.minCoeff() < 0 || s.area.maxCoeff() >= s.n_areas)) return where + "a school's area is out of range";
  if (n > 0 && (s.phase.minCoeff() < 0 || s.phase.maxCoeff() > 1)) return where + "a school's phase is not 0 or 1";
  constexpr std::int32_t kMaxPupils = 10'000'000;
  if (n > 0 && (s.pupils.minCoeff() < 0 || s.places.minCoeff() < 0 || s.pupils.maxCoeff() > kMaxPupils ||
                s.places.maxCoeff() > kMaxPupils))
    return where + "a school's pupils or places are negative or implausibly many";
  if (s.terms_done < 0) return where + "a negative term count";
  if (s.area_strategy.size() != 0 && s.area_strategy.size() != s.n_areas)
    return where + "the area strategy does not have one value per area";
  const Neighbours& near = s.near;
  if (near.offsets.empty()) {  // no lists (the recorded initial world has none)
    if (!near.school.empty() || !near.distance_km.empty() || !near.overlap.empty() || !near.rivalry.empty())
      return where + "the neighbour lists do not match the schools";
  } else {
    if (near.offsets.size() != static_cast<std::size_t>(n) + 1 || near.offsets.front() != 0 ||
        near.offsets.back() != static_cast<std::int64_t>(near.school.size()))
      return where + "the neighbour lists do not match the schools";
    for (std::size_t i = 1; i < near.offsets.size(); ++i)
      if (near.offsets[i] < near.offsets[i - 1]) return where + "the neighbour lists are out of order";
    if (near.distance_km.size() != near.school.size() || near.overlap.size() != near.school.size() ||
        near.rivalry.size() != near.school.size())
      return where + "the neighbour arrays have different lengths";
    for (std::int32_t j : near.school)
      if (j < 0 || j >= n) return where + "a neighbour is not a school";
  }
  const Networks& nw = s.networks;
  const std::size_t k = nw.goal.size();
  for (std::size_t len : {nw.activities.size(), nw.power.size(), nw.entry.size(), nw.hub.size(), nw.start_term.size(),
                          nw.funded_until_term.size(), nw.facilitation.size()})
    if (len != k) return where + "the network arrays have different lengths";
  for (std::size_t i = 0; i < k; ++i) {
    if (static_cast<std::size_t>(nw.goal[i]) >= kNetworkGoalNames.size() ||
        static_cast<std::size_t>(nw.power[i]) >= kNetworkPowerNames.size() ||
        static_cast<std::size_t>(nw.entry[i]) >= kNetworkEntryNames.size())
      return where + "a network has an unknown goal, power or entry";
    if (nw.hub[i] < -1 || nw.hub[i] >= n) return where + "a network's hub is not a school";
  }
  if (std::string t = s.ties.check_loaded(n, k); !t.empty()) return where + t;
  return "";
}

std::string check_checkpoint(const Checkpoint& c) {
  if (std::string p = check_state(c.state, "the state"); !p.empty()) return p;
  const Recording& r = c.recording;
  if (std::string p = check_state(r.initial, "the initial world"); !p.empty()) return p;
  const std::int32_t n = c.state.n_schools();
  if (r.initial.n_schools() != n || r.n_schools != n || r.n_areas != c.state.n_areas)
    return "the recording is of a different world from the state";
  if (c.terms_done < 0 || c.terms_done != c.state.terms_done) return "the term count does not match the state";
  if (c.replicate < 0 || r.replicate != c.replicate) return "the replicate does not match the recording";
  const std::size_t rows = r.series_terms.size();
  for (const SeriesBuffer& b : r.series) {
    if (static_cast<std::size_t>(b.field) >= kFieldCount) return "the recording names an unknown field";
    if (b.width < 1 || b.width > 64) return "a recorded series has an implausible width";
    const bool integer = info(b.field).storage == Storage::integer;
    const std::size_t got = integer ? b.integer.size() : b.real.size();
    const std::size_t row = rows * static_cast<std::size_t>(b.width);
    const bool wrong_kind = integer ? !b.real.empty() : !b.integer.empty();
    const bool wrong_size = row == 0 ? got != 0 : got % row != 0 || got / row > static_cast<std::size_t>(n);
    if (wrong_kind || wrong_size)
      return "the recorded series of " + std::string(info(b.field).name) + " has the wrong size";
  }
  const std::size_t years = r.attainment_years.size();
  if (r.attainment_dis.size() != years * static_cast<std::size_t>(n) ||
      r.attainment_adv.size() != years * static_cast<std::size_t>(n))
    return "the recorded attainment has the wrong size";
  if (!r.system.empty() && r.system.size() != kMeasureCount) return "the recording does not hold every system measure";
  for (const auto& m : r.system)
    if (m.size() != r.system_terms.size()) return "a recorded system measure has the wrong length";
  for (const TieEvent& e : r.tie_events) {
    if (e.school_a < 0 || e.school_a >= n || e.school_b < 0 || e.school_b >= n ||
        static_cast<std::size_t>(e.kind) >= kTieKindNames.size() || static_cast<int>(e.event) > 1 ||
        static_cast<std::size_t>(e.reason) >= kTieReasonNames.size())
      return "a recorded tie event names a school or kind that does not exist";
  }
  return "";
}

}  // namespace

// The header: magic, version, body length, CRC-32C of the body; then the body.
std::string checkpoint_bytes(const Checkpoint& c) {
  std::ostringstream body_out(std::ios::binary);
  Writer w(body_out);
  auto& mutable_c = const_cast<Checkpoint&>(c);  // visit() is shared with reading; nothing is changed
  visit(w, mutable_c);
  const std::string body = std::move(body_out).str();
  std::ostringstream out(std::ios::binary);
  out.write(kMagic, sizeof kMagic);
  Writer h(out);
  h(kCheckpointVersion), h(static_cast<std::uint64_t>(body.size())), h(crc32c(body));
  out << body;
  return std::move(out).str();
}

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  const std::filesystem::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  try {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    const std::string bytes = checkpoint_bytes(c);
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write");
    std::filesystem::rename(tmp, path);
  } catch (const std::exception& e) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error("checkpoint " + path.string() + ": " + e.what());
  }
}

Checkpoint parse_checkpoint(std::string_view bytes, bool verify_checksum) {
  constexpr std::size_t kHeader = sizeof kMagic + 4 + 8 + 4;
  if (bytes.size() < sizeof kMagic || !std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin()))
    throw std::runtime_error("not a schoolsim checkpoint");
  if (bytes.size() < kHeader) throw std::runtime_error("the file ends early");
  std::uint32_t version = 0, crc = 0;
  std::uint64_t length = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&length, bytes.data() + 12, 8);
  std::memcpy(&crc, bytes.data() + 20, 4);
  if (version != kCheckpointVersion) {
    throw std::runtime_error("written by checkpoint version " + std::to_string(version) + ", this schoolsim reads " +
                             std::to_string(kCheckpointVersion));
  }
  const std::string_view body = bytes.substr(kHeader);
  if (length != body.size()) {
    throw std::runtime_error("the file holds " + std::to_string(body.size()) + " bytes after its header, not the " +
                             std::to_string(length) + " it says (cut short or extended)");
  }
  if (verify_checksum && crc32c(body) != crc)
    throw std::runtime_error("its checksum does not match: the file is corrupted");
  Reader r(body);
  Checkpoint c;
  try {
    visit(r, c);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("a length in the file is implausible");
  } catch (const std::length_error&) {
    throw std::runtime_error("a length in the file is implausible");
  }
  if (r.left() != 0) throw std::runtime_error(std::to_string(r.left()) + " bytes are left over at its end");
  if (const std::string problem = check_checkpoint(c); !problem.empty()) throw std::runtime_error(problem);
  return c;
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  try {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) throw std::runtime_error("cannot open it");
    if (!std::filesystem::is_regular_file(status)) throw std::runtime_error("not a regular file");
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) throw std::runtime_error("cannot read its size");
    if (size > kMaxCheckpointBytes)
      throw std::runtime_error("larger (" + std::to_string(size) + " bytes) than any checkpoint schoolsim writes");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open it");
    std::string bytes(static_cast<std::size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<std::uintmax_t>(in.gcount()) != size) throw std::runtime_error("cannot read it whole");
    return parse_checkpoint(bytes, true);
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint " + path.string() + ": " + e.what());
  }
}

}  // namespace schoolsim
