#include "models/world/register.hpp"

#include <algorithm>
#include <array>
#include <boost/random/normal_distribution.hpp>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <cstdio>
#include <cctype>
#include <tuple>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "models/outcomes/outcomes.hpp"
#include "models/world/world.hpp"
#include "sim/measures.hpp"
#include "sim/registry.hpp"

namespace schoolsim::models {

namespace {

// ---------------------------------------------------------------- columns

enum Col : std::size_t {
  c_urn,
  c_name,
  c_la_code,
  c_la_name,
  c_type,
  c_status,
  c_phase,
  c_pupils,
  c_places,
  c_fsm,
  c_easting,
  c_northing,
  c_federation,
  c_trust,
  c_count
};

constexpr std::array<std::string_view, c_count> kColumns = {
    "URN",           "EstablishmentName",          "LA (code)",      "LA (name)",
    "TypeOfEstablishment (name)", "EstablishmentStatus (name)", "PhaseOfEducation (name)",
    "NumberOfPupils", "SchoolCapacity",            "PercentageFSM",  "Easting",
    "Northing",      "Federations (code)",         "Trusts (code)"};

// Types of state-funded mainstream school (TypeOfEstablishment (name)).
constexpr std::array<std::string_view, 10> kMainstreamTypes = {
    "Community school",   "Voluntary aided school", "Voluntary controlled school",
    "Foundation school",  "Academy converter",      "Academy sponsor led",
    "Free schools",       "Studio schools",         "University technical college",
    "City technology college"};

// British National Grid bounds (metres): Great Britain and its islands.
constexpr double kMaxEasting = 700000, kMaxNorthing = 1300000;

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequal(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Windows-1252 bytes 0x80-0x9F as Unicode code points (0 = undefined).
constexpr std::array<std::uint16_t, 32> kCp1252High = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Length of the valid UTF-8 sequence at p (0 if invalid).
std::size_t utf8_length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || static_cast<std::size_t>(end - p) < n) return 0;
  for (std::size_t i = 1; i < n; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;  // overlong
  return n;
}

// ---------------------------------------------------------------- CSV

struct Field {
  std::string_view raw;  // between the quotes, if quoted
  bool escaped = false;  // contains doubled quotes
  int column = 1;        // byte column of its first character
};

// Splits RFC 4180 records, tracking the line each starts on.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}

  // Reads the next record into `fields`; false at the end of the text.
  // Sets `line` to the line it starts on; `error` to a problem of quoting.
  bool next(std::vector<Field>& fields, int& line, std::string& error) {
    fields.clear();
    error.clear();
    if (pos_ >= text_.size()) return false;
    line = line_;
    for (;;) {
      Field f;
      f.column = static_cast<int>(pos_ - line_start_) + 1;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        const std::size_t start = ++pos_;
        for (;;) {
          const std::size_t q = text_.find('"', pos_);
          if (q == std::string_view::npos) {
            error = "a quoted field opened at column " + std::to_string(f.column) + " is never closed";
            count_lines(pos_, text_.size());
            pos_ = text_.size();
            return true;
          }
          count_lines(pos_, q);
          if (q + 1 < text_.size() && text_[q + 1] == '"') {
            f.escaped = true;
            pos_ = q + 2;
            continue;
          }
          f.raw = text_.substr(start, q - start);
          pos_ = q + 1;
          break;
        }
        if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r' &&
            error.empty())
          error = "text follows the closing quote of the field at column " + std::to_string(f.column);
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') ++pos_;
      } else {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') ++pos_;
        f.raw = text_.substr(start, pos_ - start);
        if (!f.raw.empty() && f.raw.back() == '\r') f.raw.remove_suffix(1);
      }
      fields.push_back(f);
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      // End of line.
      ++pos_;
      ++line_;
      line_start_ = pos_;
      return true;
    }
  }

 private:
  void count_lines(std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i)
      if (text_[i] == '\n') ++line_, line_start_ = i + 1;
  }
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::size_t line_start_ = 0;
};

std::string unquote(const Field& f) {
  if (!f.escaped) return std::string(f.raw);
  std::string out;
  for (std::size_t i = 0; i < f.raw.size(); ++i) {
    out += f.raw[i];
    if (f.raw[i] == '"' && i + 1 < f.raw.size() && f.raw[i + 1] == '"') ++i;
  }
  return out;
}

