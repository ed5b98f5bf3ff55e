#pragma once

#include <array>

#include "sim/mechanism.hpp"

namespace schoolsim::models {

WorldInfo world_info();

// Fills s.near: for each school, the schools of the same area and phase within
// reach_km (itself first, then by distance), with the overlap of their
// catchments (the lens of two discs of radius reach_km). Needs area, phase, x, y.
// On `team` in chunks of schools, each building its schools' rows; the rows
// are then joined in school order (the same rows at any thread count).
void build_neighbours(State& s, double reach_km, const Team& team = lone_team());

// Year 0's columns that mechanisms compute in later years, by their
// equations and with the pipeline's parameters (defaults where one is not
// listed): classroom practice at its target with no pressure or crisis
// (attainment), opportunity as the school's own breadth (opportunities),
// budget by the market's funding (market), and a first guess of last year's
// results without noise (attainment), with reputation their mean. Needs
// capacity, expectations, disadvantaged, pupils and phase.
void set_year_zero(const PipelineInfo& pipeline, State& s);

// Share of one disc of radius r covered by another at distance d.
double lens_overlap(double d, double r);

// Year groups in each phase (index = phase): primary Reception to Year 6,
// secondary Years 7 to 11.
inline constexpr std::array<int, 2> kYearsInPhase = {7, 5};

}  // namespace schoolsim::models
