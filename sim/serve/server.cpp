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
#include <random>
#include <thread>

#include "sim/serve/assets.hpp"
#include "sim/serve/live.hpp"

// After Eigen: httplib.h brings in <resolv.h>, whose _res macro breaks Eigen's headers.
#include <httplib.h>

namespace schoolsim::serve {

namespace {

using Clock = std::chrono::steady_clock;
using live::Levers;
using live::World;

// ------------------------------------------------------------------ JSON text

void put_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void put_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", v);
  out += buf;
}

template <class Seq>
void put_array(std::string& out, const Seq& values, std::size_t from = 0) {
  out += '[';
  for (std::size_t i = from; i < static_cast<std::size_t>(values.size()); ++i) {
    if (i > from) out += ',';
    put_number(out, static_cast<double>(values[static_cast<decltype(values.size())>(i)]));
  }
  out += ']';
}

// `,"name":` (no comma before the first member of an object).
void put_key(std::string& out, std::string_view name) {
  if (out.back() != '{' && out.back() != '[') out += ',';
  put_string(out, name);
  out += ':';
}

template <class Seq>
void put_named(std::string& out, std::string_view name, const Seq& values) {
  put_key(out, name);
  put_array(out, values);
}

std::string error_json(std::string_view message) {
  std::string out = "{\"error\":";
  put_string(out, message);
  return out + "}";
}

void put_levers(std::string& out, const Levers& l, const std::string& programme) {
  out += "{\"choice\":";
  put_number(out, l.choice);
  auto flag = [&](const char* name, bool v) { out += std::string(",\"") + name + "\":" + (v ? "true" : "false"); };
  flag("league_tables", l.league_tables);
  flag("collaboration", l.collaboration);
  flag("constructivism", l.constructivism);
  flag("social_capital", l.social_capital);
  flag("durkheim", l.durkheim);
  flag("social_movement", l.social_movement);
  out += ",\"area_strategy\":";
  put_string(out, l.area_strategy == live::kAreaStrategyOff   ? "off"
                  : l.area_strategy == live::kAreaStrategyAll ? "all"
                                                              : std::to_string(l.area_strategy));
  out += ",\"programme\":";
  put_string(out, programme);
  out += '}';
}

// ------------------------------------------------------------------ sessions

// One browser tab's live simulation: one world, or two side by side.
struct Session {
  std::mutex mu;
  std::condition_variable cv;
  std::string id;
  const Scenario& base;
  const Registry& registry;
  std::int32_t terms;
  bool compare = false;
  Levers levers;  // of the single world
  std::vector<std::unique_ptr<World>> worlds;
  bool playing = false;
  double speed = 2;  // terms per second
  Clock::time_point next_step{};
  std::uint64_t generation = 0;  // bumped by reset and mode changes: streams start again with hello
  std::uint64_t version = 0;     // bumped by every change
  int streams = 0;
  Clock::time_point last_seen = Clock::now();

  Session(std::string id_, const Scenario& base_, const Registry& registry_, std::int32_t terms_)
      : id(std::move(id_)), base(base_), registry(registry_), terms(terms_), levers(live::levers_of(base_, registry_)) {
    build(base.seed);
  }

