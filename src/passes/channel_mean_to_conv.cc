// channel-mean-to-conv (opt-in, target xnnpack): MEAN over the last axis of a
// float32 tensor (the channel mean of a channels-last LayerNorm) -> a dot
// product with weights 1/C, which the TensorFlow Lite 2.9 XNNPACK delegate takes
// (its MEAN takes only the spatial axes of a 4-D tensor):
//   rank 4  [N,H,W,C] -> CONV_2D 1x1, one output channel, weights [1,1,1,C] = 1/C, bias 0
//   rank 2/3 [.., C]  -> FULLY_CONNECTED (keep_num_dims), weights [1,C] = 1/C, bias 0
// then a RESHAPE that drops the last axis when keep_dims is false. Same value up
// to rounding: the sum is taken in another order and 1/C is rounded unless C is
// a power of two (relative difference ~1e-7).
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

class ChannelMeanToConv : public OpRewritePass {
 public:
  std::string name() const override { return "channel-mean-to-conv"; }
  std::string description() const override {
    return "MEAN over the last axis of a float32 tensor (rank 2-4) -> 1x1 CONV_2D / FULLY_CONNECTED with weights 1/C, "
           "which the TFLite 2.9 XNNPACK delegate takes (its MEAN takes only H,W of 4-D); equal up to rounding";
  }
  int priority() const override { return 125; }
  bool default_on() const override { return false; }
  std::string target() const override { return "xnnpack"; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return code == tfl::BuiltinOperator_MEAN; }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int c) override {
    const auto& op = g.op(c);
    if (op.inputs.size() != 2 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.outputs[0] < 0) return false;
    const int x = op.inputs[0], y = op.outputs[0];
    const auto& xt = g.tensor(x);
    const auto& yt = g.tensor(y);
    const int rank = static_cast<int>(xt.shape.size());
    auto axes = const_ints(g, op.inputs[1]);
    if (!axes || axes->size() != 1 || rank < 2 || rank > 4) return false;
    const int64_t axis = (*axes)[0] < 0 ? (*axes)[0] + rank : (*axes)[0];
    if (axis != rank - 1) return false;  // other reductions: not this pass
    const auto* ro = op.builtin_options.AsReducerOptions();
    const bool keep = ro && ro->keep_dims;
    if (xt.type != tfl::TensorType_FLOAT32 || yt.type != tfl::TensorType_FLOAT32 || is_quantized(xt) ||
        is_quantized(yt) || !is_static(xt) || !is_static(yt)) {
      note("MEAN -> '" + yt.name + "': not a static float32 tensor; kept");
      return false;
    }
    const int C = xt.shape[rank - 1];
    Shape kept = xt.shape;
    kept.back() = 1;
    Shape dropped(xt.shape.begin(), xt.shape.end() - 1);
    if (yt.shape != (keep ? kept : dropped)) return false;

    Editor ed(g);
    const std::string base = yt.name + "/channel_mean";
    std::vector<float> w(C, 1.0f / static_cast<float>(C));
    const float zero = 0.f;
    const int bias = g.add_constant_f32(base + "/bias", {1}, std::span<const float>(&zero, 1));
    const int mean = ed.tensor_like(y, kept, "/channel_mean");
    if (rank == 4) {
      const int wt = g.add_constant_f32(base + "/weights", {1, 1, 1, C}, w);
      tfl::Conv2DOptionsT co;
      co.padding = tfl::Padding_VALID;
      co.stride_h = co.stride_w = 1;
      co.dilation_h_factor = co.dilation_w_factor = 1;
      tfl::BuiltinOptionsUnion cu;
      cu.Set(std::move(co));
      ed.add_op(c, tfl::BuiltinOperator_CONV_2D, {x, wt, bias}, {mean}, std::move(cu), 1);
    } else {
      const int wt = g.add_constant_f32(base + "/weights", {1, C}, w);
      tfl::FullyConnectedOptionsT fo;
      fo.keep_num_dims = true;
      tfl::BuiltinOptionsUnion fu;
      fu.Set(std::move(fo));
      ed.add_op(c, tfl::BuiltinOperator_FULLY_CONNECTED, {x, wt, bias}, {mean}, std::move(fu), 5);  // v5: keep_num_dims
    }
    const int out = keep ? mean : ed.reshape(c, mean, dropped);
    ed.forward(y, out);
    ed.remove(c);
    ed.commit();
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_channel_mean_to_conv() { return std::make_unique<ChannelMeanToConv>(); }

}  // namespace sealite::passes
