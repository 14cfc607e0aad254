// reshape-chains: RESHAPE(RESHAPE(x)) becomes one RESHAPE; a RESHAPE to the
// shape it already has disappears; SQUEEZE / EXPAND_DIMS with static shapes
// become RESHAPE (which the XNNPACK delegate takes); and a RESHAPE that only
// adds or drops size-1 axes moves down through a chain of element-wise ops and
// pads to the next RESHAPE, where the two merge (so RESHAPE [1,H,W,C] ->
// [H,W,C], pad, RESHAPE back comes out as one pad on the 4-D tensor).
#include <algorithm>

#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

bool is_reshape_like(tfl::BuiltinOperator c) {
  return c == tfl::BuiltinOperator_RESHAPE || c == tfl::BuiltinOperator_SQUEEZE || c == tfl::BuiltinOperator_EXPAND_DIMS;
}

bool is_pad(tfl::BuiltinOperator c) {
  return c == tfl::BuiltinOperator_PAD || c == tfl::BuiltinOperator_PADV2 || c == tfl::BuiltinOperator_MIRROR_PAD;
}

std::vector<int> non_unit_axes(const Shape& s) {
  std::vector<int> v;
  for (int i = 0; i < static_cast<int>(s.size()); ++i)
    if (s[i] != 1) v.push_back(i);
  return v;
}

bool per_axis(const tfl::TensorT& t) { return t.quantization && t.quantization->scale.size() > 1; }

