// schoolsim_baseline: the committed regression baseline (tests/baseline.json).
//
// Runs every library scenario (scenarios/*.yaml) at its own seed, replicate 0,
// and summarises it: every system measure at the start, middle and end of the
// run, and the tie events by what happened and why. `check` compares the
// summary with the committed file and fails with an old / new / difference
// table when any value differs by more than the tolerance; it never writes.
// `update` prints the same table and rewrites the file (atomically); it is run
// only by `bash tools/dev baseline`, when results change on purpose.
//
// Usage: schoolsim_baseline check|update [--baseline FILE] [--scenarios DIR] [--threads N]
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/measures.hpp"
#include "sim/simulation.hpp"
#include "sim/ties.hpp"

namespace fs = std::filesystem;
using namespace schoolsim;

namespace {

// Values agree when |new - old| <= kRelTol * max(|old|, |new|) + kAbsTol. Runs of
// the same build give bitwise equal results (docs/EXPERIMENTS.md); the tolerance
// only absorbs floating-point differences between compilers and libraries.
constexpr double kRelTol = 1e-9;
constexpr double kAbsTol = 1e-12;
constexpr int kFormat = 1;

// scenario -> (value name -> value), both sorted by name.
using Summary = std::map<std::string, double>;
using Baseline = std::map<std::string, Summary>;

// ------------------------------------------------------------------ summary

Summary summarise(const Scenario& sc, const Recording& rec) {
  Summary out;
  out["seed"] = static_cast<double>(sc.seed);
  out["years"] = sc.years;
  out["schools"] = rec.n_schools;
  out["areas"] = rec.n_areas;
  // Three recorded points: the generated world, the end of the middle year and the end.
  const auto& terms = rec.system_terms;
  if (!terms.empty()) {
    const std::int32_t mid_term = (sc.years / 2) * kTermsPerYear;
    std::size_t mid = 0;
    for (std::size_t i = 0; i < terms.size(); ++i)
      if (terms[i] <= mid_term) mid = i;
    const std::pair<const char*, std::size_t> points[] = {
        {"start", 0}, {"mid", mid}, {"end", terms.size() - 1}};
    for (const auto& [label, row] : points) {
      out[std::string("term.") + label] = terms[row];
      for (std::size_t m = 0; m < kSystemMeasures.size(); ++m)
        out[std::string(kSystemMeasures[m].name) + "." + label] = rec.system[m][row];
    }
  }
  // Tie events: formed or dissolved, by reason and by kind (only those that happened).
  for (const auto& e : rec.tie_events) {
    const std::string what = e.event == TieEventType::formed ? "formed" : "dissolved";
    out["ties_" + what + ".reason." + std::string(kTieReasonNames[static_cast<std::size_t>(e.reason)])] += 1;
    out["ties_" + what + ".kind." + std::string(kTieKindNames[static_cast<std::size_t>(e.kind)])] += 1;
  }
  return out;
}

// ------------------------------------------------------------------ JSON (the file's own small subset)

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  return std::string(buf, r.ptr);
}

std::string to_json(const Baseline& b) {
  std::ostringstream o;
  o << "{\n  \"format\": " << kFormat << ",\n"
    << "  \"about\": \"schoolsim regression baseline: every library scenario at its seed, replicate 0. "
       "Regenerate only with: bash tools/dev baseline\",\n"
    << "  \"scenarios\": {";
  bool first_sc = true;
  for (const auto& [name, summary] : b) {
    o << (first_sc ? "\n" : ",\n") << "    \"" << name << "\": {";
    first_sc = false;
    bool first = true;
    for (const auto& [key, value] : summary) {
      o << (first ? "\n" : ",\n") << "      \"" << key << "\": " << number(value);
      first = false;
    }
    o << "\n    }";
  }
  o << "\n  }\n}\n";
  return o.str();
}

struct Parser {
  const std::string& s;
  std::string file;
  std::size_t i = 0;

