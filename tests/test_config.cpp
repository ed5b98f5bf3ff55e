#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "test_util.hpp"

using namespace schoolsim;
namespace fs = std::filesystem;

namespace {

const Registry& reg() { return models::registry(); }

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("a minimal scenario gets every default filled in") {
  auto r = parse_scenario("years: 3\n", "mini.yaml", reg());
  REQUIRE(r.errors.empty());
  const Scenario& s = *r.scenario;
  CHECK(s.name == "mini");
  CHECK(s.years == 3);
  CHECK(s.seed == 1);
  CHECK(s.replicates == 1);
  CHECK(s.world.size() == reg().world().params.size());
  // No pipeline given: every registered mechanism but the policies, in registry order.
  std::vector<const MechanismInfo*> expected;
  for (const auto& m : reg().mechanisms())
    if (m.in_default_pipeline) expected.push_back(&m);
  CHECK(expected.size() < reg().mechanisms().size());
  REQUIRE(s.pipeline.size() == expected.size());
  for (std::size_t i = 0; i < s.pipeline.size(); ++i) {
    CHECK(s.pipeline[i].info == expected[i]);
    CHECK(s.pipeline[i].values == defaults(expected[i]->params));
  }
  CHECK(s.record.every == Cadence::year);
  CHECK(!s.record.schools.empty());
}

TEST_CASE("parameters pipeline order and timeline are read as written") {
  const char* text = R"(
seed: 18446744073709551615
years: 4
world: {schools: 12, areas: 3}
pipeline:
  - turnover: {reversion: 0.25}
  - attainment
timeline:
  - {year: 2, term: 3, set: {turnover.reversion: 0.5, attainment.noise_sd: 0}}
record: {every: term, schools: [capacity, practice], ties: false}
)";
  auto r = parse_scenario(text, "x.yaml", reg());
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0].str()));
  const Scenario& s = *r.scenario;
  CHECK(s.seed == 18446744073709551615ull);
  CHECK(s.world[reg().world().schools_param] == 12);
  REQUIRE(s.pipeline.size() == 2);
  CHECK(s.pipeline[0].info->name == "turnover");
  CHECK(s.pipeline[1].info->name == "attainment");
  CHECK(s.pipeline[0].values[param_index(s.pipeline[0].info->params, "reversion")] == 0.25);
  REQUIRE(s.timeline.size() == 2);
  CHECK(s.timeline[0].absolute_term() == 2 * 3 + 2);
  CHECK(s.timeline[0].entry == 0);
  CHECK(s.timeline[0].value == 0.5);
  CHECK(s.timeline[1].entry == 1);
  CHECK(s.record.every == Cadence::term);
  CHECK(s.record.schools == std::vector<Field>{Field::capacity, Field::practice});
  CHECK_FALSE(s.record.ties);

  // The resolved text parses back to the same scenario.
  const std::string yaml = to_yaml(s, reg());
  auto again = parse_scenario(yaml, "resolved.yaml", reg());
  REQUIRE_MESSAGE(again.errors.empty(), yaml);
  CHECK(to_yaml(*again.scenario, reg()) == yaml);
  CHECK(again.scenario->seed == s.seed);
  CHECK(again.scenario->pipeline[0].values == s.pipeline[0].values);
  CHECK(again.scenario->timeline.size() == 2);
}

TEST_CASE("a pipeline out of the phases' order is refused where it is with every problem listed") {
  auto r = parse_scenario("years: 1\npipeline:\n  - tie_dissolution\n  - crises\n  - turnover\n", "p.yaml", reg());
  CHECK_FALSE(r.scenario);
  // turnover (school update) is also before tie dissolution: both are reported.
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].str().starts_with(
      "p.yaml:4:5: error: pipeline[1]: 'crises' (shocks phase) is listed after 'tie_dissolution' (tie dissolution "
      "phase); a term's phases are policy events, shocks, tie formation, interaction, school update, tie dissolution, "
      "yearly, record"));
  CHECK(r.errors[1].line == 5);
  CHECK(r.errors[1].column == 5);
  // In order, nothing is said.
  auto ok = parse_scenario("years: 1\npipeline: [crises, tie_dissolution]\n", "q.yaml", reg());
  CHECK(ok.scenario);
  CHECK(ok.errors.empty());
}

TEST_CASE("the library's scenarios list their pipelines in the phases' order") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(SCHOOLSIM_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    CAPTURE(e.path().string());
    auto r = load_scenario(e.path().string(), reg());
    REQUIRE(r.scenario);
    for (std::size_t i = 1; i < r.scenario->pipeline.size(); ++i)
      CHECK(r.scenario->pipeline[i - 1].info->phase <= r.scenario->pipeline[i].info->phase);
    ++n;
  }
  CHECK(n >= 10);
}

