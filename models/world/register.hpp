// A world read from England's register of schools, Get Information About
// Schools (GIAS), "all establishment data" CSV (docs/DATA.md).
#pragma once

#include <span>
#include <string_view>

#include "sim/mechanism.hpp"
#include "sim/register.hpp"

namespace schoolsim::models {

// Reads and checks a register file: the rows kept, every problem with its
// line, imputed values counted when src.missing is impute.
RegisterLoad load_register(const RegisterSource& src);
// The same, from text in memory (tests, benchmarks); `file` names it in messages.
RegisterLoad parse_register(std::string_view text, const RegisterSource& src);

// Builds one replicate's world from the register's schools: capacity,
// expectations, autonomy and practice drawn by the generator's rules given
// each school's disadvantaged share; federations and trusts as initial ties.
void build_register_world(std::span<const double> world_values, const SchoolRegister& reg,
                          const PipelineInfo& pipeline, const Streams& streams, State& s,
                          const Team* team = nullptr);

// The GIAS columns the loader reads (docs/DATA.md).
std::span<const std::string_view> gias_columns_used();

}  // namespace schoolsim::models
