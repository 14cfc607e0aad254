// reshape-chains: merged, no-op dropped, SQUEEZE/EXPAND_DIMS -> RESHAPE, size-1 reshapes sunk to the next reshape.
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

namespace {
int reshape(Builder& b, int x, std::vector<int32_t> shape, const std::string& name) {
  int s = b.i32(name + "/shape", shape);
  ReshapeOptionsT ro;
  ro.new_shape = shape;
  return b.op(BuiltinOperator_RESHAPE, {x, s}, shape, name, Builder::opts(ro));
}
}  // namespace

TEST(ReshapeChains, MergeAndDropNoOps) {
  Builder b;
  int x = b.input("x", {2, 3, 4});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  int a = reshape(b, r, {6, 4}, "a");
  int c = reshape(b, a, {2, 3, 4}, "back");  // back to the input shape: both go
  int d = reshape(b, c, {24}, "flat");
  b.output(d);
  auto o = optimize(b, with_dce({"reshape-chains"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("RESHAPE"), 1);
  EXPECT_EQ(o.graph->num_ops(), 2);
}

TEST(ReshapeChains, ExpandDimsBecomesReshape) {
  Builder b;
  int x = b.input("x", {3, 4});
  int ax = b.i32("axis", {0}, {});
  int e = b.op(BuiltinOperator_EXPAND_DIMS, {b.unary(BuiltinOperator_RELU, x, "r"), ax}, {1, 3, 4}, "e",
               Builder::opts(ExpandDimsOptionsT{}));
  b.output(b.unary(BuiltinOperator_TANH, e, "y"));
  auto o = optimize(b, with_dce({"reshape-chains"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("EXPAND_DIMS"), 0);
  EXPECT_EQ(o.count("RESHAPE"), 1);
}

TEST(ReshapeChains, SqueezeThroughPadToReshapeComesOutAsOnePad) {
  // RESHAPE [1,4,5,3] -> [4,5,3], MIRROR_PAD (1,1),(1,1),(0,0), ELU, RESHAPE -> [1,6,7,3]
  Builder b;
  int x = b.input("x", {1, 4, 5, 3});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  int s = reshape(b, r, {4, 5, 3}, "squeeze");
  int pads = b.i32("pads", {1, 1, 1, 1, 0, 0}, {3, 2});
  MirrorPadOptionsT mo;
  int p = b.op(BuiltinOperator_MIRROR_PAD, {s, pads}, {6, 7, 3}, "pad", Builder::opts(mo));
  int e = b.unary(BuiltinOperator_ELU, p, "elu");
  int back = reshape(b, e, {1, 6, 7, 3}, "unsqueeze");
  b.output(b.unary(BuiltinOperator_TANH, back, "y"));
  auto o = optimize(b, with_dce({"reshape-chains"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("RESHAPE"), 0);
  ASSERT_EQ(o.count("MIRROR_PAD"), 1);
  for (int i = 0; i < o.graph->num_ops(); ++i)
    if (o.graph->op_name(i) == "MIRROR_PAD")
      EXPECT_EQ(o.graph->tensor(o.graph->op(i).outputs[0]).shape, (std::vector<int32_t>{1, 6, 7, 3}));
}
