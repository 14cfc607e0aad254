// transpose-chains: inverse pairs cancel, consecutive ones merge, size-1-axis ones become RESHAPE.
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

TEST(TransposeChains, InversePairCancels) {
  Builder b;
  int x = b.input("x", {1, 4, 5, 3});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  int t1 = b.transpose(r, {0, 3, 1, 2}, "to_nchw");
  int t2 = b.transpose(t1, {0, 2, 3, 1}, "to_nhwc");
  b.output(b.unary(BuiltinOperator_TANH, t2, "y"));
  auto o = optimize(b, with_dce({"transpose-chains"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("TRANSPOSE"), 0);
  EXPECT_EQ(o.graph->num_ops(), 2);
}

TEST(TransposeChains, ConsecutiveMergeIntoOne) {
  Builder b;
  int x = b.input("x", {2, 3, 4, 5});
  int t1 = b.transpose(x, {1, 0, 2, 3}, "t1");
  int t2 = b.transpose(t1, {0, 1, 3, 2}, "t2");
  b.output(t2);  // a graph output: keeps its tensor
  auto o = optimize(b, with_dce({"transpose-chains"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("TRANSPOSE"), 1);
  EXPECT_EQ(o.graph->tensor(o.graph->subgraph().outputs[0]).name, "t2");
}

TEST(TransposeChains, InnerTransposeWithAnotherReaderStays) {
  Builder b;
  int x = b.input("x", {2, 3, 4});
  int t1 = b.transpose(x, {1, 0, 2}, "t1");
  int t2 = b.transpose(t1, {1, 0, 2}, "t2");
  b.output(b.unary(BuiltinOperator_RELU, t2, "y"));
  b.output(b.unary(BuiltinOperator_TANH, t1, "z"));
  auto o = optimize(b, with_dce({"transpose-chains"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("TRANSPOSE"), 1);  // t2 cancelled against t1; t1 still feeds z
}

TEST(TransposeChains, IdentityAndUnitAxesOnly) {
  Builder b;
  int x = b.input("x", {1, 8, 1, 1});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  int t = b.transpose(r, {0, 2, 3, 1}, "nhwc");  // [1,1,1,8]: only size-1 axes move
  int id = b.transpose(t, {0, 1, 2, 3}, "identity");
  b.output(b.unary(BuiltinOperator_TANH, id, "y"));
  auto o = optimize(b, with_dce({"transpose-chains"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("TRANSPOSE"), 0);
  EXPECT_EQ(o.count("RESHAPE"), 1);
  // Running the pass again finds nothing.
  auto p = passes::make_pass("transpose-chains");
  EXPECT_FALSE(p->run(*o.graph));
}

TEST(TransposeChains, RealLayoutChangeStays) {
  Builder b;
  int x = b.input("x", {1, 3, 4, 5});
  b.output(b.transpose(b.unary(BuiltinOperator_RELU, x, "r"), {0, 2, 3, 1}, "y"));
  auto p = passes::make_pass("transpose-chains");
  EXPECT_FALSE(p->run(b.g));
}

TEST(TransposeChains, InputToOutputPairBecomesOneCopy) {
  Builder b;
  int x = b.input("x", {2, 3, 4});
  b.output(b.transpose(b.transpose(x, {2, 0, 1}, "t1"), {1, 2, 0}, "t2"));
  auto o = optimize(b, {});
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("TRANSPOSE"), 0);
  EXPECT_EQ(o.graph->num_ops(), 1);  // a RESHAPE copy: a graph output must be written by an op
  auto again = optimize(o.res.bytes, {}, 1);
  EXPECT_FALSE(again.res.changed);
}
