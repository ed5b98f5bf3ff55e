#include "sim/serve/builtin.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/serve/assets.hpp"

namespace schoolsim::live {

namespace {

constexpr const char* kDir = "scenarios/";

// Reads "scenarios/FILE" from the built-in copies.
std::optional<std::string> read_builtin(const std::string& path) {
  const std::string p = std::filesystem::path(path).lexically_normal().string();
  if (p.rfind(kDir, 0) != 0) return std::nullopt;
  return builtin_scenario(p.substr(std::string(kDir).size()));
}

std::optional<ScenarioFile> load_builtin(const std::string& file, const std::string& label, const Registry& registry,
                                         std::vector<Diagnostic>& errors) {
  LoadResult r = load_scenario(kDir + file, registry, read_builtin);
  if (!r.scenario) {
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    return std::nullopt;
  }
  return ScenarioFile{file, label, leading_comment(*builtin_scenario(file)), std::move(*r.scenario)};
}

}  // namespace

std::optional<std::string> builtin_scenario(const std::string& file) {
  for (std::size_t i = 0; i < serve::kScenarioFileCount; ++i)
    if (file == serve::kScenarioFiles[i].file) return std::string(serve::kScenarioFiles[i].text);
  return std::nullopt;
}

ClassroomLoad load_classroom(const std::string& path, const Registry& registry) {
  ClassroomLoad out;
  std::optional<ScenarioFile> single;
  if (path.empty()) {
    single = load_builtin("classroom.yaml", "This school system", registry, out.errors);
  } else {
    LoadResult r = load_scenario(path, registry);
    if (r.scenario) {
      std::ifstream in(path, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      single = ScenarioFile{std::filesystem::path(path).filename().string(), "This school system",
                            leading_comment(text.str()), std::move(*r.scenario)};
    } else {
      out.errors = std::move(r.errors);
    }
  }
  auto competitive = load_builtin("classroom_competitive.yaml", "Competitive", registry, out.errors);
  auto collaborative = load_builtin("classroom_collaborative.yaml", "Collaborative", registry, out.errors);
  if (!out.errors.empty()) return out;
  out.scenarios = ClassroomScenarios{std::move(*single), {std::move(*competitive), std::move(*collaborative)}};
  return out;
}

}  // namespace schoolsim::live
