// One tab's teaching-mode session without any transport: one live world, or
// the comparison's two arms side by side, and the JSON texts the page reads
// (hello, frame, status, a school's history, the answers to controls and lever
// changes). `schoolsim serve` (server.cpp) puts it behind HTTP and Server-Sent
// Events; the web build (web.cpp) calls it from the page's JavaScript in the
// browser. Both send the same texts, so the page cannot tell them apart.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/registry.hpp"
#include "sim/scenario.hpp"
#include "sim/serve/live.hpp"

namespace schoolsim::live {

// A scenario file of teaching mode: its name, its leading comment (what it
// represents, how to read it) and the scenario it loads to.
struct ScenarioFile {
  std::string file;     // e.g. "classroom_collaborative.yaml"
  std::string label;    // as the page shows it, e.g. "Collaborative"
  std::string comment;  // the file's leading comment block, without the '#'
  Scenario scenario;
};

// The leading comment block of a scenario file's text, without the '#'s.
std::string leading_comment(const std::string& yaml);

// The scenarios a classroom session runs: the single world's, and the two arms
// of the comparison (scenarios/classroom_competitive.yaml and
// scenarios/classroom_collaborative.yaml).
struct ClassroomScenarios {
  ScenarioFile single;
  std::vector<ScenarioFile> arms;
};

// How scenario `a` differs from `b`: one line per mechanism only `a` runs (or
// only `b` runs), and per parameter (or world setting, or years) whose value
// differs, e.g. "market.choice 0.2 (other: 0.8)", with what it means from the
// parameter table.
struct Difference {
  std::string text;
  std::string detail;
};
std::vector<Difference> differences(const Scenario& a, const Scenario& b, const Registry& registry);

// A transport-free answer: an HTTP status and a JSON body.
struct Reply {
  int status = 200;
  std::string json;
};

class Classroom {
 public:
  Classroom(std::string id, const ClassroomScenarios& scenarios, const Registry& registry);

  // (Re)builds the worlds from term 0 with `seed`, paused.
  void build(std::uint64_t seed);
  void step();  // every world one term
  [[nodiscard]] std::int32_t terms_done() const { return worlds_.front()->terms_done(); }
  [[nodiscard]] std::int32_t terms() const { return terms_; }
  [[nodiscard]] bool finished() const { return worlds_.front()->finished(); }
  [[nodiscard]] bool compare() const { return compare_; }
  [[nodiscard]] bool playing() const { return playing_; }
  void set_playing(bool p) { playing_ = p; }
  [[nodiscard]] double speed() const { return speed_; }
  [[nodiscard]] std::int32_t areas() const;
  [[nodiscard]] std::uint64_t generation() const { return generation_; }  // bumped by reset and mode changes
  [[nodiscard]] std::uint64_t version() const { return version_; }        // bumped by every change
  void changed() { ++version_; }
  [[nodiscard]] const std::vector<std::unique_ptr<World>>& worlds() const { return worlds_; }
  [[nodiscard]] const Levers& levers() const { return levers_; }

  // action=play|pause|step|reset|speed|mode|ping, with `value` (speed, mode)
  // and `seed` (reset). Every problem gets status 400 and changes nothing.
  Reply control(const std::string& action, const std::string& value, const std::optional<std::string>& seed);
  // A lever change from the page: lever name -> text (server.cpp's /levers).
  Reply set_levers(const std::map<std::string, std::string>& fields);

  [[nodiscard]] std::string hello_json() const;
  // The state now, with the charts' history from term `from_term` on.
  [[nodiscard]] std::string frame_json(std::int32_t from_term) const;
  [[nodiscard]] std::string status_json() const;
  // What the About panel says: the scenario files' comments, and each lever
  // with the mechanism and parameter it sets, from the parameter table.
  [[nodiscard]] std::string about_json() const;
  // School `school` of world `world` (text, as sent in a URL): its history, or 404.
  [[nodiscard]] Reply school_json(const std::string& world, const std::string& school) const;

 private:
  std::string id_;
  const ClassroomScenarios& scenarios_;
  const Registry& registry_;
  std::int32_t terms_;
  bool compare_ = false;
  Levers levers_;  // of the single world
  std::vector<std::unique_ptr<World>> worlds_;
  bool playing_ = false;
  double speed_ = 2;  // terms per second
  std::uint64_t generation_ = 0;
  std::uint64_t version_ = 0;
};

// JSON text helpers, shared by server.cpp.
void put_string(std::string& out, std::string_view s);
std::string error_json(std::string_view message);

}  // namespace schoolsim::live
