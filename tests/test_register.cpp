// A world read from a school register in the GIAS format (docs/DATA.md), on
// fictional registers written by tools/register.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "models/register_all.hpp"
#include "models/world/register.hpp"
#include "sim/config/config.hpp"
#include "sim/simulation.hpp"
#include "test_util.hpp"
#include "tools/register/fictional_register.hpp"

using namespace schoolsim;
namespace fs = std::filesystem;

namespace {

// The first problem, for failure messages ("" when there is none).
std::string first_error(const std::vector<Diagnostic>& errors) { return errors.empty() ? "" : errors[0].str(); }

const Registry& reg() { return models::registry(); }

RegisterSource source(RegisterMissing missing = RegisterMissing::error) {
  RegisterSource s;
  s.path = s.resolved = "test.csv";
  s.missing = missing;
  return s;
}

std::string all_errors(const RegisterLoad& r) {
  std::string out;
  for (const auto& e : r.errors) out += std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message + "\n";
  return out;
}

// A good open primary school row, with overrides.
std::string school(int urn, std::map<std::string, std::string> over = {}) {
  std::map<std::string, std::string> v = {{"URN", std::to_string(urn)},
                                          {"LA (code)", "101"},
                                          {"LA (name)", "Ashford (fictional)"},
                                          {"EstablishmentName", "School " + std::to_string(urn) + " (fictional)"},
                                          {"TypeOfEstablishment (name)", "Community school"},
                                          {"EstablishmentStatus (name)", "Open"},
                                          {"PhaseOfEducation (name)", "Primary"},
                                          {"NumberOfPupils", "280"},
                                          {"SchoolCapacity", "300"},
                                          {"PercentageFSM", "21.5"},
                                          {"Easting", "530000"},
                                          {"Northing", "180000"}};
  for (auto& [k, val] : over) v[k] = val;
  return tools::gias_row(v);
}

// The message of the error on `line`, or "" if none.
std::string message_at(const RegisterLoad& r, int line) {
  for (const auto& e : r.errors)
    if (e.line == line) return e.message;
  return "";
}

}  // namespace

TEST_CASE("register: the fictional register keeps its open primary and secondary schools and counts the rest") {
  tools::FictionalOptions o;
  o.schools = 800, o.areas = 8, o.seed = 3;
  const std::string text = tools::fictional_register(o);
  const RegisterLoad r = models::parse_register(text, source());
  REQUIRE_MESSAGE(r.errors.empty(), all_errors(r));
  const SchoolRegister& g = *r.data;
  CHECK(g.schools.size() == 800);  // every open mainstream row, none of the others
  CHECK(g.area_codes.size() == 8);
  CHECK(g.summary.find("kept 800 open schools") != std::string::npos);
  for (const char* what : {"special schools", "pupil referral units", "phase Nursery", "phase 16 plus",
                           "phase Not applicable", "not open (Closed)"})
    CHECK_MESSAGE(g.summary.find(what) != std::string::npos, what << " in\n" << g.summary);
  // Blocks by area, URNs ascending in each; places, pupils and shares as given.
  for (std::size_t i = 1; i < g.schools.size(); ++i) {
    const auto &a = g.schools[i - 1], &b = g.schools[i];
    CHECK((a.area < b.area || (a.area == b.area && a.urn < b.urn)));
  }
  int secondary = 0;
  for (const auto& s : g.schools) {
    secondary += s.phase;
    CHECK(s.places > 0);
    CHECK(s.disadvantaged >= 0);
    CHECK(s.disadvantaged <= 1);
    CHECK(s.x_km > 0);
  }
  CHECK(secondary > 80);  // about 17%
  CHECK(secondary < 200);
  CHECK(g.federations > 0);
  CHECK(g.trusts > 0);
}

