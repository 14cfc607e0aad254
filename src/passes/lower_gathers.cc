// lower-gathers: a GATHER_ND or GATHER whose indices are constant (or computed
// from constants only) is replaced by the ops it equals, as recognised by
// analysis::classify_gather_nd / classify_axis_map: nothing (identity),
// RESHAPE, SLICE, STRIDED_SLICE (no offset: v8 is rejected by TFLite 2.9),
// MIRROR_PAD (reflect / symmetric), edge pad (SLICE + TILE + CONCATENATION),
// REVERSE_V2, TRANSPOSE, nearest-neighbour repeat (RESIZE_NEAREST_NEIGHBOR,
// checked against TFLite's own index formula). Anything else stays: dynamic
// indices, general index maps, quantized gathers whose output quantization
// differs from the input's.
#include <algorithm>
#include <cmath>

#include "analysis/gathers.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

using analysis::AxisMap;

// TFLite's RESIZE_NEAREST_NEIGHBOR index for align_corners = half_pixel_centers = false.
bool resize_nearest_repeats(int n, int f) {
  const int m = n * f;
  const float scale = static_cast<float>(n) / static_cast<float>(m);
  for (int y = 0; y < m; ++y) {
    int src = std::min(static_cast<int>(std::floor(static_cast<float>(y) * scale)), n - 1);
    if (src != y / f) return false;
  }
  return true;
}

bool supported_type(tfl::TensorType t) {
  switch (t) {
    case tfl::TensorType_FLOAT32: case tfl::TensorType_INT32: case tfl::TensorType_INT64:
    case tfl::TensorType_INT8: case tfl::TensorType_UINT8: case tfl::TensorType_BOOL: case tfl::TensorType_INT16:
      return true;
    default:
      return false;
  }
}

class LowerGathers : public Pass {
 public:
  std::string name() const override { return "lower-gathers"; }
  std::string description() const override {
    return "GATHER_ND / GATHER with constant indices -> what they are: identity, RESHAPE, SLICE, STRIDED_SLICE, "
           "MIRROR_PAD, edge pad, REVERSE_V2, TRANSPOSE, nearest repeat (others, and dynamic indices, stay)";
  }
  int priority() const override { return 900; }

  bool run(graph::Graph& g) override {
    bool changed = false;
    // One gather per round: a rewrite changes what later gathers read.
    for (;;) {
      graph::Uses u = g.uses();
      analysis::ConstEvaluator ev(g);
      bool did = false;
      for (int o = 0; o < g.num_ops() && !did; ++o) {
        auto code = g.op_code(o);
        if (code != tfl::BuiltinOperator_GATHER_ND && code != tfl::BuiltinOperator_GATHER) continue;
        if (is_dead(g, u, o)) continue;
        did = try_lower(g, ev, o);
      }
      if (!did) break;
      changed = true;
    }
    return changed;
  }

 private:
  std::string label(const graph::Graph& g, int o) const {
    const auto& op = g.op(o);
    std::string n = op.outputs.empty() || op.outputs[0] < 0 ? "?" : g.tensor(op.outputs[0]).name;
    return g.op_name(o) + " -> '" + n + "'";
  }

  bool try_lower(graph::Graph& g, analysis::ConstEvaluator& ev, int o) {
    const auto& op = g.op(o);
    if (op.inputs.size() < 2 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.inputs[1] < 0 || op.outputs[0] < 0)
      return false;
    const int params = op.inputs[0], indices = op.inputs[1], out = op.outputs[0];
    const auto& pt = g.tensor(params);
    const auto& ot = g.tensor(out);
    if (!is_static(pt) || !is_static(ot) || !supported_type(pt.type) || pt.type != ot.type) {
      note(label(g, o) + ": dynamic shape or unsupported type; kept");
      return false;
    }
    if (!same_quantization(pt, ot)) {
      note(label(g, o) + ": output quantization differs from the input's; kept");
      return false;
    }
    std::optional<analysis::Value> idx;
    if (!ev.depends_on_input(indices)) idx = ev.evaluate(indices);
    if (!idx) {
      note(label(g, o) + (ev.depends_on_input(indices) ? ": indices depend on a model input (dynamic); kept"
                                                       : ": indices cannot be evaluated; kept"));
      return false;
    }
    Editor ed(g);
    int last = -1;
    bool ok = false;
    if (g.op_code(o) == tfl::BuiltinOperator_GATHER_ND)
      ok = lower_gather_nd(ed, o, params, *idx, ot.shape, last);
    else
      ok = lower_gather(ed, g, o, params, *idx, ot.shape, last);
    if (ok && g.tensor(last).shape != g.tensor(out).shape) {
      ok = false;
      why_ = "internal shape check failed; kept";
    }
    if (!ok) {
      ed.rollback();
      note(label(g, o) + ": " + why_);
      return false;
    }
    ed.forward(out, last);
    ed.remove(o);
    ed.commit();
    return true;
  }