std::optional<double> number(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double v = 0;
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
#else
  // The web build's libc++ 14 has no from_chars for double: strtod, refusing
  // what from_chars would (a sign '+', leading space, hexadecimal).
  const std::string text(s);
  if (text[0] == '+' || text.find_first_of("xX") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
#endif
  return v;
}

// ---------------------------------------------------------------- loading

struct Row {
  RegisterSchool school;
  std::string la_code, la_name, federation, trust, label;
  bool has_xy = false, has_pupils = false, has_places = false, has_fsm = false;
};

struct Loader {
  const RegisterSource& src;
  RegisterLoad out;
  std::vector<RegisterProblem>& errors = out.errors;
  bool utf8 = false;

  void error(int line, int column, std::string msg) { errors.push_back({line, column, std::move(msg)}); }

  // Text of a field for messages, in UTF-8.
  [[nodiscard]] std::string text(const Field& f) const {
    std::string raw = unquote(f);
    if (utf8) return raw;
    std::string t;
    for (unsigned char c : raw) {
      if (c < 0x80) t += static_cast<char>(c);
      else if (c < 0xA0) append_utf8(t, kCp1252High[c - 0x80] ? kCp1252High[c - 0x80] : 0xFFFD);
      else append_utf8(t, c);
    }
    return t;
  }

  // Checks the bytes of the whole text against its encoding; at most a few
  // problems are listed one by one.
  bool check_encoding(std::string_view body, int first_line) {
    int line = first_line, shown = 0, more = 0;
    std::size_t line_start = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(body.data());
    const auto* end = p + body.size();
    for (const auto* q = p; q < end;) {
      const unsigned char c = *q;
      if (c == '\n') {
        ++line, ++q;
        line_start = static_cast<std::size_t>(q - p);
        continue;
      }
      std::string why;
      std::size_t step = 1;
      if (c == 0) {
        why = "a NUL byte: this is not a text CSV (UTF-16 text without a byte-order mark, or a binary file); "
              "GIAS publishes the register in Windows-1252";
      } else if (utf8) {
        step = utf8_length(q, end);
        if (step == 0) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02X", c);
          why = std::string("byte ") + hex + " is not valid UTF-8, though the file starts with a UTF-8 byte-order mark";
          step = 1;
        }
      } else if (c >= 0x80 && c < 0xA0 && kCp1252High[c - 0x80] == 0) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", c);
        why = std::string("byte ") + hex +
              " is not a character in Windows-1252, the register's encoding; was the file converted to another "
              "encoding? Use the CSV as downloaded";
      }
      if (!why.empty()) {
        if (shown < 10) {
          error(line, static_cast<int>(static_cast<std::size_t>(q - p) - line_start) + 1, why);
          ++shown;
        } else {
          ++more;
        }
        if (c == 0) return false;  // one is enough: the rest is not text
      }
      q += step;
    }
    if (more > 0) error(line, 0, std::to_string(more) + " more bytes are not valid in the file's encoding");
    return shown == 0;
  }

  void load(std::string_view text_in) {
    std::string_view body = text_in;
    // Byte-order marks.
    if (body.size() >= 2 && ((body[0] == '\xFF' && body[1] == '\xFE') || (body[0] == '\xFE' && body[1] == '\xFF'))) {
      error(1, 1, "the file is UTF-16 text; GIAS publishes the register in Windows-1252: use the CSV as downloaded, "
                  "or save it as Windows-1252 or UTF-8");
      return;
    }
    if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") {
      utf8 = true;
      body.remove_prefix(3);
    }
    if (trim(body).empty()) {
      error(1, 1, "the file is empty; expected the GIAS \"all establishment data\" CSV (docs/DATA.md)");
      return;
    }
    if (!check_encoding(body, 1)) return;

    CsvReader csv(body);
    std::vector<Field> fields;
    int line = 0;
    std::string why;
    csv.next(fields, line, why);
    std::array<std::size_t, c_count> at{};
    at.fill(SIZE_MAX);
    const std::size_t width = fields.size();
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const std::string name(trim(fields[i].raw));
      for (std::size_t c = 0; c < c_count; ++c)
        if (name == kColumns[c] && at[c] == SIZE_MAX) at[c] = i;
    }
    std::size_t found = 0;
    for (auto a : at) found += a != SIZE_MAX ? 1 : 0;
    if (at[c_urn] == SIZE_MAX || found < 4) {
      std::string first;
      for (std::size_t i = 0; i < std::min<std::size_t>(fields.size(), 4); ++i)
      {
        if (i) first += ", ";
        first += '\'';
        first += text(fields[i]);
        first += '\'';
      }
      error(1, 1, "this is not a GIAS establishment file: its header lacks the columns URN, EstablishmentName, "
                  "LA (code) and the others of the \"all establishment data\" download (it starts " +
                      first + "); see docs/DATA.md");
      return;
    }
    for (std::size_t c = 0; c < c_count; ++c) {
      if (at[c] == SIZE_MAX) {
        error(1, 1, "the GIAS column '" + std::string(kColumns[c]) +
                        "' is missing from the header; use the \"all establishment data\" download (docs/DATA.md)");
      }
    }
    if (!errors.empty()) return;

    std::unordered_set<std::string> wanted_areas(src.areas.begin(), src.areas.end());
    std::map<std::string, int> left_out;  // reason -> rows
    std::vector<Row> rows;
    rows.reserve(32768);
    std::unordered_map<std::int32_t, int> urn_line;
    std::size_t data_rows = 0;
    const auto count = [&](const std::string& reason) { ++left_out[reason]; };
    while (csv.next(fields, line, why)) {
      if (fields.size() == 1 && trim(fields[0].raw).empty()) continue;  // blank line
      ++data_rows;
      if (!why.empty()) {
        error(line, 0, why);
        continue;
      }
      if (fields.size() != width) {
        error(line, 1, "the row has " + std::to_string(fields.size()) + " fields; the header has " +
                           std::to_string(width));
        continue;
      }
      const auto f = [&](Col c) -> const Field& { return fields[at[c]]; };
      const auto v = [&](Col c) { return trim(f(c).raw); };
      const std::string_view status = v(c_status), type = v(c_type), phase_name = v(c_phase);
      if (!(iequal(status, "Open") || iequal(status, "Open, but proposed to close"))) {
        count("not open (" + (status.empty() ? std::string("no status") : text(f(c_status))) + ")");
        continue;
      }
      if (icontains(type, "special")) {
        count("special schools");
        continue;
      }
      if (iequal(type, "Pupil referral unit") || icontains(type, "alternative provision")) {
        count("pupil referral units and alternative provision");
        continue;
      }
      int phase = -1;
      if (iequal(phase_name, "Primary") || iequal(phase_name, "Middle deemed primary")) phase = 0;
      else if (iequal(phase_name, "Secondary") || iequal(phase_name, "Middle deemed secondary") ||
               iequal(phase_name, "All-through") || iequal(phase_name, "All through"))
        phase = 1;
      if (phase < 0) {
        count("phase " + (phase_name.empty() ? std::string("not given") : text(f(c_phase))));
        continue;
      }
      if (std::find(kMainstreamTypes.begin(), kMainstreamTypes.end(), type) == kMainstreamTypes.end() &&
          std::none_of(kMainstreamTypes.begin(), kMainstreamTypes.end(),
                       [&](std::string_view t) { return iequal(t, type); })) {
        count("other types (" + text(f(c_type)) + ")");
        continue;
      }
      const std::string la(v(c_la_code));
      if (!wanted_areas.empty() && !wanted_areas.count(la)) {
        count("outside world.register.areas");
        continue;
      }
      Row r;
      RegisterSchool& s = r.school;
      s.line = line;
      s.phase = phase;
      const std::string urn_text(v(c_urn));
      const auto urn = number(urn_text);
      r.label = "URN " + (urn_text.empty() ? std::string("(none)") : text(f(c_urn)));
      const std::string name = text(f(c_name));
      if (!name.empty()) r.label += " (" + name + ")";
      if (!urn || *urn != std::floor(*urn) || *urn < 1 || *urn > 2147483647) {
        error(line, f(c_urn).column,
              urn_text.empty() ? "the school has no URN" : "URN '" + text(f(c_urn)) + "' is not a whole number");
        continue;
      }
      s.urn = static_cast<std::int32_t>(*urn);
      if (auto [it, fresh] = urn_line.emplace(s.urn, line); !fresh) {
        error(line, f(c_urn).column, r.label + ": URN also on line " + std::to_string(it->second));
        continue;
      }
      if (la.empty()) {
        error(line, f(c_la_code).column, r.label + ": no LA (code), so no area");
        continue;
      }
      r.la_code = la;
      r.la_name = text(f(c_la_name));
      r.federation = std::string(v(c_federation));
      r.trust = std::string(v(c_trust));
      const bool impute = src.missing == RegisterMissing::impute;
      const std::string hint = impute ? "" : "; set world.register.missing: impute to impute it";
      // Coordinates.
      const auto e = number(v(c_easting)), n = number(v(c_northing));
      if (v(c_easting).empty() || v(c_northing).empty() || (e && n && *e == 0 && *n == 0)) {
        if (!impute) error(line, f(c_easting).column, r.label + ": no coordinates (Easting, Northing)" + hint);
      } else if (!e || !n || *e < 0 || *e > kMaxEasting || *n < 0 || *n > kMaxNorthing) {
        if (!impute) {
          error(line, f(e && n ? c_easting : (e ? c_northing : c_easting)).column,
                r.label + ": impossible coordinates (Easting '" + text(f(c_easting)) + "', Northing '" +
                    text(f(c_northing)) + "'; the British National Grid spans 0-700000 by 0-1300000 m)" + hint);
        }
      } else {
        s.x_km = *e / 1000, s.y_km = *n / 1000, r.has_xy = true;
      }
      // Pupils and places.
      const auto pupils = number(v(c_pupils)), places = number(v(c_places));
      if (v(c_pupils).empty()) {
        if (!impute) error(line, f(c_pupils).column, r.label + ": no NumberOfPupils" + hint);
      } else if (!pupils || *pupils < 0 || *pupils != std::floor(*pupils) || *pupils > 100000) {
        if (!impute)
          error(line, f(c_pupils).column, r.label + ": impossible NumberOfPupils '" + text(f(c_pupils)) + "'" + hint);
      } else {
        s.pupils = static_cast<std::int32_t>(*pupils), r.has_pupils = true;
      }
      if (v(c_places).empty()) {
        if (!impute) error(line, f(c_places).column, r.label + ": no SchoolCapacity (places)" + hint);
      } else if (!places || *places < 1 || *places != std::floor(*places) || *places > 100000) {
        if (!impute) {
          error(line, f(c_places).column,
                r.label + ": impossible SchoolCapacity '" + text(f(c_places)) + "'" +
                    (places && *places == 0 ? " (0 places)" : "") + hint);
        }
      } else {
        s.places = static_cast<std::int32_t>(*places), r.has_places = true;
      }
      // Share of pupils eligible for free school meals, in percent.
      const auto fsm = number(v(c_fsm));
      if (v(c_fsm).empty() || iequal(v(c_fsm), "SUPP")) {
        if (!impute) {
          error(line, f(c_fsm).column,
                r.label + ": no PercentageFSM" + (v(c_fsm).empty() ? "" : " (suppressed)") + hint);
        }
      } else if (!fsm || *fsm < 0 || *fsm > 100) {
        if (!impute) {
          error(line, f(c_fsm).column,
                r.label + ": impossible PercentageFSM '" + text(f(c_fsm)) + "' (a percentage, 0 to 100)" + hint);
        }
      } else {
        s.disadvantaged = *fsm / 100, r.has_fsm = true;
      }
      rows.push_back(std::move(r));
    }
    if (!errors.empty()) return;
    finish(rows, left_out, data_rows);
  }

  void finish(std::vector<Row>& rows, std::map<std::string, int>& left_out, std::size_t data_rows) {
    auto reg = std::make_shared<SchoolRegister>();
    reg->file = src.resolved;
    // Imputation, from the complete rows: coordinates at the mean of the
    // authority's schools; FSM at the authority's mean (else the file's);
    // places and pupils from each other by the phase's median occupancy, or
    // the phase's median size when both are missing.
    struct Acc {
      double x = 0, y = 0;
      int nxy = 0;
      double fsm = 0;
      int nfsm = 0;
    };
    std::map<std::string, Acc> by_la;
    double fsm_all = 0;
    int nfsm_all = 0;
    std::array<std::vector<double>, 2> occupancy, size;
    for (const auto& r : rows) {
      Acc& a = by_la[r.la_code];
      if (r.has_xy) a.x += r.school.x_km, a.y += r.school.y_km, ++a.nxy;
      if (r.has_fsm) a.fsm += r.school.disadvantaged, ++a.nfsm, fsm_all += r.school.disadvantaged, ++nfsm_all;
      const auto ph = static_cast<std::size_t>(r.school.phase);
      if (r.has_pupils && r.has_places) occupancy[ph].push_back(static_cast<double>(r.school.pupils) / r.school.places);
      if (r.has_places) size[ph].push_back(r.school.places);
    }
    const auto median = [](std::vector<double>& v, double fallback) {
      if (v.empty()) return fallback;
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
      return v[v.size() / 2];
    };
    const std::array<double, 2> occ = {median(occupancy[0], 0.9), median(occupancy[1], 0.9)};
    const std::array<double, 2> typical = {median(size[0], 300), median(size[1], 1000)};
    std::array<int, 4> imputed{};  // coordinates, places, pupils, FSM
    for (auto& r : rows) {
      RegisterSchool& s = r.school;
      const auto ph = static_cast<std::size_t>(s.phase);
      const std::string at = "line " + std::to_string(s.line) + ": " + r.label + ": ";
      if (!r.has_xy) {
        const Acc& a = by_la[r.la_code];
        if (a.nxy == 0) {
          error(s.line, 0, r.label + ": no usable coordinates, and no other school of LA " + r.la_code +
                               " has any to impute them from");
          continue;
        }
        s.x_km = a.x / a.nxy, s.y_km = a.y / a.nxy, ++imputed[0];
        reg->imputed.push_back(at + "coordinates imputed at the centre of LA " + r.la_code + "'s schools");
      }
      if (!r.has_places) {
        s.places = std::max(1, static_cast<int>(std::lround(r.has_pupils && s.pupils > 0 ? s.pupils / occ[ph] : typical[ph])));
        ++imputed[1];
        reg->imputed.push_back(at + "places imputed as " + std::to_string(s.places));
      }
      if (!r.has_pupils) {
        s.pupils = static_cast<int>(std::lround(occ[ph] * s.places));
        ++imputed[2];
        reg->imputed.push_back(at + "pupils imputed as " + std::to_string(s.pupils));
      }
      if (!r.has_fsm) {
        const Acc& a = by_la[r.la_code];
        s.disadvantaged = a.nfsm ? a.fsm / a.nfsm : nfsm_all ? fsm_all / nfsm_all : 0.24;
        ++imputed[3];
        reg->imputed.push_back(at + "FSM imputed as " + format_number(s.disadvantaged * 100) + "%");
      }
    }
    if (!errors.empty()) return;

    // A circle around a point or a school.
    if (src.has_radius()) {
      double cx = src.around_easting / 1000, cy = src.around_northing / 1000;
      if (src.around_urn > 0) {
        const auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.school.urn == src.around_urn; });
        if (it == rows.end()) {
          error(0, 0, "world.register.around.urn: URN " + std::to_string(src.around_urn) +
                          " is not an open primary or secondary school kept from the register");
          return;
        }
        cx = it->school.x_km, cy = it->school.y_km;
      }
      std::vector<Row> inside;
      for (auto& r : rows) {
        const double dx = r.school.x_km - cx, dy = r.school.y_km - cy;
        if (dx * dx + dy * dy <= src.radius_km * src.radius_km) inside.push_back(std::move(r));
        else count_reason(left_out, "outside world.register.around");
      }
      rows = std::move(inside);
    }
    if (rows.size() < 2) {
      error(0, 0, "the register gives " + std::to_string(rows.size()) +
                      " open primary or secondary school(s) to simulate (after the areas and radius chosen); a "
                      "world needs at least 2");
      return;
    }

    // Areas in order of their LA code; schools by area, then URN.
    std::map<std::string, std::string> las;
    for (const auto& r : rows) las.emplace(r.la_code, r.la_name);
    std::map<std::string, std::int32_t> area_index;
    for (const auto& [code, name] : las) {
      area_index[code] = static_cast<std::int32_t>(reg->area_codes.size());
      reg->area_codes.push_back(code);
      reg->area_names.push_back(name);
    }
    for (auto& r : rows) r.school.area = area_index[r.la_code];
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return std::tie(a.school.area, a.school.urn) < std::tie(b.school.area, b.school.urn);
    });
    // Shared codes: a federation or trust of two or more kept schools.
    const auto groups = [&](std::string Row::*code, std::int32_t RegisterSchool::*slot) {
      std::map<std::string, int> members;
      for (const auto& r : rows)
        if (!(r.*code).empty()) ++members[r.*code];
      std::map<std::string, std::int32_t> index;
      for (auto& r : rows) {
        if ((r.*code).empty() || members[r.*code] < 2) continue;
        auto [it, fresh] = index.emplace(r.*code, static_cast<std::int32_t>(index.size()));
        r.school.*slot = it->second;
      }
      return static_cast<std::int32_t>(index.size());
    };
    reg->federations = groups(&Row::federation, &RegisterSchool::federation);
    reg->trusts = groups(&Row::trust, &RegisterSchool::trust);
    for (auto& r : rows) reg->schools.push_back(r.school);

    std::ostringstream sum;
    int primary = 0;
    for (const auto& s : reg->schools) primary += s.phase == 0 ? 1 : 0;
    sum << "register " << src.path << ": " << data_rows << " rows; kept " << reg->schools.size()
        << " open schools (" << primary << " primary, " << reg->schools.size() - static_cast<std::size_t>(primary)
        << " secondary) in " << reg->area_codes.size() << (reg->area_codes.size() == 1 ? " area" : " areas")
        << ", with " << reg->federations << " federations and " << reg->trusts << " trusts of two or more\n";
    int other_total = 0;
    std::vector<std::pair<std::string, int>> others;
    for (const auto& [why, n] : left_out) {
      if (why.rfind("other types (", 0) == 0) {
        other_total += n;
        others.emplace_back(why.substr(13, why.size() - 14), n);
        continue;
      }
      sum << "  left out: " << n << ' ' << why << '\n';
    }
    if (other_total > 0) {
      sum << "  left out: " << other_total << " of other types (";
      for (std::size_t i = 0; i < others.size(); ++i) sum << (i ? ", " : "") << others[i].first << ' ' << others[i].second;
      sum << ")\n";
    }
    const int total_imputed = imputed[0] + imputed[1] + imputed[2] + imputed[3];
    if (total_imputed > 0) {
      sum << "  imputed (world.register.missing: impute): " << imputed[0] << " coordinates, " << imputed[1]
          << " places, " << imputed[2] << " pupils, " << imputed[3] << " FSM shares\n";
    }
    reg->summary = sum.str();
    out.data = std::move(reg);
  }

  static void count_reason(std::map<std::string, int>& m, const std::string& why) { ++m[why]; }
};

}  // namespace

