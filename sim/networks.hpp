// Formal networks: groups of schools brought together by a programme (for
// example one Networked Learning Community). Each tie knows its network
// (TieStore::network); the network holds what its members share.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace schoolsim {

enum class NetworkGoal : std::uint8_t { turnaround, curriculum, vulnerable_learners, efficiency, shared_values };
inline constexpr std::array<std::string_view, 5> kNetworkGoalNames = {
    "turnaround", "curriculum", "vulnerable_learners", "efficiency", "shared_values"};

enum class NetworkPower : std::uint8_t { flat, hub_led, lead_school };
inline constexpr std::array<std::string_view, 3> kNetworkPowerNames = {"flat", "hub_led", "lead_school"};

enum class NetworkEntry : std::uint8_t { voluntary, induced, mandated };
inline constexpr std::array<std::string_view, 3> kNetworkEntryNames = {"voluntary", "induced", "mandated"};

// The names of each enum's values, as a choice parameter's choices (ChoiceEnum
// in sim/mechanism.hpp): the programme's goal, power and entry.
constexpr std::span<const std::string_view> choice_names(NetworkGoal) { return kNetworkGoalNames; }
constexpr std::span<const std::string_view> choice_names(NetworkPower) { return kNetworkPowerNames; }
constexpr std::span<const std::string_view> choice_names(NetworkEntry) { return kNetworkEntryNames; }

struct Networks {
  std::vector<NetworkGoal> goal;
  std::vector<std::uint8_t> activities;  // Activity flags
  std::vector<NetworkPower> power;
  std::vector<NetworkEntry> entry;
  std::vector<std::int32_t> hub;               // the hub or lead school, or -1
  std::vector<std::int32_t> start_term;        // term it was launched
  std::vector<std::int32_t> funded_until_term; // first term without funding
  std::vector<double> facilitation;            // [0,1]: support for building trust

  [[nodiscard]] std::size_t size() const { return goal.size(); }
  [[nodiscard]] bool funded(std::int32_t network, std::int32_t term) const {
    return network >= 0 && term < funded_until_term[static_cast<std::size_t>(network)];
  }
  std::int32_t add(NetworkGoal g, std::uint8_t acts, NetworkPower p, NetworkEntry e, std::int32_t hub_school,
                   std::int32_t start, std::int32_t funded_until, double facilitation_level) {
    goal.push_back(g), activities.push_back(acts), power.push_back(p), entry.push_back(e);
    hub.push_back(hub_school), start_term.push_back(start), funded_until_term.push_back(funded_until);
    facilitation.push_back(facilitation_level);
    return static_cast<std::int32_t>(goal.size() - 1);
  }
};

}  // namespace schoolsim
