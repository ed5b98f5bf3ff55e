// A world read from a school register instead of generated (docs/DATA.md).
//
// The scenario's `world.register` names the file; sim/config asks the world
// (WorldInfo::load_register) to read and check it once, at the edge, and keeps
// the schools it found. Each replicate's world is then built from them
// (WorldInfo::build_register), drawing only what the register lacks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace schoolsim {

// What to do with a missing or impossible value in a kept row.
enum class RegisterMissing : std::uint8_t { error, impute };

// `world.register` as the scenario gives it.
struct RegisterSource {
  std::string path;            // as written in the scenario
  std::string resolved;        // relative to the scenario's folder
  std::string format = "gias";
  RegisterMissing missing = RegisterMissing::error;
  std::vector<std::string> areas;  // LA codes to keep; empty = all
  // A circle to keep: centre on the British National Grid, in metres, and
  // radius in km (radius_km <= 0: no circle). Given by a school's URN, the
  // centre is that school's location.
  std::int64_t around_urn = 0;
  double around_easting = 0, around_northing = 0, radius_km = 0;
  [[nodiscard]] bool has_radius() const { return radius_km > 0; }
};

// One kept school, as the register gives it (after imputation).
struct RegisterSchool {
  std::int32_t urn = 0;
  std::int32_t line = 0;  // line of the file its row starts on
  std::int32_t area = 0;  // index into SchoolRegister::area_codes
  std::int32_t phase = 0;  // 0 primary, 1 secondary
  double x_km = 0, y_km = 0;
  std::int32_t pupils = 0, places = 0;
  double disadvantaged = 0;  // share in [0,1]
  std::int32_t federation = -1;  // index of a shared federation code, or -1
  std::int32_t trust = -1;       // index of a shared trust code, or -1
};

// A problem in the register file, at a line (and column, 0 when none).
struct RegisterProblem {
  int line = 0;
  int column = 0;
  std::string message;
};

struct SchoolRegister {
  std::string file;  // the resolved path
  std::vector<std::string> area_codes;  // LA (code) of each area, in index order
  std::vector<std::string> area_names;  // LA (name)
  std::vector<RegisterSchool> schools;  // by area, then URN
  std::int32_t federations = 0, trusts = 0;  // shared codes (two or more kept schools)
  std::vector<std::string> imputed;  // one line per imputed value, with its file line
  std::string summary;  // what was kept and left out, for people
};

struct RegisterLoad {
  std::shared_ptr<const SchoolRegister> data;  // set only when there are no errors
  std::vector<RegisterProblem> errors;
};

}  // namespace schoolsim
