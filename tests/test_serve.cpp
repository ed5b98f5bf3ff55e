// Teaching mode: the live worlds behind `schoolsim serve` and its HTTP interface.
// The browser end of it is tested by tests/e2e/browser_test.mjs.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <set>
#include <utility>
#include <map>
#include <mutex>
#include <fstream>
#include <sstream>
#include <thread>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/measures.hpp"
#include "sim/serve/builtin.hpp"
#include "sim/serve/classroom.hpp"
#include "sim/serve/live.hpp"
#include "sim/serve/server.hpp"

// After Eigen: httplib.h brings in <resolv.h>, whose _res macro breaks Eigen's headers.
#include <httplib.h>

using namespace schoolsim;

namespace {

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    models::register_all(reg);
    return reg;
  }();
  return r;
}

const live::ClassroomScenarios& scenarios() {
  static const live::ClassroomScenarios s = [] {
    live::ClassroomLoad r = live::load_classroom("", registry());
    for (const auto& e : r.errors) MESSAGE(e.str());
    REQUIRE(r.scenarios);
    return *r.scenarios;
  }();
  return s;
}

Scenario classroom() { return scenarios().single.scenario; }

std::string source_file(const std::string& name) {
  std::ifstream in(std::string(SCHOOLSIM_SOURCE_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The same mechanisms in the same order with the same values, world and years.
void check_same_scenario(const Scenario& a, const Scenario& b) {
  CHECK(a.years == b.years);
  CHECK(a.world == b.world);
  CHECK(a.seed == b.seed);
  REQUIRE(a.pipeline.size() == b.pipeline.size());
  for (std::size_t i = 0; i < a.pipeline.size(); ++i) {
    CHECK_MESSAGE(a.pipeline[i].info->name == b.pipeline[i].info->name, i);
    CHECK_MESSAGE(a.pipeline[i].values == b.pipeline[i].values, a.pipeline[i].info->name);
  }
}

bool has(const Scenario& s, std::string_view name) {
  for (const auto& e : s.pipeline)
    if (e.info->name == name) return true;
  return false;
}

double param(const Scenario& s, std::string_view mechanism, std::string_view name) {
  for (const auto& e : s.pipeline)
    if (e.info->name == mechanism) return e.values[static_cast<std::size_t>(param_index(e.info->params, name))];
  FAIL("no mechanism " << mechanism);
  return 0;
}

}  // namespace

TEST_CASE("serve: the built-in classroom scenarios are scenarios/classroom*.yaml") {
  CHECK(source_file("scenarios/classroom.yaml") == serve::builtin_classroom_yaml());
  for (const char* f : {"classroom.yaml", "classroom_competitive.yaml", "classroom_collaborative.yaml"}) {
    const auto text = live::builtin_scenario(f);
    REQUIRE_MESSAGE(text, f);
    CHECK_MESSAGE(*text == source_file(std::string("scenarios/") + f), f);
  }
}

TEST_CASE("serve: the page's worlds are the scenario files and run the years they say") {
  auto from_disk = [](const std::string& f) {
    LoadResult r = load_scenario(std::string(SCHOOLSIM_SOURCE_DIR) + "/scenarios/" + f, registry());
    for (const auto& e : r.errors) MESSAGE(e.str());
    REQUIRE(r.scenario);
    return *r.scenario;
  };
  const Scenario single = from_disk("classroom.yaml");
  const std::vector<Scenario> arms = {from_disk("classroom_competitive.yaml"),
                                      from_disk("classroom_collaborative.yaml")};
  live::Classroom room("test", scenarios(), registry());
  REQUIRE(room.worlds().size() == 1);
  check_same_scenario(room.worlds()[0]->scenario(), single);
  CHECK(room.terms() == single.years * kTermsPerYear);
  CHECK(room.hello_json().find("\"years\":" + std::to_string(single.years) + ",") != std::string::npos);

  REQUIRE(room.control("mode", "compare", std::nullopt).status == 200);
  REQUIRE(room.worlds().size() == 2);
  for (std::size_t w = 0; w < 2; ++w) {
    INFO("arm " << w);
    check_same_scenario(room.worlds()[w]->scenario(), arms[w]);
    CHECK(room.worlds()[w]->terms() == arms[w].years * kTermsPerYear);
  }
  // The arms differ in what the files say, and the page is told so.
  const std::string hello = room.hello_json();
  CHECK(hello.find("\"file\":\"classroom_competitive.yaml\"") != std::string::npos);
  CHECK(hello.find("\"file\":\"classroom_collaborative.yaml\"") != std::string::npos);
  const auto diff = live::differences(arms[1], arms[0], registry());
  std::string all;
  for (const auto& d : diff) all += d.text + "\n";
  CHECK(all.find("tie_formation on") != std::string::npos);
  CHECK(all.find("market.choice 0.2 (other: 0.8)") != std::string::npos);
  CHECK(all.find("programme on") != std::string::npos);
  CHECK(all.find("market.inspection_cycle 6 (other: 4)") != std::string::npos);
  CHECK(hello.find("market.choice 0.2 (other: 0.8)") != std::string::npos);
  // The collaborative arm's programme: launched in year 2, funded for five years.
  const std::string frame = room.frame_json(0);
  CHECK(frame.find("\"programme_term\":-1,\"funding_end_term\":-1") != std::string::npos);
  CHECK(frame.find("\"programme_term\":3,\"funding_end_term\":18") != std::string::npos);
  // The About panel's text comes from the files' comments and the parameter table.
  std::string comment;
  live::put_string(comment, live::leading_comment(source_file("scenarios/classroom.yaml")));
  CHECK(hello.find(comment) != std::string::npos);
  const MechanismInfo* market = registry().find("market");
  REQUIRE(market);
  std::string meaning;
  live::put_string(meaning, market->params[static_cast<std::size_t>(param_index(market->params, "choice"))].meaning);
  CHECK(hello.find("\"meaning\":" + meaning) != std::string::npos);
}

TEST_CASE("serve: levers read from a scenario and written back into its pipeline") {
  const Scenario base = classroom();
  live::Levers l = live::levers_of(base, registry());
  CHECK(l.choice == doctest::Approx(0.8));
  CHECK(l.league_tables);
  CHECK(l.collaboration);
  CHECK(l.constructivism);
  CHECK_FALSE(l.social_movement);
  CHECK(l.area_strategy == live::kAreaStrategyOff);
  CHECK(l.programme_year == -1);

  // Unchanged levers give back the same pipeline.
  const Scenario same = live::apply_levers(base, registry(), l);
  REQUIRE(same.pipeline.size() == base.pipeline.size());
  for (std::size_t i = 0; i < same.pipeline.size(); ++i) {
    CHECK(same.pipeline[i].info == base.pipeline[i].info);
    CHECK(same.pipeline[i].values == base.pipeline[i].values);
  }

  l.choice = 0.1;
  l.league_tables = false;
  l.durkheim = false;
  l.social_movement = true;
  l.collaboration = false;
  l.area_strategy = 1;
  l.programme_year = 2;
  const Scenario s = live::apply_levers(base, registry(), l);
  CHECK(param(s, "market", "choice") == doctest::Approx(0.1));
  CHECK(param(s, "market", "league_tables") == 0);
  CHECK_FALSE(has(s, "durkheim"));
  CHECK(has(s, "social_movement"));
  CHECK_FALSE(has(s, "tie_formation"));
  CHECK(has(s, "tie_dissolution"));  // existing ties still end
  CHECK(param(s, "area_strategy", "area") == 1);
  CHECK(param(s, "programme", "year") == 2);
  // A programme sized for 36 schools: three networks of six.
  CHECK(param(s, "programme", "networks") == 3);
  CHECK(param(s, "programme", "size") == 6);

  // The comparison's arms give back their own pipelines too.
  for (const auto& arm : scenarios().arms)
    check_same_scenario(live::apply_levers(arm.scenario, registry(), live::levers_of(arm.scenario, registry())),
                        arm.scenario);
}

TEST_CASE("serve: bad lever values are all reported and change nothing") {
  const live::Levers now = live::levers_of(classroom(), registry());
  live::LeverChange c = live::parse_levers(
      {{"choice", "abc"}, {"league_tables", "maybe"}, {"area_strategy", "2"}, {"chioce", "0.3"}, {"durkheim", "false"}},
      now, 2, 1);
  REQUIRE(c.problems.size() == 4);
  CHECK(c.levers == now);  // durkheim=false was fine but is not applied either
  std::string all;
  for (const auto& p : c.problems) all += p + "\n";
  CHECK(all.find("choice: expected a number from 0 to 1, got 'abc'") != std::string::npos);
  CHECK(all.find("league_tables: expected true or false") != std::string::npos);
  CHECK(all.find("area number from 0 to 1, got '2'") != std::string::npos);
  CHECK(all.find("did you mean 'choice'") != std::string::npos);
  for (const char* bad : {"2", "-0.1", "nan", "inf", "", "0.5x"})
    CHECK_MESSAGE(live::parse_levers({{"choice", bad}}, now, 2, 1).problems.size() == 1, bad);

  c = live::parse_levers({{"choice", "0.25"}, {"durkheim", "false"}, {"area_strategy", "all"}, {"programme", "launch"},
                          {"social_movement", "true"}},
                         now, 2, 8);
  CHECK(c.problems.empty());
  CHECK(c.levers.choice == 0.25);
  CHECK_FALSE(c.levers.durkheim);
  CHECK(c.levers.area_strategy == live::kAreaStrategyAll);
  CHECK(c.levers.programme_year == 3);  // the next school year starts at term 9
  CHECK(c.levers.social_movement);
  CHECK(c.levers.movement_term == 8);
}

TEST_CASE("serve: a live world is reproducible and a lever acts from the next term") {
  const Scenario base = classroom();
  const live::Levers l = live::levers_of(base, registry());
  live::World a(base, registry(), l, 60), b(base, registry(), l, 60), unchanged(base, registry(), l, 60);
  for (int t = 0; t < 6; ++t) a.step(), b.step(), unchanged.step();
  live::Levers open = l;
  open.choice = 0;
  a.set_levers(open);
  b.set_levers(open);
  // The change keeps the state reached so far.
  CHECK(a.terms_done() == 6);
  CHECK((a.state().capacity.array() == unchanged.state().capacity.array()).all());
  for (int t = 0; t < 15; ++t) a.step(), b.step(), unchanged.step();
  CHECK(a.measures() == b.measures());
  CHECK((a.state().pupils.array() == b.state().pupils.array()).all());
  CHECK_FALSE((a.state().pupils.array() == unchanged.state().pupils.array()).all());
  REQUIRE(a.measures().size() == 22);  // term 0 and 21 terms
  CHECK(a.history(5).capacity.size() == 22);
  CHECK(a.history(5).capacity.back() == doctest::Approx(a.state().capacity[5]));

  // Reset goes back to the same starting world.
  a.reset(a.seed());
  CHECK(a.terms_done() == 0);
  CHECK(a.measures().front() == b.measures().front());
}

TEST_CASE("serve: launching a programme adds programme ties at the next school year") {
  const Scenario base = classroom();
  live::Levers l = live::levers_of(base, registry());
  live::World w(base, registry(), l, 60);
  w.step();  // into year 1, term 1
  l.programme_year = 1;
  w.set_levers(l);
  CHECK(w.programme_status() == "launches in year 2");
  w.step(), w.step();
  CHECK(ties_programme(w.state()) == 0);
  w.step();  // the first term of year 2
  CHECK(w.programme_status() == "launched in year 2");
  CHECK(ties_programme(w.state()) > 0);
}

// ---------------------------------------------------------------- over HTTP

namespace {

std::mutex& tokens_mu() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, std::string>& tokens() {
  static std::map<std::string, std::string> t;
  return t;
}

// A server on a free loopback port, stopped at the end of the test.
class TestServer {
 public:
  explicit TestServer(serve::Options options = {}) {
    options.port = 0;
    std::promise<int> bound;
    auto port = bound.get_future();
    thread_ = std::thread([this, options, p = std::move(bound)]() mutable {
      code_ = serve::run_server(scenarios(), registry(), options, stop_, [&](int bound_port) { p.set_value(bound_port); });
    });
    port_ = port.get();
  }
  ~TestServer() { stop(); }
  int stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return code_;
  }
  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    return c;
  }
  // A new session's id; its token is kept for the requests below.
  std::string new_session() const {
    auto res = client().Post("/api/sessions", "", "application/x-www-form-urlencoded");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    REQUIRE(res->body.size() == 84);  // {"id":"<32 hex digits>","token":"<32 hex digits>"}
    const std::string id = res->body.substr(7, 32), token = res->body.substr(50, 32);
    std::lock_guard lock(tokens_mu());
    tokens()[id] = token;
    return id;
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int port_ = 0;
  int code_ = -1;
};

// The token of the session a path names ("" if none).
std::string token_of(const std::string& path) {
  const std::string prefix = "/api/sessions/";
  if (path.rfind(prefix, 0) != 0) return "";
  const std::string id = path.substr(prefix.size(), path.find_first_of("/?", prefix.size()) - prefix.size());
  std::lock_guard lock(tokens_mu());
  auto it = tokens().find(id);
  return it == tokens().end() ? "" : it->second;
}

httplib::Headers with_token(const std::string& path) { return {{"X-Session-Token", token_of(path)}}; }

httplib::Result post(httplib::Client& c, const std::string& path, const httplib::Params& params) {
  return c.Post(path.c_str(), with_token(path), params);
}

httplib::Result get(httplib::Client& c, const std::string& path) { return c.Get(path.c_str(), with_token(path)); }

// Reads a session's event stream until `frames` frames have arrived; returns the text.
std::string read_stream(const TestServer& server, const std::string& id, int frames) {
  std::string text;
  int seen = 0;
  auto c = server.client();
  const std::string path = "/api/sessions/" + id + "/events";
  c.Get(path.c_str(), with_token(path), [&](const char* data, std::size_t n) {
    text.append(data, n);
    seen = 0;
    for (std::size_t p = text.find("event: frame"); p != std::string::npos; p = text.find("event: frame", p + 1)) ++seen;
    return seen < frames;
  });
  return text;
}

}  // namespace

TEST_CASE("serve: the page and its scripts are served from the binary") {
  TestServer server;
  auto c = server.client();
  for (const char* path : {"/", "/app.js", "/style.css"}) {
    auto res = c.Get(path);
    REQUIRE(res);
    CHECK_MESSAGE(res->status == 200, path);
    CHECK_MESSAGE(res->body.size() > 100, path);
  }
  CHECK(c.Get("/")->get_header_value("Content-Type").find("text/html") == 0);
  auto missing = c.Get("/api/nothing");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(missing->body.find("\"error\"") != std::string::npos);
  CHECK(server.stop() == 0);
}

TEST_CASE("serve: a session streams hello and frames and plays term by term") {
  TestServer server;
  const std::string id = server.new_session();
  auto c = server.client();
  auto res = post(c, "/api/sessions/" + id + "/control", {{"action", "speed"}, {"value", "20"}});
  REQUIRE(res);
  CHECK(res->status == 200);
  res = post(c, "/api/sessions/" + id + "/control", {{"action", "play"}});
  REQUIRE(res);
  CHECK(res->status == 200);
  const std::string text = read_stream(server, id, 4);
  CHECK(text.rfind("event: hello\ndata: {\"session\":\"" + id + "\"", 0) == 0);
  CHECK(text.find("\"scenario\":\"classroom\"") != std::string::npos);
  CHECK(text.find("\"x\":[") != std::string::npos);
  CHECK(text.find("\"history\":{\"terms\":[0") != std::string::npos);  // the first frame starts at term 0
  CHECK(text.find("\"playing\":true") != std::string::npos);

  // Stepping advances exactly one term and pauses.
  res = post(c, "/api/sessions/" + id + "/control", {{"action", "pause"}});
  auto school = get(c, "/api/sessions/" + id + "/schools/0");
  REQUIRE(school);
  const auto terms_before = std::count(school->body.begin(), school->body.end(), ',');
  res = post(c, "/api/sessions/" + id + "/control", {{"action", "step"}});
  CHECK(res->status == 200);
  school = get(c, "/api/sessions/" + id + "/schools/0");
  CHECK(std::count(school->body.begin(), school->body.end(), ',') == terms_before + 7);  // one more term in each of seven series
  CHECK(get(c, "/api/sessions/" + id + "/schools/36")->status == 404);
  CHECK(get(c, "/api/sessions/" + id + "/schools/0?world=1")->status == 404);
}

TEST_CASE("serve: bad requests are refused with a message and the simulation carries on") {
  TestServer server;
  const std::string id = server.new_session();
  auto c = server.client();
  const std::string levers = "/api/sessions/" + id + "/levers";
  for (const httplib::Params& bad :
       {httplib::Params{{"choice", "abc"}}, httplib::Params{{"choice", "2"}}, httplib::Params{{"area_strategy", "99"}},
        httplib::Params{{"nonsense", "1"}}, httplib::Params{{"choice", "0.2"}, {"durkheim", "perhaps"}}}) {
    auto res = post(c, levers, bad);
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(res->body.rfind("{\"error\":\"", 0) == 0);
  }
  for (const httplib::Params& bad :
       {httplib::Params{{"action", "fly"}}, httplib::Params{{"action", "speed"}, {"value", "1e9"}},
        httplib::Params{{"action", "reset"}, {"seed", "-1"}}, httplib::Params{{"action", "mode"}, {"value", "x"}}}) {
    auto res = post(c, "/api/sessions/" + id + "/control", bad);
    REQUIRE(res);
    CHECK(res->status == 400);
  }
  CHECK(post(c, "/api/sessions/ffff/control", {{"action", "play"}})->status == 404);
  // Nothing changed: the levers are still the scenario's.
  auto ok = post(c, levers, {{"league_tables", "true"}});
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body.find("\"choice\":0.8") != std::string::npos);
  // And the simulation still runs.
  post(c, "/api/sessions/" + id + "/control", {{"action", "speed"}, {"value", "20"}});
  post(c, "/api/sessions/" + id + "/control", {{"action", "play"}});
  CHECK(read_stream(server, id, 3).find("\"term\":") != std::string::npos);
  // Levers are fixed while comparing.
  post(c, "/api/sessions/" + id + "/control", {{"action", "mode"}, {"value", "compare"}});
  CHECK(post(c, levers, {{"choice", "0.3"}})->status == 400);
}

