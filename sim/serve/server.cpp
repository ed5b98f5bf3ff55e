// The HTTP interface of `schoolsim serve` (the page in sim/serve/web/ is its client):
//
//   GET  /, /app.js, /style.css        the page, built into the binary
//   POST /api/sessions                 a new live simulation for one tab -> {"id": ...}
//   GET  /api/sessions/ID/events       Server-Sent Events: hello, frame, status
//   POST /api/sessions/ID/control      action=play|pause|step|reset[&seed=N]|speed&value=X|mode&value=single|compare|ping
//   POST /api/sessions/ID/levers       choice=, league_tables=, collaboration=, constructivism=,
//                                      social_capital=, durkheim=, social_movement=,
//                                      area_strategy=off|all|K, programme=launch|none
//   GET  /api/sessions/ID/schools/K    one school's history (?world=W in a comparison)
//   GET  /api/sessions/ID              {"id": ...} while the session exists, else 404
//   GET  /api/health
//
// Request bodies are form-encoded; answers are JSON; a bad request gets 400 and
// {"error": "..."} naming every problem, and changes nothing. One ticker thread
// steps every playing session; each event stream waits on its session's
// condition variable and sends what changed since it last wrote.
#include "sim/serve/server.hpp"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "sim/serve/assets.hpp"
#include "sim/serve/classroom.hpp"
#include "sim/serve/live.hpp"

// After Eigen: httplib.h brings in <resolv.h>, whose _res macro breaks Eigen's headers.
#include <httplib.h>

namespace schoolsim::serve {

namespace {

using Clock = std::chrono::steady_clock;
using live::error_json;
using live::put_string;

// ------------------------------------------------------------------ sessions

// One browser tab's live simulation (classroom.hpp), with what HTTP adds: a
// lock, the streams waiting for changes, and when it was last seen.
struct Session : live::Classroom {
  std::mutex mu;
  std::condition_variable cv;
  std::string id;
  Clock::time_point next_step{};
  int streams = 0;
  Clock::time_point last_seen = Clock::now();

  Session(const std::string& session_id, const live::ClassroomScenarios& scenarios, const Registry& registry)
      : Classroom(session_id, scenarios, registry), id(session_id) {}
  void changed() {
    Classroom::changed();
    cv.notify_all();
  }
};

// What one event stream has sent so far.
struct Cursor {
  std::uint64_t generation = 0, version = 0;
  std::int32_t sent_term = -1;
  std::string status;
  Clock::time_point last_write = Clock::now();
};

std::string event(const char* name, const std::string& data) {
  return std::string("event: ") + name + "\ndata: " + data + "\n\n";
}

// The events a stream has not yet sent, as SSE text.
std::string pending_events(const Session& s, Cursor& c) {
  std::string out;
  bool frame = c.version != s.version();
  if (c.generation != s.generation()) {
    out += event("hello", s.hello_json());
    c.generation = s.generation();
    c.sent_term = -1;
    frame = true;
  }
  if (frame) {
    out += event("frame", s.frame_json(c.sent_term + 1));
    c.sent_term = s.terms_done();
    c.version = s.version();
  }
  std::string status = s.status_json();
  if (status != c.status) {
    out += event("status", status);
    c.status = std::move(status);
  }
  return out;
}

// ------------------------------------------------------------------ the server

class Server {
 public:
  Server(const live::ClassroomScenarios& scenarios, const Registry& registry, const Options& options)
      : scenarios_(scenarios), registry_(registry), options_(options) {}

  int run(const std::atomic<bool>& stop, const std::function<void(int)>& ready);

 private:
  void routes();
  std::shared_ptr<Session> find(const std::string& id);
  void tick();
  static void reply(httplib::Response& res, int status, const std::string& json) {
    res.status = status;
    res.set_content(json, "application/json");
  }
  void handle_control(Session& s, const httplib::Request& req, httplib::Response& res);
  void handle_levers(Session& s, const httplib::Request& req, httplib::Response& res);
  void handle_events(const std::shared_ptr<Session>& s, httplib::Response& res);

