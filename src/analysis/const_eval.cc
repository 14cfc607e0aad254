#include "analysis/const_eval.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <set>

namespace sealite::analysis {
namespace {

using tfl::BuiltinOperator;

bool is_float_type(tfl::TensorType t) {
  return t == tfl::TensorType_FLOAT32 || t == tfl::TensorType_FLOAT64 || t == tfl::TensorType_FLOAT16;
}

double round_to(tfl::TensorType t, double x) {
  switch (t) {
    case tfl::TensorType_FLOAT32: return static_cast<double>(static_cast<float>(x));
    case tfl::TensorType_INT32: return static_cast<double>(static_cast<int32_t>(x));
    case tfl::TensorType_INT64: return static_cast<double>(static_cast<int64_t>(x));
    case tfl::TensorType_INT16: return static_cast<double>(static_cast<int16_t>(x));
    case tfl::TensorType_INT8: return static_cast<double>(static_cast<int8_t>(x));
    case tfl::TensorType_UINT8: return static_cast<double>(static_cast<uint8_t>(x));
    case tfl::TensorType_BOOL: return x != 0 ? 1.0 : 0.0;
    default: return x;
  }
}

int64_t numel_of(const std::vector<int32_t>& s) {
  int64_t n = 1;
  for (int d : s) n *= d;
  return n;
}

std::vector<int64_t> strides_of(const std::vector<int32_t>& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

// Broadcast two shapes (numpy rules); empty optional if incompatible.
std::optional<std::vector<int32_t>> broadcast_shape(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t r = std::max(a.size(), b.size());
  std::vector<int32_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    int da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[i] = std::max(da, db);
  }
  return out;
}

// Index into `in` for a flat output index under broadcasting.
int64_t bcast_index(int64_t flat, const std::vector<int32_t>& out, const std::vector<int32_t>& in) {
  int64_t idx = 0, stride = 1;
  int r = static_cast<int>(out.size()), ri = static_cast<int>(in.size());
  for (int d = r - 1; d >= 0; --d) {
    int64_t coord = flat % out[d];
    flat /= out[d];
    int di = d - (r - ri);
    if (di >= 0) {
      if (in[di] != 1) idx += coord * stride;
      stride *= in[di];
    }
  }
  return idx;
}

template <typename Opt>
const Opt* options_as(const tfl::OperatorT& op) {
  return reinterpret_cast<const Opt*>(op.builtin_options.value);
}

}  // namespace

int64_t Value::numel() const { return numel_of(shape); }

std::optional<Value> constant_value(const graph::Graph& g, int t) {
  const auto* data = g.data(t);
  const auto& tt = g.tensor(t);
  if (!data) return std::nullopt;
  Value val;
  val.type = tt.type;
  val.shape = tt.shape;
  int64_t n = numel_of(tt.shape);
  size_t es = 0;
  switch (tt.type) {
    case tfl::TensorType_FLOAT32: case tfl::TensorType_INT32: es = 4; break;
    case tfl::TensorType_INT64: case tfl::TensorType_FLOAT64: es = 8; break;
    case tfl::TensorType_INT16: es = 2; break;
    case tfl::TensorType_INT8: case tfl::TensorType_UINT8: case tfl::TensorType_BOOL: es = 1; break;
    default: return std::nullopt;
  }
  if (static_cast<int64_t>(data->size()) != n * static_cast<int64_t>(es)) return std::nullopt;
  // Quantized constants are not index arithmetic; leave them alone.
  if (tt.quantization && !tt.quantization->scale.empty() && !is_float_type(tt.type)) return std::nullopt;
  val.v.resize(n);
  const uint8_t* p = data->data();
  for (int64_t i = 0; i < n; ++i) {
    switch (tt.type) {
      case tfl::TensorType_FLOAT32: { float x; std::memcpy(&x, p + 4 * i, 4); val.v[i] = x; break; }
      case tfl::TensorType_INT32: { int32_t x; std::memcpy(&x, p + 4 * i, 4); val.v[i] = x; break; }
      case tfl::TensorType_INT64: { int64_t x; std::memcpy(&x, p + 8 * i, 8); val.v[i] = static_cast<double>(x); break; }
      case tfl::TensorType_FLOAT64: { double x; std::memcpy(&x, p + 8 * i, 8); val.v[i] = x; break; }
      case tfl::TensorType_INT16: { int16_t x; std::memcpy(&x, p + 2 * i, 2); val.v[i] = x; break; }
      case tfl::TensorType_INT8: val.v[i] = static_cast<int8_t>(p[i]); break;
      default: val.v[i] = p[i]; break;
    }
  }
  return val;
}

ConstEvaluator::ConstEvaluator(const graph::Graph& g, int64_t max_elements)
    : g_(g), uses_(g.uses()), max_elements_(max_elements) {}

bool ConstEvaluator::supports(BuiltinOperator c) {
  switch (c) {
    case tfl::BuiltinOperator_ABS: case tfl::BuiltinOperator_NEG: case tfl::BuiltinOperator_ADD:
    case tfl::BuiltinOperator_SUB: case tfl::BuiltinOperator_MUL: case tfl::BuiltinOperator_DIV:
    case tfl::BuiltinOperator_FLOOR_DIV: case tfl::BuiltinOperator_FLOOR_MOD:
    case tfl::BuiltinOperator_MAXIMUM: case tfl::BuiltinOperator_MINIMUM: case tfl::BuiltinOperator_FLOOR:
    case tfl::BuiltinOperator_RESHAPE: case tfl::BuiltinOperator_SQUEEZE: case tfl::BuiltinOperator_EXPAND_DIMS:
    case tfl::BuiltinOperator_TRANSPOSE: case tfl::BuiltinOperator_CAST: case tfl::BuiltinOperator_CONCATENATION:
    case tfl::BuiltinOperator_PACK: case tfl::BuiltinOperator_RANGE: case tfl::BuiltinOperator_FILL:
    case tfl::BuiltinOperator_TILE: case tfl::BuiltinOperator_GATHER: case tfl::BuiltinOperator_GATHER_ND:
    case tfl::BuiltinOperator_SLICE: case tfl::BuiltinOperator_BROADCAST_TO: case tfl::BuiltinOperator_SHAPE:
    case tfl::BuiltinOperator_SELECT: case tfl::BuiltinOperator_SELECT_V2: case tfl::BuiltinOperator_LESS:
    case tfl::BuiltinOperator_GREATER: case tfl::BuiltinOperator_EQUAL: case tfl::BuiltinOperator_GREATER_EQUAL:
    case tfl::BuiltinOperator_LESS_EQUAL:
      return true;
    default:
      return false;
  }
}

std::optional<std::vector<Value>> ConstEvaluator::eval_op(int o, const std::vector<Value>& in) const {
  const auto& op = g_.op(o);
  const BuiltinOperator code = g_.op_code(o);
  if (op.outputs.size() != 1 || op.outputs[0] < 0) return std::nullopt;
  const auto& out_t = g_.tensor(op.outputs[0]);
  Value out;
  out.type = out_t.type;
  auto elementwise2 = [&](auto&& f) -> bool {
    if (in.size() < 2) return false;
    auto s = broadcast_shape(in[0].shape, in[1].shape);
    if (!s) return false;
    out.shape = *s;
    int64_t n = numel_of(out.shape);
    out.v.resize(n);
    for (int64_t i = 0; i < n; ++i)
      out.v[i] = round_to(out.type, f(in[0].v[bcast_index(i, out.shape, in[0].shape)],
                                      in[1].v[bcast_index(i, out.shape, in[1].shape)]));
    return true;
  };
  auto elementwise1 = [&](auto&& f) -> bool {
    if (in.empty()) return false;
    out.shape = in[0].shape;
    out.v.resize(in[0].v.size());
    for (size_t i = 0; i < in[0].v.size(); ++i) out.v[i] = round_to(out.type, f(in[0].v[i]));
    return true;
  };
  const bool fl = is_float_type(out.type);
  bool ok = false;
  switch (code) {
    case tfl::BuiltinOperator_ABS: ok = elementwise1([](double x) { return std::fabs(x); }); break;
    case tfl::BuiltinOperator_NEG: ok = elementwise1([](double x) { return -x; }); break;
    case tfl::BuiltinOperator_FLOOR: ok = elementwise1([](double x) { return std::floor(x); }); break;
    case tfl::BuiltinOperator_CAST: ok = elementwise1([&](double x) { return fl ? x : std::trunc(x); }); break;
    case tfl::BuiltinOperator_ADD: ok = elementwise2([](double a, double b) { return a + b; }); break;
    case tfl::BuiltinOperator_SUB: ok = elementwise2([](double a, double b) { return a - b; }); break;
    case tfl::BuiltinOperator_MUL: ok = elementwise2([](double a, double b) { return a * b; }); break;
    case tfl::BuiltinOperator_DIV:
      ok = elementwise2([&](double a, double b) { return fl ? a / b : (b == 0 ? 0 : std::trunc(a / b)); });
      break;
    case tfl::BuiltinOperator_FLOOR_DIV:
      ok = elementwise2([](double a, double b) { return b == 0 ? 0 : std::floor(a / b); });
      break;
    case tfl::BuiltinOperator_FLOOR_MOD:
      ok = elementwise2([](double a, double b) { return b == 0 ? 0 : a - std::floor(a / b) * b; });
      break;
    case tfl::BuiltinOperator_MAXIMUM: ok = elementwise2([](double a, double b) { return std::max(a, b); }); break;
    case tfl::BuiltinOperator_MINIMUM: ok = elementwise2([](double a, double b) { return std::min(a, b); }); break;
    case tfl::BuiltinOperator_LESS: ok = elementwise2([](double a, double b) { return double(a < b); }); break;
    case tfl::BuiltinOperator_GREATER: ok = elementwise2([](double a, double b) { return double(a > b); }); break;
    case tfl::BuiltinOperator_LESS_EQUAL: ok = elementwise2([](double a, double b) { return double(a <= b); }); break;
    case tfl::BuiltinOperator_GREATER_EQUAL: ok = elementwise2([](double a, double b) { return double(a >= b); }); break;
    case tfl::BuiltinOperator_EQUAL: ok = elementwise2([](double a, double b) { return double(a == b); }); break;
    case tfl::BuiltinOperator_RESHAPE: case tfl::BuiltinOperator_SQUEEZE: case tfl::BuiltinOperator_EXPAND_DIMS:
    case tfl::BuiltinOperator_BROADCAST_TO: {
      // The output tensor's static shape is authoritative for these.
      if (in.empty()) break;
      out.shape = out_t.shape;
      int64_t n = numel_of(out.shape);
      if (code == tfl::BuiltinOperator_BROADCAST_TO) {
        if (!broadcast_shape(in[0].shape, out.shape)) break;
        out.v.resize(n);
        for (int64_t i = 0; i < n; ++i) out.v[i] = in[0].v[bcast_index(i, out.shape, in[0].shape)];
      } else {
        if (n != in[0].numel()) break;
        out.v = in[0].v;
      }
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_SHAPE: {
      if (in.empty()) break;
      out.shape = {static_cast<int32_t>(in[0].shape.size())};
      for (int d : in[0].shape) out.v.push_back(d);
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_TRANSPOSE: {
      if (in.size() < 2) break;
      const auto& x = in[0];
      size_t r = x.shape.size();
      if (in[1].v.size() != r) break;
      std::vector<int> perm(r);
      for (size_t i = 0; i < r; ++i) perm[i] = static_cast<int>(in[1].v[i]);
      out.shape.resize(r);
      for (size_t i = 0; i < r; ++i) out.shape[i] = x.shape[perm[i]];
      auto xs = strides_of(x.shape);
      int64_t n = x.numel();
      out.v.resize(n);
      std::vector<int64_t> coord(r);
      for (int64_t i = 0; i < n; ++i) {
        int64_t rem = i, src = 0;
        for (int d = static_cast<int>(r) - 1; d >= 0; --d) {
          int64_t c = rem % out.shape[d];
          rem /= out.shape[d];
          src += c * xs[perm[d]];
        }
        out.v[i] = x.v[src];
      }
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_CONCATENATION: case tfl::BuiltinOperator_PACK: {
      if (in.empty()) break;
      int axis = 0;
      bool pack = code == tfl::BuiltinOperator_PACK;
      if (pack) { if (auto* o = options_as<tfl::PackOptionsT>(op)) axis = o->axis; }
      else if (auto* o = options_as<tfl::ConcatenationOptionsT>(op)) axis = o->axis;
      std::vector<std::vector<int32_t>> shapes;
      for (auto& v : in) {
        auto s = v.shape;
        int r = static_cast<int>(s.size()) + (pack ? 1 : 0);
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) return std::nullopt;
        if (pack) s.insert(s.begin() + a, 1);
        shapes.push_back(s);
      }
      int r = static_cast<int>(shapes[0].size());
      int a = axis < 0 ? axis + r : axis;
      out.shape = shapes[0];
      out.shape[a] = 0;
      for (auto& s : shapes) {
        if (static_cast<int>(s.size()) != r) return std::nullopt;
        out.shape[a] += s[a];
      }
      int64_t outer = 1;
      for (int d = 0; d < a; ++d) outer *= out.shape[d];
      out.v.clear();
      for (int64_t o2 = 0; o2 < outer; ++o2)
        for (size_t k = 0; k < in.size(); ++k) {
          int64_t chunk = 1;
          for (int d = a; d < r; ++d) chunk *= shapes[k][d];
          out.v.insert(out.v.end(), in[k].v.begin() + o2 * chunk, in[k].v.begin() + (o2 + 1) * chunk);
        }
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_RANGE: {
      if (in.size() < 3) break;
      double s = in[0].v.at(0), l = in[1].v.at(0), d = in[2].v.at(0);
      if (d == 0) break;
      int64_t n = static_cast<int64_t>(std::ceil((l - s) / d));
      if (n < 0) n = 0;
      if (n > max_elements_) break;
      out.shape = {static_cast<int32_t>(n)};
      for (int64_t i = 0; i < n; ++i) out.v.push_back(round_to(out.type, s + i * d));
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_FILL: {
      if (in.size() < 2) break;
      for (double d : in[0].v) out.shape.push_back(static_cast<int32_t>(d));
      int64_t n = numel_of(out.shape);
      if (n < 0 || n > max_elements_) break;
      out.v.assign(n, in[1].v.at(0));
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_TILE: {
      if (in.size() < 2) break;
      const auto& x = in[0];
      size_t r = x.shape.size();
      if (in[1].v.size() != r) break;
      out.shape.resize(r);
      for (size_t i = 0; i < r; ++i) out.shape[i] = x.shape[i] * static_cast<int32_t>(in[1].v[i]);
      int64_t n = numel_of(out.shape);
      if (n > max_elements_) break;
      auto xs = strides_of(x.shape);
      out.v.resize(n);
      for (int64_t i = 0; i < n; ++i) {
        int64_t rem = i, src = 0;
        for (int d = static_cast<int>(r) - 1; d >= 0; --d) {
          int64_t c = rem % out.shape[d];
          rem /= out.shape[d];
          src += (c % x.shape[d]) * xs[d];
        }
        out.v[i] = x.v[src];
      }
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_GATHER: {
      if (in.size() < 2) break;
      int axis = 0;
      if (auto* o = options_as<tfl::GatherOptionsT>(op)) {
        axis = o->axis;
        if (o->batch_dims != 0) break;
      }
      const auto& x = in[0];
      int r = static_cast<int>(x.shape.size());
      if (axis < 0) axis += r;
      if (axis < 0 || axis >= r) break;
      int64_t outer = 1, inner = 1;
      for (int d = 0; d < axis; ++d) outer *= x.shape[d];
      for (int d = axis + 1; d < r; ++d) inner *= x.shape[d];
      out.shape.assign(x.shape.begin(), x.shape.begin() + axis);
      out.shape.insert(out.shape.end(), in[1].shape.begin(), in[1].shape.end());
      out.shape.insert(out.shape.end(), x.shape.begin() + axis + 1, x.shape.end());
      for (int64_t a = 0; a < outer; ++a)
        for (double idx : in[1].v) {
          int64_t k = static_cast<int64_t>(idx);
          if (k < 0 || k >= x.shape[axis]) return std::nullopt;
          for (int64_t b = 0; b < inner; ++b) out.v.push_back(x.v[(a * x.shape[axis] + k) * inner + b]);
        }
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_GATHER_ND: {
      if (in.size() < 2 || in[1].shape.empty()) break;
      const auto& x = in[0];
      const auto& idx = in[1];
      int k = idx.shape.back();
      if (k > static_cast<int>(x.shape.size())) break;
      auto xs = strides_of(x.shape);
      int64_t inner = 1;
      for (size_t d = k; d < x.shape.size(); ++d) inner *= x.shape[d];
      out.shape.assign(idx.shape.begin(), idx.shape.end() - 1);
      out.shape.insert(out.shape.end(), x.shape.begin() + k, x.shape.end());
      int64_t rows = k ? idx.numel() / k : 0;
      for (int64_t i = 0; i < rows; ++i) {
        int64_t base = 0;
        for (int d = 0; d < k; ++d) {
          int64_t c = static_cast<int64_t>(idx.v[i * k + d]);
          if (c < 0 || c >= x.shape[d]) return std::nullopt;
          base += c * xs[d];
        }
        for (int64_t b = 0; b < inner; ++b) out.v.push_back(x.v[base + b]);
      }
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_SLICE: {
      if (in.size() < 3) break;
      const auto& x = in[0];
      size_t r = x.shape.size();
      if (in[1].v.size() != r || in[2].v.size() != r) break;
      std::vector<int64_t> b(r), s(r);
      out.shape.resize(r);
      for (size_t d = 0; d < r; ++d) {
        b[d] = static_cast<int64_t>(in[1].v[d]);
        s[d] = static_cast<int64_t>(in[2].v[d]);
        if (s[d] < 0) s[d] = x.shape[d] - b[d];
        if (b[d] < 0 || b[d] + s[d] > x.shape[d]) return std::nullopt;
        out.shape[d] = static_cast<int32_t>(s[d]);
      }
      auto xs = strides_of(x.shape);
      int64_t n = numel_of(out.shape);
      out.v.resize(n);
      for (int64_t i = 0; i < n; ++i) {
        int64_t rem = i, src = 0;
        for (int d = static_cast<int>(r) - 1; d >= 0; --d) {
          int64_t c = rem % out.shape[d];
          rem /= out.shape[d];
          src += (c + b[d]) * xs[d];
        }
        out.v[i] = x.v[src];
      }
      ok = true;
      break;
    }
    case tfl::BuiltinOperator_SELECT: case tfl::BuiltinOperator_SELECT_V2: {
      if (in.size() < 3) break;
      auto s1 = broadcast_shape(in[0].shape, in[1].shape);
      if (!s1) break;
      auto s = broadcast_shape(*s1, in[2].shape);
      if (!s) break;
      out.shape = *s;
      int64_t n = numel_of(out.shape);
      out.v.resize(n);
      for (int64_t i = 0; i < n; ++i)
        out.v[i] = in[0].v[bcast_index(i, out.shape, in[0].shape)] != 0
                       ? in[1].v[bcast_index(i, out.shape, in[1].shape)]
                       : in[2].v[bcast_index(i, out.shape, in[2].shape)];
      ok = true;
      break;
    }
    default:
      break;
  }
  if (!ok) return std::nullopt;
  if (out.numel() != static_cast<int64_t>(out.v.size()) || out.numel() > max_elements_) return std::nullopt;
  return std::vector<Value>{std::move(out)};
}

std::optional<Value> ConstEvaluator::evaluate(int t) {
  if (t < 0 || t >= g_.num_tensors()) return std::nullopt;
  if (auto it = memo_.find(t); it != memo_.end()) return it->second;
  memo_[t] = std::nullopt;  // also breaks cycles
  std::optional<Value> result;
  if (auto c = constant_value(g_, t)) {
    result = std::move(c);
  } else {
    int p = uses_.producer[t];
    if (p >= 0 && supports(g_.op_code(p)) && !g_.tensor(t).is_variable) {
      std::vector<Value> ins;
      bool all = true;
      for (int i : g_.op(p).inputs) {
        if (i < 0) continue;
        auto v = evaluate(i);
        if (!v) { all = false; break; }
        ins.push_back(std::move(*v));
      }
      if (all) {
        if (auto outs = eval_op(p, ins)) result = std::move((*outs)[0]);
      }
    }
  }
  memo_[t] = result;
  return result;
}

std::vector<int> ConstEvaluator::dependency_ops(int t) const {
  std::set<int> ops;
  std::vector<int> stack = {t};
  std::set<int> seen;
  while (!stack.empty()) {
    int x = stack.back();
    stack.pop_back();
    if (x < 0 || !seen.insert(x).second) continue;
    int p = uses_.producer[x];
    if (p < 0) continue;
    ops.insert(p);
    for (int i : g_.op(p).inputs) stack.push_back(i);
  }
  return {ops.begin(), ops.end()};
}

bool ConstEvaluator::depends_on_input(int t) const {
  std::vector<int> stack = {t};
  std::set<int> seen;
  while (!stack.empty()) {
    int x = stack.back();
    stack.pop_back();
    if (x < 0 || !seen.insert(x).second) continue;
    if (g_.is_graph_input(x) || g_.tensor(x).is_variable) return true;
    int p = uses_.producer[x];
    if (p < 0) continue;
    for (int i : g_.op(p).inputs) stack.push_back(i);
  }
  return false;
}

}  // namespace sealite::analysis
