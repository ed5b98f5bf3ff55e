// System measures, computed from the state after every term and stored in /system.
// The table lists each measure once (name, unit, meaning); it drives the output
// and the docs.
#pragma once

#include <array>
#include <string_view>

#include "sim/state.hpp"

namespace schoolsim {

struct MeasureInfo {
  std::string_view name;
  std::string_view unit;
  std::string_view meaning;
  double (*compute)(const State&);
};

double mean_capacity(const State& s);
double mean_expectations(const State& s);
double mean_crisis(const State& s);
double mean_attainment(const State& s);
double attainment_gap(const State& s);
double between_school_share(const State& s);
double n_schools_in_crisis(const State& s);
double n_ties(const State& s);
double mean_degree(const State& s);

// Crisis severity above which a school counts as being in crisis.
inline constexpr double kCrisisThreshold = 0.5;

inline constexpr std::array kSystemMeasures = {
    MeasureInfo{"mean_capacity", "[0,1]", "mean professional capacity over schools", mean_capacity},
    MeasureInfo{"mean_expectations", "[0,1]", "mean staff expectations over schools",
                mean_expectations},
    MeasureInfo{"mean_crisis", "[0,1]", "mean crisis severity over schools", mean_crisis},
    MeasureInfo{"mean_attainment", "pupil SD",
                "pupil-weighted mean attainment of all pupils (latest yearly results)",
                mean_attainment},
    MeasureInfo{"attainment_gap", "pupil SD",
                "pupil-weighted mean attainment of advantaged minus disadvantaged pupils",
                attainment_gap},
    MeasureInfo{"between_school_share", "share",
                "share of the variance of pupil attainment that lies between schools "
                "(within-group pupil variance taken as 1 SD^2)",
                between_school_share},
    MeasureInfo{"n_schools_in_crisis", "schools", "schools whose crisis severity exceeds 0.5",
                n_schools_in_crisis},
    MeasureInfo{"n_ties", "ties", "collaboration ties in place", n_ties},
    MeasureInfo{"mean_degree", "ties per school", "mean number of ties per school", mean_degree},
};

inline constexpr std::size_t kMeasureCount = kSystemMeasures.size();

}  // namespace schoolsim
