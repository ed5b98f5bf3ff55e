// The schoolsim command line (docs/CLI.md): run, validate, describe.
#pragma once

#include "sim/registry.hpp"

namespace schoolsim {

// Exit codes of every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // the run failed (e.g. the output could not be written)
  kExitBadInput = 2,     // a bad scenario or command line; nothing was written
  kExitInterrupted = 130 // stopped by Ctrl-C; nothing was written
};

int run_cli(int argc, char** argv, const Registry& registry);

}  // namespace schoolsim
