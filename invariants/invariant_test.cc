#include "invariants/invariant.h"

#include <gtest/gtest.h>

namespace seedgrid::invariants {
namespace {

TEST(Invariant, EveryNameRoundTripsAndIsUnique) {
  for (const InvariantInfo& info : AllInvariants()) {
    EXPECT_EQ(InvariantName(info.id), info.name);
    ASSERT_TRUE(ParseInvariant(info.name).has_value()) << info.name;
    EXPECT_EQ(*ParseInvariant(info.name), info.id);
    EXPECT_FALSE(info.summary.empty()) << info.name;
  }
  EXPECT_FALSE(ParseInvariant("lww-model").has_value());
  EXPECT_FALSE(ParseInvariant("").has_value());
}

TEST(Invariant, EachKindOfRunListsItsOwn) {
  EXPECT_EQ(InvariantList(false),
            "convergence, lww_model, or_model, pn_model, hlc, queries, liveness");
  EXPECT_EQ(InvariantList(true),
            "hlc, grid_table, grid_convergence, grid_durability, grid_exactly_once, "
            "grid_live_queries, grid_storage_acks, grid_lost_update, grid_lww_model, "
            "grid_pn_model, grid_or_model, liveness");
}

}  // namespace
}  // namespace seedgrid::invariants
