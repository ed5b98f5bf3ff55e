// The schoolsim command line (README.md, "Using schoolsim"; the experiments in
// docs/EXPERIMENTS.md): run, compare, sweep, calibrate, validate, describe, serve.
#pragma once

#include <string>
#include <vector>

#include "sim/registry.hpp"

namespace schoolsim {

// Exit codes of every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // the run failed (e.g. the output could not be written)
  kExitBadInput = 2,     // a bad scenario or command line; nothing was written
  kExitInterrupted = 130 // stopped by Ctrl-C; nothing was written
};

// Markdown tables of the named mechanisms ('world' for the world generator), or
// of everything with the school variables and system measures when `only` is empty.
// docs/ODD.md and models/*/README.md embed this text between
// <!-- BEGIN describe NAMES --> and <!-- END describe --> markers.
std::string describe_markdown(const Registry& registry, const std::vector<std::string>& only);

// How many of the named mechanisms' parameters (all, with the world's, when
// `only` is empty) are sourced, calibrated and scenario choices, as one line:
// "N parameters: a sourced, b calibrated, c scenario choices". describe prints it.
std::string basis_counts(const Registry& registry, const std::vector<std::string>& only);

int run_cli(int argc, char** argv, const Registry& registry);

}  // namespace schoolsim
