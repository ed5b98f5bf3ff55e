// `schoolsim serve`: teaching mode's local web server. It serves one page (from
// the binary) and streams each browser tab's own live simulation to it with
// Server-Sent Events. docs/TEACHING.md is the guide; the HTTP interface is
// described at the top of server.cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/registry.hpp"
#include "sim/scenario.hpp"
#include "sim/serve/classroom.hpp"

namespace schoolsim::serve {

struct Options {
  std::string host = "127.0.0.1";
  int port = 8765;                    // 0: any free port
  std::int32_t max_sessions = 32;     // open tabs, each with its own simulation
  // A session with no open stream and no request for this long is closed. Hidden
  // tabs close their stream (browsers allow few connections per host) and ping;
  // browsers throttle a hidden tab's timers to about once a minute.
  double idle_seconds = 120;
  double keepalive_seconds = 5;       // comment lines that reveal closed tabs
  // Limits that keep a room of clients from stopping the server answering
  // (docs/SECURITY.md): event streams are served by their own threads, apart
  // from the workers that answer requests.
  std::int32_t request_workers = 8;          // threads answering ordinary requests
  std::int32_t max_streams_per_session = 4;  // a tab holds one
  std::int32_t max_streams_per_client = 16;  // per IP address
  double request_seconds = 10;               // a request's headers and body must arrive within this
  std::int32_t max_pending_per_client = 64;  // connections still sending a request, per IP address
  std::size_t max_body_bytes = std::size_t{16} * 1024;    // form bodies are small; larger ones are refused from their headers
  // Host names the server answers to besides the one it listens on, localhost
  // and (on 0.0.0.0 or ::) the machine's own addresses and name.
  std::vector<std::string> allowed_hosts;
};

// The listen backlog: connections the kernel queues before the server accepts them.
inline constexpr int kListenBacklog = 1024;

// The addresses to print for a server listening on `host`: the machine's own
// addresses for 0.0.0.0 or ::, else `host` itself (127.0.0.1 for localhost).
std::vector<std::string> listen_urls(const std::string& host, int port);

// The largest world teaching mode draws and runs live.
inline constexpr std::int32_t kMaxSchools = 5000;

// Serves until `stop` becomes true. Calls `ready` with the bound port once it
// listens. Returns the exit code: 0 after a clean stop, 1 if it cannot listen.
int run_server(const live::ClassroomScenarios& scenarios, const Registry& registry, const Options& options,
               const std::atomic<bool>& stop, const std::function<void(int port)>& ready);

// `schoolsim serve` runs the server from a module beside the binary
// (kModuleFile, see sim/cli/module.hpp), so that other commands do not map
// cpp-httplib and OpenSSL: its function kModuleEntry takes run_server's
// arguments. `size` comes first so a module from another build refuses the
// call before reading the rest.
struct ModuleCall {
  std::size_t size = sizeof(ModuleCall);
  std::string* error = nullptr;  // why the call failed, when it returns kModuleRefused
  const char* version = SCHOOLSIM_VERSION;
  const live::ClassroomScenarios* scenarios = nullptr;
  const Registry* registry = nullptr;
  const Options* options = nullptr;
  const std::atomic<bool>* stop = nullptr;
  // Called once it listens, with the addresses to print (listen_urls).
  const std::function<void(const std::vector<std::string>& urls)>* ready = nullptr;
};
inline constexpr const char* kModuleFile = "schoolsim-serve.so";
inline constexpr const char* kModuleEntry = "schoolsim_serve_module";
inline constexpr int kModuleRefused = 3;  // not this build's module, or the server threw
using ModuleEntry = int (*)(const ModuleCall*);

// The scenario `schoolsim serve` opens when given none: scenarios/classroom.yaml,
// built into the binary.
const char* builtin_classroom_yaml();

}  // namespace schoolsim::serve
