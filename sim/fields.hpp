// The one table of per-school variables (docs/ODD.md, entities and state).
//
// Every school variable is listed exactly once here. The table drives the
// members of State, their allocation, the HDF5 output and `schoolsim describe`.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace schoolsim {

// How a field is stored: a real column (Eigen::ArrayXd), an integer column
// (Eigen::ArrayXi), or a small vector per school (a column of Eigen::MatrixXd).
enum class Storage { real, integer, vector };

// Static fields are fixed when the world is generated; dynamic ones evolve.
enum class Role { fixed, dynamic };

// X(name, storage, role, unit, meaning)
#define SCHOOLSIM_SCHOOL_FIELDS(X)                                                              \
  X(capacity, real, dynamic, "[0,1]", "professional capacity: teaching quality, leadership, know-how") \
  X(practice, vector, dynamic, "unit vector in R^k",                                            \
    "the school's approach to teaching; diversity between partners fuels new knowledge")        \
  X(expectations, real, dynamic, "[0,1]", "what staff believe their pupils can achieve")        \
  X(autonomy, real, dynamic, "[0,1]", "professional agency; prescriptive policy erodes it")     \
  X(commitment, real, dynamic, "[0,1]", "shared commitment to equity (social-movement variable)") \
  X(crisis, real, dynamic, "[0,1]", "severity of an immediate problem (leadership loss, staffing, failed inspection)") \
  X(opportunity, real, dynamic, "[0,1]", "breadth of learning opportunities open to its pupils, own or through partners") \
  X(pupils, integer, dynamic, "pupils", "enrolment")                                            \
  X(places, integer, fixed, "pupils", "physical capacity (places)")                             \
  X(disadvantaged, real, dynamic, "[0,1]", "share of pupils from disadvantaged homes (vulnerable learners)") \
  X(budget, real, dynamic, "money per pupil-year", "funding per pupil, with a premium per disadvantaged pupil") \
  X(attainment_dis, real, dynamic, "pupil SD", "mean result of disadvantaged pupils, yearly")   \
  X(attainment_adv, real, dynamic, "pupil SD", "mean result of other (advantaged) pupils, yearly") \
  X(reputation, real, dynamic, "pupil SD", "published or perceived results, lagged a year")     \
  X(pressure, real, dynamic, "[0,1]", "accountability pressure from league tables and inspections") \
  X(scrutiny, real, dynamic, "[0,1]", "focus on teaching after a failed inspection; fades over a few years") \
  X(teaching, real, dynamic, "[0,1]", "classroom practice: the stock of capacity that has reached lessons, filled slowly; results follow it") \
  X(entrants, integer, dynamic, "pupils", "pupils admitted in this year's admissions round") \
  X(entrants_home, integer, dynamic, "pupils", "of this year's entrants, those who live nearer this school than any other of its phase") \
  X(arm, integer, dynamic, "0-3", "federations policy arm: 0 not eligible, 1 paired, 2 matched comparison, 3 drawn but no partner found (in neither group)") \
  X(integration, real, dynamic, "[0,1]", "Durkheimian integration: 1 - exp(-sum of tie strengths / g0)") \
  X(anomie, real, dynamic, "[0,1]", "isolation under pressure: (1 - integration) x pressure")      \
  X(brokerage, real, dynamic, "[0,1]", "1 - Burt's constraint: high for schools spanning structural holes") \
  X(phase, integer, fixed, "0 primary, 1 secondary", "phase of education")                      \
  X(area, integer, fixed, "index", "local authority the school belongs to")                     \
  X(home_cohort, real, fixed, "pupils per year", "children per year group living nearer this school than any other of its phase") \
  X(home_disadvantaged, real, fixed, "[0,1]", "share of disadvantaged families among those living nearest this school") \
  X(x, real, fixed, "km", "east-west location on the map")                                      \
  X(y, real, fixed, "km", "north-south location on the map")                                    \
  X(urn, integer, fixed, "URN", "unique reference number in the school register the world was read from (docs/DATA.md); 0 in a generated world")

enum class Field : std::size_t {
#define SCHOOLSIM_ENUM(name, storage, role, unit, meaning) name,
  SCHOOLSIM_SCHOOL_FIELDS(SCHOOLSIM_ENUM)
#undef SCHOOLSIM_ENUM
};

struct FieldInfo {
  std::string_view name;
  Field field;
  Storage storage;
  Role role;
  std::string_view unit;
  std::string_view meaning;
};

inline constexpr std::array kFields = {
#define SCHOOLSIM_INFO(name, storage, role, unit, meaning) \
  FieldInfo{#name, Field::name, Storage::storage, Role::role, unit, meaning},
    SCHOOLSIM_SCHOOL_FIELDS(SCHOOLSIM_INFO)
#undef SCHOOLSIM_INFO
};

inline constexpr std::size_t kFieldCount = kFields.size();

constexpr const FieldInfo& info(Field f) { return kFields[static_cast<std::size_t>(f)]; }

// Looks a field up by name: used only at the input edge (scenario parsing).
inline std::optional<Field> field_by_name(std::string_view name) {
  for (const auto& f : kFields)
    if (f.name == name) return f.field;
  return std::nullopt;
}

}  // namespace schoolsim
