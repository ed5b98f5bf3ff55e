#include "models/register_all.hpp"

#include "models/constructivism/constructivism.hpp"
#include "models/market/market.hpp"
#include "models/outcomes/outcomes.hpp"
#include "models/school/school.hpp"
#include "models/world/world.hpp"

namespace schoolsim::models {

void register_all(Registry& registry) {
  registry.set_world(world_info());
  // 2. shocks
  registry.add(crises_info());
  // 4. interaction on ties
  registry.add(transfer_info());
  // 5. school update
  registry.add(turnover_info());
  // 7. yearly: results, then admissions, funding and accountability, then
  // the breadth the new rolls allow
  registry.add(attainment_info());
  registry.add(market_info());
  registry.add(opportunities_info());
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
