#include "sim/cli/module.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

namespace schoolsim::cli {

void* module_function(const std::string& file, const char* symbol, std::string& error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path path = ec ? fs::path(file) : exe.parent_path() / file;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    error = "cannot load " + path.string() + ": " + (why != nullptr ? why : "unknown error") +
            " (it is built with the binary and must stay beside it)";
    return nullptr;
  }
  void* fn = dlsym(handle, symbol);
  if (fn == nullptr)
    error = path.string() + " has no function " + symbol + ": it is not this build's module";
  return fn;
}

}  // namespace schoolsim::cli
