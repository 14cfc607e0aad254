#include "analysis/census.h"

namespace sealite::analysis {

static int64_t elems(const graph::Graph& g, int t, bool* approx) {
  if (t < 0) return 0;
  int64_t n = 1;
  for (int d : g.tensor(t).shape) {
    if (d < 0) { if (approx) *approx = true; d = 1; }
    n *= d;
  }
  return n;
}

static int dim(const graph::Graph& g, int t, int i) {
  const auto& s = g.tensor(t).shape;
  if (i < 0) i += static_cast<int>(s.size());
  if (i < 0 || i >= static_cast<int>(s.size())) return 1;
  return std::max(s[i], 1);
}

int64_t op_macs(const graph::Graph& g, int o, bool* approx) {
  const auto& op = g.op(o);
  auto in = [&](size_t i) { return i < op.inputs.size() ? op.inputs[i] : -1; };
  int out = op.outputs.empty() ? -1 : op.outputs[0];
  if (out < 0) return 0;
  switch (g.op_code(o)) {
    case tfl::BuiltinOperator_CONV_2D: {
      int w = in(1);
      if (w < 0 || g.tensor(w).shape.size() != 4) return 0;
      return elems(g, out, approx) * dim(g, w, 1) * dim(g, w, 2) * dim(g, w, 3);
    }
    case tfl::BuiltinOperator_DEPTHWISE_CONV_2D: {
      int w = in(1);
      if (w < 0 || g.tensor(w).shape.size() != 4) return 0;
      return elems(g, out, approx) * dim(g, w, 1) * dim(g, w, 2);
    }
    case tfl::BuiltinOperator_FULLY_CONNECTED: {
      int w = in(1);
      if (w < 0) return 0;
      return elems(g, out, approx) * dim(g, w, -1);
    }
    case tfl::BuiltinOperator_BATCH_MATMUL: {
      int a = in(0);
      if (a < 0) return 0;
      bool adj_x = false;
      if (auto* opt = reinterpret_cast<const tfl::BatchMatMulOptionsT*>(op.builtin_options.value))
        adj_x = op.builtin_options.type == tfl::BuiltinOptions_BatchMatMulOptions && opt->adj_x;
      return elems(g, out, approx) * dim(g, a, adj_x ? -2 : -1);
    }
    case tfl::BuiltinOperator_TRANSPOSE_CONV: {
      int w = in(1), x = in(2);
      if (w < 0 || x < 0 || g.tensor(w).shape.size() != 4) return 0;
      return elems(g, x, approx) * dim(g, w, 0) * dim(g, w, 1) * dim(g, w, 2);
    }
    default:
      return 0;
  }
}

Census census(const graph::Graph& g) {
  Census c;
  c.ops = g.num_ops();
  for (int o = 0; o < g.num_ops(); ++o) {
    auto& s = c.by_op[g.op_name(o)];
    ++s.count;
    s.versions.insert(g.op_version(o));
    int64_t m = op_macs(g, o, &c.macs_approximate);
    s.macs += m;
    c.macs_total += m;
  }
  return c;
}

}  // namespace sealite::analysis