std::span<const std::string_view> gias_columns_used() { return kColumns; }

RegisterLoad parse_register(std::string_view text, const RegisterSource& src) {
  Loader l{src, {}};
  if (src.format != "gias") {
    l.error(0, 0, "world.register.format: unknown format '" + src.format + "'; the one format is 'gias'");
    return std::move(l.out);
  }
  l.load(text);
  if (!l.out.errors.empty()) l.out.data.reset();
  return std::move(l.out);
}

RegisterLoad load_register(const RegisterSource& src) {
  std::ifstream in(src.resolved, std::ios::binary);
  if (!in) {
    RegisterLoad r;
    r.errors.push_back({0, 0, "world.register: cannot read '" + src.path + "' (looked for " + src.resolved + ")"});
    return r;
  }
  std::string text;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size > 0) {
    text.resize(static_cast<std::size_t>(size));
    in.read(text.data(), size);
  }
  return parse_register(text, src);
}

// ---------------------------------------------------------------- building

namespace {

double clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

// Strength, trust and activities of the ties a register gives.
constexpr double kFederationStrength = 1.0, kFederationTrust = 0.6;
constexpr double kTrustStrength = 0.8, kTrustTrust = 0.5;
constexpr int kTrustNearest = 3;  // each school is tied to its nearest fellow members

}  // namespace