  void build(std::uint64_t seed) {
    Scenario s = base;
    s.seed = seed;
    worlds.clear();
    if (compare) {
      worlds.push_back(std::make_unique<World>(s, registry, live::competitive_regime(levers), terms));
      worlds.push_back(std::make_unique<World>(s, registry, live::collaborative_regime(levers), terms));
    } else {
      worlds.push_back(std::make_unique<World>(s, registry, levers, terms));
    }
    playing = false;
    ++generation;
    changed();
  }
  void changed() {
    ++version;
    cv.notify_all();
  }
  void step() {
    for (auto& w : worlds) w->step();
  }
  std::int32_t terms_done() const { return worlds.front()->terms_done(); }
  bool finished() const { return worlds.front()->finished(); }
  std::int32_t areas() const {
    const State& s = worlds.front()->state();
    return s.n_schools() == 0 ? 0 : s.area.maxCoeff() + 1;
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

std::string status_json(const Session& s) {
  std::string out = std::string("{\"playing\":") + (s.playing ? "true" : "false") + ",\"speed\":";
  put_number(out, s.speed);
  return out + ",\"finished\":" + (s.finished() ? "true" : "false") + "}";
}

std::string hello_json(const Session& s) {
  const State& st = s.worlds.front()->state();
  std::string out = "{\"session\":";
  put_string(out, s.id);
  out += ",\"scenario\":";
  put_string(out, s.base.name);
  out += std::string(",\"mode\":\"") + (s.compare ? "compare" : "single") + "\",\"seed\":";
  put_number(out, static_cast<double>(s.worlds.front()->seed()));
  out += ",\"years\":" + std::to_string(s.terms / kTermsPerYear) +
         ",\"terms_per_year\":" + std::to_string(kTermsPerYear) + ",\"playing\":" + (s.playing ? "true" : "false") +
         ",\"speed\":";
  put_number(out, s.speed);
  out += ",\"levers\":";
  put_levers(out, s.levers, s.compare ? "none" : s.worlds.front()->programme_status());
  out += ",\"areas\":" + std::to_string(s.areas()) + ",\"schools\":{";
  put_named(out, "x", st.x);
  put_named(out, "y", st.y);
  put_named(out, "area", st.area);
  put_named(out, "phase", st.phase);
  put_named(out, "places", st.places);
  out += "},\"measures\":[";
  bool first = true;
  for (const auto& m : live::chart_measures()) {
    out += first ? "{" : ",{";
    first = false;
    for (auto [key, text] : {std::pair{"name", m.name}, {"label", m.label}, {"unit", m.unit}}) {
      put_key(out, key);
      put_string(out, text);
    }
    out += '}';
  }
  out += "],\"worlds\":[";
  const char* labels[] = {"Competitive", "Collaborative"};
  for (std::size_t w = 0; w < s.worlds.size(); ++w) {
    out += w ? ",{\"label\":" : "{\"label\":";
    put_string(out, s.compare ? labels[w] : "This school system");
    out += '}';
  }
  return out + "]}";
}

std::string frame_json(const Session& s, std::int32_t from_term) {
  const std::int32_t t = s.terms_done();
  std::string out = "{\"term\":" + std::to_string(t) +
                    ",\"year\":" + std::to_string(t == 0 ? 0 : (t - 1) / kTermsPerYear + 1) +
                    ",\"term_of_year\":" + std::to_string(t == 0 ? 0 : (t - 1) % kTermsPerYear + 1) +
                    ",\"playing\":" + (s.playing ? "true" : "false") + ",\"finished\":" +
                    (s.finished() ? "true" : "false") + ",\"levers\":";
  put_levers(out, s.levers, s.compare ? "none" : s.worlds.front()->programme_status());
  out += ",\"worlds\":[";
  for (std::size_t w = 0; w < s.worlds.size(); ++w) {
    const World& world = *s.worlds[w];
    const State& st = world.state();
    const std::int32_t n = st.n_schools();
    std::vector<double> attainment(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) attainment[static_cast<std::size_t>(i)] = school_result(st, i);
    out += w ? ",{" : "{";
    out += "\"levers\":";
    put_levers(out, world.levers(), world.programme_status());
    out += ",\"schools\":{";
    put_named(out, "pupils", st.pupils);
    put_named(out, "capacity", st.capacity);
    put_named(out, "expectations", st.expectations);
    put_named(out, "attainment", attainment);
    put_named(out, "disadvantaged", st.disadvantaged);
    put_named(out, "crisis", st.crisis);
    out += "},\"ties\":[";
    bool first = true;
    st.ties.for_each([&](TieStore::Slot slot) {
      out += first ? "[" : ",[";
      first = false;
      out += std::to_string(st.ties.id[slot]) + ',' + std::to_string(st.ties.a[slot]) + ',' +
             std::to_string(st.ties.b[slot]) + ',';
      put_number(out, st.ties.strength[slot]);
      out += ',' + std::to_string(static_cast<int>(st.ties.kind[slot])) + ']';
    });
    out += "],\"history\":{\"terms\":[";
    const auto& rows = world.measures();
    const std::int32_t from = std::max(0, from_term);
    for (std::int32_t k = from; k < static_cast<std::int32_t>(rows.size()); ++k) {
      if (k > from) out += ',';
      out += std::to_string(k);
    }
    out += ']';
    const auto& measures = live::chart_measures();
    for (std::size_t m = 0; m < measures.size(); ++m) {
      std::vector<double> series;
      for (std::int32_t k = from; k < static_cast<std::int32_t>(rows.size()); ++k)
        series.push_back(rows[static_cast<std::size_t>(k)][m]);
      put_named(out, measures[m].name, series);
    }
    out += "}}";
  }
  return out + "]}";
}

// The events a stream has not yet sent, as SSE text.
std::string pending_events(const Session& s, Cursor& c) {
  std::string out;
  bool frame = c.version != s.version;
  if (c.generation != s.generation) {
    out += event("hello", hello_json(s));
    c.generation = s.generation;
    c.sent_term = -1;
    frame = true;
  }
  if (frame) {
    out += event("frame", frame_json(s, c.sent_term + 1));
    c.sent_term = s.terms_done();
    c.version = s.version;
  }
  std::string status = status_json(s);
  if (status != c.status) {
    out += event("status", status);
    c.status = std::move(status);
  }
  return out;
}

std::string school_json(const World& world, std::int32_t school) {
  const State& st = world.state();
  const World::SchoolHistory& h = world.history(school);
  std::string out = "{\"school\":" + std::to_string(school) + ",\"area\":" + std::to_string(st.area[school]) +
                    ",\"phase\":" + std::to_string(st.phase[school]) + ",\"terms\":[";
  for (std::size_t k = 0; k < h.pupils.size(); ++k) {
    if (k) out += ',';
    out += std::to_string(k);
  }
  out += ']';
  put_named(out, "capacity", h.capacity);
  put_named(out, "expectations", h.expectations);
  put_named(out, "attainment", h.attainment);
  put_named(out, "pupils", h.pupils);
  put_named(out, "disadvantaged", h.disadvantaged);
  put_named(out, "ties", h.ties);
  return out + "}";
}

// ------------------------------------------------------------------ the server

class Server {
 public:
  Server(const Scenario& scenario, const Registry& registry, const Options& options)
      : scenario_(scenario),
        registry_(registry),
        options_(options),
        terms_(std::max(scenario.years, options.min_years) * kTermsPerYear) {}

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

  const Scenario& scenario_;
  const Registry& registry_;
  Options options_;
  std::int32_t terms_;
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
    sessions_[id] = std::make_shared<Session>(id, scenario_, registry_, terms_);
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
              double world = 0;
              const std::string w = req.has_param("world") ? req.get_param_value("world") : "0";
              if (!live::parse_number(w, world) || world != std::floor(world) || world < 0 ||
                  world >= static_cast<double>(s->worlds.size()))
                return reply(res, 404, error_json("no world '" + w + "' in this session"));
              const World& wd = *s->worlds[static_cast<std::size_t>(world)];
              const std::string k = req.matches[2];
              if (k.size() > 9 || std::stoi(k) >= wd.state().n_schools())
                return reply(res, 404, error_json("no school " + k + ": this world has " +
                                                  std::to_string(wd.state().n_schools()) + " schools"));
              reply(res, 200, school_json(wd, std::stoi(k)));
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
            return stopping_.load() || s->version != cursor->version || s->generation != cursor->generation;
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
  const std::string value = req.get_param_value("value");
  std::lock_guard lock(s.mu);
  if (action == "play") {
    if (s.finished())
      return reply(res, 400, error_json("the run has reached its last term: press Reset to start again"));
    s.playing = true;
    s.next_step = Clock::now();
  } else if (action == "pause") {
    s.playing = false;
  } else if (action == "ping") {  // a hidden tab, keeping its session open without a stream
    return reply(res, 200, "{\"ok\":true}");
  } else if (action == "step") {
    s.playing = false;
    s.step();
  } else if (action == "reset") {
    std::uint64_t seed = s.worlds.front()->seed();
    if (req.has_param("seed")) {
      const std::string text = req.get_param_value("seed");
      if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        return reply(res, 400, error_json("seed: expected a whole number from 0 upwards, got '" +
                                          text.substr(0, 40) + "'"));
      seed = std::stoull(text);
    }
    s.build(seed);
  } else if (action == "speed") {
    double v = 0;
    if (!live::parse_number(value, v) || v < 0.5 || v > 20)
      return reply(res, 400, error_json("speed: expected terms per second from 0.5 to 20, got '" +
                                        value.substr(0, 40) + "'"));
    s.speed = v;
    s.next_step = Clock::now();
  } else if (action == "mode") {
    if (value != "single" && value != "compare")
      return reply(res, 400, error_json("mode: expected single or compare, got '" + value.substr(0, 40) + "'"));
    s.compare = value == "compare";
    s.build(s.worlds.front()->seed());
  } else {
    return reply(res, 400, error_json("action: expected play, pause, step, reset, speed, mode or ping, got '" +
                                      action.substr(0, 40) + "'"));
  }
  s.changed();
  reply(res, 200, "{\"ok\":true}");
}

void Server::handle_levers(Session& s, const httplib::Request& req, httplib::Response& res) {
  std::map<std::string, std::string> fields;
  for (const auto& [k, v] : req.params) fields[k] = v;
  std::lock_guard lock(s.mu);
  if (s.compare)
    return reply(res, 400,
                 error_json("levers are fixed while comparing regimes; switch back to one world first"));
  if (fields.empty())
    return reply(res, 400, error_json("no lever given: send for example choice=0.3 or league_tables=false"));
  live::LeverChange c = live::parse_levers(fields, s.levers, s.areas(), s.terms_done());
  if (!c.problems.empty()) {
    std::string all;
    for (const auto& p : c.problems) all += (all.empty() ? "" : "; ") + p;
    return reply(res, 400, error_json(all));
  }
  if (c.levers.programme_year >= 0 && c.levers.programme_year * kTermsPerYear >= s.terms)
    return reply(res, 400, error_json("programme: the run ends before the next school year starts"));
  s.levers = c.levers;
  s.worlds.front()->set_levers(s.levers);
  s.changed();
  std::string out = "{\"levers\":";
  put_levers(out, s.levers, s.worlds.front()->programme_status());
  reply(res, 200, out + "}");
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
    if (!s->playing || now < s->next_step) continue;
    s->step();
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / s->speed));
    s->next_step = now - s->next_step > std::chrono::milliseconds(500) ? now + interval : s->next_step + interval;
    if (s->finished()) s->playing = false;
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

int run_server(const Scenario& scenario, const Registry& registry, const Options& options,
               const std::atomic<bool>& stop, const std::function<void(int port)>& ready) {
  Server server(scenario, registry, options);
  return server.run(stop, ready);
}

const char* builtin_classroom_yaml() { return kClassroomYaml; }

}  // namespace schoolsim::serve