TEST_CASE("every scenario shipped in scenarios/ validates") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(SCHOOLSIM_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    auto r = load_scenario(e.path().string(), reg());
    CHECK_MESSAGE(r.errors.empty(), e.path().string() << ": "
                                                      << (r.errors.empty() ? "" : r.errors[0].str()));
    ++n;
  }
  CHECK(n >= 1);
}

TEST_CASE("broken scenario corpus: every problem is reported at its line and column") {
  const fs::path dir = fs::path(SCHOOLSIM_SOURCE_DIR) / "tests" / "scenarios" / "bad";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  CHECK(files.size() >= 15);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const fs::path expected_path = fs::path(file).replace_extension(".expected");
    REQUIRE(fs::exists(expected_path));
    const auto expected = lines_of(expected_path);
    const auto r = load_scenario(file.string(), reg());
    CHECK_FALSE(r.scenario.has_value());
    std::ostringstream got;
    for (const auto& d : r.errors) got << d.str() << "\n";
    CAPTURE(got.str());
    CHECK(r.errors.size() == expected.size());
    for (const auto& want : expected) {
      // "LINE:COL: substring"
      const auto c1 = want.find(':'), c2 = want.find(':', c1 + 1);
      REQUIRE(c2 != std::string::npos);
      const int line = std::stoi(want.substr(0, c1));
      const int col = std::stoi(want.substr(c1 + 1, c2 - c1 - 1));
      const std::string needle = want.substr(want.find_first_not_of(' ', c2 + 1));
      const bool found = std::any_of(r.errors.begin(), r.errors.end(), [&](const Diagnostic& d) {
        return d.line == line && d.column == col && d.message.find(needle) != std::string::npos &&
               d.file == file.string();
      });
      CHECK_MESSAGE(found, "expected " << want);
    }
  }
}

TEST_CASE("typos get the nearest valid name - far-off words get the list") {
  auto r = parse_scenario("yeers: 3\nbanana: 1\npipeline: [turnovr]\n", "t.yaml", reg());
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].str() == "t.yaml:1:1: error: unknown key 'yeers'; did you mean 'years'?");
  CHECK(r.errors[1].message.find("valid keys are: extends, name, description, seed") != std::string::npos);
  CHECK(r.errors[2].line == 3);
  CHECK(r.errors[2].column == 12);
  CHECK(r.errors[2].message.find("did you mean 'turnover'?") != std::string::npos);
}

TEST_CASE("nearest and edit distance") {
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(nearest("capacty", {"capacity", "crisis"}) == "capacity");
  CHECK(nearest("zzzzzz", {"capacity", "crisis"}).empty());
}

// ---------------------------------------------------------------- input edges (issue 14)

