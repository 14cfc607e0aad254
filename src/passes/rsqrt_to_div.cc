// rsqrt-to-div (opt-in, target xnnpack): RSQRT(x) -> DIV(1, SQRT(x)) on float32.
// The TensorFlow Lite 2.9 XNNPACK delegate takes SQRT and DIV but not RSQRT (a
// LayerNorm written as x * rsqrt(var + eps) would leave its partition). Bit-exact:
// the 2.9 RSQRT kernel computes 1.f / std::sqrt(x), and SQRT and DIV are
// correctly rounded in both the built-in kernels and XNNPACK.
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

class RsqrtToDiv : public OpRewritePass {
 public:
  std::string name() const override { return "rsqrt-to-div"; }
  std::string description() const override {
    return "RSQRT (float32) -> DIV(1, SQRT), which the TFLite 2.9 XNNPACK delegate takes (it takes no RSQRT); "
           "bit-exact";
  }
  int priority() const override { return 120; }
  bool default_on() const override { return false; }
  std::string target() const override { return "xnnpack"; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return code == tfl::BuiltinOperator_RSQRT; }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int c) override {
    const auto& op = g.op(c);
    if (op.inputs.size() != 1 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.outputs[0] < 0) return false;
    const int x = op.inputs[0], y = op.outputs[0];
    const auto& xt = g.tensor(x);
    if (xt.type != tfl::TensorType_FLOAT32 || is_quantized(xt) || g.tensor(y).type != tfl::TensorType_FLOAT32 ||
        xt.shape.size() > 4) {
      note("RSQRT -> '" + g.tensor(y).name + "': not a float32 tensor of rank <= 4; kept");
      return false;
    }
    Editor ed(g);
    const float one = 1.f;
    const int one_t = g.add_constant_f32(g.tensor(y).name + "/one", {}, std::span<const float>(&one, 1));
    const int root = ed.tensor_like(y, xt.shape, "/sqrt");
    ed.add_op(c, tfl::BuiltinOperator_SQRT, {x}, {root});
    const int out = ed.tensor_like(y, g.tensor(y).shape, "/reciprocal");
    tfl::BuiltinOptionsUnion du;
    du.Set(tfl::DivOptionsT{});
    ed.add_op(c, tfl::BuiltinOperator_DIV, {one_t, root}, {out}, std::move(du));
    ed.forward(y, out);
    ed.remove(c);
    ed.commit();
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_rsqrt_to_div() { return std::make_unique<RsqrtToDiv>(); }

}  // namespace sealite::passes