  [[noreturn]] void fail(const std::string& what) const {
    int line = 1, col = 1;
    for (std::size_t k = 0; k < i && k < s.size(); ++k) {
      if (s[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw std::runtime_error(file + ":" + std::to_string(line) + ":" + std::to_string(col) +
                             ": error: " + what);
  }
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  void expect(char c) {
    ws();
    if (i >= s.size() || s[i] != c) fail(std::string("expected '") + c + "'");
    ++i;
  }
  bool peek(char c) {
    ws();
    return i < s.size() && s[i] == c;
  }
  std::string str() {
    expect('"');
    std::string out;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\') fail("escapes are not used in the baseline file");
      out += s[i++];
    }
    if (i >= s.size()) fail("unterminated string");
    ++i;
    return out;
  }
  double num() {
    ws();
    if (s.compare(i, 4, "null") == 0) {
      i += 4;
      return std::nan("");
    }
    double v = 0;
    const auto r = std::from_chars(s.data() + i, s.data() + s.size(), v);
    if (r.ec != std::errc()) fail("expected a number");
    i = static_cast<std::size_t>(r.ptr - s.data());
    return v;
  }
  // Calls f(key) for each member of an object; f consumes the value.
  template <class F>
  void object(F&& f) {
    expect('{');
    if (peek('}')) {
      ++i;
      return;
    }
    for (;;) {
      const std::string key = str();
      expect(':');
      f(key);
      if (peek(',')) {
        ++i;
        continue;
      }
      expect('}');
      return;
    }
  }
};

Baseline from_json(const std::string& text, const std::string& file) {
  Baseline b;
  Parser p{text, file};
  bool seen_format = false;
  p.object([&](const std::string& key) {
    if (key == "format") {
      if (p.num() != kFormat) p.fail("unknown baseline format (expected " + std::to_string(kFormat) + ")");
      seen_format = true;
    } else if (key == "about") {
      p.str();
    } else if (key == "scenarios") {
      p.object([&](const std::string& name) {
        Summary& sm = b[name];
        p.object([&](const std::string& k) { sm[k] = p.num(); });
      });
    } else {
      p.fail("unknown key \"" + key + "\"");
    }
  });
  p.ws();
  if (p.i != text.size()) p.fail("text after the end of the baseline");
  if (!seen_format) p.fail("no \"format\" key");
  return b;
}

// ------------------------------------------------------------------ comparison

struct Row {
  std::string scenario, key;
  bool has_old = false, has_new = false;
  double old_v = 0, new_v = 0;
};

bool agree(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(b - a) <= kRelTol * std::max(std::fabs(a), std::fabs(b)) + kAbsTol;
}

std::vector<Row> differences(const Baseline& old_b, const Baseline& new_b) {
  std::vector<Row> rows;
  std::map<std::string, int> names;
  for (const auto& [n, _] : old_b) names[n] |= 1;
  for (const auto& [n, _] : new_b) names[n] |= 2;
  static const Summary empty;
  for (const auto& [n, where] : names) {
    const Summary& o = (where & 1) ? old_b.at(n) : empty;
    const Summary& w = (where & 2) ? new_b.at(n) : empty;
    std::map<std::string, int> keys;
    for (const auto& [k, _] : o) keys[k] |= 1;
    for (const auto& [k, _] : w) keys[k] |= 2;
    for (const auto& [k, in] : keys) {
      Row r{n, k, (in & 1) != 0, (in & 2) != 0, 0, 0};
      if (r.has_old) r.old_v = o.at(k);
      if (r.has_new) r.new_v = w.at(k);
      if (r.has_old && r.has_new && agree(r.old_v, r.new_v)) continue;
      rows.push_back(r);
    }
  }
  // Within a scenario, each measure's start, mid and end in time order.
  auto order = [](const std::string& key) {
    const auto dot = key.rfind('.');
    const std::string base = dot == std::string::npos ? key : key.substr(0, dot);
    const std::string point = dot == std::string::npos ? "" : key.substr(dot + 1);
    const int rank = point == "start" ? 0 : point == "mid" ? 1 : point == "end" ? 2 : 3;
    return std::make_pair(base, rank == 3 ? key : std::string(1, static_cast<char>('0' + rank)));
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    if (a.scenario != b.scenario) return a.scenario < b.scenario;
    return order(a.key) < order(b.key);
  });
  return rows;
}

std::string fmt(double v) {
  if (std::isnan(v)) return "nan";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

void print_table(std::ostream& out, const std::vector<Row>& rows) {
  const std::vector<std::string> head = {"scenario", "measure", "old", "new", "diff", "rel_diff"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    std::string diff = "-", rel = "-";
    if (r.has_old && r.has_new && !std::isnan(r.old_v) && !std::isnan(r.new_v)) {
      const double d = r.new_v - r.old_v;
      diff = fmt(d);
      rel = r.old_v != 0 ? fmt(d / std::fabs(r.old_v)) : "inf";
    }
    cells.push_back({r.scenario, r.key, r.has_old ? fmt(r.old_v) : "(absent)",
                     r.has_new ? fmt(r.new_v) : "(absent)", diff, rel});
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& row : cells) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& v) {
    for (std::size_t c = 0; c < v.size(); ++c) {
      const std::string pad(width[c] - v[c].size(), ' ');
      out << (c ? "  " : "") << (c < 2 ? v[c] + pad : pad + v[c]);
    }
    out << '\n';
  };
  line(head);
  std::vector<std::string> rule;
  for (auto w : width) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& row : cells) line(row);
}

