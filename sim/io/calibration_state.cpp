// A calibration's state file: its bytes and the checks on reading one back
// (sim/io/calibration_state.hpp).
#include "sim/io/calibration_state.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "sim/crc32c.hpp"

namespace schoolsim {

namespace {

constexpr char kStateMagic[8] = {'S', 'C', 'H', 'S', 'I', 'M', 'C', 'A'};

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  template <class T>
  T get() {
    if (b_.size() - at_ < sizeof(T)) throw std::runtime_error("it is cut short");
    T v;
    std::memcpy(&v, b_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::size_t count(std::size_t unit) {
    const auto n = get<std::uint64_t>();
    if (n > (b_.size() - at_) / std::max<std::size_t>(unit, 1)) throw std::runtime_error("a length is longer than the file");
    return static_cast<std::size_t>(n);
  }
  [[nodiscard]] bool done() const { return at_ == b_.size(); }

 private:
  std::string_view b_;
  std::size_t at_ = 0;
};

void put_generation(std::string& out, const Generation& g) {
  put(out, g.tolerance);
  put(out, g.attempts);
  put(out, static_cast<std::uint64_t>(g.theta.size()));
  for (std::size_t i = 0; i < g.theta.size(); ++i) {
    for (double x : g.theta[i]) put(out, x);
    put(out, i < g.weights.size() ? g.weights[i] : 0.0);
    put(out, g.distances[i]);
    for (double x : g.stats[i]) put(out, x);
  }
}

Generation get_generation(Reader& r, std::size_t d, std::size_t t, bool weighted) {
  Generation g;
  g.tolerance = r.get<double>();
  g.attempts = r.get<std::int64_t>();
  const std::size_t n = r.count((d + t + 2) * sizeof(double));
  if (g.attempts < static_cast<std::int64_t>(n)) throw std::runtime_error("it keeps more particles than it made attempts");
  if (!(g.tolerance > 0) && !std::isnan(g.tolerance) && n > 0 && g.tolerance != 0)
    throw std::runtime_error("a tolerance is not positive");
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> th(d), st(t);
    for (auto& x : th) x = r.get<double>();
    const auto w = r.get<double>();
    const auto dist = r.get<double>();
    for (auto& x : st) x = r.get<double>();
    for (double x : th)
      if (!std::isfinite(x)) throw std::runtime_error("a parameter value is not finite");
    if (!(dist >= 0) || !(dist <= g.tolerance)) throw std::runtime_error("a kept particle lies beyond its tolerance");
    if (weighted && !(w >= 0 && w <= 1)) throw std::runtime_error("a weight is not in [0, 1]");
    g.theta.push_back(std::move(th));
    if (weighted) g.weights.push_back(w);
    g.distances.push_back(dist);
    g.stats.push_back(std::move(st));
  }
  return g;
}

}  // namespace

std::string encode_state(const CalibState& st, const std::string& fp) {
  std::string out(kStateMagic, sizeof kStateMagic);
  put(out, kCalibStateVersion);
  put(out, static_cast<std::uint64_t>(fp.size()));
  out += fp;
  put(out, st.simulations);
  put(out, static_cast<std::uint64_t>(st.done.size()));
  for (const auto& g : st.done) put_generation(out, g);
  put_generation(out, st.current);
  put(out, crc32c(out));
  return out;
}

std::string decode_state(std::string_view bytes, const std::string& fp, std::size_t d, std::size_t t, CalibState& st) {
  if (bytes.size() < sizeof kStateMagic + 8 || std::memcmp(bytes.data(), kStateMagic, sizeof kStateMagic) != 0)
    return "it is not a schoolsim calibration state";
  std::uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + bytes.size() - 4, 4);
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (crc32c(body) != crc) return "its checksum does not match (corrupted or cut short)";
  try {
    Reader r(body.substr(sizeof kStateMagic));
    if (r.get<std::uint32_t>() != kCalibStateVersion) return "it was written by another version of the state format";
    const std::size_t n = r.count(1);
    std::string seen(n, '\0');
    for (auto& ch : seen) ch = r.get<char>();
    if (seen != fp) return "it belongs to a different calibration or another version of schoolsim";
    CalibState out;
    out.simulations = r.get<std::int64_t>();
    const std::size_t gens = r.count(2 * sizeof(double));
    for (std::size_t g = 0; g < gens; ++g) out.done.push_back(get_generation(r, d, t, true));
    out.current = get_generation(r, d, t, false);
    if (!r.done()) return "it has bytes after its end";
    for (const auto& g : out.done) {
      const double total = std::accumulate(g.weights.begin(), g.weights.end(), 0.0);
      if (g.theta.empty() || std::abs(total - 1) > 1e-6) return "a finished generation's weights do not sum to one";
    }
    st = std::move(out);
  } catch (const std::exception& ex) {
    return ex.what();
  }
  return "";
}

void save_state(const std::filesystem::path& path, const CalibState& s, const std::string& fp) {
  const std::string bytes = encode_state(s, fp);
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

bool load_state(const std::filesystem::path& path, const std::string& fp, std::size_t d, std::size_t t,
                CalibState& s) {
  if (!std::filesystem::exists(path)) return false;
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  CalibState read;
  const std::string why = decode_state(buf.str(), fp, d, t, read);
  if (!why.empty()) throw std::runtime_error("the calibration state " + path.string() + " cannot be used: " + why);
  s = std::move(read);
  return true;
}

}  // namespace schoolsim
