// Teaching mode in the browser with no server (the web build, `bash tools/dev
// web`): the same classroom session as `schoolsim serve` (classroom.hpp),
// compiled to WebAssembly and called from the page's JavaScript through
// embind. The page's wasm backend (app.js) calls these in place of HTTP:
//
//   new Module.Session()          a session on the built-in classroom scenarios
//   control(action, value, seed)  as POST /control; `seed` "" for none -> {"status":S,"body":{...}}
//   levers(form)                  as POST /levers, a form-encoded body -> {"status":S,"body":{...}}
//   school(world, k)              as GET /schools/K?world=W -> {"status":S,"body":{...}}
//   tick()                        the server's ticker: one term while playing
//   events()                      what an event stream would send now: [{"event":..., "data":...}]
//   playing(), speed()            for the page's own ticker
#include <emscripten/bind.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "models/register_all.hpp"
#include "sim/serve/builtin.hpp"
#include "sim/serve/classroom.hpp"

namespace schoolsim::live {

namespace {

const ClassroomScenarios& scenarios() {
  static const ClassroomScenarios s = [] {
    ClassroomLoad r = load_classroom("", models::registry());
    if (!r.scenarios) {
      std::string all;
      for (const auto& e : r.errors) all += e.str() + "\n";
      throw std::runtime_error("the built-in classroom scenarios do not load:\n" + all);
    }
    return std::move(*r.scenarios);
  }();
  return s;
}

std::string wrap(const Reply& r) { return "{\"status\":" + std::to_string(r.status) + ",\"body\":" + r.json + "}"; }

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> fields;
  std::size_t at = 0;
  while (at <= body.size() && !body.empty()) {
    std::size_t end = body.find('&', at);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(at, end - at);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      fields[url_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
    }
    at = end + 1;
  }
  return fields;
}

}  // namespace

class WebSession {
 public:
  WebSession() : classroom_("in-page", scenarios(), models::registry()) {}

  std::string control(const std::string& action, const std::string& value, const std::string& seed) {
    return wrap(classroom_.control(action, value, seed.empty() ? std::nullopt : std::optional<std::string>(seed)));
  }
  std::string levers(const std::string& form) { return wrap(classroom_.set_levers(parse_form(form))); }
  std::string school(const std::string& world, const std::string& k) const {
    return wrap(classroom_.school_json(world, k));
  }
  void tick() {
    if (!classroom_.playing()) return;
    classroom_.step();
    if (classroom_.finished()) classroom_.set_playing(false);
    classroom_.changed();
  }
  bool playing() const { return classroom_.playing(); }
  double speed() const { return classroom_.speed(); }

  // As server.cpp's pending_events, for one stream that is always open.
  std::string events() {
    std::string out = "[";
    auto add = [&](const char* name, const std::string& data) {
      if (out.size() > 1) out += ',';
      out += std::string("{\"event\":\"") + name + "\",\"data\":" + data + "}";
    };
    bool frame = version_ != classroom_.version();
    if (generation_ != classroom_.generation()) {
      add("hello", classroom_.hello_json());
      generation_ = classroom_.generation();
      sent_term_ = -1;
      frame = true;
    }
    if (frame) {
      add("frame", classroom_.frame_json(sent_term_ + 1));
      sent_term_ = classroom_.terms_done();
      version_ = classroom_.version();
    }
    std::string status = classroom_.status_json();
    if (status != status_) {
      add("status", status);
      status_ = std::move(status);
    }
    return out + "]";
  }
  // Sends everything again from the hello on, as a new stream would.
  void restart_events() {
    generation_ = version_ = 0;
    sent_term_ = -1;
    status_.clear();
  }

 private:
  Classroom classroom_;
  std::uint64_t generation_ = 0, version_ = 0;
  std::int32_t sent_term_ = -1;
  std::string status_;
};

}  // namespace schoolsim::live

EMSCRIPTEN_BINDINGS(schoolsim) {
  using schoolsim::live::WebSession;
  emscripten::class_<WebSession>("Session")
      .constructor<>()
      .function("control", &WebSession::control)
      .function("levers", &WebSession::levers)
      .function("school", &WebSession::school)
      .function("tick", &WebSession::tick)
      .function("playing", &WebSession::playing)
      .function("speed", &WebSession::speed)
      .function("events", &WebSession::events)
      .function("restartEvents", &WebSession::restart_events);
}
