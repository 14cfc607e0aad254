// xnnpack-reflect-pad (opt-in, target xnnpack): a reflection pad of 1
// on H and/or W of a float NHWC tensor, written only with ops the TensorFlow
// Lite 2.9 XNNPACK delegate takes, so a graph of upsample blocks stays in one
// delegate partition. Per padded axis of size n (n >= 5):
//   E = DEPTHWISE_CONV_2D(x, taps [0, 1], VALID, stride n-3)   rows {1, n-2} of x
//   Z = TRANSPOSE_CONV(E, 1x1 identity, VALID, stride n+1)     those rows at 0 and n+1, zeros between
//   y = ADD(PAD(x, 1, 1), Z)
// The price, measured (bench/optimize_bench.cc, 3 blocks 16x16x32 -> 128x128,
// 1 thread): ~40% slower than SLICE + CONCATENATION (the default lowering),
// and it is exact only for finite values: it relies on 0 * v == 0, so a NaN
// or Inf on the rows next to an edge spreads (also across channels, through the
// identity TRANSPOSE_CONV). Use it when one partition matters more than speed.
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

class XnnpackReflectPad : public OpRewritePass {
 public:
  std::string name() const override { return "xnnpack-reflect-pad"; }
  std::string description() const override {
    return "reflect pad 1 on H/W of float NHWC as DEPTHWISE_CONV + TRANSPOSE_CONV + PAD + ADD, all taken by the "
           "TFLite 2.9 XNNPACK delegate (one partition); slower than SLICE + CONCATENATION, exact for finite values only";
  }
  int priority() const override { return 110; }  // before lower-mirror-pad takes the pad
  bool default_on() const override { return false; }
  std::string target() const override { return "xnnpack"; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return code == tfl::BuiltinOperator_MIRROR_PAD; }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int c) override {
    const auto& op = g.op(c);
    if (op.inputs.size() < 2 || op.outputs.size() != 1 || op.inputs[0] < 0) return false;
    auto* mo = op.builtin_options.AsMirrorPadOptions();
    if (mo && mo->mode != tfl::MirrorPadMode_REFLECT) return false;
    const int x = op.inputs[0], y = op.outputs[0];
    const auto& xt = g.tensor(x);
    auto pads = const_ints(g, op.inputs[1]);
    if (xt.type != tfl::TensorType_FLOAT32 || xt.shape.size() != 4 || !is_static(xt) || is_quantized(xt) || !pads ||
        pads->size() != 8)
      return false;
    const auto& p = *pads;
    bool ok = p[0] == 0 && p[1] == 0 && p[6] == 0 && p[7] == 0;
    std::vector<int> axes;
    for (int axis : {1, 2}) {
      int64_t b = p[2 * axis], a = p[2 * axis + 1];
      if (b == 0 && a == 0) continue;
      ok &= b == 1 && a == 1 && xt.shape[axis] >= 5;
      axes.push_back(axis);
    }
    if (!ok || axes.empty()) {
      note("MIRROR_PAD -> '" + g.tensor(y).name + "': only reflect pads of exactly 1 on H/W of sizes >= 5; kept");
      return false;
    }
    Editor ed(g);
    int cur = x;
    for (int axis : axes) {
      const Shape s = g.tensor(cur).shape;
      const int n = s[axis], C = s[3];
      // rows {1, n-2}
      std::vector<float> w(2 * C, 0.f), bias(C, 0.f);
      for (int ch = 0; ch < C; ++ch) w[C + ch] = 1.f;
      const std::string base = g.tensor(y).name + (axis == 1 ? "/reflect_h" : "/reflect_w");
      int wt = g.add_constant_f32(base + "/taps", axis == 1 ? Shape{1, 2, 1, C} : Shape{1, 1, 2, C}, w);
      int bt = g.add_constant_f32(base + "/zero_bias", {C}, bias);
      Shape es = s;
      es[axis] = 2;
      int e = ed.tensor_like(cur, es, "/edge_rows");
      tfl::DepthwiseConv2DOptionsT dw;
      dw.padding = tfl::Padding_VALID;
      dw.stride_h = axis == 1 ? n - 3 : 1;
      dw.stride_w = axis == 2 ? n - 3 : 1;
      dw.depth_multiplier = 1;
      tfl::BuiltinOptionsUnion du;
      du.Set(std::move(dw));
      ed.add_op(c, tfl::BuiltinOperator_DEPTHWISE_CONV_2D, {cur, wt, bt}, {e}, std::move(du));
      // placed at rows 0 and n+1
      Shape ps = s;
      ps[axis] = n + 2;
      int shape_t = ed.const_i32(base + "/output_shape", std::vector<int32_t>(ps.begin(), ps.end()));
      std::vector<float> id(static_cast<size_t>(C) * C, 0.f);
      for (int ch = 0; ch < C; ++ch) id[static_cast<size_t>(ch) * C + ch] = 1.f;
      int it = g.add_constant_f32(base + "/identity", {C, 1, 1, C}, id);
      int z = ed.tensor_like(cur, ps, "/edges_placed");
      tfl::TransposeConvOptionsT to;
      to.padding = tfl::Padding_VALID;
      to.stride_h = axis == 1 ? n + 1 : 1;
      to.stride_w = axis == 2 ? n + 1 : 1;
      tfl::BuiltinOptionsUnion tu;
      tu.Set(std::move(to));
      ed.add_op(c, tfl::BuiltinOperator_TRANSPOSE_CONV, {shape_t, it, e}, {z}, std::move(tu));
      std::vector<std::pair<int, int>> zp(4, {0, 0});
      zp[axis] = {1, 1};
      int padded = ed.pad(c, cur, zp, -1);
      int sum = ed.tensor_like(cur, ps, "/reflected");
      tfl::BuiltinOptionsUnion au;
      au.Set(tfl::AddOptionsT{});
      ed.add_op(c, tfl::BuiltinOperator_ADD, {padded, z}, {sum}, std::move(au));
      cur = sum;
    }
    ed.forward(y, cur);
    ed.remove(c);
    ed.commit();
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_xnnpack_reflect_pad() { return std::make_unique<XnnpackReflectPad>(); }

}  // namespace sealite::passes
