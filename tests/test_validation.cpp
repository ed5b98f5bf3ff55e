// The validation targets of docs/VALIDATION.md (tests/validation/patterns.cpp),
// as small fast ensembles: 5 seeds of their own (not the validation seeds) in
// worlds of 800 schools. Each test prints the estimate it judges; the full
// ensembles run with `bash tools/dev validate`.
#include <doctest/doctest.h>

#include <cmath>

#include "validation/patterns.hpp"

using namespace schoolsim::validation;

namespace {

void check_target(const std::string& id) {
  const Target* target = nullptr;
  for (const auto& t : targets())
    if (t.id == id) target = &t;
  REQUIRE_MESSAGE(target != nullptr, "no validation target " << id);
  const Size size{800, 1};
  std::vector<double> values;
  for (std::uint64_t seed = 700001; seed < 700006; ++seed) values.push_back(target->run(seed, size));
  const Estimate e = estimate(values);
  MESSAGE(id << " (" << target->claim << "): " << e.mean << " [" << e.lo << ", " << e.hi << "] " << target->unit);
  for (double v : values) CHECK(std::isfinite(v));
  // Targets that need the full ensemble's world size to be judged are run and
  // printed here, and judged by docs/VALIDATION.md.
  if (target->fast_checks) CHECK_MESSAGE(passes(*target, e), id << " fails: " << target->claim);
}

}  // namespace

TEST_CASE("validation P1a: federated weak schools pull ahead") { check_target("P1a"); }
TEST_CASE("validation P1b: little of the federation gain after one year") { check_target("P1b"); }
TEST_CASE("validation P1c: most of the federation gain by years two to four") { check_target("P1c"); }
TEST_CASE("validation P2: competition alone gives about zero average gain") { check_target("P2"); }
TEST_CASE("validation P3: more choice raises segregation") { check_target("P3"); }
TEST_CASE("validation P4: an area strategy raises disadvantaged pupils' results") { check_target("P4"); }
TEST_CASE("validation P5: accountability pressure isolates weak schools") { check_target("P5"); }
TEST_CASE("validation P6a: expectations rise with qualifying partners") { check_target("P6a"); }
TEST_CASE("validation P6b: ties as such do not raise expectations") { check_target("P6b"); }
TEST_CASE("validation A1a: league tables raise the lower three quarters") { check_target("A1a"); }
TEST_CASE("validation A1b: league tables leave the top quarter alone") { check_target("A1b"); }
TEST_CASE("validation A2: just failing an inspection raises results") { check_target("A2"); }
TEST_CASE("validation C1: about 40% of variance between schools") { check_target("C1"); }
TEST_CASE("validation C2: attainment gap of 0.5 to 0.8 SD") { check_target("C2"); }
// C3 fails, at every size: with the default market far more entrants go to
// their nearest school than England's 45% (docs/VALIDATION.md). It is a target
// of the calibration issue. Marked should_fail, this test fails the day the
// model meets the target, so that the mark is then removed, not forgotten.
TEST_CASE("validation C3: about 45% of pupils at their nearest school (fails until calibrated)" *
          doctest::should_fail()) {
  check_target("C3");
}
TEST_CASE("validation S1: a world with nothing changing keeps its results") { check_target("S1"); }
TEST_CASE("validation S2: a world with nothing changing keeps its capacity") { check_target("S2"); }
TEST_CASE("validation F1: funding for disadvantaged pupils narrows the gap") { check_target("F1"); }
