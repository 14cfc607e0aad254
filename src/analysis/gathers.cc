#include "analysis/gathers.h"

#include <algorithm>
#include <map>
#include <set>

#include "tflite/op_names.h"

namespace sealite::analysis {
namespace {

using tfl::BuiltinOperator;

bool is_closing_landmark(BuiltinOperator c) {
  switch (c) {
    case tfl::BuiltinOperator_CONV_2D: case tfl::BuiltinOperator_DEPTHWISE_CONV_2D:
    case tfl::BuiltinOperator_TRANSPOSE_CONV: case tfl::BuiltinOperator_FULLY_CONNECTED:
    case tfl::BuiltinOperator_BATCH_MATMUL: case tfl::BuiltinOperator_CONV_3D:
      return true;
    default:
      return false;
  }
}

bool is_resize(BuiltinOperator c) {
  return c == tfl::BuiltinOperator_RESIZE_BILINEAR || c == tfl::BuiltinOperator_RESIZE_NEAREST_NEIGHBOR;
}

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

}  // namespace

std::string AxisMap::describe() const {
  if (kind == "slice") return "slice(start=" + std::to_string(start) + ",size=" + std::to_string(size) + ")";
  if (kind == "strided_slice")
    return "strided_slice(start=" + std::to_string(start) + ",stride=" + std::to_string(stride) +
           ",size=" + std::to_string(size) + ")";
  if (kind == "repeat") return "repeat(x" + std::to_string(factor) + ")";
  if (kind == "reflect_pad" || kind == "symmetric_pad" || kind == "edge_pad")
    return kind + "(" + std::to_string(before) + "," + std::to_string(after) + ")";
  return kind;
}

AxisMap classify_axis_map(const std::vector<int64_t>& g, int64_t n) {
  AxisMap a;
  const int64_t m = static_cast<int64_t>(g.size());
  a.size = static_cast<int>(m);
  auto all = [&](auto&& f) {
    for (int64_t i = 0; i < m; ++i)
      if (g[i] != f(i)) return false;
    return true;
  };
  if (m == n && all([](int64_t i) { return i; })) { a.kind = "identity"; return a; }
  if (m == 0) { a.kind = "general"; return a; }
  if (m < n && all([&](int64_t i) { return g[0] + i; })) {
    a.kind = "slice";
    a.start = static_cast<int>(g[0]);
    return a;
  }
  if (m > 1) {
    int64_t st = g[1] - g[0];
    if (st > 1 && all([&](int64_t i) { return g[0] + i * st; })) {
      a.kind = "strided_slice";
      a.start = static_cast<int>(g[0]);
      a.stride = static_cast<int>(st);
      return a;
    }
  }
  if (m == n && n > 1 && all([&](int64_t i) { return n - 1 - i; })) { a.kind = "reverse"; return a; }
  if (n > 0 && m > n && m % n == 0) {
    int64_t r = m / n;
    if (all([&](int64_t i) { return i / r; })) {
      a.kind = "repeat";
      a.factor = static_cast<int>(r);
      return a;
    }
  }
  if (m > n && n > 0) {
    for (int64_t p = 0; p <= m - n; ++p) {
      int64_t q = m - n - p;
      auto reflect = [&](int64_t i) {
        int64_t j = i - p;
        if (n == 1) return int64_t{0};
        if (j < 0) j = -j;
        if (j >= n) j = 2 * (n - 1) - j;
        return j;
      };
      auto symmetric = [&](int64_t i) {
        int64_t j = i - p;
        if (j < 0) j = -j - 1;
        if (j >= n) j = 2 * n - 1 - j;
        return j;
      };
      auto edge = [&](int64_t i) { return std::clamp<int64_t>(i - p, 0, n - 1); };
      if (p < n && q < n && n > 1 && all(reflect)) { a.kind = "reflect_pad"; a.before = int(p); a.after = int(q); return a; }
      if (p <= n && q <= n && all(symmetric)) { a.kind = "symmetric_pad"; a.before = int(p); a.after = int(q); return a; }
      if (all(edge)) { a.kind = "edge_pad"; a.before = int(p); a.after = int(q); return a; }
    }
  }
  a.kind = "general";
  return a;
}

static void finish_pattern(GatherPattern& p, int rank) {
  std::vector<std::pair<int, AxisMap>> changed;
  for (auto& [ax, m] : p.axis_maps)
    if (m.kind != "identity") changed.push_back({ax, m});
  p.axis_maps = changed;
  bool perm_identity = true;
  for (size_t i = 0; i < p.perm.size(); ++i)
    if (p.perm[i] != static_cast<int>(i)) perm_identity = false;
  if (changed.empty() && perm_identity) { p.kind = "identity"; p.detail = "identity"; return; }
  if (changed.empty()) {
    p.kind = "permutation";
    p.detail = "permutation [" + join_ints(p.perm) + "] (a transpose)";
    return;
  }
  if (perm_identity && changed.size() == 1) {
    p.kind = changed[0].second.kind;
    p.axis = changed[0].first;
    p.detail = changed[0].second.describe() + " on axis " + std::to_string(changed[0].first);
    return;
  }
  bool any_general = false;
  std::string d;
  for (auto& [ax, m] : changed) {
    if (m.kind == "general") any_general = true;
    d += (d.empty() ? "" : " + ") + m.describe() + " on axis " + std::to_string(ax);
  }
  if (!perm_identity) d = "permutation [" + join_ints(p.perm) + "] + " + d;
  p.kind = any_general ? "general" : "composite";
  p.detail = d;
  (void)rank;
}

GatherPattern classify_gather_nd(const std::vector<int32_t>& P, const Value& idx) {
  GatherPattern p;
  if (idx.shape.empty()) { p.kind = "general"; p.detail = "scalar indices"; return p; }
  const int k = idx.shape.back();
  const int m = static_cast<int>(idx.shape.size()) - 1;
  if (k <= 0 || k > static_cast<int>(P.size())) { p.kind = "general"; return p; }
  const int64_t rows = k ? idx.numel() / k : 0;
  auto src = [&](int64_t row, int d) { return static_cast<int64_t>(idx.v[row * k + d]); };
  // Flat offsets in the P[:k] space, for the reshape test.
  if (m != k) {
    bool sequential = true;
    int64_t total = 1;
    for (int d = 0; d < k; ++d) total *= P[d];
    for (int64_t r = 0; r < rows && sequential; ++r) {
      int64_t off = 0;
      for (int d = 0; d < k; ++d) off = off * P[d] + src(r, d);
      if (off != r) sequential = false;
    }
    if (sequential && rows == total) { p.kind = "reshape"; p.detail = "reshape (gathers every element in order)"; }
    else { p.kind = "general"; p.detail = "general gather (" + std::to_string(rows) + " rows of " + std::to_string(k) + "-d indices)"; }
    return p;
  }
  // m == k: find for each param dim d the single output axis it follows.
  std::vector<int64_t> ostr(m, 1);
  for (int a = m - 2; a >= 0; --a) ostr[a] = ostr[a + 1] * idx.shape[a + 1];
  auto coord = [&](int64_t row, int a) { return (row / ostr[a]) % idx.shape[a]; };
  std::vector<int> follows(k, -1);
  std::vector<std::vector<int64_t>> maps(k);
  for (int d = 0; d < k; ++d) {
    for (int a = 0; a < m && follows[d] < 0; ++a) {
      std::vector<int64_t> g(idx.shape[a]);
      for (int64_t i = 0; i < idx.shape[a]; ++i) g[i] = src(i * ostr[a], d);
      bool ok = true;
      for (int64_t r = 0; r < rows && ok; ++r) ok = src(r, d) == g[coord(r, a)];
      if (ok) { follows[d] = a; maps[d] = std::move(g); }
    }
    if (follows[d] < 0) { p.kind = "general"; p.detail = "general gather (index map is not axis-separable)"; return p; }
  }
  // Output axis -> param axis; must be a permutation.
  p.perm.assign(m, -1);
  for (int d = 0; d < k; ++d) {
    if (p.perm[follows[d]] >= 0) { p.kind = "general"; p.detail = "general gather (two axes read one output axis)"; return p; }
    p.perm[follows[d]] = d;
  }
  for (int d = 0; d < k; ++d) p.axis_maps.push_back({d, classify_axis_map(maps[d], P[d])});
  finish_pattern(p, static_cast<int>(P.size()));
  return p;
}

GatherPattern classify_gather(const std::vector<int32_t>& P, const Value& idx, int axis) {
  GatherPattern p;
  int r = static_cast<int>(P.size());
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) { p.kind = "general"; return p; }
  if (idx.shape.size() > 1) { p.kind = "general"; p.detail = "multi-dimensional indices"; return p; }
  std::vector<int64_t> g(idx.v.size());
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<int64_t>(idx.v[i]);
  if (idx.shape.empty()) { p.kind = "slice"; p.axis = axis; p.detail = "select one index on axis " + std::to_string(axis); return p; }
  p.perm.resize(r);
  for (int i = 0; i < r; ++i) p.perm[i] = i;
  p.axis_maps.push_back({axis, classify_axis_map(g, P[axis])});
  finish_pattern(p, r);
  return p;
}

