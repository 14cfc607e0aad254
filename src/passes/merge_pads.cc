// merge-pads: a pad of a pad becomes one pad. PAD+PAD (same quantization:
// same pad value) adds the paddings; PADV2+PADV2 with the same constant too;
// MIRROR_PAD+MIRROR_PAD of the same mode when they pad different axes (reflect
// padding is separable per axis, so padding H then W equals padding both).
// A pad that pads nothing disappears.
#include <cstring>

#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

bool is_pad(tfl::BuiltinOperator c) {
  return c == tfl::BuiltinOperator_PAD || c == tfl::BuiltinOperator_PADV2 || c == tfl::BuiltinOperator_MIRROR_PAD;
}

int mirror_mode(const graph::Graph& g, int op) {
  auto* o = g.op(op).builtin_options.AsMirrorPadOptions();
  return o ? static_cast<int>(o->mode) : static_cast<int>(tfl::MirrorPadMode_REFLECT);
}

class MergePads : public OpRewritePass {
 public:
  std::string name() const override { return "merge-pads"; }
  std::string description() const override {
    return "merge a pad of a pad (PAD, PADV2 with the same value, MIRROR_PAD of the same mode on different axes) "
           "into one; drop pads of zero";
  }
  int priority() const override { return 700; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return is_pad(code); }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int c) override {
    auto code = g.op_code(c);
    const auto& op = g.op(c);
    if (op.inputs.size() < 2 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.outputs[0] < 0) return false;
    const int x = op.inputs[0], y = op.outputs[0];
    auto pads = const_ints(g, op.inputs[1]);
    const int r = static_cast<int>(g.tensor(x).shape.size());
    if (!pads || static_cast<int>(pads->size()) != 2 * r || !is_static(g.tensor(x))) return false;
    if (!same_quantization(g.tensor(x), g.tensor(y))) return false;
    Editor ed(g);
    bool zero = true;
    for (auto v : *pads) zero &= v == 0;
    if (zero) {
      if (ed.forward_needs_copy(y, x)) return false;
      ed.forward(y, x);
      ed.remove(c);
      ed.commit();
      return true;
    }
    int p = u.producer[x];
    if (p < 0 || g.op_code(p) != code || g.is_graph_output(x) || u.consumers[x].size() != 1) return false;
    const auto& pop = g.op(p);
    if (pop.inputs.size() != op.inputs.size() || pop.inputs[0] < 0) return false;
    const int x0 = pop.inputs[0];
    auto pads0 = const_ints(g, pop.inputs[1]);
    if (!pads0 || pads0->size() != pads->size() || !same_quantization(g.tensor(x0), g.tensor(y))) return false;
    if (code == tfl::BuiltinOperator_PADV2) {
      const auto* v0 = pop.inputs.size() > 2 && pop.inputs[2] >= 0 ? g.data(pop.inputs[2]) : nullptr;
      const auto* v1 = op.inputs.size() > 2 && op.inputs[2] >= 0 ? g.data(op.inputs[2]) : nullptr;
      if (!v0 || !v1 || *v0 != *v1) return false;
    }
    if (code == tfl::BuiltinOperator_MIRROR_PAD) {
      if (mirror_mode(g, c) != mirror_mode(g, p)) return false;
      bool disjoint = true;
      for (int d = 0; d < r; ++d) {
        bool a = (*pads0)[2 * d] != 0 || (*pads0)[2 * d + 1] != 0;
        bool b = (*pads)[2 * d] != 0 || (*pads)[2 * d + 1] != 0;
        disjoint &= !(a && b);
      }
      if (!disjoint) return false;
    }
    std::vector<int32_t> sum(pads->size());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = static_cast<int32_t>((*pads)[i] + (*pads0)[i]);
    int pt = ed.const_i32(g.tensor(y).name + "/paddings", sum, {r, 2});
    g.op(c).inputs[0] = x0;
    g.op(c).inputs[1] = pt;
    ed.remove(p);
    ed.commit();
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_merge_pads() { return std::make_unique<MergePads>(); }

}  // namespace sealite::passes