TEST_CASE("serve: many tabs at once with one closed mid-stream and a clean stop") {
  serve::Options options;
  options.max_sessions = 6;
  TestServer server(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(server.new_session());
  // A seventh is refused, with a reason.
  auto c = server.client();
  auto full = c.Post("/api/sessions", "", "application/x-www-form-urlencoded");
  REQUIRE(full);
  CHECK(full->status == 503);
  CHECK(full->body.find("too many open sessions") != std::string::npos);

  for (const auto& id : ids) {
    post(c, "/api/sessions/" + id + "/control", {{"action", "speed"}, {"value", "20"}});
    post(c, "/api/sessions/" + id + "/control", {{"action", "play"}});
  }
  // One tab reads two frames and goes away; the others each read eight.
  std::vector<std::future<std::string>> tabs;
  for (std::size_t i = 0; i < ids.size(); ++i)
    tabs.push_back(std::async(std::launch::async, [&, i] { return read_stream(server, ids[i], i == 0 ? 2 : 8); }));
  for (std::size_t i = 0; i < tabs.size(); ++i) {
    const std::string text = tabs[i].get();
    CHECK(text.find("event: hello") == 0);
  }
  auto health = c.Get("/api/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  // While streams may still be open, stopping returns cleanly.
  auto open_stream = std::async(std::launch::async, [&] { return read_stream(server, ids[1], 100000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(server.stop() == 0);
  CHECK(open_stream.get().find("event: hello") == 0);
}

TEST_CASE("serve: sessions of closed tabs are cleared and pings keep hidden tabs open") {
  serve::Options options;
  options.idle_seconds = 0.5;
  TestServer server(options);
  const std::string closed = server.new_session(), hidden = server.new_session();
  auto c = server.client();
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto ping = post(c, "/api/sessions/" + hidden + "/control", {{"action", "ping"}});
    REQUIRE(ping);
    CHECK(ping->status == 200);
  }
  // A second without a stream or a request: the closed tab's session is gone.
  auto gone = post(c, "/api/sessions/" + closed + "/control", {{"action", "play"}});
  REQUIRE(gone);
  CHECK(gone->status == 404);
  CHECK(gone->body.find("reload the page") != std::string::npos);
  CHECK(post(c, "/api/sessions/" + hidden + "/control", {{"action", "play"}})->status == 200);
}

TEST_CASE("serve: a port already in use is refused and not shared") {
  TestServer first;
  serve::Options options;
  options.port = first.port();
  std::atomic<bool> stop{true};
  bool ready = false;
  CHECK(serve::run_server(scenarios(), registry(), options, stop, [&](int) { ready = true; }) == 1);
  CHECK_FALSE(ready);
  CHECK(first.client().Get("/api/health")->status == 200);
}

// ---------------------------------------------------------------- security (issue 14)

namespace {

// A raw loopback connection, for requests httplib's client will not make.
class Raw {
 public:
  explicit Raw(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Raw() { close(); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  Raw(Raw&& o) noexcept : fd_(std::exchange(o.fd_, -1)), ok_(o.ok_) {}
  bool ok() const { return ok_; }
  bool send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // What arrives within `ms` milliseconds, until `until` is seen or the peer closes.
  std::string read(int ms, const std::string& until = "") {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long long>(1, left.count()))) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      got.append(buf, static_cast<std::size_t>(n));
      if (!until.empty() && got.find(until) != std::string::npos) break;
    }
    return got;
  }
  bool closed() const { return closed_; }
  void close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  bool closed_ = false;
};

std::string host(int port) { return "127.0.0.1:" + std::to_string(port); }

// An event stream held open on a raw connection; "" once it is open, else the answer.
std::string open_stream(Raw& r, int port, const std::string& id) {
  r.send("GET /api/sessions/" + id + "/events HTTP/1.1\r\nHost: " + host(port) + "\r\nX-Session-Token: " +
         token_of("/api/sessions/" + id) + "\r\n\r\n");
  const std::string head = r.read(3000, "\r\n\r\n");
  return head.find("200 OK") != std::string::npos && head.find("text/event-stream") != std::string::npos ? "" : head;
}

// Milliseconds /api/health takes to answer (-1: no answer within 3 s).
long long health_ms(const TestServer& server) {
  const auto t0 = std::chrono::steady_clock::now();
  httplib::Client c("127.0.0.1", server.port());
  c.set_connection_timeout(3);
  c.set_read_timeout(3);
  auto res = c.Get("/api/health");
  if (!res || res->status != 200) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("serve: session ids are 128 random bits and a session obeys only its own token") {
  serve::Options options;
  options.max_sessions = 64;
  TestServer server(options);
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 60; ++i) {
    const std::string id = server.new_session();
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(id);
    secrets.insert(token_of("/api/sessions/" + id));
  }
  CHECK(ids.size() == 60);
  CHECK(secrets.size() == 60);
  const std::string a = *ids.begin(), b = *ids.rbegin();
  auto c = server.client();
  const std::string control = "/api/sessions/" + a + "/control";
  httplib::Params play{{"action", "play"}};
  // No token, a wrong one, another session's: 403, and nothing changes.
  auto none = c.Post(control.c_str(), play);
  REQUIRE(none);
  CHECK(none->status == 403);
  CHECK(none->body.find("belongs to another tab") != std::string::npos);
  CHECK(c.Post(control.c_str(), httplib::Headers{{"X-Session-Token", std::string(32, '0')}}, play)->status == 403);
  CHECK(c.Post(control.c_str(), httplib::Headers{{"X-Session-Token", token_of("/api/sessions/" + b)}}, play)->status == 403);
  CHECK(c.Post(("/api/sessions/" + a + "/levers").c_str(), httplib::Params{{"choice", "0.1"}})->status == 403);
  CHECK(c.Get(("/api/sessions/" + a + "/events").c_str())->status == 403);
  CHECK(c.Get(("/api/sessions/" + a).c_str())->status == 403);
  // Its own token, as a header or as the page's cookie: accepted.
  CHECK(post(c, control, play)->status == 200);
  CHECK(c.Post(control.c_str(), httplib::Headers{{"Cookie", "other=1; schoolsim_token=" + token_of("/api/sessions/" + a)}},
               httplib::Params{{"action", "pause"}})->status == 200);
  // The page is given the token as an HttpOnly cookie scoped to its session.
  auto made = c.Post("/api/sessions", "", "application/x-www-form-urlencoded");
  REQUIRE(made);
  const std::string cookie = made->get_header_value("Set-Cookie");
  CHECK(cookie.find("schoolsim_token=" + made->body.substr(50, 32)) == 0);
  CHECK(cookie.find("Path=/api/sessions/" + made->body.substr(7, 32) + ";") != std::string::npos);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
}

TEST_CASE("serve: only the hosts it was started on and same-origin pages are answered") {
  TestServer server;
  auto c = server.client();
  const int port = server.port();
  auto sessions = [&] { return c.Get("/api/health")->body; };
  const std::string before = sessions();
  // DNS rebinding: a foreign Host is refused before anything is done.
  auto rebound = c.Post("/api/sessions", httplib::Headers{{"Host", "evil.example:" + std::to_string(port)}}, "", "application/x-www-form-urlencoded");
  REQUIRE(rebound);
  CHECK(rebound->status == 421);
  CHECK(rebound->body.find("{\"error\":\"this server does not answer to 'evil.example") == 0);
  CHECK(c.Get("/", httplib::Headers{{"Host", "evil.example"}})->status == 421);
  CHECK(c.Get("/api/health", httplib::Headers{{"Host", "127.0.0.1:1"}})->status == 421);  // another port
  // A cross-site page posting to the server is refused.
  auto cross = c.Post("/api/sessions", httplib::Headers{{"Origin", "http://evil.example"}}, "", "application/x-www-form-urlencoded");
  REQUIRE(cross);
  CHECK(cross->status == 403);
  CHECK(cross->body.find("another site") != std::string::npos);
  CHECK(c.Post("/api/sessions", httplib::Headers{{"Origin", "null"}}, "", "application/x-www-form-urlencoded")->status == 403);
  CHECK(c.Post("/api/sessions", httplib::Headers{{"Sec-Fetch-Site", "cross-site"}}, "", "application/x-www-form-urlencoded")->status == 403);
  CHECK(sessions() == before);  // none was created
  // Its own names are answered, with or without a same-origin Origin.
  CHECK(c.Get("/api/health", httplib::Headers{{"Host", "localhost:" + std::to_string(port)}})->status == 200);
  CHECK(c.Get("/api/health", httplib::Headers{{"Host", "LOCALHOST.:" + std::to_string(port)}})->status == 200);
  CHECK(c.Get("/api/health", httplib::Headers{{"Host", "[::1]:" + std::to_string(port)}})->status == 200);
  CHECK(c.Post("/api/sessions", httplib::Headers{{"Origin", "http://" + host(port)}}, "", "application/x-www-form-urlencoded")->status == 200);
}

TEST_CASE("serve: --allow-host names and the machine's own addresses on 0.0.0.0") {
  serve::Options options;
  options.allowed_hosts = {"teacher-pc.school.example"};
  TestServer server(options);
  auto c = server.client();
  const std::string port = std::to_string(server.port());
  CHECK(c.Get("/api/health", httplib::Headers{{"Host", "teacher-pc.school.example:" + port}})->status == 200);
  CHECK(c.Get("/api/health", httplib::Headers{{"Host", "student-pc.school.example:" + port}})->status == 421);

  serve::Options any;
  any.host = "0.0.0.0";
  TestServer open(any);
  auto o = open.client();
  const std::string p = std::to_string(open.port());
  const auto urls = serve::listen_urls("0.0.0.0", open.port());
  REQUIRE_FALSE(urls.empty());
  for (const auto& url : urls) {
    CHECK(url.find("0.0.0.0") == std::string::npos);
    const std::string h = url.substr(7, url.size() - 8);  // http://HOST:PORT/
    CHECK_MESSAGE(o.Get("/api/health", httplib::Headers{{"Host", h}})->status == 200, h);
  }
  CHECK(o.Get("/api/health", httplib::Headers{{"Host", "evil.example:" + p}})->status == 421);
  CHECK(serve::listen_urls("127.0.0.1", 8765) == std::vector<std::string>{"http://127.0.0.1:8765/"});
  CHECK(serve::listen_urls("localhost", 80) == std::vector<std::string>{"http://127.0.0.1:80/"});
}

TEST_CASE("serve: oversized and chunked bodies are refused from their headers") {
  TestServer server;
  const std::string id = server.new_session();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    Raw r(server.port());
    REQUIRE(r.ok());
    // 400 MiB announced; not one byte of it sent.
    r.send("POST /api/sessions/" + id + "/levers HTTP/1.1\r\nHost: " + host(server.port()) +
           "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 419430400\r\n\r\n");
    const std::string answer = r.read(3000, "}");
    CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
    CHECK(answer.find("at most 16384") != std::string::npos);
  }
  Raw chunked(server.port());
  chunked.send("POST /api/sessions HTTP/1.1\r\nHost: " + host(server.port()) + "\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(chunked.read(3000, "}").rfind("HTTP/1.1 411", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  // A body within the limit is still read.
  auto c = server.client();
  CHECK(post(c, "/api/sessions/" + id + "/levers", {{"choice", std::string("0.3")}})->status == 200);
}

TEST_CASE("serve: slow senders are dropped by total time while others are answered") {
  serve::Options options;
  options.request_seconds = 1;
  TestServer server(options);
  // 40 clients each trickle a header, one byte every 100 ms: a timeout per byte
  // would never fire.
  std::vector<Raw> slow;
  for (int i = 0; i < 40; ++i) {
    slow.emplace_back(server.port());
    REQUIRE(slow.back().ok());
  }
  const std::string header = "GET /api/health HTTP/1.1\r\nHost: " + host(server.port()) + "\r\nX-Padding: ";
  long long worst = 0;
  int dropped = 0;
  std::vector<std::string> answers(slow.size());
  for (int step = 0; step < 25; ++step) {  // 2.5 s, bounded
    for (std::size_t i = 0; i < slow.size(); ++i) {
      if (slow[i].closed()) continue;
      answers[i] += slow[i].read(1);
      if (!slow[i].closed()) slow[i].send(std::string(1, header[static_cast<std::size_t>(step) % header.size()]));
    }
    if (step % 5 == 0) {
      const long long ms = health_ms(server);
      CHECK(ms >= 0);
      worst = std::max(worst, ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (std::size_t i = 0; i < slow.size(); ++i) {
    answers[i] += slow[i].read(1500);
    dropped += slow[i].closed() && answers[i].rfind("HTTP/1.1 408", 0) == 0;
  }
  MESSAGE("slowest health answer among slow senders: " << worst << " ms");
  CHECK(worst < 1000);
  CHECK(dropped == 40);
}

TEST_CASE("serve: event streams are capped per session and per client and never starve requests") {
  serve::Options options;
  options.max_sessions = 8;
  options.request_workers = 2;
  options.max_streams_per_session = 3;
  options.max_streams_per_client = 10;
  TestServer server(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(server.new_session());
  std::vector<Raw> streams;
  for (int i = 0; i < 3; ++i) {
    streams.emplace_back(server.port());
    CHECK(open_stream(streams.back(), server.port(), ids[0]).empty());
  }
  // A fourth on the same session is refused; requests are still answered.
  {
    Raw extra(server.port());
    std::string refused = open_stream(extra, server.port(), ids[0]);
    if (refused.find('}') == std::string::npos) refused += extra.read(1000, "}");
    CHECK(refused.find("HTTP/1.1 429") == 0);
    CHECK(refused.find("already has 3 event streams") != std::string::npos);
  }
  // Up to the client's cap over other sessions: far more streams than workers.
  for (int i = 0; i < 7; ++i) {
    streams.emplace_back(server.port());
    CHECK(open_stream(streams.back(), server.port(), ids[1 + i % 4]).empty());
  }
  Raw over(server.port());
  CHECK(open_stream(over, server.port(), ids[4]).find("429") != std::string::npos);
  // Ten streams held open, two request workers: health still answers at once, repeatedly.
  for (int i = 0; i < 10; ++i) {
    const long long ms = health_ms(server);
    CHECK(ms >= 0);
    CHECK(ms < 1000);
  }
  // A closed stream frees its place.
  streams.front().close();
  bool reopened = false;
  std::string answer;
  for (int i = 0; i < 30 && !reopened; ++i) {  // the server notices within a keep-alive
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Raw again(server.port());
    answer = open_stream(again, server.port(), ids[0]);
    reopened = answer.empty();
    if (reopened) streams.push_back(std::move(again));
  }
  CHECK_MESSAGE(reopened, answer);
  streams.clear();
  CHECK(server.stop() == 0);
}

TEST_CASE("serve: the listen backlog is raised and the full-server message gives the real wait") {
  serve::Options options;
  options.max_sessions = 1;
  TestServer server(options);
  server.new_session();
  auto c = server.client();
  auto full = c.Post("/api/sessions", "", "application/x-www-form-urlencoded");
  REQUIRE(full);
  CHECK(full->status == 503);
  CHECK(full->body.find("wait 120 seconds") != std::string::npos);
  // ss reports a listening socket's backlog in its Send-Q column.
  const std::string cmd = "ss -Hltn 'sport = :" + std::to_string(server.port()) + "'";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char line[512] = "";
  const bool got = std::fgets(line, sizeof line, p) != nullptr;
  pclose(p);
  REQUIRE_MESSAGE(got, "ss (Debian package iproute2) lists no listening socket");
  std::istringstream fields(line);
  std::string state;
  long recv_q = 0, send_q = 0;
  fields >> state >> recv_q >> send_q;
  std::ifstream max_file("/proc/sys/net/core/somaxconn");
  long somaxconn = 4096;
  max_file >> somaxconn;
  CHECK(send_q == std::min<long>(serve::kListenBacklog, somaxconn));
  CHECK(send_q > 5);
}
