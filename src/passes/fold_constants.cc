// fold-constants: ops whose inputs are all constant (index arithmetic such as
// ABS, SUB, RANGE, CAST, RESHAPE, TRANSPOSE, CONCATENATION, ...) are evaluated
// with analysis::ConstEvaluator and replaced by a constant buffer of the
// output's type. SHAPE of a tensor with a static shape is folded too.
// Float ops are folded only where the evaluator is bit-exact with TensorFlow
// Lite (one correctly rounded operation per element); quantized tensors and
// results much larger than their inputs are left alone.
#include <cmath>
#include <cstring>

#include "analysis/const_eval.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

using tfl::BuiltinOperator;

bool is_float(tfl::TensorType t) { return t == tfl::TensorType_FLOAT32 || t == tfl::TensorType_FLOAT16 || t == tfl::TensorType_FLOAT64; }

// Encodes values as the bytes of `type`; false when a value does not fit.
bool encode(tfl::TensorType type, const std::vector<double>& v, std::vector<uint8_t>& out) {
  size_t es = element_size(type);
  if (es == 0) return false;
  out.resize(v.size() * es);
  for (size_t i = 0; i < v.size(); ++i) {
    double x = v[i];
    uint8_t* p = out.data() + i * es;
    switch (type) {
      case tfl::TensorType_FLOAT32: { float f = static_cast<float>(x); std::memcpy(p, &f, 4); break; }
      case tfl::TensorType_INT32: {
        if (!(x >= -2147483648.0 && x <= 2147483647.0)) return false;
        int32_t y = static_cast<int32_t>(x); std::memcpy(p, &y, 4); break;
      }
      case tfl::TensorType_INT64: {
        if (!(std::fabs(x) < 9.0e15)) return false;
        int64_t y = static_cast<int64_t>(x); std::memcpy(p, &y, 8); break;
      }
      case tfl::TensorType_INT16: {
        if (!(x >= -32768 && x <= 32767)) return false;
        int16_t y = static_cast<int16_t>(x); std::memcpy(p, &y, 2); break;
      }
      case tfl::TensorType_INT8: if (!(x >= -128 && x <= 127)) return false; p[0] = static_cast<uint8_t>(static_cast<int8_t>(x)); break;
      case tfl::TensorType_UINT8: if (!(x >= 0 && x <= 255)) return false; p[0] = static_cast<uint8_t>(x); break;
      case tfl::TensorType_BOOL: p[0] = x != 0 ? 1 : 0; break;
      default: return false;
    }
  }
  return true;
}

class FoldConstants : public Pass {
 public:
  std::string name() const override { return "fold-constants"; }
  std::string description() const override {
    return "evaluate ops whose inputs are all constant (index arithmetic: ABS, SUB, ADD, MUL, CAST, RESHAPE, "
           "TRANSPOSE, CONCATENATION, RANGE, GATHER, ...) and store the result as a constant of the output's type";
  }
  int priority() const override { return 950; }

  bool run(graph::Graph& g) override {
    analysis::ConstEvaluator ev(g);
    graph::Uses u = g.uses();
    Editor ed(g);
    bool changed = false;
    for (int o : g.topological_order()) {
      const auto& op = g.op(o);
      const BuiltinOperator code = g.op_code(o);
      if (op.outputs.size() != 1 || op.outputs[0] < 0) continue;
      const int out = op.outputs[0];
      auto& ot = g.tensor(out);
      if (g.is_graph_output(out) || ot.is_variable || is_quantized(ot) || !is_read(g, u, out)) continue;
      if (element_size(ot.type) == 0 || ot.type == tfl::TensorType_FLOAT16 || ot.type == tfl::TensorType_FLOAT64) continue;
      std::optional<analysis::Value> val;
      size_t in_bytes = 0;
      if (code == tfl::BuiltinOperator_SHAPE) {
        if (op.inputs.empty() || op.inputs[0] < 0 || !is_static(g.tensor(op.inputs[0]))) continue;
        analysis::Value v;
        v.type = ot.type;
        v.shape = {static_cast<int32_t>(g.tensor(op.inputs[0]).shape.size())};
        for (int d : g.tensor(op.inputs[0]).shape) v.v.push_back(d);
        val = std::move(v);
      } else {
        if (!analysis::ConstEvaluator::supports(code)) continue;
        bool all_const = !op.inputs.empty();
        bool any_float = is_float(ot.type);
        std::vector<analysis::Value> ins;
        for (int t : op.inputs) {
          if (t < 0) continue;
          if (!g.is_constant(t)) { all_const = false; break; }
          auto v = analysis::constant_value(g, t);
          if (!v) { all_const = false; break; }
          any_float |= is_float(v->type);
          in_bytes += g.data(t)->size();
          ins.push_back(std::move(*v));
        }
        if (!all_const) continue;
        // The evaluator works in double: exact for integers and for one correctly
        // rounded float operation, but not for float FLOOR_DIV/FLOOR_MOD/RANGE.
        if (any_float && (code == tfl::BuiltinOperator_FLOOR_DIV || code == tfl::BuiltinOperator_FLOOR_MOD ||
                          code == tfl::BuiltinOperator_RANGE)) {
          note(g.op_name(o) + " -> '" + ot.name + "': float result not folded (not bit-exact in double)");
          continue;
        }
        auto res = ev.eval_op(o, ins);
        if (!res || res->empty()) continue;
        val = std::move((*res)[0]);
      }
      // The declared shape must agree with what was computed.
      // (Same element count but another spelling, e.g. [1] for a declared [], keeps the declared shape.)
      if (numel(val->shape) != static_cast<int64_t>(val->v.size()) ||
          static_cast<int64_t>(val->v.size()) != numel(ot.shape)) {
        note(g.op_name(o) + " -> '" + ot.name + "': computed shape " + shape_str(val->shape) +
             " differs from the declared " + shape_str(ot.shape) + "; not folded");
        continue;
      }
      std::vector<uint8_t> bytes;
      if (!encode(ot.type, val->v, bytes)) continue;
      if (bytes.size() > (1u << 20) || (bytes.size() > (16u << 10) && bytes.size() > in_bytes)) {
        note(g.op_name(o) + " -> '" + ot.name + "': result (" + std::to_string(bytes.size()) +
             " bytes) much larger than its inputs; not folded");
        continue;
      }
      if (bytes.empty()) continue;
      auto buf = std::make_unique<tfl::BufferT>();
      buf->data = std::move(bytes);
      g.model().buffers.push_back(std::move(buf));
      ot.buffer = static_cast<uint32_t>(g.model().buffers.size() - 1);
      ed.remove(o);
      changed = true;
    }
    if (changed) ed.commit();
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_constants() { return std::make_unique<FoldConstants>(); }

}  // namespace sealite::passes
