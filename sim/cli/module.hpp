// Modules: the parts of schoolsim that need large shared libraries, built as
// files beside the binary and loaded only by the command that uses them. The
// teaching server (cpp-httplib, which brings OpenSSL) and MPI (OpenMPI, which
// brings hwloc and libevent) would otherwise be mapped into every run, about
// 5 MB of each process's memory (docs/PERFORMANCE.md).
#pragma once

#include <string>

namespace schoolsim::cli {

// The module `file` (e.g. "schoolsim-serve.so") from the folder of the running
// binary, and its function `symbol`; nullptr, with `error` saying what and
// where, when either cannot be loaded. A module stays loaded until exit.
void* module_function(const std::string& file, const char* symbol, std::string& error);

}  // namespace schoolsim::cli