TEST_CASE("register: every kind of bad row is listed with its line") {
  std::string text = tools::gias_header_line();
  text += school(100001);                                                  // line 2: good
  text += school(100002, {{"Easting", ""}, {"Northing", ""}});            // 3: no coordinates
  text += school(100003, {{"SchoolCapacity", "0"}});                      // 4: 0 places
  text += school(100004, {{"PercentageFSM", "120.0"}});                   // 5: FSM above 100
  text += school(100005, {{"PercentageFSM", "SUPP"}});                    // 6: suppressed FSM
  text += school(100006, {{"NumberOfPupils", "many"}});                   // 7: impossible pupils
  text += school(100001);                                                  // 8: URN again
  text += school(0, {{"URN", ""}});                                        // 9: no URN
  text += school(100009, {{"LA (code)", ""}});                            // 10: no LA
  text += school(100010, {{"Easting", "950000"}});                        // 11: off the grid
  text += "100011,101,short row\r\n";                                      // 12: fields missing
  text += school(100012, {{"NumberOfPupils", ""}});                       // 13: no pupils
  text += school(100013, {{"SchoolCapacity", ""}});                       // 14: no places
  text += school(100014);                                                  // 15: good
  const RegisterLoad r = models::parse_register(text, source());
  CHECK_FALSE(r.data);
  INFO(all_errors(r));
  CHECK(r.errors.size() == 12);
  CHECK(message_at(r, 2).empty());
  CHECK(message_at(r, 3).find("URN 100002 (School 100002 (fictional)): no coordinates") != std::string::npos);
  CHECK(message_at(r, 3).find("world.register.missing: impute") != std::string::npos);
  CHECK(message_at(r, 4).find("impossible SchoolCapacity '0' (0 places)") != std::string::npos);
  CHECK(message_at(r, 5).find("impossible PercentageFSM '120.0'") != std::string::npos);
  CHECK(message_at(r, 6).find("no PercentageFSM (suppressed)") != std::string::npos);
  CHECK(message_at(r, 7).find("impossible NumberOfPupils 'many'") != std::string::npos);
  CHECK(message_at(r, 8).find("URN also on line 2") != std::string::npos);
  CHECK(message_at(r, 9).find("no URN") != std::string::npos);
  CHECK(message_at(r, 10).find("no LA (code)") != std::string::npos);
  CHECK(message_at(r, 11).find("impossible coordinates") != std::string::npos);
  CHECK(message_at(r, 12).find("the row has 3 fields; the header has") != std::string::npos);
  CHECK(message_at(r, 13).find("no NumberOfPupils") != std::string::npos);
  CHECK(message_at(r, 14).find("no SchoolCapacity") != std::string::npos);
  CHECK(message_at(r, 15).empty());
  // Columns point at the field.
  for (const auto& e : r.errors)
    if (e.line == 5) CHECK(e.column > 100);

  SUBCASE("with missing: impute the values are imputed and counted - what cannot be imputed stays an error") {
    const RegisterLoad im = models::parse_register(text, source(RegisterMissing::impute));
    CHECK_FALSE(im.data);
    CHECK(im.errors.size() == 4);  // URN twice, no URN, no LA, short row
    for (int line : {8, 9, 10, 12}) CHECK_FALSE(message_at(im, line).empty());
  }
}

TEST_CASE("register: with missing: impute imputed values are counted and plausible") {
  std::string text = tools::gias_header_line();
  text += school(100001, {{"Easting", "530000"}, {"Northing", "180000"}});
  text += school(100002, {{"Easting", "540000"}, {"Northing", "190000"}, {"PercentageFSM", "30.0"}});
  text += school(100003, {{"Easting", ""}, {"Northing", ""}});
  text += school(100004, {{"SchoolCapacity", "0"}});
  text += school(100005, {{"PercentageFSM", "120"}});
  text += school(100006, {{"NumberOfPupils", ""}});
  const RegisterLoad r = models::parse_register(text, source(RegisterMissing::impute));
  REQUIRE_MESSAGE(r.errors.empty(), all_errors(r));
  const SchoolRegister& g = *r.data;
  CHECK(g.imputed.size() == 4);
  CHECK(g.summary.find("imputed (world.register.missing: impute): 1 coordinates, 1 places, 1 pupils, 1 FSM") !=
        std::string::npos);
  std::map<int, RegisterSchool> by;
  for (const auto& s : g.schools) by[s.urn] = s;
  // Coordinates at the mean of the authority's other schools.
  CHECK(by[100003].x_km > 530);
  CHECK(by[100003].x_km < 540);
  CHECK(by[100004].places >= 280);  // pupils / the phase's occupancy
  CHECK(by[100005].disadvantaged > 0.2);
  CHECK(by[100005].disadvantaged < 0.3);
  CHECK(by[100006].pupils > 0);
  CHECK(g.imputed[0].find("line 4:") == 0);
}

