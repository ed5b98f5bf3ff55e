// Policy levers and scenario inheritance: what survives a programme's
// funding, and `extends`.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "models/register_all.hpp"
#include "sim/config/config.hpp"
#include "sim/measures.hpp"
#include "sim/simulation.hpp"
#include "test_util.hpp"

using namespace schoolsim;
namespace fs = std::filesystem;

namespace {

const Registry& reg() { return models::registry(); }

Scenario load_file(const fs::path& p) {
  auto r = load_scenario(p.string(), reg());
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0].str()));
  return *r.scenario;
}

const fs::path kScenarios = fs::path(SCHOOLSIM_SOURCE_DIR) / "scenarios";

}  // namespace

// Pattern 4 (an area strategy narrows the gap in its area) is validation
// target P4: tests/test_validation.cpp and docs/VALIDATION.md.

TEST_CASE("nlc_2002 reports how many programme ties survive the end of funding") {
  Scenario sc = load_file(kScenarios / "nlc_2002.yaml");
  sc.world[reg().world().schools_param] = 4000;  // the same programme in a smaller system, for speed
  sc.years = 8;
  const Recording rec = run_replicate(sc, reg(), 0, {});
  std::size_t after = 0, programme = 0;
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    if (kSystemMeasures[m].name == "ties_after_funding") after = m;
    if (kSystemMeasures[m].name == "ties_programme") programme = m;
  }
  std::int64_t formed = 0, ended_by_funding = 0;
  for (const auto& e : rec.tie_events) {
    if (e.kind != TieKind::programme) continue;
    if (e.event == TieEventType::formed) ++formed;
    if (e.reason == TieReason::funding_ended) ++ended_by_funding;
  }
  // Funding runs from the start of year 2 to the start of year 5 (term 15).
  double before_end = 0, survivors = 0;
  for (std::size_t row = 0; row < rec.system_terms.size(); ++row) {
    if (rec.system_terms[row] == 15) before_end = rec.system[programme][row];
    if (rec.system_terms[row] < 15) CHECK(rec.system[after][row] == 0);
    if (rec.system_terms[row] == 16) survivors = rec.system[after][row];
  }
  MESSAGE("programme ties formed " << formed << ", in place when funding ended " << before_end
                                   << ", surviving it " << survivors << ", ended for lack of trust "
                                   << ended_by_funding);
  CHECK(formed > 400);
  CHECK(survivors > 0);
  CHECK(ended_by_funding > 0);
  CHECK(survivors + static_cast<double>(ended_by_funding) == doctest::Approx(before_end));
}

TEST_CASE("extends: a scenario overrides only what differs from the one it extends") {
  test::TempDir dir;
  test::write_text(dir.path() / "base.yaml", R"(
name: base
seed: 5
years: 6
world: {schools: 100, areas: 2, reach_km: 8}
pipeline:
  - crises
  - turnover: {reversion: 0.05}
  - attainment
timeline:
  - {year: 3, set: {crises.rate: 0.2}}
record: {every: term, schools: [capacity]}
)");
  test::write_text(dir.path() / "child.yaml", R"(
extends: base.yaml
years: 5
world: {areas: 4}
set: {turnover.noise_sd: 0}
record: {ties: false}
)");
  const Scenario base = load_file(dir.path() / "base.yaml");
  const Scenario child = load_file(dir.path() / "child.yaml");
  CHECK(child.name == "child");
  CHECK(child.seed == 5);
  CHECK(child.years == 5);
  const auto& w = reg().world().params;
  CHECK(child.world[static_cast<std::size_t>(param_index(w, "schools"))] == 100);
  CHECK(child.world[static_cast<std::size_t>(param_index(w, "areas"))] == 4);
  CHECK(child.world[static_cast<std::size_t>(param_index(w, "reach_km"))] == 8);
  REQUIRE(child.pipeline.size() == 3);
  const auto& turnover = child.pipeline[1];
  CHECK(turnover.values[static_cast<std::size_t>(param_index(turnover.info->params, "reversion"))] == 0.05);
  CHECK(turnover.values[static_cast<std::size_t>(param_index(turnover.info->params, "noise_sd"))] == 0);
  CHECK(base.pipeline[1].values[static_cast<std::size_t>(param_index(turnover.info->params, "noise_sd"))] != 0);
  REQUIRE(child.timeline.size() == 1);
  CHECK(child.timeline[0].entry == 0);
  CHECK(child.record.every == Cadence::term);
  CHECK(child.record.schools == std::vector<Field>{Field::capacity});
  CHECK_FALSE(child.record.ties);

  // A new pipeline takes the inherited timeline along by mechanism name.
  test::write_text(dir.path() / "reordered.yaml", "extends: base.yaml\npipeline: [programme, crises, attainment]\n");
  const Scenario reordered = load_file(dir.path() / "reordered.yaml");
  REQUIRE(reordered.timeline.size() == 1);
  CHECK(reordered.pipeline[reordered.timeline[0].entry].info->name == "crises");
}

TEST_CASE("extends: cycles - missing parents and broken parents are clear errors") {
  test::TempDir dir;
  test::write_text(dir.path() / "a.yaml", "extends: b.yaml\nyears: 3\n");
  test::write_text(dir.path() / "b.yaml", "extends: a.yaml\n");
  auto r = load_scenario((dir.path() / "a.yaml").string(), reg());
  REQUIRE(r.errors.size() == 2);  // a's extends, and the cycle where it closes, in b
  CHECK(r.errors[0].message.find("'b.yaml' has 1 problem(s)") != std::string::npos);
  CHECK(r.errors[1].file.find("b.yaml") != std::string::npos);
  CHECK(r.errors[1].message.find("leads back to itself: a.yaml -> b.yaml -> a.yaml") != std::string::npos);
  CHECK(r.errors[1].line == 1);

  test::write_text(dir.path() / "orphan.yaml", "years: 3\nextends: nowhere.yaml\n");
  r = load_scenario((dir.path() / "orphan.yaml").string(), reg());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].column == 10);
  CHECK(r.errors[0].message.find("cannot find 'nowhere.yaml'") != std::string::npos);

  test::write_text(dir.path() / "broken.yaml", "yeers: 3\n");
  test::write_text(dir.path() / "kid.yaml", "extends: broken.yaml\n");
  r = load_scenario((dir.path() / "kid.yaml").string(), reg());
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].message.find("has 1 problem(s)") != std::string::npos);
  CHECK(r.errors[1].file.find("broken.yaml") != std::string::npos);

  test::write_text(dir.path() / "short.yaml", "extends: base.yaml\nyears: 2\n");
  test::write_text(dir.path() / "base.yaml", "years: 6\npipeline: [crises]\ntimeline: [{year: 4, set: {crises.rate: 0.1}}]\n");
  r = load_scenario((dir.path() / "short.yaml").string(), reg());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("beyond the 2 years") != std::string::npos);
}
