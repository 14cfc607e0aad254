#include "passes/rewrite.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "analysis/const_eval.h"
#include "core/error.h"
#include "tflite/model_io.h"

namespace sealite::passes {

using tfl::BuiltinOperator;

// ---------------------------------------------------------------- permutations

bool is_permutation(const Perm& p) {
  std::vector<char> seen(p.size(), 0);
  for (int v : p) {
    if (v < 0 || v >= static_cast<int>(p.size()) || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

bool is_identity(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int>(i)) return false;
  return true;
}

Perm inverse(const Perm& p) {
  Perm q(p.size());
  for (size_t i = 0; i < p.size(); ++i) q[p[i]] = static_cast<int>(i);
  return q;
}

Perm compose(const Perm& first, const Perm& second) {
  // y = T(x, first): y.axis[j] = x.axis[first[j]]; z = T(y, second): z.axis[i] = y.axis[second[i]].
  Perm r(second.size());
  for (size_t i = 0; i < second.size(); ++i) r[i] = first[second[i]];
  return r;
}

Shape permute_shape(const Shape& s, const Perm& p) {
  Shape out(p.size());
  for (size_t i = 0; i < p.size(); ++i) out[i] = s[p[i]];
  return out;
}

bool moves_only_unit_axes(const Shape& s, const Perm& p) {
  int last = -1;
  for (int a : p) {
    if (s[a] == 1) continue;
    if (a < last) return false;
    last = a;
  }
  return true;
}

// ---------------------------------------------------------------- tensors

std::optional<std::vector<int64_t>> const_ints(const graph::Graph& g, int t) {
  if (t < 0 || !g.is_constant(t)) return std::nullopt;
  const auto& tt = g.tensor(t);
  if (tt.type != tfl::TensorType_INT32 && tt.type != tfl::TensorType_INT64) return std::nullopt;
  auto v = analysis::constant_value(g, t);
  if (!v) return std::nullopt;
  std::vector<int64_t> out(v->v.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(v->v[i]);
  return out;
}

std::optional<Perm> transpose_perm(const graph::Graph& g, int op) {
  const auto& o = g.op(op);
  if (g.op_code(op) != tfl::BuiltinOperator_TRANSPOSE || o.inputs.size() < 2 || o.outputs.size() != 1) return std::nullopt;
  if (o.inputs[0] < 0 || o.outputs[0] < 0) return std::nullopt;
  auto v = const_ints(g, o.inputs[1]);
  if (!v) return std::nullopt;
  Perm p(v->begin(), v->end());
  if (p.size() != g.tensor(o.inputs[0]).shape.size() || !is_permutation(p)) return std::nullopt;
  return p;
}

bool is_quantized(const tfl::TensorT& t) {
  return t.quantization && (!t.quantization->scale.empty() || !t.quantization->zero_point.empty());
}

bool same_quantization(const tfl::TensorT& a, const tfl::TensorT& b) {
  bool qa = is_quantized(a), qb = is_quantized(b);
  if (qa != qb) return false;
  if (!qa) return true;
  const auto& x = *a.quantization;
  const auto& y = *b.quantization;
  return x.scale == y.scale && x.zero_point == y.zero_point &&
         (x.scale.size() <= 1 || x.quantized_dimension == y.quantized_dimension);
}

bool is_static(const tfl::TensorT& t) {
  for (int d : t.shape)
    if (d <= 0) return false;
  for (int d : t.shape_signature)
    if (d < 0) return false;
  return true;
}

bool has_dynamic_shapes(const graph::Graph& g, std::string* reason) {
  for (int t = 0; t < g.num_tensors(); ++t) {
    const auto& tt = g.tensor(t);
    bool dyn = false;
    for (int d : tt.shape_signature) dyn |= d < 0;
    for (int d : tt.shape) dyn |= d < 0;
    if (dyn) {
      if (reason)
        *reason = "tensor '" + tt.name + "' has a dynamic dimension (shape_signature " +
                  shape_str(tt.shape_signature.empty() ? tt.shape : tt.shape_signature) + ")";
      return true;
    }
  }
  return false;
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int d : s) n *= d;
  return n;
}

size_t element_size(tfl::TensorType t) {
  switch (t) {
    case tfl::TensorType_FLOAT32: case tfl::TensorType_INT32: case tfl::TensorType_UINT32: return 4;
    case tfl::TensorType_INT64: case tfl::TensorType_FLOAT64: case tfl::TensorType_UINT64: return 8;
    case tfl::TensorType_INT16: case tfl::TensorType_FLOAT16: case tfl::TensorType_UINT16: return 2;
    case tfl::TensorType_INT8: case tfl::TensorType_UINT8: case tfl::TensorType_BOOL: return 1;
    default: return 0;
  }
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  out += ']';
  return out;
}

// ---------------------------------------------------------------- ops

int version_for(BuiltinOperator code, tfl::TensorType type, int rank, bool flag) {
  const bool i8 = type == tfl::TensorType_INT8, i16 = type == tfl::TensorType_INT16,
             b = type == tfl::TensorType_BOOL;
  switch (code) {
    case tfl::BuiltinOperator_TRANSPOSE:
      if (rank > 5) return 6;
      if (i16) return 5;
      if (rank > 4) return 4;
      if (b) return 3;
      return i8 ? 2 : 1;
    case tfl::BuiltinOperator_PAD: case tfl::BuiltinOperator_PADV2:
      if (rank > 4) return 4;
      if (i16) return 3;
      return i8 ? 2 : 1;
    case tfl::BuiltinOperator_MIRROR_PAD:
      if (i16) return 3;
      return i8 ? 2 : 1;
    case tfl::BuiltinOperator_SLICE:
      if (rank > 4) return 5;
      if (i16) return 4;
      return i8 ? 2 : 1;
    case tfl::BuiltinOperator_STRIDED_SLICE:
      if (rank > 4) return 4;
      if (b) return 3;
      return i8 ? 2 : 1;
    case tfl::BuiltinOperator_CONCATENATION:
      if (i16) return 3;
      return i8 ? 2 : 1;
    case tfl::BuiltinOperator_REVERSE_V2:
      if (i8) return 3;
      return b ? 2 : 1;
    case tfl::BuiltinOperator_TILE:
      return i8 ? 3 : 1;
    case tfl::BuiltinOperator_RESIZE_NEAREST_NEIGHBOR:
      if (i16) return 4;
      if (flag) return 3;
      return i8 ? 2 : 1;
    default:
      return 1;
  }
}

bool is_read(const graph::Graph& g, const graph::Uses& u, int t) {
  return t >= 0 && (!u.consumers[t].empty() || g.is_graph_output(t));
}

static bool has_side_effects(const graph::Graph& g, int op) {
  switch (g.op_code(op)) {
    case tfl::BuiltinOperator_CUSTOM: case tfl::BuiltinOperator_CALL: case tfl::BuiltinOperator_WHILE:
    case tfl::BuiltinOperator_IF: case tfl::BuiltinOperator_CALL_ONCE: case tfl::BuiltinOperator_ASSIGN_VARIABLE:
    case tfl::BuiltinOperator_VAR_HANDLE: case tfl::BuiltinOperator_READ_VARIABLE:
    case tfl::BuiltinOperator_HASHTABLE: case tfl::BuiltinOperator_HASHTABLE_IMPORT:
    case tfl::BuiltinOperator_STABLEHLO_COMPOSITE:
      return true;
    default:
      for (bool m : g.op(op).mutating_variable_inputs)
        if (m) return true;
      return false;
  }
}

bool is_dead(const graph::Graph& g, const graph::Uses& u, int op) {
  if (has_side_effects(g, op)) return false;
  for (int t : g.op(op).outputs)
    if (t >= 0 && (is_read(g, u, t) || g.tensor(t).is_variable)) return false;
  return true;
}

bool is_unary_elementwise(BuiltinOperator c) {
  switch (c) {
    case tfl::BuiltinOperator_ABS: case tfl::BuiltinOperator_CEIL: case tfl::BuiltinOperator_COS:
    case tfl::BuiltinOperator_ELU: case tfl::BuiltinOperator_EXP: case tfl::BuiltinOperator_FLOOR:
    case tfl::BuiltinOperator_HARD_SWISH: case tfl::BuiltinOperator_LEAKY_RELU: case tfl::BuiltinOperator_LOG:
    case tfl::BuiltinOperator_LOGISTIC: case tfl::BuiltinOperator_NEG: case tfl::BuiltinOperator_RELU:
    case tfl::BuiltinOperator_RELU6: case tfl::BuiltinOperator_RELU_N1_TO_1: case tfl::BuiltinOperator_RELU_0_TO_1:
    case tfl::BuiltinOperator_ROUND: case tfl::BuiltinOperator_RSQRT: case tfl::BuiltinOperator_SIN:
    case tfl::BuiltinOperator_SQRT: case tfl::BuiltinOperator_SQUARE: case tfl::BuiltinOperator_TANH:
    case tfl::BuiltinOperator_GELU: case tfl::BuiltinOperator_CAST: case tfl::BuiltinOperator_QUANTIZE:
    case tfl::BuiltinOperator_DEQUANTIZE: case tfl::BuiltinOperator_LOGICAL_NOT: case tfl::BuiltinOperator_SIGN:
      return true;
    default:
      return false;
  }
}

bool is_binary_elementwise(BuiltinOperator c) {
  switch (c) {
    case tfl::BuiltinOperator_ADD: case tfl::BuiltinOperator_SUB: case tfl::BuiltinOperator_MUL:
    case tfl::BuiltinOperator_DIV: case tfl::BuiltinOperator_MAXIMUM: case tfl::BuiltinOperator_MINIMUM:
    case tfl::BuiltinOperator_SQUARED_DIFFERENCE: case tfl::BuiltinOperator_POW:
    case tfl::BuiltinOperator_FLOOR_DIV: case tfl::BuiltinOperator_FLOOR_MOD: case tfl::BuiltinOperator_LESS:
    case tfl::BuiltinOperator_LESS_EQUAL: case tfl::BuiltinOperator_GREATER:
    case tfl::BuiltinOperator_GREATER_EQUAL: case tfl::BuiltinOperator_EQUAL: case tfl::BuiltinOperator_NOT_EQUAL:
    case tfl::BuiltinOperator_LOGICAL_AND: case tfl::BuiltinOperator_LOGICAL_OR:
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------- Editor

Editor::Editor(graph::Graph& g)
    : g_(g),
      ops0_(g.subgraph().operators.size()),
      tensors0_(g.subgraph().tensors.size()),
      buffers0_(g.model().buffers.size()),
      codes0_(g.model().operator_codes.size()) {
  key_.resize(g.num_ops());
  for (int o = 0; o < g.num_ops(); ++o) key_[o] = o;
  removed_.assign(g.num_ops(), 0);
}

int Editor::tensor_like(int like, Shape shape, const std::string& suffix) {
  const auto& src = g_.tensor(like);
  std::string name = src.name + suffix;
  auto type = src.type;
  std::unique_ptr<tfl::QuantizationParametersT> q;
  if (src.quantization) q = std::make_unique<tfl::QuantizationParametersT>(*src.quantization);
  int t = g_.add_tensor(name, type, std::move(shape));
  g_.tensor(t).quantization = std::move(q);
  return t;
}

int Editor::const_i32(const std::string& name, const std::vector<int32_t>& values, Shape shape) {
  if (shape.empty()) shape = {static_cast<int32_t>(values.size())};
  return g_.add_constant_i32(name, shape, values);
}

int Editor::const_like(int like, Shape shape, std::vector<uint8_t> bytes, const std::string& suffix) {
  const auto& src = g_.tensor(like);
  std::unique_ptr<tfl::QuantizationParametersT> q;
  if (src.quantization) q = std::make_unique<tfl::QuantizationParametersT>(*src.quantization);
  int t = g_.add_constant(src.name + suffix, src.type, std::move(shape), bytes);
  g_.tensor(t).quantization = std::move(q);
  return t;
}

int Editor::add_op(int anchor, BuiltinOperator code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
                   tfl::BuiltinOptionsUnion options, int version) {
  int o = g_.add_op(code, std::move(inputs), std::move(outputs), std::move(options), version);
  double base = anchor >= 0 && anchor < static_cast<int>(key_.size()) ? key_[anchor] : static_cast<double>(o);
  key_.push_back(base - 0.5 + 1e-6 * ++seq_);
  removed_.push_back(0);
  return o;
}

int Editor::transpose(int anchor, int x, const Perm& p, int out) {
  const auto& xt = g_.tensor(x);
  if (out < 0) out = tensor_like(x, permute_shape(xt.shape, p), "/transposed");
  std::vector<int32_t> pv(p.begin(), p.end());
  int pt = const_i32(g_.tensor(out).name + "/perm", pv);
  tfl::BuiltinOptionsUnion u;
  u.Set(tfl::TransposeOptionsT{});
  add_op(anchor, tfl::BuiltinOperator_TRANSPOSE, {x, pt}, {out}, std::move(u),
         version_for(tfl::BuiltinOperator_TRANSPOSE, xt.type, static_cast<int>(p.size())));
  return out;
}

int Editor::reshape(int anchor, int x, const Shape& shape, int out) {
  if (out < 0) out = tensor_like(x, shape, "/reshaped");
  int st = const_i32(g_.tensor(out).name + "/shape", std::vector<int32_t>(shape.begin(), shape.end()));
  tfl::ReshapeOptionsT ro;
  ro.new_shape = shape;
  tfl::BuiltinOptionsUnion u;
  u.Set(std::move(ro));
  add_op(anchor, tfl::BuiltinOperator_RESHAPE, {x, st}, {out}, std::move(u), 1);
  return out;
}

int Editor::slice(int anchor, int x, const std::vector<int32_t>& begin, const std::vector<int32_t>& size, int out) {
  const auto& xt = g_.tensor(x);
  if (out < 0) out = tensor_like(x, size, "/slice");
  const std::string n = g_.tensor(out).name;
  int b = const_i32(n + "/begin", begin);
  int s = const_i32(n + "/size", size);
  tfl::BuiltinOptionsUnion u;
  u.Set(tfl::SliceOptionsT{});
  add_op(anchor, tfl::BuiltinOperator_SLICE, {x, b, s}, {out}, std::move(u),
         version_for(tfl::BuiltinOperator_SLICE, xt.type, static_cast<int>(begin.size())));
  return out;
}

int Editor::strided_slice(int anchor, int x, const std::vector<int32_t>& begin, const std::vector<int32_t>& end,
                          const std::vector<int32_t>& strides, int out) {
  const auto& xt = g_.tensor(x);
  if (out < 0) {
    Shape s(begin.size());
    for (size_t d = 0; d < s.size(); ++d) s[d] = (end[d] - begin[d] + strides[d] - 1) / strides[d];
    out = tensor_like(x, s, "/strided_slice");
  }
  const std::string n = g_.tensor(out).name;
  int b = const_i32(n + "/begin", begin);
  int e = const_i32(n + "/end", end);
  int st = const_i32(n + "/strides", strides);
  tfl::BuiltinOptionsUnion u;
  u.Set(tfl::StridedSliceOptionsT{});  // no masks, no offset (v8 is rejected by TFLite 2.9)
  add_op(anchor, tfl::BuiltinOperator_STRIDED_SLICE, {x, b, e, st}, {out}, std::move(u),
         version_for(tfl::BuiltinOperator_STRIDED_SLICE, xt.type, static_cast<int>(begin.size())));
  return out;
}

int Editor::concat(int anchor, const std::vector<int>& xs, int axis, int out) {
  const auto& x0 = g_.tensor(xs.at(0));
  if (out < 0) {
    Shape s = x0.shape;
    s[axis] = 0;
    for (int x : xs) s[axis] += g_.tensor(x).shape[axis];
    out = tensor_like(xs[0], s, "/concat");
  }
  tfl::ConcatenationOptionsT co;
  co.axis = axis;
  tfl::BuiltinOptionsUnion u;
  u.Set(std::move(co));
  add_op(anchor, tfl::BuiltinOperator_CONCATENATION, std::vector<int32_t>(xs.begin(), xs.end()), {out}, std::move(u),
         version_for(tfl::BuiltinOperator_CONCATENATION, x0.type, static_cast<int>(x0.shape.size())));
  return out;
}

int Editor::pad(int anchor, int x, const std::vector<std::pair<int, int>>& pads, int mode, int out) {
  const auto& xt = g_.tensor(x);
  const int r = static_cast<int>(xt.shape.size());
  if (out < 0) {
    Shape s = xt.shape;
    for (int d = 0; d < r; ++d) s[d] += pads[d].first + pads[d].second;
    out = tensor_like(x, s, mode < 0 ? "/pad" : "/mirror_pad");
  }
  std::vector<int32_t> pv;
  for (auto& [a, b] : pads) { pv.push_back(a); pv.push_back(b); }
  int pt = const_i32(g_.tensor(out).name + "/paddings", pv, {r, 2});
  tfl::BuiltinOptionsUnion u;
  BuiltinOperator code = tfl::BuiltinOperator_PAD;
  if (mode < 0) {
    u.Set(tfl::PadOptionsT{});
  } else {
    code = tfl::BuiltinOperator_MIRROR_PAD;
    tfl::MirrorPadOptionsT mo;
    mo.mode = static_cast<tfl::MirrorPadMode>(mode);
    u.Set(std::move(mo));
  }
  add_op(anchor, code, {x, pt}, {out}, std::move(u), version_for(code, xt.type, r));
  return out;
}

int Editor::reverse(int anchor, int x, int axis, int out) {
  const auto& xt = g_.tensor(x);
  if (out < 0) out = tensor_like(x, xt.shape, "/reverse");
  int at = const_i32(g_.tensor(out).name + "/axis", {axis});
  tfl::BuiltinOptionsUnion u;
  u.Set(tfl::ReverseV2OptionsT{});
  add_op(anchor, tfl::BuiltinOperator_REVERSE_V2, {x, at}, {out}, std::move(u),
         version_for(tfl::BuiltinOperator_REVERSE_V2, xt.type, static_cast<int>(xt.shape.size())));
  return out;
}

int Editor::tile(int anchor, int x, const std::vector<int32_t>& multiples, int out) {
  const auto& xt = g_.tensor(x);
  if (out < 0) {
    Shape s = xt.shape;
    for (size_t d = 0; d < s.size(); ++d) s[d] *= multiples[d];
    out = tensor_like(x, s, "/tile");
  }
  int mt = const_i32(g_.tensor(out).name + "/multiples", multiples);
  tfl::BuiltinOptionsUnion u;
  u.Set(tfl::TileOptionsT{});
  add_op(anchor, tfl::BuiltinOperator_TILE, {x, mt}, {out}, std::move(u),
         version_for(tfl::BuiltinOperator_TILE, xt.type, static_cast<int>(xt.shape.size())));
  return out;
}

int Editor::resize_nearest(int anchor, int x, int new_h, int new_w, int out) {
  const auto& xt = g_.tensor(x);
  if (out < 0) out = tensor_like(x, {xt.shape[0], new_h, new_w, xt.shape[3]}, "/resize_nearest");
  int st = const_i32(g_.tensor(out).name + "/size", {new_h, new_w});
  tfl::BuiltinOptionsUnion u;
  u.Set(tfl::ResizeNearestNeighborOptionsT{});
  add_op(anchor, tfl::BuiltinOperator_RESIZE_NEAREST_NEIGHBOR, {x, st}, {out}, std::move(u),
         version_for(tfl::BuiltinOperator_RESIZE_NEAREST_NEIGHBOR, xt.type, 4));
  return out;
}

int Editor::producer_of(int t) const {
  for (int o = 0; o < g_.num_ops(); ++o) {
    if (removed_[o]) continue;
    for (int x : g_.op(o).outputs)
      if (x == t) return o;
  }
  return -1;
}

bool Editor::forward_needs_copy(int from, int to) const {
  if (!g_.is_graph_output(from)) return false;
  int q = producer_of(to);
  return q < 0 || g_.is_graph_output(to) || g_.is_graph_input(to) || g_.tensor(to).is_variable;
}

void Editor::forward(int from, int to) {
  if (from == to) return;
  if (!g_.is_graph_output(from)) {
    g_.replace_uses(from, to);
    return;
  }
  const bool copy = forward_needs_copy(from, to);
  int p = producer_of(from);
  if (p >= 0) {
    int dummy = tensor_like(from, g_.tensor(from).shape, "/unused");
    for (auto& t : g_.op(p).outputs)
      if (t == from) t = dummy;
  }
  if (copy) {
    reshape(p, to, g_.tensor(from).shape, from);
    return;
  }
  int q = producer_of(to);
  g_.replace_uses(to, from);
  for (auto& t : g_.op(q).outputs)
    if (t == to) t = from;
}

void Editor::remove(int op) { removed_.at(op) = 1; }

void Editor::rollback() {
  g_.subgraph().operators.resize(ops0_);
  g_.subgraph().tensors.resize(tensors0_);
  g_.model().buffers.resize(buffers0_);
  g_.model().operator_codes.resize(codes0_);
  key_.resize(ops0_);
  removed_.assign(ops0_, 0);
}
bool Editor::removed(int op) const { return removed_.at(op) != 0; }

void Editor::commit() {
  const int n = g_.num_ops();
  graph::Uses u = g_.uses();
  std::vector<int> indeg(n, 0);
  for (int o = 0; o < n; ++o) {
    if (removed_[o]) continue;
    for (int t : g_.op(o).inputs) {
      if (t < 0) continue;
      int p = u.producer[t];
      if (p >= 0 && p != o && !removed_[p]) ++indeg[o];
    }
  }
  using Item = std::pair<double, int>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
  for (int o = 0; o < n; ++o)
    if (!removed_[o] && indeg[o] == 0) ready.push({key_[o], o});
  std::vector<int> order;
  while (!ready.empty()) {
    int o = ready.top().second;
    ready.pop();
    order.push_back(o);
    for (int t : g_.op(o).outputs) {
      if (t < 0) continue;
      for (int c : u.consumers[t]) {
        if (removed_[c]) continue;
        for (int in : g_.op(c).inputs)
          if (in == t && --indeg[c] == 0) ready.push({key_[c], c});
      }
    }
  }
  int live = 0;
  for (int o = 0; o < n; ++o) live += !removed_[o];
  if (static_cast<int>(order.size()) != live) throw Error("internal error: a rewrite created a cycle");
  auto& ops = g_.subgraph().operators;
  std::vector<std::unique_ptr<tfl::OperatorT>> sorted;
  sorted.reserve(order.size());
  for (int o : order) sorted.push_back(std::move(ops[o]));
  ops = std::move(sorted);
  key_.clear();
  removed_.clear();
}

}  // namespace sealite::passes