TEST_CASE("input files: only regular files of a sensible size are read") {
  const fs::path dir = fs::temp_directory_path() / ("schoolsim-input-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // A device that never ends, a FIFO nobody writes to, a directory: refused at once.
  auto dev = load_scenario("/dev/zero", reg());
  REQUIRE(dev.errors.size() == 1);
  CHECK(dev.errors[0].message.find("not a regular file") != std::string::npos);
  const fs::path fifo = dir / "pipe.yaml";
  fs::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto pipe = load_scenario(fifo.string(), reg());
  REQUIRE(pipe.errors.size() == 1);
  CHECK(pipe.errors[0].message.find("not a regular file") != std::string::npos);
  auto folder = load_scenario(dir.string(), reg());
  REQUIRE(folder.errors.size() == 1);
  CHECK(folder.errors[0].message.find("is a directory") != std::string::npos);
  // Larger than any scenario: refused from its size, unread.
  {
    std::ofstream big(dir / "big.yaml");
    big << "years: 3\n" << std::string(5 * 1024 * 1024, '#') << "\n";
  }
  auto large = load_scenario((dir / "big.yaml").string(), reg());
  REQUIRE(large.errors.size() == 1);
  CHECK(large.errors[0].message.find("at most 4 MiB") != std::string::npos);
  // The same for extends: targets and experiment files.
  {
    std::ofstream child(dir / "child.yaml");
    child << "extends: /dev/zero\n";
  }
  auto child = load_scenario((dir / "child.yaml").string(), reg());
  REQUIRE(child.errors.size() == 1);
  CHECK(child.errors[0].line == 1);
  CHECK(child.errors[0].message.find("not a regular file") != std::string::npos);
  auto experiment = load_experiment(fifo.string(), reg());
  REQUIRE(experiment.errors.size() == 1);
  CHECK(experiment.errors[0].message.find("not a regular file") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("input files: a file extends: names by mistake is not echoed in the message") {
  const fs::path bad = fs::path(SCHOOLSIM_SOURCE_DIR) / "tests" / "scenarios" / "bad";
  auto r = load_scenario((bad / "67-extends-not-a-scenario.yaml").string(), reg());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("notes for the class") == std::string::npos);
  CHECK(r.errors[0].message.size() < 120);
  // Nor is a long scalar anywhere else.
  auto s = parse_scenario("name: [" + std::string(300, 'z') + "]\n", "t.yaml", reg());
  REQUIRE_FALSE(s.errors.empty());
  CHECK(s.errors[0].message.size() < 160);
}

TEST_CASE("the resolved scenario is a fixed point: it reads back to the same text") {
  for (const char* description : {"One line.", "Two lines:\nthe second.\n", "Trailing breaks\n\n\n", "  indented"}) {
    CAPTURE(description);
    Scenario base = *parse_scenario("years: 3\n", "s.yaml", reg()).scenario;
    base.description = description;
    const std::string once = to_yaml(base, reg());
    auto back = parse_scenario(once, "s.yaml", reg());
    REQUIRE(back.scenario);
    const std::string twice = to_yaml(*back.scenario, reg());
    CHECK(twice == once);
    auto third = parse_scenario(twice, "s.yaml", reg());
    REQUIRE(third.scenario);
    CHECK(to_yaml(*third.scenario, reg()) == once);
  }
  // Every shipped scenario, too.
  for (const auto& e : fs::directory_iterator(fs::path(SCHOOLSIM_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    CAPTURE(e.path().string());
    auto r = load_scenario(e.path().string(), reg());
    REQUIRE(r.scenario);
    const std::string once = to_yaml(*r.scenario, reg());
    auto back = parse_scenario(once, e.path().string(), reg());
    REQUIRE(back.scenario);
    CHECK(to_yaml(*back.scenario, reg()) == once);
  }
}

TEST_CASE("without: removes mechanisms from the inherited pipeline by name or by framework") {
  schoolsim::test::TempDir dir;
  schoolsim::test::write_text(dir.path() / "base.yaml", R"(years: 6
pipeline:
  - programme: {year: 1}
  - crises
  - tie_formation
  - constructivism
  - social_capital
  - durkheim: {regulation: 0.2}
  - social_movement
  - turnover
  - attainment
timeline:
  - {year: 2, set: {durkheim.regulation: 0.3}}
  - {year: 3, set: {crises.rate: 0.1}}
)");
  auto names = [](const Scenario& s) {
    std::vector<std::string> out;
    for (const auto& e : s.pipeline) out.push_back(e.info->name);
    return out;
  };
  const auto base = load_scenario((dir.path() / "base.yaml").string(), reg());
  REQUIRE(base.errors.empty());

  // A framework switched off: the rest of the pipeline, its order, parameters and timeline kept.
  schoolsim::test::write_text(dir.path() / "no_durkheim.yaml", "extends: base.yaml\nwithout: [durkheim]\n");
  auto r = load_scenario((dir.path() / "no_durkheim.yaml").string(), reg());
  REQUIRE(r.errors.empty());
  CHECK(names(*r.scenario) == std::vector<std::string>{"programme", "crises", "tie_formation", "constructivism",
                                                       "social_capital", "social_movement", "turnover",
                                                       "attainment"});
  for (std::size_t i = 0; i < r.scenario->pipeline.size(); ++i) {
    const auto& e = r.scenario->pipeline[i];
    const auto same = std::find_if(base.scenario->pipeline.begin(), base.scenario->pipeline.end(),
                                   [&](const PipelineEntry& b) { return b.info == e.info; });
    REQUIRE(same != base.scenario->pipeline.end());
    CHECK(e.values == same->values);
  }
  // The removed mechanism's timeline event goes with it; the other follows crises to its new place.
  REQUIRE(r.scenario->timeline.size() == 1);
  CHECK(r.scenario->pipeline[r.scenario->timeline[0].entry].info->name == "crises");
  CHECK(r.scenario->timeline[0].year == 3);
  // The resolved scenario (validate --resolved) lists the pipeline without it, and reads back the same.
  const std::string resolved = to_yaml(*r.scenario, reg());
  CHECK(resolved.find("\n  - durkheim:") == std::string::npos);
  CHECK(resolved.find("\n  - social_movement:") != std::string::npos);
  CHECK(resolved.find("without") == std::string::npos);
  auto again = parse_scenario(resolved, (dir.path() / "again.yaml").string(), reg());
  REQUIRE(again.errors.empty());
  CHECK(names(*again.scenario) == names(*r.scenario));

  // Several at once, and a family of mechanisms (the models/ folder) by its name; set applies after.
  schoolsim::test::write_text(dir.path() / "lean.yaml",
                              "extends: base.yaml\nwithout: [policy, social_capital, durkheim]\n"
                              "set: {crises.rate: 0.2}\n");
  r = load_scenario((dir.path() / "lean.yaml").string(), reg());
  REQUIRE(r.errors.empty());
  CHECK(names(*r.scenario) == std::vector<std::string>{"crises", "tie_formation", "constructivism",
                                                       "social_movement", "turnover", "attainment"});

  // A chain: a grandchild inherits the shorter pipeline and may remove more.
  schoolsim::test::write_text(dir.path() / "grandchild.yaml", "extends: no_durkheim.yaml\nwithout: constructivism\n");
  r = load_scenario((dir.path() / "grandchild.yaml").string(), reg());
  REQUIRE(r.errors.empty());
  CHECK(names(*r.scenario) == std::vector<std::string>{"programme", "crises", "tie_formation", "social_capital",
                                                       "social_movement", "turnover", "attainment"});
}

TEST_CASE("without: every name must remove something and each problem is reported where it is") {
  schoolsim::test::TempDir dir;
  schoolsim::test::write_text(dir.path() / "base.yaml", "years: 4\npipeline: [crises, durkheim, turnover]\n");
  auto load = [&](const std::string& file, const std::string& text) {
    schoolsim::test::write_text(dir.path() / file, text);
    return load_scenario((dir.path() / file).string(), reg());
  };
  auto only = [](const LoadResult& r, int line, int column, const std::string& needle) {
    REQUIRE(r.errors.size() == 1);
    CAPTURE(r.errors[0].str());
    CHECK(r.errors[0].file.find(".yaml") != std::string::npos);
    CHECK(r.errors[0].line == line);
    CHECK(r.errors[0].column == column);
    CHECK(r.errors[0].message.find(needle) != std::string::npos);
  };
  // A mechanism that exists but is not in the inherited pipeline: at its place in the list.
  only(load("a.yaml", "extends: base.yaml\nwithout: [durkheim, social_capital]\n"), 2, 21,
       "without[1]: 'social_capital' is not in the pipeline inherited from base.yaml (crises, turnover)");
  // A framework none of whose mechanisms is there.
  only(load("b.yaml", "extends: base.yaml\nwithout:\n  - policy\n"), 3, 5,
       "no mechanism of 'policy' (programme, area_strategy, prescription, federations) is in the pipeline");
  // A typo gets the nearest name.
  only(load("c.yaml", "extends: base.yaml\nwithout: [durkhiem]\n"), 2, 11,
       "unknown mechanism or framework 'durkhiem'; did you mean 'durkheim'?");
  // Twice, and not a name.
  only(load("d.yaml", "extends: base.yaml\nwithout: [durkheim, durkheim]\n"), 2, 21, "'durkheim' is listed twice");
  only(load("e.yaml", "extends: base.yaml\nwithout: [{durkheim: 1}]\n"), 2, 11, "expected a mechanism or framework name");
  only(load("f.yaml", "extends: base.yaml\nwithout: {durkheim: true}\n"), 2, 10, "expected a list of mechanism");
  // Without extends, or beside a pipeline of the file's own, it has nothing to act on.
  only(load("g.yaml", "years: 3\nwithout: [durkheim]\n"), 2, 10, "this file extends none");
  only(load("h.yaml", "extends: base.yaml\npipeline: [crises]\nwithout: [durkheim]\n"), 3, 10,
       "gives a pipeline of its own");
  // A change to a removed mechanism says why it is gone.
  only(load("i.yaml", "extends: base.yaml\nwithout: [durkheim]\nset: {durkheim.regulation: 0.1}\n"), 3, 7,
       "'durkheim' is removed from the pipeline by without: [durkheim]");
  // Every problem is listed, in the order of the file.
  const auto many = load("j.yaml", "extends: base.yaml\nwithout: [market, durkheim, nonsense_name_here]\n");
  REQUIRE(many.errors.size() == 2);
  CHECK(many.errors[0].column == 11);
  CHECK(many.errors[1].column == 29);
  CHECK(many.errors[1].message.find("valid names are:") != std::string::npos);
}