class ReshapeChains : public OpRewritePass {
 public:
  std::string name() const override { return "reshape-chains"; }
  std::string description() const override {
    return "merge consecutive RESHAPEs, drop no-op ones, SQUEEZE/EXPAND_DIMS -> RESHAPE, move a RESHAPE that only "
           "adds/drops size-1 axes through element-wise ops and pads to the next RESHAPE";
  }
  int priority() const override { return 750; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return is_reshape_like(code); }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int r) override {
    auto code = g.op_code(r);
    const auto& op = g.op(r);
    if (op.inputs.empty() || op.outputs.size() != 1 || op.inputs[0] < 0) return false;
    const int x = op.inputs[0], y = op.outputs[0];
    const auto& xt = g.tensor(x);
    const auto& yt = g.tensor(y);
    if (!is_static(xt) || !is_static(yt) || numel(xt.shape) != numel(yt.shape)) return false;
    if (!same_quantization(xt, yt) || xt.type != yt.type) return false;
    Editor ed(g);
    // no-op
    if (xt.shape == yt.shape) {
      if (ed.forward_needs_copy(y, x)) return false;
      ed.forward(y, x);
      ed.remove(r);
      ed.commit();
      return true;
    }
    // SQUEEZE / EXPAND_DIMS -> RESHAPE
    if (code != tfl::BuiltinOperator_RESHAPE) {
      make_reshape(g, ed, r, x, yt.shape);
      ed.commit();
      return true;
    }
    // RESHAPE(RESHAPE(x0))
    int p = u.producer[x];
    if (p >= 0 && is_reshape_like(g.op_code(p)) && !g.op(p).inputs.empty() && g.op(p).inputs[0] >= 0) {
      const int x0 = g.op(p).inputs[0];
      if (is_static(g.tensor(x0)) && same_quantization(g.tensor(x0), yt) && g.tensor(x0).type == yt.type) {
        bool only_reader = u.consumers[x].size() == 1 && !g.is_graph_output(x);
        make_reshape(g, ed, r, x0, yt.shape);
        if (only_reader) ed.remove(p);
        ed.commit();
        return true;
      }
    }
    if (sink(g, u, ed, r)) return true;
    return false;
  }

  static void make_reshape(graph::Graph& g, Editor& ed, int r, int x, const Shape& shape) {
    int st = ed.const_i32(g.tensor(g.op(r).outputs[0]).name + "/shape", std::vector<int32_t>(shape.begin(), shape.end()));
    auto& op = g.op(r);
    op.opcode_index = g.opcode_index(tfl::BuiltinOperator_RESHAPE, 1);
    op.inputs = {x, st};
    tfl::ReshapeOptionsT ro;
    ro.new_shape = shape;
    op.builtin_options.Set(std::move(ro));
  }

  // Moves RESHAPE r (size-1 axes only) down a single-reader chain of
  // element-wise ops / pads that ends at another reshape.
  bool sink(graph::Graph& g, const graph::Uses& u, Editor& ed, int r) {
    const int x = g.op(r).inputs[0], y = g.op(r).outputs[0];
    const Shape as = g.tensor(x).shape, xs = g.tensor(y).shape;
    const auto ia = non_unit_axes(as), ix = non_unit_axes(xs);
    if (ia.size() != ix.size()) return false;
    for (size_t k = 0; k < ia.size(); ++k)
      if (as[ia[k]] != xs[ix[k]]) return false;
    std::vector<int> chain;
    int cur = y;
    bool reaches_reshape = false;
    for (int steps = 0; steps < 64; ++steps) {
      if (g.is_graph_output(cur) || u.consumers[cur].size() != 1 || per_axis(g.tensor(cur))) return false;
      int c = u.consumers[cur][0];
      auto code = g.op_code(c);
      const auto& op = g.op(c);
      if (is_reshape_like(code)) { reaches_reshape = !chain.empty(); break; }
      if (op.outputs.size() != 1 || op.outputs[0] < 0) return false;
      const auto& out = g.tensor(op.outputs[0]);
      if (!is_static(out) || out.shape.size() != xs.size() || per_axis(out)) return false;
      if (is_unary_elementwise(code)) {
        if (op.inputs.empty() || op.inputs[0] != cur) return false;
      } else if (is_binary_elementwise(code)) {
        if (op.inputs.size() != 2) return false;
        int other = op.inputs[0] == cur ? op.inputs[1] : op.inputs[0];
        if (other == cur || !g.is_constant(other) || numel(g.tensor(other).shape) != 1) return false;
      } else if (is_pad(code)) {
        if (op.inputs.size() < 2 || op.inputs[0] != cur) return false;
        auto pads = const_ints(g, op.inputs[1]);
        if (!pads || pads->size() != 2 * xs.size()) return false;
        for (int d = 0; d < static_cast<int>(xs.size()); ++d)
          if (xs[d] == 1 && ((*pads)[2 * d] != 0 || (*pads)[2 * d + 1] != 0)) return false;
        if (op.inputs.size() > 2 && op.inputs[2] >= 0 && !g.is_constant(op.inputs[2])) return false;
      } else {
        return false;
      }
      chain.push_back(c);
      cur = op.outputs[0];
    }
    if (!reaches_reshape) return false;
    // Rewrite: the chain runs on the x layout; a RESHAPE restores the last tensor.
    auto to_a = [&](const Shape& s) {
      Shape t = as;
      for (size_t k = 0; k < ia.size(); ++k) t[ia[k]] = s[ix[k]];
      return t;
    };
    int in_a = x;
    for (int c : chain) {
      auto& op = g.op(c);
      const int xin = op.outputs[0];
      int out_a = ed.tensor_like(xin, to_a(g.tensor(xin).shape), "/squeezed");
      for (auto& t : op.inputs)
        if (t >= 0 && !g.is_constant(t)) t = in_a;
      auto code = g.op_code(c);
      if (is_pad(code)) {
        auto pads = *const_ints(g, op.inputs[1]);
        std::vector<int32_t> pa(2 * as.size(), 0);
        for (size_t k = 0; k < ia.size(); ++k) {
          pa[2 * ia[k]] = static_cast<int32_t>(pads[2 * ix[k]]);
          pa[2 * ia[k] + 1] = static_cast<int32_t>(pads[2 * ix[k] + 1]);
        }
        op.inputs[1] = ed.const_i32(g.tensor(out_a).name + "/paddings", pa, {static_cast<int32_t>(as.size()), 2});
      }
      op.outputs[0] = out_a;
      in_a = out_a;
    }
    ed.reshape(chain.back(), in_a, g.tensor(cur).shape, cur);
    ed.remove(r);
    ed.commit();
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_reshape_chains() { return std::make_unique<ReshapeChains>(); }

}  // namespace sealite::passes