std::vector<std::optional<std::string>> label_blocks(const graph::Graph& g) {
  const int n = g.num_ops();
  std::vector<std::optional<std::string>> label(n);
  graph::Uses u = g.uses();
  ConstEvaluator ev(g);
  // Tensors that depend on no graph input are "constant side" (weights, indices).
  std::vector<int> order;
  try { order = g.topological_order(); } catch (...) { for (int o = 0; o < n; ++o) order.push_back(o); }
  std::vector<char> const_side(g.num_tensors(), 0);
  for (int t = 0; t < g.num_tensors(); ++t)
    if (g.is_constant(t)) const_side[t] = 1;
  for (int o : order) {
    bool all_const = !g.op(o).inputs.empty();
    for (int t : g.op(o).inputs)
      if (t >= 0 && !const_side[t]) all_const = false;
    if (all_const)
      for (int t : g.op(o).outputs)
        if (t >= 0) const_side[t] = 1;
  }
  int upsample = 0, segment = 0;
  for (int o : order) {
    const auto code = g.op_code(o);
    // main data input: first input that is not on the constant side
    int data_in = -1;
    for (int t : g.op(o).inputs)
      if (t >= 0 && !const_side[t]) { data_in = t; break; }
    if (data_in < 0) continue;  // constant computation: no block
    int prod = u.producer[data_in];
    if (is_resize(code)) {
      label[o] = "upsample#" + std::to_string(upsample++);
      continue;
    }
    if (prod < 0 || (is_closing_landmark(g.op_code(prod)) && !is_closing_landmark(code)) || !label[prod]) {
      if (is_closing_landmark(code) && prod >= 0 && label[prod]) { label[o] = label[prod]; continue; }
      label[o] = "segment#" + std::to_string(segment++);
      continue;
    }
    if (is_closing_landmark(g.op_code(prod)) && is_closing_landmark(code)) {
      label[o] = "segment#" + std::to_string(segment++);
      continue;
    }
    label[o] = label[prod];
  }
  return label;
}

