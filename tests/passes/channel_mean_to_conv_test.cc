// channel-mean-to-conv (target xnnpack): MEAN over the last axis as a 1x1
// CONV_2D / FULLY_CONNECTED with weights 1/C, so the 2.9 XNNPACK delegate takes it.
#include "analysis/report.h"
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

namespace {

// x -> MEAN(axis) -> SUB(x, mean): the first half of a channels-last LayerNorm.
std::vector<uint8_t> centering(std::vector<int32_t> shape, int axis, bool keep) {
  Builder b;
  int x = b.input("x", shape);
  int a = b.i32("axis", {axis}, {1});
  const int r = static_cast<int>(shape.size());
  std::vector<int32_t> out = shape;
  if (keep) out[(axis + r) % r] = 1;
  else out.erase(out.begin() + (axis + r) % r);
  int m = b.op(BuiltinOperator_MEAN, {x, a}, out, "mean", Builder::reducer(keep));
  if (keep) {
    b.output(b.op(BuiltinOperator_SUB, {x, m}, shape, "centered", Builder::opts(SubOptionsT{})));
  } else {
    b.output(m);
  }
  return b.bytes();
}

int builtin(const std::vector<uint8_t>& bytes) {
  auto d = analysis::delegation_report(bytes, 1);
  EXPECT_TRUE(d.value("loads", false)) << d.dump(2);
  return d.value("builtin_nodes", -1);
}

}  // namespace

TEST(ChannelMeanToConv, Rank4KeepDimsBecomesConv) {
  auto bytes = centering({1, 8, 8, 6}, 3, true);  // C = 6: 1/C is rounded
  EXPECT_EQ(builtin(bytes), 1);                   // the MEAN
  auto o = optimize(bytes, {"channel-mean-to-conv", "dead-code"}, 3, 1e-6);
  ASSERT_TRUE(o.res.changed);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("MEAN"), 0);
  EXPECT_EQ(o.count("CONV_2D"), 1);
  EXPECT_EQ(builtin(o.res.bytes), 0);
  EXPECT_LT(o.max_diff(), 1e-6);
}

TEST(ChannelMeanToConv, NegativeAxisNoKeepDimsAndRank3) {
  auto nokeep = optimize(centering({1, 4, 5, 8}, -1, false), {"channel-mean-to-conv", "dead-code"}, 3, 1e-6);
  EXPECT_TRUE(nokeep.verified()) << nokeep.res.report.dump(2);
  EXPECT_EQ(nokeep.count("MEAN"), 0);
  EXPECT_EQ(nokeep.count("CONV_2D"), 1);
  EXPECT_EQ(nokeep.count("RESHAPE"), 1);
  EXPECT_EQ(builtin(nokeep.res.bytes), 0);

  auto r3 = optimize(centering({1, 10, 12}, 2, true), {"channel-mean-to-conv", "dead-code"}, 3, 1e-6);
  EXPECT_TRUE(r3.verified()) << r3.res.report.dump(2);
  EXPECT_EQ(r3.count("MEAN"), 0);
  EXPECT_EQ(r3.count("FULLY_CONNECTED"), 1);
  EXPECT_EQ(builtin(r3.res.bytes), 0);
}

TEST(ChannelMeanToConv, OtherReductionsStay) {
  // spatial mean (XNNPACK takes it as is) and a mean over a middle axis
  for (int axis : {1, 2}) {
    auto o = optimize(centering({1, 6, 6, 4}, axis, true), {"channel-mean-to-conv"}, 1);
    EXPECT_FALSE(o.res.changed) << axis;
    EXPECT_EQ(o.count("MEAN"), 1);
  }
  Builder b;  // two axes
  int x = b.input("x", {1, 6, 6, 4});
  b.output(b.op(BuiltinOperator_MEAN, {x, b.i32("axes", {1, 2})}, {1, 1, 1, 4}, "pool", Builder::reducer(true)));
  EXPECT_FALSE(passes::make_pass("channel-mean-to-conv")->run(b.g));
}

TEST(ChannelMeanToConv, OnlyInTheXnnpackTarget) {
  auto defaults = passes::default_pass_names();
  EXPECT_EQ(std::count(defaults.begin(), defaults.end(), "channel-mean-to-conv"), 0);
  auto xnn = passes::default_pass_names("xnnpack");
  EXPECT_EQ(std::count(xnn.begin(), xnn.end(), "channel-mean-to-conv"), 1);
}
