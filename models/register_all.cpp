#include "models/register_all.hpp"

#include "models/constructivism/constructivism.hpp"
#include "models/durkheim/durkheim.hpp"
#include "models/market/market.hpp"
#include "models/policy/policy.hpp"
#include "models/social_capital/social_capital.hpp"
#include "models/social_movement/social_movement.hpp"
#include "models/ties/ties.hpp"
#include "models/outcomes/outcomes.hpp"
#include "models/school/school.hpp"
#include "models/world/world.hpp"

namespace schoolsim::models {

void register_all(Registry& registry) {
  registry.set_world(world_info());
  // The registry lists the mechanisms in the phases of the process overview
  // (docs/ODD.md, section 3), which is the order Registry::add requires.
  // 1. policy: programmes launch, area strategies broker, prescription
  registry.add(programme_info());
  registry.add(area_strategy_info());
  registry.add(prescription_info());
  // 2. shocks
  registry.add(crises_info());
  // 3. tie formation
  registry.add(tie_formation_info());
  // 4. interaction on ties, one module per framework
  registry.add(constructivism_info());
  registry.add(social_capital_info());
  registry.add(durkheim_info());
  registry.add(social_movement_info());
  // 5. school update
  registry.add(turnover_info());
  // 6. tie dissolution
  registry.add(tie_dissolution_info());
  // 7. yearly: results, expectations from partners, admissions, funding and
  // accountability, the breadth the new rolls allow, and federations
  registry.add(attainment_info());
  registry.add(expectations_info());
  registry.add(market_info());
  registry.add(opportunities_info());
  registry.add(federations_info());
  // 8. record: ties age a term (in every pipeline; the recorder then stores the state)
  registry.add(tie_ageing_info());
}

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_all(reg);
    return reg;
  }();
  return r;
}

}  // namespace schoolsim::models
