// Teaching mode: the live worlds behind `schoolsim serve` and its HTTP interface.
// The browser end of it is tested by tests/e2e/browser_test.mjs.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
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
  std::string new_session() const {
    auto res = client().Post("/api/sessions", "", "application/x-www-form-urlencoded");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return res->body.substr(7, 16);  // {"id":"<16 hex digits>"}
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int port_ = 0;
  int code_ = -1;
};

httplib::Result post(httplib::Client& c, const std::string& path, const httplib::Params& params) {
  return c.Post(path.c_str(), params);
}

// Reads a session's event stream until `frames` frames have arrived; returns the text.
std::string read_stream(const TestServer& server, const std::string& id, int frames) {
  std::string text;
  int seen = 0;
  auto c = server.client();
  c.Get(("/api/sessions/" + id + "/events").c_str(), [&](const char* data, std::size_t n) {
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
  auto school = c.Get(("/api/sessions/" + id + "/schools/0").c_str());
  REQUIRE(school);
  const auto terms_before = std::count(school->body.begin(), school->body.end(), ',');
  res = post(c, "/api/sessions/" + id + "/control", {{"action", "step"}});
  CHECK(res->status == 200);
  school = c.Get(("/api/sessions/" + id + "/schools/0").c_str());
  CHECK(std::count(school->body.begin(), school->body.end(), ',') == terms_before + 7);  // one more term in each of seven series
  CHECK(c.Get(("/api/sessions/" + id + "/schools/36").c_str())->status == 404);
  CHECK(c.Get(("/api/sessions/" + id + "/schools/0?world=1").c_str())->status == 404);
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