TEST_CASE("register: wrong encoding a missing column or a file that is not GIAS gets a line") {
  SUBCASE("UTF-16") {
    const RegisterLoad r = models::parse_register(std::string("\xFF\xFEU\0R\0N\0", 8), source());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 1);
    CHECK(r.errors[0].message.find("UTF-16") != std::string::npos);
  }
  SUBCASE("a NUL byte") {
    std::string text = tools::gias_header_line() + school(100001);
    text[text.size() - 5] = '\0';
    const RegisterLoad r = models::parse_register(text, source());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 2);
    CHECK(r.errors[0].message.find("NUL byte") != std::string::npos);
  }
  SUBCASE("a byte Windows-1252 does not define") {
    const std::string text = tools::gias_header_line() + school(100001) +
                             school(100002, {{"EstablishmentName", "Bad \x81 name"}});
    const RegisterLoad r = models::parse_register(text, source());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 3);
    CHECK(r.errors[0].column > 1);
    CHECK(r.errors[0].message.find("byte 0x81 is not a character in Windows-1252") != std::string::npos);
  }
  SUBCASE("invalid UTF-8 after a UTF-8 byte-order mark") {
    const std::string text = "\xEF\xBB\xBF" + tools::gias_header_line() +
                             school(100001, {{"EstablishmentName", "Caf\xE9"}});
    const RegisterLoad r = models::parse_register(text, source());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 2);
    CHECK(r.errors[0].message.find("not valid UTF-8") != std::string::npos);
  }
  SUBCASE("a missing column") {
    std::string header = tools::gias_header_line();
    const auto at = header.find("PercentageFSM");
    header.replace(at, 13, "PercentFSM");
    const RegisterLoad r = models::parse_register(header + school(100001), source());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 1);
    CHECK(r.errors[0].message.find("'PercentageFSM' is missing") != std::string::npos);
  }
  SUBCASE("not GIAS") {
    const RegisterLoad r = models::parse_register("name,score\r\nAnn,3\r\n", source());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 1);
    CHECK(r.errors[0].message.find("not a GIAS establishment file") != std::string::npos);
    CHECK(r.errors[0].message.find("'name', 'score'") != std::string::npos);
  }
  SUBCASE("an empty file") {
    const RegisterLoad r = models::parse_register("", source());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message.find("empty") != std::string::npos);
  }
}

TEST_CASE("register: Windows-1252 names read as UTF-8 in messages - quoted fields with commas and newlines") {
  std::string text = tools::gias_header_line();
  text += school(100001, {{"EstablishmentName", "St Mary\x92s, \"Caf\xE9\"\nSchool"}});  // line 2-3
  text += school(100002, {{"Easting", ""}, {"EstablishmentName", "Ren\xE9" "e"}});    // line 4
  const RegisterLoad r = models::parse_register(text, source());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 4);
  CHECK(r.errors[0].message.find("URN 100002 (Ren\xC3\xA9" "e): no coordinates") != std::string::npos);
  const RegisterLoad ok = models::parse_register(tools::gias_header_line() +
                                                     school(100001, {{"EstablishmentName", "St Mary\x92s"},
                                                                     {"Easting", ""}}),
                                                 source());
  REQUIRE(ok.errors.size() == 1);
  CHECK(ok.errors[0].message.find("St Mary\xE2\x80\x99s") != std::string::npos);
}

TEST_CASE("register: phases and the schools left out") {
  std::string text = tools::gias_header_line();
  text += school(100001, {{"PhaseOfEducation (name)", "Middle deemed primary"}});
  text += school(100002, {{"PhaseOfEducation (name)", "Middle deemed secondary"}});
  text += school(100003, {{"PhaseOfEducation (name)", "All-through"}});
  text += school(100004, {{"PhaseOfEducation (name)", "Secondary"}, {"TypeOfEstablishment (name)", "Academy converter"}});
  text += school(100005, {{"TypeOfEstablishment (name)", "Foundation special school"}});
  text += school(100006, {{"TypeOfEstablishment (name)", "Pupil referral unit"}});
  text += school(100007, {{"EstablishmentStatus (name)", "Closed"}, {"Easting", ""}});  // not checked
  text += school(100008, {{"PhaseOfEducation (name)", "Nursery"}});
  text += school(100009, {{"TypeOfEstablishment (name)", "Other independent school"}});
  text += school(100010, {{"EstablishmentStatus (name)", "Open, but proposed to close"}});
  const RegisterLoad r = models::parse_register(text, source());
  REQUIRE_MESSAGE(r.errors.empty(), all_errors(r));
  std::map<int, int> phase;
  for (const auto& s : r.data->schools) phase[s.urn] = s.phase;
  CHECK(phase == std::map<int, int>{{100001, 0}, {100002, 1}, {100003, 1}, {100004, 1}, {100010, 0}});
  const std::string& sum = r.data->summary;
  CHECK(sum.find("left out: 1 special schools") != std::string::npos);
  CHECK(sum.find("left out: 1 pupil referral units and alternative provision") != std::string::npos);
  CHECK(sum.find("left out: 1 not open (Closed)") != std::string::npos);
  CHECK(sum.find("left out: 1 phase Nursery") != std::string::npos);
  CHECK(sum.find("left out: 1 of other types (Other independent school 1)") != std::string::npos);
}

