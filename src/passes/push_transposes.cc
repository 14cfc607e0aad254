// push-transposes: moves TRANSPOSEs through layout-agnostic ops so that they
// cancel. Starting from a TRANSPOSE(A, p) -> X, it grows the region of ops that
// read X (or other outputs of TRANSPOSEs by the same p, or region outputs, or
// constants) and do not care about layout: element-wise ops, pads,
// CONCATENATION, reductions with keep_dims. Rewritten to work on A's layout,
// the region needs no entry TRANSPOSE; where its results leave, a reader that
// is TRANSPOSE(., p^-1) disappears, another TRANSPOSE is composed, and any
// other reader gets one TRANSPOSE(., p). The rewrite is made only when it
// removes more TRANSPOSEs than it adds. Constants are permuted; quantization
// (per tensor) is carried unchanged; per-axis quantized tensors stop a region.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

using tfl::BuiltinOperator;

bool is_pad(BuiltinOperator c) {
  return c == tfl::BuiltinOperator_PAD || c == tfl::BuiltinOperator_PADV2 || c == tfl::BuiltinOperator_MIRROR_PAD;
}
bool is_reduce(BuiltinOperator c) {
  return c == tfl::BuiltinOperator_MEAN || c == tfl::BuiltinOperator_SUM || c == tfl::BuiltinOperator_REDUCE_MAX ||
         c == tfl::BuiltinOperator_REDUCE_MIN || c == tfl::BuiltinOperator_REDUCE_PROD;
}
bool per_axis(const tfl::TensorT& t) { return t.quantization && t.quantization->scale.size() > 1; }

// Raw transpose of constant bytes (element size es) of shape s by p.
std::vector<uint8_t> permute_bytes(const std::vector<uint8_t>& in, const Shape& s, const Perm& p, size_t es) {
  const int r = static_cast<int>(s.size());
  Shape os = permute_shape(s, p);
  std::vector<int64_t> istr(r, 1);
  for (int d = r - 2; d >= 0; --d) istr[d] = istr[d + 1] * s[d + 1];
  const int64_t n = numel(s);
  std::vector<uint8_t> out(in.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, src = 0;
    for (int d = r - 1; d >= 0; --d) {
      int64_t c = rem % os[d];
      rem /= os[d];
      src += c * istr[p[d]];
    }
    std::memcpy(out.data() + i * es, in.data() + src * es, es);
  }
  return out;
}

struct Region {
  Perm p, pinv;
  int rank = 0;
  std::vector<int> ops;             // in graph order
  std::set<int> op_set;
  std::set<int> terminal;           // reductions without keep_dims whose output layout does not change
  std::map<int, int> entry_input;   // X (output of a TRANSPOSE by p) -> A
  std::map<int, int> entry_op;      // X -> that TRANSPOSE
  std::set<int> foreign;            // data inputs that need TRANSPOSE(., p^-1)
};