std::vector<GatherInfo> analyze_gathers(const graph::Graph& g) {
  std::vector<GatherInfo> out;
  graph::Uses u = g.uses();
  ConstEvaluator ev(g);
  auto blocks = label_blocks(g);
  for (int o = 0; o < g.num_ops(); ++o) {
    auto code = g.op_code(o);
    if (code != tfl::BuiltinOperator_GATHER_ND && code != tfl::BuiltinOperator_GATHER) continue;
    const auto& op = g.op(o);
    GatherInfo gi;
    gi.op = o;
    gi.op_name = g.op_name(o);
    if (op.inputs.size() < 2 || op.inputs[0] < 0 || op.inputs[1] < 0) continue;
    int params = op.inputs[0], indices = op.inputs[1];
    gi.params_shape = g.tensor(params).shape;
    gi.indices_shape = g.tensor(indices).shape;
    if (!op.outputs.empty() && op.outputs[0] >= 0) gi.output_shape = g.tensor(op.outputs[0]).shape;
    std::optional<Value> idx;
    if (g.is_constant(indices)) {
      gi.index_source = "constant";
      idx = ev.evaluate(indices);
    } else if (ev.depends_on_input(indices)) {
      gi.index_source = "dynamic";
    } else {
      gi.index_source = "computed_from_constants";
      gi.index_op_ids = ev.dependency_ops(indices);
      for (int d : gi.index_op_ids) gi.index_ops.push_back(g.op_name(d));
      idx = ev.evaluate(indices);
    }
    if (idx) {
      if (code == tfl::BuiltinOperator_GATHER_ND) {
        gi.pattern = classify_gather_nd(gi.params_shape, *idx);
      } else {
        int axis = 0;
        if (auto* go = reinterpret_cast<const tfl::GatherOptionsT*>(op.builtin_options.value)) {
          axis = go->axis;
          if (go->batch_dims != 0) axis = -1000;
        }
        if (axis == -1000) { gi.pattern.kind = "general"; gi.pattern.detail = "batched gather"; }
        else gi.pattern = classify_gather(gi.params_shape, *idx, axis);
      }
    } else {
      gi.pattern.kind = gi.index_source == "dynamic" ? "dynamic" : "unknown";
      gi.pattern.detail = gi.index_source == "dynamic" ? "indices depend on a model input" : "indices not evaluated";
    }
    gi.block = blocks[o];
    for (int t : op.inputs)
      if (t >= 0 && u.producer[t] >= 0) gi.producers.push_back({u.producer[t], g.op_name(u.producer[t]), t});
    for (int t : op.outputs)
      if (t >= 0)
        for (int c : u.consumers[t]) gi.consumers.push_back({c, g.op_name(c), t});
    out.push_back(std::move(gi));
  }
  return out;
}

}  // namespace sealite::analysis