TEST_CASE("register: areas and a radius choose a subset") {
  tools::FictionalOptions o;
  o.schools = 1200, o.areas = 12, o.seed = 5;
  const std::string text = tools::fictional_register(o);
  RegisterSource two = source();
  two.areas = {"101", "103"};
  const RegisterLoad r = models::parse_register(text, two);
  REQUIRE_MESSAGE(r.errors.empty(), all_errors(r));
  CHECK(r.data->area_codes == std::vector<std::string>{"101", "103"});
  CHECK(r.data->summary.find("outside world.register.areas") != std::string::npos);
  CHECK(r.data->schools.size() > 150);
  CHECK(r.data->schools.size() < 250);

  const RegisterLoad all = models::parse_register(text, source());
  REQUIRE(all.data);
  const RegisterSchool centre = all.data->schools[500];
  RegisterSource circle = source();
  circle.around_urn = centre.urn;
  circle.radius_km = 15;
  const RegisterLoad c = models::parse_register(text, circle);
  REQUIRE_MESSAGE(c.errors.empty(), all_errors(c));
  std::size_t expected = 0;
  for (const auto& s : all.data->schools)
    expected += std::hypot(s.x_km - centre.x_km, s.y_km - centre.y_km) <= 15 ? 1 : 0;
  CHECK(c.data->schools.size() == expected);
  CHECK(expected < all.data->schools.size());
  for (const auto& s : c.data->schools) CHECK(std::hypot(s.x_km - centre.x_km, s.y_km - centre.y_km) <= 15);

  RegisterSource nowhere = source();
  nowhere.around_urn = 1;
  nowhere.radius_km = 5;
  const RegisterLoad n = models::parse_register(text, nowhere);
  REQUIRE(n.errors.size() == 1);
  CHECK(n.errors[0].message.find("URN 1 is not an open primary or secondary school") != std::string::npos);
}

TEST_CASE("register: the world has the register's schools federations and trusts as ties and URNs") {
  tools::FictionalOptions o;
  o.schools = 600, o.areas = 6, o.seed = 9;
  const RegisterLoad r = models::parse_register(tools::fictional_register(o), source());
  REQUIRE(r.data);
  const SchoolRegister& g = *r.data;
  State s;
  models::build_register_world(defaults(reg().world().params), g, {}, Streams(1, 0), s);
  REQUIRE(s.n_schools() == static_cast<std::int32_t>(g.schools.size()));
  CHECK(s.n_areas == 6);
  std::map<std::int32_t, int> fed_size, trust_size;
  for (std::int32_t i = 0; i < s.n_schools(); ++i) {
    const RegisterSchool& rs = g.schools[static_cast<std::size_t>(i)];
    CHECK(s.urn[i] == rs.urn);
    CHECK(s.pupils[i] == rs.pupils);
    CHECK(s.places[i] == rs.places);
    CHECK(s.x[i] == doctest::Approx(rs.x_km));
    CHECK(s.disadvantaged[i] == doctest::Approx(rs.disadvantaged));
    if (rs.federation >= 0) ++fed_size[rs.federation];
    if (rs.trust >= 0) ++trust_size[rs.trust];
  }
  std::size_t fed_pairs = 0;
  for (const auto& [f, n] : fed_size) fed_pairs += static_cast<std::size_t>(n * (n - 1) / 2);
  std::size_t feds = 0, trusts = 0;
  s.ties.for_each([&](TieStore::Slot t) {
    const auto& a = g.schools[static_cast<std::size_t>(s.ties.a[t])];
    const auto& b = g.schools[static_cast<std::size_t>(s.ties.b[t])];
    if (s.ties.kind[t] == TieKind::federation) {
      ++feds;
      CHECK(a.federation == b.federation);
    } else {
      REQUIRE(s.ties.kind[t] == TieKind::trust);
      ++trusts;
      CHECK(a.trust == b.trust);
    }
  });
  CHECK(feds == fed_pairs);
  CHECK(feds > 0);
  CHECK(trusts > 0);
  // Capacity falls with disadvantage, as in the generated world.
  double cov = 0;
  const double md = s.disadvantaged.mean(), mc = s.capacity.mean();
  for (std::int32_t i = 0; i < s.n_schools(); ++i) cov += (s.disadvantaged[i] - md) * (s.capacity[i] - mc);
  CHECK(cov < 0);
  // Another seed draws another capacity for the same schools.
  State t;
  models::build_register_world(defaults(reg().world().params), g, {}, Streams(2, 0), t);
  CHECK((t.pupils == s.pupils).all());
  CHECK_FALSE((t.capacity == s.capacity).all());
}

