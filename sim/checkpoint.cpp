#include "sim/checkpoint.hpp"

#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <type_traits>

namespace schoolsim {

namespace {

constexpr char kMagic[8] = {'S', 'C', 'H', 'S', 'I', 'M', 'C', 'K'};

class Writer {
 public:
  explicit Writer(std::ofstream& out) : out_(out) {}
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
  std::ofstream& out_;
};

class Reader {
 public:
  explicit Reader(std::ifstream& in) : in_(in) {}
  template <class T>
  void operator()(T& v) {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      in_.read(reinterpret_cast<char*>(&v), sizeof v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      v.resize(size());
      in_.read(v.data(), static_cast<std::streamsize>(v.size()));
    } else if constexpr (requires { v.data(); v.size(); typename T::value_type; }) {
      v.resize(size());
      if constexpr (std::is_trivially_copyable_v<typename T::value_type>) {
        in_.read(reinterpret_cast<char*>(v.data()),
                 static_cast<std::streamsize>(v.size() * sizeof(typename T::value_type)));
      } else {
        for (auto& x : v) (*this)(x);
      }
    }
    if (!in_) throw std::runtime_error("the file ends early");
  }
  void matrix(Eigen::MatrixXd& m) {
    std::int64_t rows = 0, cols = 0;
    (*this)(rows), (*this)(cols);
    check(rows * cols);
    m.resize(rows, cols);
    in_.read(reinterpret_cast<char*>(m.data()), static_cast<std::streamsize>(m.size() * sizeof(double)));
  }
  template <class A>
  void array(A& a) {
    std::int64_t n = 0;
    (*this)(n);
    check(n);
    a.resize(n);
    in_.read(reinterpret_cast<char*>(a.data()), static_cast<std::streamsize>(a.size() * sizeof(typename A::Scalar)));
    if (!in_) throw std::runtime_error("the file ends early");
  }

 private:
  std::size_t size() {
    std::uint64_t n = 0;
    (*this)(n);
    check(static_cast<std::int64_t>(n));
    return static_cast<std::size_t>(n);
  }
  static void check(std::int64_t n) {
    if (n < 0 || n > (std::int64_t{1} << 36)) throw std::runtime_error("a size in the file is implausible");
  }
  std::ifstream& in_;
};

template <class IO>
void visit_state(IO& io, State& s) {
  for (const auto& fi : kFields)
    visit_field(s, fi.field, [&](auto& col) {
      if constexpr (std::is_same_v<std::decay_t<decltype(col)>, Eigen::MatrixXd>)
        io.matrix(col);
      else
        io.array(col);
    });
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
  r.series.resize(n_series);
  for (auto& b : r.series) io(b.field), io(b.width), io(b.real), io(b.integer);
  io(r.attainment_years), io(r.attainment_dis), io(r.attainment_adv), io(r.system_terms), io(r.system);
  io(r.tie_events);
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  const std::filesystem::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  try {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    std::ofstream out(tmp, std::ios::binary);
    out.write(kMagic, sizeof kMagic);
    Writer w(out);
    w(kCheckpointVersion);
    Checkpoint& mutable_c = const_cast<Checkpoint&>(c);  // visit() is shared with reading; nothing is changed
    visit(w, mutable_c);
    out.close();
    if (!out) throw std::runtime_error("cannot write");
    std::filesystem::rename(tmp, path);
  } catch (const std::exception& e) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error("checkpoint " + path.string() + ": " + e.what());
  }
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("checkpoint " + path.string() + ": cannot open it");
  char magic[sizeof kMagic] = {};
  in.read(magic, sizeof magic);
  if (!in || !std::equal(std::begin(magic), std::end(magic), std::begin(kMagic)))
    throw std::runtime_error("checkpoint " + path.string() + ": not a schoolsim checkpoint");
  try {
    Reader r(in);
    std::uint32_t version = 0;
    r(version);
    if (version != kCheckpointVersion)
      throw std::runtime_error("written by checkpoint version " + std::to_string(version) + ", this schoolsim reads " +
                               std::to_string(kCheckpointVersion));
    Checkpoint c;
    visit(r, c);
    return c;
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint " + path.string() + ": " + e.what());
  }
}

}  // namespace schoolsim