class PushTransposes : public OpRewritePass {
 public:
  std::string name() const override { return "push-transposes"; }
  std::string description() const override {
    return "push TRANSPOSEs through element-wise ops, pads, CONCATENATION and reductions when that makes them "
           "cancel (only when the count of TRANSPOSEs goes down)";
  }
  int priority() const override { return 600; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return code == tfl::BuiltinOperator_TRANSPOSE; }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int t) override {
    auto p = transpose_perm(g, t);
    if (!p || p->size() > 5 || is_identity(*p)) return false;
    Region reg;
    if (!grow(g, u, t, *p, reg)) return false;
    int gain = 0, cost = 0;
    evaluate(g, u, reg, gain, cost);
    if (gain <= cost) return false;
    rewrite(g, u, reg);
    return true;
  }

  // Is `x` an output of TRANSPOSE(., p) we can take as an entry?
  int entry_transpose(const graph::Graph& g, const graph::Uses& u, int x, const Perm& p) {
    int o = u.producer[x];
    if (o < 0 || g.op_code(o) != tfl::BuiltinOperator_TRANSPOSE) return -1;
    auto q = transpose_perm(g, o);
    if (!q || *q != p) return -1;
    const int a = g.op(o).inputs[0];
    if (!same_quantization(g.tensor(a), g.tensor(x)) || per_axis(g.tensor(x))) return -1;
    return o;
  }

  bool permutable_const(const graph::Graph& g, int t, int rank) {
    const auto& tt = g.tensor(t);
    if (per_axis(tt) || !is_static(tt) || static_cast<int>(tt.shape.size()) > rank) return false;
    return element_size(tt.type) != 0 && g.data(t)->size() == numel(tt.shape) * element_size(tt.type);
  }

  // Can op c join the region (all its data inputs accounted for)?
  bool admit(const graph::Graph& g, const graph::Uses& u, int c, Region& reg, bool& terminal) {
    const auto code = g.op_code(c);
    const auto& op = g.op(c);
    const int r = reg.rank;
    terminal = false;
    if (op.outputs.size() != 1 || op.outputs[0] < 0) return false;
    const auto& out = g.tensor(op.outputs[0]);
    if (per_axis(out) || !is_static(out) || out.is_variable) return false;
    std::vector<int> data;  // tensor inputs that carry the layout
    if (is_unary_elementwise(code)) {
      if (op.inputs.size() != 1) return false;
      data = {op.inputs[0]};
    } else if (is_binary_elementwise(code)) {
      if (op.inputs.size() != 2) return false;
      data = {op.inputs[0], op.inputs[1]};
    } else if (is_pad(code)) {
      if (op.inputs.size() < 2 || !const_ints(g, op.inputs[1])) return false;
      if (op.inputs.size() > 2 && op.inputs[2] >= 0 && !g.is_constant(op.inputs[2])) return false;
      data = {op.inputs[0]};
    } else if (code == tfl::BuiltinOperator_CONCATENATION) {
      data.assign(op.inputs.begin(), op.inputs.end());
    } else if (is_reduce(code)) {
      if (op.inputs.size() != 2) return false;
      auto axes = const_ints(g, op.inputs[1]);
      if (!axes) return false;
      auto* ro = op.builtin_options.AsReducerOptions();
      bool keep = ro && ro->keep_dims;
      if (!keep) {
        std::set<int> red;
        for (auto a : *axes) red.insert(static_cast<int>(a < 0 ? a + r : a));
        int last = -1;
        for (int i = 0; i < r; ++i) {
          if (red.count(i)) continue;
          if (reg.p[i] < last) return false;  // the kept axes would come out in another order
          last = reg.p[i];
        }
        terminal = true;
      }
      data = {op.inputs[0]};
    } else {
      return false;
    }
    if (!terminal && static_cast<int>(out.shape.size()) != r) return false;
    for (int t : data) {
      if (t < 0) return false;
      const auto& tt = g.tensor(t);
      if (reg.entry_input.count(t)) continue;
      int pr = u.producer[t];
      if (pr >= 0 && reg.op_set.count(pr) && !reg.terminal.count(pr)) continue;
      if (int e = entry_transpose(g, u, t, reg.p); e >= 0) continue;
      if (g.is_constant(t)) {
        if (!permutable_const(g, t, r)) return false;
        if (code == tfl::BuiltinOperator_CONCATENATION && static_cast<int>(tt.shape.size()) != r) return false;
        continue;
      }
      if (static_cast<int>(tt.shape.size()) != r || per_axis(tt) || !is_static(tt)) return false;
    }
    // Accepted: record entries and foreign inputs.
    for (int t : data) {
      if (reg.entry_input.count(t)) continue;
      int pr = u.producer[t];
      if (pr >= 0 && reg.op_set.count(pr) && !reg.terminal.count(pr)) continue;
      if (int e = entry_transpose(g, u, t, reg.p); e >= 0) {
        reg.entry_input[t] = g.op(e).inputs[0];
        reg.entry_op[t] = e;
        continue;
      }
      if (!g.is_constant(t)) reg.foreign.insert(t);
    }
    return true;
  }

  bool grow(const graph::Graph& g, const graph::Uses& u, int t, const Perm& p, Region& reg) {
    reg.p = p;
    reg.pinv = inverse(p);
    reg.rank = static_cast<int>(p.size());
    const int x = g.op(t).outputs[0];
    if (entry_transpose(g, u, x, p) != t) return false;
    reg.entry_input[x] = g.op(t).inputs[0];
    reg.entry_op[x] = t;
    std::vector<int> work(u.consumers[x].begin(), u.consumers[x].end());
    std::set<int> rejected;
    while (!work.empty() && reg.op_set.size() < 4096) {
      int c = work.back();
      work.pop_back();
      if (reg.op_set.count(c) || rejected.count(c)) continue;
      bool terminal = false;
      if (!admit(g, u, c, reg, terminal)) {
        rejected.insert(c);
        continue;
      }
      reg.op_set.insert(c);
      if (terminal) {
        reg.terminal.insert(c);
        continue;
      }
      for (int o : g.op(c).outputs)
        for (int cc : u.consumers[o]) work.push_back(cc);
      // An op rejected earlier may now have all its inputs in the region.
      for (int rj : std::vector<int>(rejected.begin(), rejected.end()))
        for (int in : g.op(rj).inputs)
          if (in >= 0 && in == g.op(c).outputs[0]) { rejected.erase(rj); work.push_back(rj); }
    }
    if (reg.op_set.empty()) return false;
    reg.ops.assign(reg.op_set.begin(), reg.op_set.end());
    // An entry whose own input comes out of the region would need that input in
    // the old layout: give up on such regions.
    for (auto& [x, a] : reg.entry_input) {
      int pr = u.producer[a];
      if (pr >= 0 && reg.op_set.count(pr) && !reg.terminal.count(pr)) return false;
    }
    // Foreign inputs that turned out to be region outputs are not foreign.
    for (auto it = reg.foreign.begin(); it != reg.foreign.end();) {
      int pr = u.producer[*it];
      if (pr >= 0 && reg.op_set.count(pr) && !reg.terminal.count(pr)) it = reg.foreign.erase(it);
      else ++it;
    }
    return true;
  }

  // Outside readers of a region output y: TRANSPOSEs we can compose, and whether
  // some other reader (or the graph output) needs y in its old layout.
  void exits(const graph::Graph& g, const graph::Uses& u, const Region& reg, int y, std::vector<int>& transposes,
             bool& needs_copy) {
    needs_copy = g.is_graph_output(y);
    for (int c : u.consumers[y]) {
      if (reg.op_set.count(c)) continue;
      auto q = g.op_code(c) == tfl::BuiltinOperator_TRANSPOSE && g.op(c).inputs[0] == y ? transpose_perm(g, c)
                                                                                           : std::nullopt;
      if (q && same_quantization(g.tensor(y), g.tensor(g.op(c).outputs[0]))) transposes.push_back(c);
      else needs_copy = true;
    }
  }

  void evaluate(const graph::Graph& g, const graph::Uses& u, const Region& reg, int& gain, int& cost) {
    gain = cost = 0;
    std::set<int> entries;
    for (auto& [x, e] : reg.entry_op) entries.insert(e);
    for (int e : entries) {
      const int x = g.op(e).outputs[0];
      bool all_inside = !g.is_graph_output(x);
      for (int c : u.consumers[x]) all_inside &= reg.op_set.count(c) > 0;
      if (all_inside) ++gain;
    }
    cost += static_cast<int>(reg.foreign.size());
    for (int c : reg.ops) {
      if (reg.terminal.count(c)) continue;
      std::vector<int> ts;
      bool copy = false;
      exits(g, u, reg, g.op(c).outputs[0], ts, copy);
      for (int q : ts)
        if (is_identity(compose(reg.p, *transpose_perm(g, q)))) ++gain;
      if (copy) ++cost;
    }
  }

  void rewrite(graph::Graph& g, const graph::Uses& u, const Region& reg) {
    Editor ed(g);
    const Perm& p = reg.p;
    const Perm& pinv = reg.pinv;
    const int r = reg.rank;
    std::map<int, int> a_of;  // X-layout tensor -> A-layout tensor
    for (auto& [x, a] : reg.entry_input) a_of[x] = a;
    // Exit information must be taken before ops are rewired.
    std::map<int, std::pair<std::vector<int>, bool>> exit_info;
    for (int c : reg.ops) {
      if (reg.terminal.count(c)) continue;
      std::vector<int> ts;
      bool copy = false;
      exits(g, u, reg, g.op(c).outputs[0], ts, copy);
      exit_info[g.op(c).outputs[0]] = {ts, copy};
    }
    auto axis_a = [&](int64_t a) { return p[a < 0 ? a + r : a]; };
    for (int c : reg.ops) {  // graph order is a valid execution order
      auto& op = g.op(c);
      const auto code = g.op_code(c);
      for (size_t i = 0; i < op.inputs.size(); ++i) {
        int t = op.inputs[i];
        if (t < 0) continue;
        if (is_pad(code) && i >= 1) continue;     // paddings / pad value: handled below
        if (is_reduce(code) && i >= 1) continue;  // axes: handled below
        if (auto it = a_of.find(t); it != a_of.end()) { op.inputs[i] = it->second; continue; }
        if (g.is_constant(t)) {
          const auto& tt = g.tensor(t);
          if (numel(tt.shape) == 1) continue;  // broadcasts the same way in any layout
          Shape e(r - tt.shape.size(), 1);
          e.insert(e.end(), tt.shape.begin(), tt.shape.end());
          auto bytes = permute_bytes(*g.data(t), e, pinv, element_size(tt.type));
          int nc = ed.const_like(t, permute_shape(e, pinv), std::move(bytes), "/permuted");
          a_of[t] = nc;
          op.inputs[i] = nc;
          continue;
        }
        // foreign: bring it to A's layout
        int nt = ed.transpose(c, t, pinv);
        a_of[t] = nt;
        op.inputs[i] = nt;
      }
      if (is_pad(code)) {
        auto pads = *const_ints(g, op.inputs[1]);
        std::vector<int32_t> pa(2 * r);
        for (int i = 0; i < r; ++i) {
          pa[2 * p[i]] = static_cast<int32_t>(pads[2 * i]);
          pa[2 * p[i] + 1] = static_cast<int32_t>(pads[2 * i + 1]);
        }
        op.inputs[1] = ed.const_i32(g.tensor(op.outputs[0]).name + "/paddings", pa, {r, 2});
      } else if (is_reduce(code)) {
        auto axes = *const_ints(g, op.inputs[1]);
        std::vector<int32_t> aa;
        for (auto a : axes) aa.push_back(axis_a(a));
        std::sort(aa.begin(), aa.end());
        op.inputs[1] = ed.const_i32(g.tensor(op.outputs[0]).name + "/axes", aa);
      } else if (code == tfl::BuiltinOperator_CONCATENATION) {
        if (auto* co = op.builtin_options.AsConcatenationOptions()) co->axis = axis_a(co->axis);
      }
      if (reg.terminal.count(c)) continue;
      const int y = op.outputs[0];
      int ya = ed.tensor_like(y, permute_shape(g.tensor(y).shape, pinv), "/layout");
      op.outputs[0] = ya;
      a_of[y] = ya;
    }
    // Exits. Cancelling TRANSPOSEs go last: forward() may rename the region
    // tensor (when the cancelled one wrote a graph output), and every other
    // reader must already read it by then so that the rename reaches them.
    for (auto& [y, info] : exit_info) {
      int ya = a_of[y];
      std::vector<int> cancelled;
      for (int q : info.first) {
        Perm r2 = compose(p, *transpose_perm(g, q));
        if (is_identity(r2)) {
          cancelled.push_back(q);
          continue;
        }
        std::vector<int32_t> rv(r2.begin(), r2.end());
        g.op(q).inputs[0] = ya;
        g.op(q).inputs[1] = ed.const_i32(g.tensor(g.op(q).outputs[0]).name + "/perm", rv);
      }
      if (info.second) ed.transpose(u.producer[y], ya, p, y);
      for (int q : cancelled) {
        const int qy = g.op(q).outputs[0];
        const bool renames = g.is_graph_output(qy) && !ed.forward_needs_copy(qy, ya);
        ed.forward(qy, ya);
        ed.remove(q);
        if (renames) ya = qy;
      }
    }
    // Entries read only by the region.
    std::set<int> entries;
    for (auto& [x, e] : reg.entry_op) entries.insert(e);
    for (int e : entries) {
      const int x = g.op(e).outputs[0];
      bool all_inside = !g.is_graph_output(x);
      for (int c : u.consumers[x]) all_inside &= reg.op_set.count(c) > 0;
      if (all_inside) ed.remove(e);
    }
    ed.commit();
  }
};

}  // namespace

std::unique_ptr<Pass> make_push_transposes() { return std::make_unique<PushTransposes>(); }

}  // namespace sealite::passes
