// lower-mirror-pad: MIRROR_PAD (reflect or symmetric) -> SLICE + CONCATENATION,
// one axis at a time (the next axis slices the already padded tensor, so the
// corners come out right). TensorFlow Lite 2.9 runs MIRROR_PAD with a scalar
// loop and its XNNPACK delegate takes none of these ops; measured on an
// upsample block (bench/optimize_bench.cc), the slices and concatenations cost
// a small fraction of the MIRROR_PAD kernel. Each padded row or column is one
// SLICE; pads wider than 4 take one SLICE + REVERSE_V2 per side.
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

bool lowerable_type(tfl::TensorType t) {
  return t == tfl::TensorType_FLOAT32 || t == tfl::TensorType_INT8 || t == tfl::TensorType_UINT8 ||
         t == tfl::TensorType_INT32;
}

class LowerMirrorPad : public OpRewritePass {
 public:
  std::string name() const override { return "lower-mirror-pad"; }
  std::string description() const override {
    return "MIRROR_PAD -> SLICE + CONCATENATION (much faster in TensorFlow Lite 2.9, whose MIRROR_PAD kernel is a "
           "scalar loop); rank <= 4";
  }
  int priority() const override { return 100; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return code == tfl::BuiltinOperator_MIRROR_PAD; }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int c) override {
    const auto& op = g.op(c);
    if (op.inputs.size() < 2 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.outputs[0] < 0) return false;
    const int x = op.inputs[0], y = op.outputs[0];
    const auto& xt = g.tensor(x);
    const int r = static_cast<int>(xt.shape.size());
    auto pads = const_ints(g, op.inputs[1]);
    if (!pads || static_cast<int>(pads->size()) != 2 * r || !is_static(xt) || !is_static(g.tensor(y))) return false;
    if (r > 4 || !lowerable_type(xt.type) || !same_quantization(xt, g.tensor(y)) ||
        (xt.quantization && xt.quantization->scale.size() > 1)) {
      note("MIRROR_PAD -> '" + g.tensor(y).name + "': rank > 4, per-axis quantization or unsupported type; kept");
      return false;
    }
    auto* mo = op.builtin_options.AsMirrorPadOptions();
    const bool reflect = !mo || mo->mode == tfl::MirrorPadMode_REFLECT;
    const int off = reflect ? 1 : 0;
    bool valid = true;
    for (int d = 0; d < r; ++d) {
      int64_t n = xt.shape[d], b = (*pads)[2 * d], a = (*pads)[2 * d + 1];
      if (b < 0 || a < 0 || b > n - off || a > n - off) valid = false;
    }
    if (!valid) return false;
    Editor ed(g);
    int cur = x;
    for (int d = 0; d < r; ++d) {
      const int b = static_cast<int>((*pads)[2 * d]), a = static_cast<int>((*pads)[2 * d + 1]);
      if (b == 0 && a == 0) continue;
      const Shape s = g.tensor(cur).shape;
      const int n = s[d];
      // Rows [lo, lo + count) of `cur` along d, in reverse order.
      auto reversed_rows = [&](int lo, int count, std::vector<int>& parts) {
        std::vector<int32_t> begin(r, 0), size(s.begin(), s.end());
        if (count <= 4) {
          for (int i = lo + count - 1; i >= lo; --i) {
            begin[d] = i;
            size[d] = 1;
            parts.push_back(ed.slice(c, cur, begin, size));
          }
        } else {
          begin[d] = lo;
          size[d] = count;
          parts.push_back(ed.reverse(c, ed.slice(c, cur, begin, size), d));
        }
      };
      std::vector<int> parts;
      if (b > 0) reversed_rows(off, b, parts);       // reflect: rows b..1; symmetric: rows b-1..0
      parts.push_back(cur);
      if (a > 0) reversed_rows(n - off - a, a, parts);  // reflect: rows n-2..n-1-a; symmetric: n-1..n-a
      cur = ed.concat(c, parts, d);
    }
    ed.forward(y, cur);
    ed.remove(c);
    ed.commit();
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_lower_mirror_pad() { return std::make_unique<LowerMirrorPad>(); }

}  // namespace sealite::passes
