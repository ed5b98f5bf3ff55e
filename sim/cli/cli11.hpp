// CLI11, as every schoolsim program includes it (sim/cli/cli.cpp,
// tools/register/main.cpp).
//
// Debian 12's CLI11 2.1 built by GCC 12 at -O2 (the checks and asan presets)
// draws a false -Wnull-dereference from libstdc++'s vector growth inside
// CLI::detail::split (StringTools.hpp), a GCC 12 false positive on growing an
// empty std::vector<std::string>. It is silenced for CLI11's headers only: the
// warning stays on, and an error under CI=true, for schoolsim's own code.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