// ------------------------------------------------------------------ runs

Baseline run_library(const fs::path& dir, int threads) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error(dir.string() + ": no scenarios (*.yaml)");

  const Registry& registry = models::registry();
  std::vector<Scenario> scenarios;
  std::string errors;
  for (const auto& f : files) {
    auto loaded = load_scenario(f.string(), registry);
    for (const auto& d : loaded.errors) errors += d.str() + "\n";
    if (!loaded.scenario) continue;
    // The summary needs the system measures and tie events, whatever the
    // scenario records; what is recorded does not change the run.
    Scenario sc = std::move(*loaded.scenario);
    sc.record.system = true;
    sc.record.ties = true;
    sc.record.attainment = false;
    sc.record.schools.clear();
    scenarios.push_back(std::move(sc));
  }
  if (!errors.empty()) throw std::runtime_error(errors + "the library scenarios do not load");

  // Scenarios run in parallel, each on one thread; each result depends only on its scenario.
  std::vector<Summary> results(scenarios.size());
  std::vector<std::string> failures(scenarios.size());
  std::atomic<std::size_t> next{0};
  std::mutex log;
  auto worker = [&] {
    for (std::size_t k; (k = next++) < scenarios.size();) {
      try {
        RunOptions opts;
        const Recording rec = run_replicate(scenarios[k], registry, 0, opts);
        results[k] = summarise(scenarios[k], rec);
        std::lock_guard lock(log);
        std::cerr << "schoolsim_baseline: ran " << files[k].filename().string() << "\n";
      } catch (const std::exception& ex) {
        failures[k] = files[k].string() + ": " + ex.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  for (const auto& f : failures)
    if (!f.empty()) throw std::runtime_error(f);

  Baseline b;
  for (std::size_t k = 0; k < files.size(); ++k) b[files[k].stem().string()] = std::move(results[k]);
  return b;
}

int usage(std::ostream& out, int code) {
  out << "usage: schoolsim_baseline check|update [--baseline FILE] [--scenarios DIR] [--threads N]\n"
         "\n"
         "  check   run every scenario in DIR and compare its summary with FILE; on any\n"
         "          difference print an old / new / difference table and exit 1 (never writes)\n"
         "  update  run them, print the same table, and rewrite FILE (bash tools/dev baseline)\n"
         "\n"
         "  --baseline FILE  default tests/baseline.json\n"
         "  --scenarios DIR  default scenarios\n"
         "  --threads N      scenarios run at once (default 2)\n"
         "\n"
         "Values agree within a relative tolerance of 1e-9 (plus 1e-12 absolute): the same\n"
         "build gives bitwise equal results; the tolerance absorbs other compilers' rounding.\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage(std::cerr, 2);
  if (args[0] == "-h" || args[0] == "--help") return usage(std::cout, 0);
  const std::string mode = args[0];
  if (mode != "check" && mode != "update") {
    std::cerr << "schoolsim_baseline: unknown command '" << mode << "'\n";
    return usage(std::cerr, 2);
  }
  fs::path baseline_file = "tests/baseline.json", scenario_dir = "scenarios";
  int threads = 2;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "--baseline" || a == "--scenarios" || a == "--threads") && i + 1 < args.size()) {
      const std::string& v = args[++i];
      if (a == "--baseline") baseline_file = v;
      if (a == "--scenarios") scenario_dir = v;
      if (a == "--threads") {
        const auto r = std::from_chars(v.data(), v.data() + v.size(), threads);
        if (r.ec != std::errc() || r.ptr != v.data() + v.size() || threads < 1) {
          std::cerr << "schoolsim_baseline: --threads needs a positive whole number, not '" << v << "'\n";
          return 2;
        }
      }
    } else {
      std::cerr << "schoolsim_baseline: unknown or incomplete option '" << a << "'\n";
      return usage(std::cerr, 2);
    }
  }

  Baseline old_b;
  const bool have_old = fs::exists(baseline_file);
  try {
    if (have_old) {
      std::ifstream in(baseline_file, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      old_b = from_json(text.str(), baseline_file.string());
    } else if (mode == "check") {
      std::cerr << baseline_file.string() << ": error: no baseline file; create it with: bash tools/dev baseline\n";
      return 2;
    }
  } catch (const std::exception& ex) {
    std::cerr << ex.what() << "\n";
    return 2;
  }

  Baseline new_b;
  try {
    new_b = run_library(scenario_dir, threads);
  } catch (const std::exception& ex) {
    std::cerr << "schoolsim_baseline: " << ex.what() << "\n";
    return 2;
  }

  const auto rows = differences(old_b, new_b);
  std::size_t n_values = 0;
  for (const auto& [_, s] : new_b) n_values += s.size();
  if (rows.empty()) {
    std::cout << "baseline: " << new_b.size() << " scenarios, " << n_values << " values match "
              << baseline_file.string() << " (relative tolerance " << kRelTol << ")\n";
    return 0;
  }
  std::cout << "baseline: " << rows.size() << " of " << n_values << " values differ from "
            << baseline_file.string() << " (relative tolerance " << kRelTol << "):\n\n";
  print_table(std::cout, rows);
  if (mode == "check") {
    std::cout << "\nIf the change is intended: bash tools/dev baseline, commit " << baseline_file.string()
              << ", and paste this table in the commit message.\n";
    return 1;
  }
  // update: write beside the file, then rename, so an interrupted update leaves the old file.
  const fs::path tmp = baseline_file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << to_json(new_b);
    out.close();
    if (!out) {
      std::cerr << tmp.string() << ": error: cannot write the baseline\n";
      std::error_code rm;
      fs::remove(tmp, rm);
      return 2;
    }
  }
  std::error_code ec;
  fs::rename(tmp, baseline_file, ec);
  if (ec) {
    std::cerr << baseline_file.string() << ": error: cannot replace the baseline: " << ec.message() << "\n";
    fs::remove(tmp, ec);
    return 2;
  }
  std::cout << "\nwrote " << baseline_file.string() << (have_old ? "" : " (new)")
            << ": commit it and paste this table in the commit message.\n";
  return 0;
}
