// The registry names the world generator and every mechanism a scenario may list.
// It is filled by one explicit function (models/register_all.cpp), never by
// self-registering statics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sim/mechanism.hpp"

namespace schoolsim {

class Registry {
 public:
  void add(MechanismInfo info);
  void set_world(WorldInfo world) { world_ = std::move(world); }

  // nullptr when unknown.
  [[nodiscard]] const MechanismInfo* find(std::string_view name) const;
  [[nodiscard]] const std::vector<MechanismInfo>& mechanisms() const { return mechanisms_; }
  [[nodiscard]] std::vector<std::string> names() const;
  [[nodiscard]] const WorldInfo& world() const { return world_; }

 private:
  std::vector<MechanismInfo> mechanisms_;
  WorldInfo world_;
};

// The index of the named parameter in specs, or -1.
int param_index(const std::vector<ParamSpec>& specs, std::string_view name);

// Shortest text that reads back as the same double; whole numbers without an exponent.
std::string format_number(double v);

// Levenshtein distance; used to suggest the nearest valid name for a typo.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word`, or "" when none is close enough to be a typo.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace schoolsim