void build_register_world(std::span<const double> values, const SchoolRegister& reg, const PipelineInfo& pipeline,
                          const Streams& streams, State& s, const Team* team) {
  const auto specs = world_info().params;
  const auto param = [&](std::string_view name) {
    for (std::size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == name) return i < values.size() ? values[i] : specs[i].def;
    throw std::logic_error("world parameter '" + std::string(name) + "' is missing");
  };
  const double mean_d = param("mean_disadvantaged"), cap_mean = param("capacity_mean"),
               cap_sd = param("capacity_sd"), cap_slope = param("capacity_disadvantage_slope"),
               exp_mean = param("expectations_mean"), exp_sd = param("expectations_sd"),
               exp_slope = param("expectations_disadvantage_slope"), autonomy = param("autonomy_mean"),
               reach = param("reach_km");
  const auto k = static_cast<Eigen::Index>(param("practice_dims"));
  const auto n = static_cast<std::int32_t>(reg.schools.size());
  s.allocate(n, static_cast<std::int32_t>(reg.area_codes.size()), k);
  boost::random::normal_distribution<double> normal;
  for (std::int32_t i = 0; i < n; ++i) {
    const RegisterSchool& r = reg.schools[static_cast<std::size_t>(i)];
    Stream rng = streams.stream(kWorldStreamKey, 3, static_cast<std::uint64_t>(i));
    s.urn[i] = r.urn;
    s.area[i] = r.area;
    s.x[i] = r.x_km;
    s.y[i] = r.y_km;
    s.phase[i] = r.phase;
    s.places[i] = r.places;
    s.pupils[i] = r.pupils;
    const double d = r.disadvantaged;
    s.disadvantaged[i] = d;
    s.capacity[i] = clamp01(cap_mean + cap_slope * (d - mean_d) + cap_sd * normal(rng));
    s.expectations[i] = clamp01(exp_mean + exp_slope * (d - mean_d) + exp_sd * normal(rng));
    s.autonomy[i] = clamp01(autonomy + 0.1 * normal(rng));
    for (Eigen::Index j = 0; j < k; ++j) s.practice(j, i) = normal(rng);
    s.practice.col(i).normalize();
    s.home_cohort[i] = s.pupils[i] / static_cast<double>(kYearsInPhase[static_cast<std::size_t>(s.phase[i])]);
    s.home_disadvantaged[i] = d;
  }
  set_year_zero(pipeline, s);  // as the generated world
  build_neighbours(s, reach, team ? *team : lone_team());

  // Federations: every pair of members. Trusts: each member with its nearest
  // fellow members. A pair in both is a federation tie.
  std::map<std::int32_t, std::vector<std::int32_t>> feds, trusts;
  for (std::int32_t i = 0; i < n; ++i) {
    const RegisterSchool& r = reg.schools[static_cast<std::size_t>(i)];
    if (r.federation >= 0) feds[r.federation].push_back(i);
    if (r.trust >= 0) trusts[r.trust].push_back(i);
  }
  const std::uint8_t fed_acts = staff_development | staff_exchange | shared_governance;
  const std::uint8_t trust_acts = staff_development | shared_data | shared_governance;
  for (const auto& [code, m] : feds) {
    for (std::size_t a = 0; a < m.size(); ++a) {
      for (std::size_t b = a + 1; b < m.size(); ++b) {
        s.ties.add({.a = m[a], .b = m[b], .strength = kFederationStrength, .trust = kFederationTrust,
                    .kind = TieKind::federation, .activities = fed_acts});
      }
    }
  }
  for (const auto& [code, m] : trusts) {
    for (const std::int32_t i : m) {
      std::vector<std::pair<double, std::int32_t>> near;
      for (const std::int32_t j : m) {
        if (j == i) continue;
        const double dx = s.x[i] - s.x[j], dy = s.y[i] - s.y[j];
        near.emplace_back(dx * dx + dy * dy, j);
      }
      std::sort(near.begin(), near.end());
      for (std::size_t t = 0; t < near.size() && t < static_cast<std::size_t>(kTrustNearest); ++t) {
        const std::int32_t j = near[t].second;
        if (s.ties.find(i, j) != TieStore::kNone) continue;
        s.ties.add({.a = std::min(i, j), .b = std::max(i, j), .strength = kTrustStrength, .trust = kTrustTrust,
                    .kind = TieKind::trust, .activities = trust_acts});
      }
    }
  }
}

}  // namespace schoolsim::models
