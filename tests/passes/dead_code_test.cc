// dead-code: ops nobody reads, unused tensors/buffers, duplicate constants.
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

TEST(DeadCode, RemovesUnreadOpsAndSharesDuplicateConstants) {
  Builder b;
  int x = b.input("x", {1, 4});
  int c1 = b.f32("c1", {1, 2, 3, 4}, {1, 4});
  int c2 = b.f32("c2", {1, 2, 3, 4}, {1, 4});  // same bytes as c1
  int a = b.op(BuiltinOperator_ADD, {x, c1}, {1, 4}, "a", Builder::opts(AddOptionsT{}));
  int m = b.op(BuiltinOperator_MUL, {a, c2}, {1, 4}, "m", Builder::opts(MulOptionsT{}));
  b.op(BuiltinOperator_RELU, {a}, {1, 4}, "dead");  // nobody reads it
  b.output(m);
  b.g.add_constant_f32("orphan", {2}, std::vector<float>{5, 6});  // unused tensor + buffer
  auto r = optimize(b, {"dead-code"});
  EXPECT_TRUE(r.res.changed);
  EXPECT_TRUE(r.verified()) << r.res.report.dump(2);
  EXPECT_EQ(r.graph->num_ops(), 2);
  EXPECT_EQ(r.count("RELU"), 0);
  EXPECT_EQ(r.graph->tensor(r.graph->op(0).inputs[1]).buffer, r.graph->tensor(r.graph->op(1).inputs[1]).buffer);
  // Idempotent: nothing left to do.
  auto again = optimize(r.res.bytes, {"dead-code"});
  EXPECT_FALSE(again.res.changed);
  EXPECT_EQ(again.res.bytes, r.res.bytes);
}

TEST(DeadCode, PassReportsNoChangeOnCleanGraph) {
  Builder b;
  int x = b.input("x", {2});
  b.output(b.unary(BuiltinOperator_RELU, x, "y"));
  auto p = passes::make_pass("dead-code");
  EXPECT_FALSE(p->run(b.g));
}
