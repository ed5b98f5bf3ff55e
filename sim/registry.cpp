#include "sim/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace schoolsim {

std::vector<double> defaults(std::span<const ParamSpec> specs) {
  std::vector<double> v;
  v.reserve(specs.size());
  for (const auto& s : specs) v.push_back(s.def);
  return v;
}

void Registry::add(MechanismInfo info) {
  if (find(info.name)) throw std::logic_error("mechanism registered twice: " + info.name);
  // The registry's order is the default pipeline's: it follows the phases.
  if (!mechanisms_.empty() && info.phase < mechanisms_.back().phase) {
    throw std::logic_error("mechanism '" + info.name + "' (phase " + std::string(phase_name(info.phase)) +
                           ") registered after '" + mechanisms_.back().name + "' (phase " +
                           std::string(phase_name(mechanisms_.back().phase)) + ")");
  }
  // The kernel appends such a mechanism to a pipeline: only the last phase keeps
  // the pipeline's indices (which the timeline refers to) and its phase order.
  if (info.every_pipeline && info.phase != Phase::record)
    throw std::logic_error("mechanism '" + info.name + "' runs in every pipeline but is not of the record phase");
  mechanisms_.push_back(std::move(info));
}

const MechanismInfo* Registry::find(std::string_view name) const {
  for (const auto& m : mechanisms_)
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& m : mechanisms_) out.push_back(m.name);
  return out;
}

int param_index(const std::vector<ParamSpec>& specs, std::string_view name) {
  for (std::size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string value_text(const ParamSpec& spec, double value) {
  if (spec.type == ParamType::boolean) return value != 0 ? "true" : "false";
  if (spec.type == ParamType::choice) {
    const auto i = static_cast<std::size_t>(value);
    return i < spec.choices.size() ? spec.choices[i] : format_number(value);
  }
  return format_number(value);
}

double choice_index(const ParamSpec& spec, std::string_view name) {
  for (std::size_t i = 0; i < spec.choices.size(); ++i)
    if (spec.choices[i] == name) return static_cast<double>(i);
  throw std::invalid_argument("parameter " + spec.name + " has no choice '" + std::string(name) + "'");
}

std::string source_text(const Source& s) {
  if (!s.calibrated) return s.text.starts_with(kScenarioChoice) ? s.text : "source: " + s.text;
  return "calibrated, prior [" + format_number(s.prior_lo) + ", " + format_number(s.prior_hi) + "]: " + s.text;
}

Basis basis_of(const Source& s) {
  if (s.calibrated) return Basis::calibrated;
  if (s.text.starts_with(kScenarioChoice)) return Basis::scenario_choice;
  return Basis::sourced;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, res.ptr};
#else
  // The web build's standard library (libc++ 14) has no floating-point to_chars:
  // the shortest of 15 to 17 significant digits that reads back as the same number.
  char buf[64];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
#endif
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

}  // namespace schoolsim
