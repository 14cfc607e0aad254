// transpose-chains: TRANSPOSE(TRANSPOSE(x, p), q) becomes one TRANSPOSE (or
// nothing when the two cancel); an identity TRANSPOSE disappears; a TRANSPOSE
// that only moves axes of size 1 becomes a RESHAPE (same bytes, no copy).
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

class TransposeChains : public Pass {
 public:
  std::string name() const override { return "transpose-chains"; }
  std::string description() const override {
    return "cancel inverse TRANSPOSE pairs, merge consecutive TRANSPOSEs, drop identity ones, turn a TRANSPOSE "
           "that only moves size-1 axes into a RESHAPE";
  }
  int priority() const override { return 800; }

  bool run(graph::Graph& g) override {
    bool changed = false;
    while (step(g, false) || step(g, true)) changed = true;
    return changed;
  }

 private:
  // One rewrite; `to_reshape` selects the size-1-axes rule (tried only when no
  // merge is left, so merges see every transpose first).
  bool step(graph::Graph& g, bool to_reshape) {
    graph::Uses u = g.uses();
    for (int t = 0; t < g.num_ops(); ++t) {
      if (g.op_code(t) != tfl::BuiltinOperator_TRANSPOSE || is_dead(g, u, t)) continue;
      auto p = transpose_perm(g, t);
      if (!p) continue;
      const int x = g.op(t).inputs[0], y = g.op(t).outputs[0];
      if (!same_quantization(g.tensor(x), g.tensor(y)) || g.tensor(x).type != g.tensor(y).type) continue;
      Editor ed(g);
      if (!to_reshape) {
        if (is_identity(*p)) {
          if (ed.forward_needs_copy(y, x)) {
            if (g.tensor(x).shape != g.tensor(y).shape) continue;
            to_copy(g, ed, t, x);  // graph input straight to graph output: one RESHAPE copy
            ed.commit();
            return true;
          }
          ed.forward(y, x);
          ed.remove(t);
          ed.commit();
          return true;
        }
        int t0 = u.producer[x];
        if (t0 < 0 || g.op_code(t0) != tfl::BuiltinOperator_TRANSPOSE) continue;
        auto p0 = transpose_perm(g, t0);
        if (!p0) continue;
        const int x0 = g.op(t0).inputs[0];
        if (!same_quantization(g.tensor(x0), g.tensor(y))) continue;
        Perm r = compose(*p0, *p);
        bool only_reader = u.consumers[x].size() == 1 && !g.is_graph_output(x);
        if (is_identity(r)) {
          if (ed.forward_needs_copy(y, x0)) {
            if (g.tensor(x0).shape != g.tensor(y).shape) continue;
            to_copy(g, ed, t, x0);
          } else {
            ed.forward(y, x0);
            ed.remove(t);
          }
        } else {
          std::vector<int32_t> rv(r.begin(), r.end());
          int rt = ed.const_i32(g.tensor(y).name + "/perm", rv);
          g.op(t).inputs[0] = x0;
          g.op(t).inputs[1] = rt;
        }
        if (only_reader) ed.remove(t0);
        ed.commit();
        return true;
      }
      const auto& xs = g.tensor(x).shape;
      if (!is_identity(*p) && is_static(g.tensor(x)) && moves_only_unit_axes(xs, *p)) {
        to_copy(g, ed, t, x);
        ed.commit();
        return true;
      }
    }
    return false;
  }

  // Turns op t into RESHAPE(x) to t's output shape (same bytes).
  static void to_copy(graph::Graph& g, Editor& ed, int t, int x) {
    const auto ys = g.tensor(g.op(t).outputs[0]).shape;
    int st = ed.const_i32(g.tensor(g.op(t).outputs[0]).name + "/shape", std::vector<int32_t>(ys.begin(), ys.end()));
    auto& op = g.op(t);
    op.opcode_index = g.opcode_index(tfl::BuiltinOperator_RESHAPE, 1);
    op.inputs = {x, st};
    tfl::ReshapeOptionsT ro;
    ro.new_shape = ys;
    op.builtin_options.Set(std::move(ro));
  }
};

}  // namespace

std::unique_ptr<Pass> make_transpose_chains() { return std::make_unique<TransposeChains>(); }

}  // namespace sealite::passes