TEST_CASE("register: world.register in a scenario its problems as file:line and what it replaces") {
  test::TempDir dir;
  tools::FictionalOptions o;
  o.schools = 300, o.areas = 3;
  test::write_text(dir.path() / "good.csv", tools::fictional_register(o));
  test::write_text(dir.path() / "bad.csv", tools::gias_header_line() + school(100001) +
                                               school(100002, {{"PercentageFSM", "101"}}));
  const std::string scen = (dir.path() / "s.yaml").string();
  {
    auto r = parse_scenario("world: {register: good.csv, format: gias, capacity_mean: 0.4}\nyears: 1\n", scen, reg());
    REQUIRE_MESSAGE(r.errors.empty(), first_error(r.errors));
    REQUIRE(r.scenario->register_data);
    CHECK(r.scenario->register_data->schools.size() == 300);
    // The resolved scenario names the register and parses again to the same world.
    const std::string yaml = to_yaml(*r.scenario, reg());
    CHECK(yaml.find("good.csv") != std::string::npos);
    CHECK(yaml.find("map_km") == std::string::npos);  // what the register replaces is left out
    auto again = parse_scenario(yaml, (dir.path() / "again.yaml").string(), reg());
    REQUIRE_MESSAGE(again.errors.empty(), first_error(again.errors));
    CHECK(again.scenario->world == r.scenario->world);
    const State a = generate_world(*r.scenario, reg(), 0), b = generate_world(*again.scenario, reg(), 0);
    CHECK((a.capacity == b.capacity).all());
    CHECK((a.urn == b.urn).all());
    CHECK(a.urn[0] >= 900001);
  }
  {
    auto r = parse_scenario("world:\n  register: {path: bad.csv}\n", scen, reg());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].file == (dir.path() / "bad.csv").string());
    CHECK(r.errors[0].line == 3);
    CHECK(r.errors[0].str().find("bad.csv:3:") != std::string::npos);
    auto imputed = parse_scenario("world:\n  register: {path: bad.csv, missing: impute}\n", scen, reg());
    REQUIRE_MESSAGE(imputed.errors.empty(), first_error(imputed.errors));
  }
  {
    auto r = parse_scenario("world:\n  register: none.csv\n  schools: 40\n  missing: later\n", scen, reg());
    std::string all;
    for (const auto& e : r.errors) all += e.str() + "\n";
    CHECK(r.errors.size() == 3);
    CHECK(all.find("s.yaml:3:3: error: world.schools: not used with world.register") != std::string::npos);
    CHECK(all.find("world.missing: unknown value 'later'") != std::string::npos);
    CHECK(all.find("s.yaml:2:13: error: world.register: cannot read 'none.csv'") != std::string::npos);
  }
  {
    auto r = parse_scenario("world: {register: good.csv, areas: [101], around: {urn: 900001, radius_km: 20}}\n",
                            scen, reg());
    REQUIRE_MESSAGE(r.errors.empty(), first_error(r.errors));
    for (const auto& s : r.scenario->register_data->schools) CHECK(s.area == 0);
    CHECK(r.scenario->register_data->area_codes == std::vector<std::string>{"101"});
  }
}

TEST_CASE("register: the shipped sample register is what the tool writes and its scenario runs") {
  const fs::path src(SCHOOLSIM_SOURCE_DIR);
  tools::FictionalOptions o;  // the options docs/DATA.md gives for the sample
  o.seed = 2026, o.schools = 600, o.areas = 6;
  const std::string bytes = tools::fictional_register(o);
  CHECK(test::read_bytes(src / "scenarios" / "data" / "register_sample.csv") == bytes);
  CHECK(bytes.size() < 1024 * 1024);
  auto r = load_scenario((src / "scenarios" / "register_sample.yaml").string(), reg());
  REQUIRE_MESSAGE(r.errors.empty(), first_error(r.errors));
  REQUIRE(r.scenario->register_data);
  CHECK(r.scenario->register_data->schools.size() == 600);
}