  // Applies a 1-D index map along `axis` of x.
  int apply_map(Editor& ed, int anchor, int x, int axis, const AxisMap& m) {
    graph::Graph& g = ed.graph();
    const Shape s = g.tensor(x).shape;
    const int r = static_cast<int>(s.size());
    const int n = s[axis];
    if (m.kind == "identity") return x;
    if (m.kind == "slice") {
      std::vector<int32_t> b(r, 0), sz(s.begin(), s.end());
      b[axis] = m.start;
      sz[axis] = m.size;
      return ed.slice(anchor, x, b, sz);
    }
    if (m.kind == "strided_slice") {
      std::vector<int32_t> b(r, 0), e(s.begin(), s.end()), st(r, 1);
      b[axis] = m.start;
      e[axis] = m.start + m.stride * (m.size - 1) + 1;
      st[axis] = m.stride;
      return ed.strided_slice(anchor, x, b, e, st);
    }
    if (m.kind == "reverse") return ed.reverse(anchor, x, axis);
    if (m.kind == "reflect_pad" || m.kind == "symmetric_pad") {
      std::vector<std::pair<int, int>> pads(r, {0, 0});
      pads[axis] = {m.before, m.after};
      return ed.pad(anchor, x, pads,
                    m.kind == "reflect_pad" ? tfl::MirrorPadMode_REFLECT : tfl::MirrorPadMode_SYMMETRIC);
    }
    if (m.kind == "edge_pad") {
      std::vector<int> parts;
      auto edge = [&](int at, int count) {
        std::vector<int32_t> b(r, 0), sz(s.begin(), s.end());
        b[axis] = at;
        sz[axis] = 1;
        int e = ed.slice(anchor, x, b, sz);
        if (count > 1) {
          std::vector<int32_t> mult(r, 1);
          mult[axis] = count;
          e = ed.tile(anchor, e, mult);
        }
        return e;
      };
      if (m.before > 0) parts.push_back(edge(0, m.before));
      parts.push_back(x);
      if (m.after > 0) parts.push_back(edge(n - 1, m.after));
      return ed.concat(anchor, parts, axis);
    }
    if (m.kind == "repeat") {
      if (!resize_nearest_repeats(n, m.factor)) {
        why_ = "repeat x" + std::to_string(m.factor) + " is not what RESIZE_NEAREST_NEIGHBOR computes for size " +
               std::to_string(n) + "; kept";
        return -1;
      }
      if (r == 4 && (axis == 1 || axis == 2))
        return ed.resize_nearest(anchor, x, axis == 1 ? n * m.factor : s[1], axis == 2 ? n * m.factor : s[2]);
      // View the axis as H of a [outer, n, 1, inner] tensor.
      int64_t outer = 1, inner = 1;
      for (int d = 0; d < axis; ++d) outer *= s[d];
      for (int d = axis + 1; d < r; ++d) inner *= s[d];
      if (outer > INT32_MAX || inner > INT32_MAX) { why_ = "tensor too large; kept"; return -1; }
      int v = ed.reshape(anchor, x, {static_cast<int32_t>(outer), n, 1, static_cast<int32_t>(inner)});
      int rs = ed.resize_nearest(anchor, v, n * m.factor, 1);
      Shape back = s;
      back[axis] = n * m.factor;
      return ed.reshape(anchor, rs, back);
    }
    why_ = "index map along axis " + std::to_string(axis) + " is " + m.describe() + "; kept";
    return -1;
  }