  const live::ClassroomScenarios& scenarios_;
  const Registry& registry_;
  Options options_;
  httplib::Server http_;
  std::mutex sessions_mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::mt19937_64 ids_{std::random_device{}()};
  std::atomic<bool> stopping_{false};
};

std::shared_ptr<Session> Server::find(const std::string& id) {
  std::lock_guard lock(sessions_mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Server::routes() {
  for (std::size_t i = 0; i < kAssetCount; ++i) {
    const Asset& a = kAssets[i];
    http_.Get(a.path, [&a](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(a.body, a.type);
    });
  }
  http_.Get("/api/health", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(sessions_mu_);
    reply(res, 200, "{\"ok\":true,\"sessions\":" + std::to_string(sessions_.size()) + "}");
  });
  http_.Post("/api/sessions", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(sessions_mu_);
    if (static_cast<std::int32_t>(sessions_.size()) >= options_.max_sessions)
      return reply(res, 503,
                   error_json("too many open sessions (" + std::to_string(options_.max_sessions) +
                              "): close some tabs, or wait half a minute for closed ones to be cleared"));
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(ids_()));
    sessions_[id] = std::make_shared<Session>(id, scenarios_, registry_);
    std::string out = "{\"id\":";
    put_string(out, id);
    reply(res, 200, out + "}");
  });
  const std::string session = "/api/sessions/([0-9a-f]+)";
  auto with_session = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      auto s = find(req.matches[1]);
      if (s) {
        std::lock_guard lock(s->mu);
        s->last_seen = Clock::now();
      }
      if (!s) return reply(res, 404, error_json("no session '" + std::string(req.matches[1]) +
                                                "': it was closed; reload the page to start a new one"));
      handler(s, req, res);
    };
  };
  http_.Get(session, with_session([](const std::shared_ptr<Session>& s, const httplib::Request&, httplib::Response& res) {
              std::string out = "{\"id\":";
              put_string(out, s->id);
              reply(res, 200, out + "}");
            }));
  http_.Get(session + "/events", with_session([this](const std::shared_ptr<Session>& s, const httplib::Request&,
                                                     httplib::Response& res) { handle_events(s, res); }));
  http_.Post(session + "/control",
             with_session([this](const std::shared_ptr<Session>& s, const httplib::Request& req,
                                 httplib::Response& res) { handle_control(*s, req, res); }));
  http_.Post(session + "/levers",
             with_session([this](const std::shared_ptr<Session>& s, const httplib::Request& req,
                                 httplib::Response& res) { handle_levers(*s, req, res); }));
  http_.Get(session + "/schools/([0-9]+)",
            with_session([](const std::shared_ptr<Session>& s, const httplib::Request& req, httplib::Response& res) {
              std::lock_guard lock(s->mu);
              const std::string w = req.has_param("world") ? req.get_param_value("world") : "0";
              const live::Reply r = s->school_json(w, req.matches[2]);
              reply(res, r.status, r.json);
            }));
  http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) res.set_content(error_json("no such page: " + req.path), "application/json");
    else if (res.status == 400 || res.status == 411)
      res.set_content(error_json("bad request: send a form-encoded body, even an empty one (curl -d '' ...)"),
                      "application/json");
    else
      res.set_content(error_json("HTTP status " + std::to_string(res.status)), "application/json");
  });
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply(res, 500, error_json("schoolsim failed: " + what));
  });
}

