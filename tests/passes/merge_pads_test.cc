// merge-pads: pad of pad -> one pad where that is exact.
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

namespace {
int mirror(Builder& b, int x, std::vector<int32_t> pads, std::vector<int32_t> out, const std::string& name,
           MirrorPadMode mode = MirrorPadMode_REFLECT) {
  int p = b.i32(name + "/pads", pads, {static_cast<int32_t>(pads.size() / 2), 2});
  MirrorPadOptionsT mo;
  mo.mode = mode;
  return b.op(BuiltinOperator_MIRROR_PAD, {x, p}, out, name, Builder::opts(mo));
}
}  // namespace

TEST(MergePads, ReflectOnTwoAxesBecomesOne) {
  Builder b;
  int x = b.input("x", {1, 4, 5, 2});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  int h = mirror(b, r, {0, 0, 1, 1, 0, 0, 0, 0}, {1, 6, 5, 2}, "pad_h");
  int w = mirror(b, h, {0, 0, 0, 0, 2, 1, 0, 0}, {1, 6, 8, 2}, "pad_w");
  b.output(w);
  auto o = optimize(b, with_dce({"merge-pads"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("MIRROR_PAD"), 1);
}

TEST(MergePads, SameAxisTwiceOrDifferentModesStay) {
  Builder b;
  int x = b.input("x", {6, 3});
  int a = mirror(b, x, {1, 1, 0, 0}, {8, 3}, "a");
  int c = mirror(b, a, {1, 1, 0, 0}, {10, 3}, "c");  // reflect of reflect != reflect by 2
  int d = mirror(b, c, {0, 0, 1, 1}, {10, 5}, "d", MirrorPadMode_SYMMETRIC);
  b.output(d);
  auto p = passes::make_pass("merge-pads");
  EXPECT_FALSE(p->run(b.g));
}

TEST(MergePads, ZeroPadsAddUpAndEmptyPadsVanish) {
  Builder b;
  int x = b.input("x", {1, 4, 4, 2});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  int p1 = b.i32("p1", {0, 0, 1, 2, 0, 0, 0, 0}, {4, 2});
  int a = b.op(BuiltinOperator_PAD, {r, p1}, {1, 7, 4, 2}, "a", Builder::opts(PadOptionsT{}));
  int p2 = b.i32("p2", {0, 0, 1, 0, 3, 3, 0, 0}, {4, 2});
  int c = b.op(BuiltinOperator_PAD, {a, p2}, {1, 8, 10, 2}, "c", Builder::opts(PadOptionsT{}));
  int p0 = b.i32("p0", {0, 0, 0, 0, 0, 0, 0, 0}, {4, 2});
  int z = b.op(BuiltinOperator_PAD, {c, p0}, {1, 8, 10, 2}, "zero", Builder::opts(PadOptionsT{}));
  b.output(b.unary(BuiltinOperator_TANH, z, "y"));
  auto o = optimize(b, with_dce({"merge-pads"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("PAD"), 1);
}
