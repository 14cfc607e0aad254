// push-transposes: TRANSPOSEs pushed through layout-agnostic ops until they cancel.
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

namespace {
int pad(Builder& b, int x, std::vector<int32_t> pads, std::vector<int32_t> out, const std::string& name,
        TensorType type = TensorType_FLOAT32) {
  int p = b.i32(name + "/pads", pads, {static_cast<int32_t>(pads.size() / 2), 2});
  return b.op(BuiltinOperator_PAD, {x, p}, out, name, Builder::opts(PadOptionsT{}), type, type == TensorType_INT8 ? 2 : 1);
}
}  // namespace

TEST(PushTransposes, PyTorchStyleNchwIslandCancels) {
  // conv-like NHWC producer -> TRANSPOSE to NCHW -> LEAKY_RELU -> PAD(H,W) -> ADD(const [C,1,1]) -> TRANSPOSE back
  Builder b;
  int x = b.input("x", {1, 4, 5, 3});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  int t = b.transpose(r, {0, 3, 1, 2}, "to_nchw");
  LeakyReluOptionsT lo;
  lo.alpha = 0.1f;
  int l = b.op(BuiltinOperator_LEAKY_RELU, {t}, {1, 3, 4, 5}, "leaky", Builder::opts(lo));
  int p = pad(b, l, {0, 0, 0, 0, 1, 1, 2, 0}, {1, 3, 6, 7}, "pad");
  int bias = b.f32("bias", {0.5f, -1.f, 2.f}, {3, 1, 1});
  int a = b.op(BuiltinOperator_ADD, {p, bias}, {1, 3, 6, 7}, "add", Builder::opts(AddOptionsT{}));
  int back = b.transpose(a, {0, 2, 3, 1}, "to_nhwc");
  b.output(b.unary(BuiltinOperator_TANH, back, "y"));
  auto o = optimize(b, with_dce({"push-transposes"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.max_diff(), 0.0);
  EXPECT_EQ(o.count("TRANSPOSE"), 0);
}

TEST(PushTransposes, TwoEntriesAConcatAndAReductionWithoutKeepDims) {
  Builder b;
  int x = b.input("x", {1, 4, 5, 3});
  int x2 = b.unary(BuiltinOperator_RELU, x, "relu");
  int x3 = b.unary(BuiltinOperator_TANH, x, "tanh");
  int t1 = b.transpose(x2, {0, 3, 1, 2}, "t1");
  int t2 = b.transpose(x3, {0, 3, 1, 2}, "t2");
  ConcatenationOptionsT co;
  co.axis = 1;
  int c = b.op(BuiltinOperator_CONCATENATION, {t1, t2}, {1, 6, 4, 5}, "cat", Builder::opts(co));
  int ax = b.i32("axes", {2, 3});
  int m = b.op(BuiltinOperator_MEAN, {c, ax}, {1, 6}, "pool", Builder::reducer(false));
  b.output(m);
  auto o = optimize(b, with_dce({"push-transposes"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("TRANSPOSE"), 0);
}

TEST(PushTransposes, OnlyWhenTheCountGoesDown) {
  // TRANSPOSE -> RELU -> graph output: pushing would just move the transpose.
  Builder b;
  int x = b.input("x", {1, 4, 5, 3});
  int t = b.transpose(b.unary(BuiltinOperator_TANH, x, "tanh"), {0, 3, 1, 2}, "t");
  b.output(b.unary(BuiltinOperator_RELU, t, "y"));
  auto p = passes::make_pass("push-transposes");
  EXPECT_FALSE(p->run(b.g));

  // With a second reader that cancels it, one transpose remains (for the output).
  Builder c;
  int cx = c.input("x", {1, 4, 5, 3});
  int ct = c.transpose(c.unary(BuiltinOperator_TANH, cx, "tanh"), {0, 3, 1, 2}, "t");
  int cr = c.unary(BuiltinOperator_RELU, ct, "relu");
  c.output(cr);
  c.output(c.unary(BuiltinOperator_ELU, c.transpose(cr, {0, 2, 3, 1}, "back"), "z"));
  auto o = optimize(c, with_dce({"push-transposes"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("TRANSPOSE"), 1);
}

TEST(PushTransposes, QuantizedChainKeepsQuantizationAndIsExact) {
  Builder b;
  int x = b.input("x", {1, 3, 6, 6});  // NCHW float input, as PyTorch-born models have
  int q = b.op(BuiltinOperator_QUANTIZE, {x}, {1, 3, 6, 6}, "q", {}, TensorType_INT8);
  b.quantize(q, 0.02f, -5);
  int t = b.transpose(q, {0, 2, 3, 1}, "to_nhwc", TensorType_INT8);
  int r = b.op(BuiltinOperator_RELU, {t}, {1, 6, 6, 3}, "relu", {}, TensorType_INT8, 2);
  b.quantize(r, 0.02f, -5);
  int back = b.transpose(r, {0, 3, 1, 2}, "to_nchw", TensorType_INT8);
  LeakyReluOptionsT lo;
  lo.alpha = 0.2f;
  int l = b.op(BuiltinOperator_LEAKY_RELU, {back}, {1, 3, 6, 6}, "leaky", Builder::opts(lo), TensorType_INT8);
  b.quantize(l, 0.01f, 2);
  int pd = pad(b, l, {0, 0, 0, 0, 1, 1, 1, 1}, {1, 3, 8, 8}, "pad", TensorType_INT8);
  b.quantize(pd, 0.01f, 2);
  int t2 = b.transpose(pd, {0, 2, 3, 1}, "nhwc2", TensorType_INT8);
  int dq = b.op(BuiltinOperator_DEQUANTIZE, {t2}, {1, 8, 8, 3}, "dq", {}, TensorType_FLOAT32, 2);
  b.output(dq);
  auto o = optimize(b, with_dce({"transpose-chains", "push-transposes"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.max_diff(), 0.0);
  EXPECT_EQ(o.count("TRANSPOSE"), 1);  // the input's NCHW -> NHWC is a real layout change
  for (int t = 0; t < o.graph->num_tensors(); ++t)
    if (o.graph->tensor(t).type == TensorType_INT8) ASSERT_TRUE(o.graph->tensor(t).quantization);
}