void Server::handle_events(const std::shared_ptr<Session>& s, httplib::Response& res) {
  {
    std::lock_guard lock(s->mu);
    ++s->streams;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto cursor = std::make_shared<Cursor>();
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, s, cursor](std::size_t, httplib::DataSink& sink) {
        std::string out;
        {
          std::unique_lock lock(s->mu);
          s->cv.wait_for(lock, std::chrono::milliseconds(200), [&] {
            return stopping_.load() || s->version() != cursor->version || s->generation() != cursor->generation;
          });
          if (stopping_) return false;
          s->last_seen = Clock::now();
          out = pending_events(*s, *cursor);
        }
        const auto now = Clock::now();
        if (out.empty() &&
            now - cursor->last_write > std::chrono::duration<double>(options_.keepalive_seconds))
          out = ": keep-alive\n\n";
        if (out.empty()) return true;
        cursor->last_write = now;
        return sink.write(out.data(), out.size());
      },
      [s](bool) {
        std::lock_guard lock(s->mu);
        --s->streams;
        s->last_seen = Clock::now();
      });
}

void Server::handle_control(Session& s, const httplib::Request& req, httplib::Response& res) {
  const std::string action = req.get_param_value("action");
  std::optional<std::string> seed;
  if (req.has_param("seed")) seed = req.get_param_value("seed");
  std::lock_guard lock(s.mu);
  const live::Reply r = s.control(action, req.get_param_value("value"), seed);
  if (r.status == 200 && (action == "play" || action == "speed")) s.next_step = Clock::now();
  s.cv.notify_all();
  reply(res, r.status, r.json);
}

void Server::handle_levers(Session& s, const httplib::Request& req, httplib::Response& res) {
  std::map<std::string, std::string> fields;
  for (const auto& [k, v] : req.params) fields[k] = v;
  std::lock_guard lock(s.mu);
  const live::Reply r = s.set_levers(fields);
  s.cv.notify_all();
  reply(res, r.status, r.json);
}

void Server::tick() {
  const auto now = Clock::now();
  std::vector<std::shared_ptr<Session>> list;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      bool idle = false;
      {
        std::lock_guard sl(it->second->mu);
        idle = it->second->streams == 0 &&
               now - it->second->last_seen > std::chrono::duration<double>(options_.idle_seconds);
      }
      if (idle) it = sessions_.erase(it);
      else list.push_back((it++)->second);
    }
  }
  for (auto& s : list) {
    std::lock_guard lock(s->mu);
    if (!s->playing() || now < s->next_step) continue;
    s->step();
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / s->speed()));
    s->next_step = now - s->next_step > std::chrono::milliseconds(500) ? now + interval : s->next_step + interval;
    if (s->finished()) s->set_playing(false);
    s->changed();
  }
}

int Server::run(const std::atomic<bool>& stop, const std::function<void(int)>& ready) {
  routes();
  // Every open tab holds a worker for its event stream.
  const std::size_t workers = static_cast<std::size_t>(options_.max_sessions) * 2 + 8;
  http_.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http_.set_keep_alive_max_count(1000);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second server
  // share the port, and the kernel would spread a page's requests over both.
  http_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  int port = options_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(options_.host);
    if (port < 0) port = 0;
  } else if (!http_.bind_to_port(options_.host, port)) {
    port = 0;
  }
  if (port <= 0) {
    std::fprintf(stderr,
                 "schoolsim: error: cannot listen on %s:%d (is another program using that port? "
                 "--port 0 picks a free one)\n",
                 options_.host.c_str(), options_.port);
    return 1;
  }
  std::thread listener([this] { http_.listen_after_bind(); });
  std::thread ticker([this] {
    while (!stopping_) {
      tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  ready(port);
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stopping_ = true;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, s] : sessions_) s->cv.notify_all();
  }
  http_.stop();
  listener.join();
  ticker.join();
  return 0;
}

}  // namespace

int run_server(const live::ClassroomScenarios& scenarios, const Registry& registry, const Options& options,
               const std::atomic<bool>& stop, const std::function<void(int port)>& ready) {
  Server server(scenarios, registry, options);
  return server.run(stop, ready);
}

const char* builtin_classroom_yaml() { return kClassroomYaml; }

}  // namespace schoolsim::serve