  bool lower_gather_nd(Editor& ed, int o, int params, const analysis::Value& idx, const Shape& out_shape, int& last) {
    graph::Graph& g = ed.graph();
    const Shape P = g.tensor(params).shape;
    auto pat = analysis::classify_gather_nd(P, idx);
    if (pat.kind == "reshape") {
      last = ed.reshape(o, params, out_shape);
      return true;
    }
    if (pat.kind == "general" || pat.kind == "unknown" || pat.kind == "dynamic") {
      why_ = "a general gather (" + pat.detail + "); kept";
      return false;
    }
    const int r = static_cast<int>(P.size());
    Perm full(pat.perm.begin(), pat.perm.end());
    for (int d = static_cast<int>(full.size()); d < r; ++d) full.push_back(d);
    if (!is_permutation(full)) { why_ = "unexpected index pattern; kept"; return false; }
    auto maps = pat.axis_maps;
    std::sort(maps.begin(), maps.end(), [](auto& a, auto& b) { return a.first < b.first; });
    int cur = params;
    // Nearest upsampling of H and W of an NHWC tensor: one resize.
    const AxisMap* rh = nullptr;
    const AxisMap* rw = nullptr;
    for (auto& [ax, m] : maps) {
      if (r == 4 && ax == 1 && m.kind == "repeat") rh = &m;
      if (r == 4 && ax == 2 && m.kind == "repeat") rw = &m;
    }
    if (rh && rw && resize_nearest_repeats(P[1], rh->factor) && resize_nearest_repeats(P[2], rw->factor)) {
      cur = ed.resize_nearest(o, cur, P[1] * rh->factor, P[2] * rw->factor);
      maps.erase(std::remove_if(maps.begin(), maps.end(), [](auto& am) { return am.first == 1 || am.first == 2; }),
                 maps.end());
    }
    for (auto& [ax, m] : maps) {
      cur = apply_map(ed, o, cur, ax, m);
      if (cur < 0) return false;
    }
    if (!is_identity(full)) {
      if (r > 5) { why_ = "a transpose of rank > 5 (rejected by TFLite 2.9); kept"; return false; }
      cur = ed.transpose(o, cur, full);
    }
    last = cur;
    return true;
  }

  bool lower_gather(Editor& ed, graph::Graph& g, int o, int params, const analysis::Value& idx, const Shape& out_shape,
                    int& last) {
    int axis = 0;
    if (auto* go = g.op(o).builtin_options.AsGatherOptions()) {
      if (go->batch_dims != 0) { why_ = "batched gather; kept"; return false; }
      axis = go->axis;
    }
    const Shape P = g.tensor(params).shape;
    const int r = static_cast<int>(P.size());
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) { why_ = "bad axis; kept"; return false; }
    std::vector<int64_t> gm(idx.v.size());
    for (size_t i = 0; i < gm.size(); ++i) gm[i] = static_cast<int64_t>(idx.v[i]);
    if (idx.shape.empty()) {  // one index: the axis disappears
      if (gm.size() != 1 || gm[0] < 0 || gm[0] >= P[axis]) { why_ = "index out of range; kept"; return false; }
      std::vector<int32_t> b(r, 0), sz(P.begin(), P.end());
      b[axis] = static_cast<int32_t>(gm[0]);
      sz[axis] = 1;
      int s = ed.slice(o, params, b, sz);
      last = ed.reshape(o, s, out_shape);
      return true;
    }
    AxisMap m = analysis::classify_axis_map(gm, P[axis]);
    if (m.kind == "general") { why_ = "a general index map; kept"; return false; }
    int cur = apply_map(ed, o, params, axis, m);
    if (cur < 0) return false;
    if (g.tensor(cur).shape != out_shape) cur = ed.reshape(o, cur, out_shape);  // multi-dimensional indices
    last = cur;
    return true;
  }

  std::string why_;
};

}  // namespace

std::unique_ptr<Pass> make_lower_gathers() { return std::make_unique<LowerGathers>(); }

}  // namespace sealite::passes
