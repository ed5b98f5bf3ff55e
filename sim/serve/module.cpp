// The teaching server as a module (schoolsim-serve.so), loaded by `schoolsim
// serve` only: see ModuleCall in server.hpp.
#include <cstring>
#include <exception>

#include "sim/serve/server.hpp"

extern "C" __attribute__((visibility("default"))) int schoolsim_serve_module(
    const schoolsim::serve::ModuleCall* call) {
  using namespace schoolsim::serve;
  if (call->size != sizeof(ModuleCall)) return kModuleRefused;
  if (std::strcmp(call->version, SCHOOLSIM_VERSION) != 0) {
    *call->error = std::string("its module is from schoolsim ") + SCHOOLSIM_VERSION +
                   ", the binary is " + call->version;
    return kModuleRefused;
  }
  try {
    return run_server(*call->scenarios, *call->registry, *call->options, *call->stop,
                      [&](int port) { (*call->ready)(listen_urls(call->options->host, port)); });
  } catch (const std::exception& e) {
    *call->error = e.what();
    return kModuleRefused;
  }
}
