// Helpers for the pass tests: tiny graphs built op by op, and "run these
// passes, verify in TensorFlow Lite, give me the result as a graph".
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/fs.h"
#include "graph/graph.h"
#include "passes/optimize.h"
#include "tflite/model_io.h"

namespace sealite::testing {

using namespace sealite::tfl;

class Builder {
 public:
  graph::Graph g;

  int input(const std::string& name, std::vector<int32_t> shape, TensorType type = TensorType_FLOAT32) {
    int t = g.add_tensor(name, type, std::move(shape));
    g.subgraph().inputs.push_back(t);
    return t;
  }
  void output(int t) { g.subgraph().outputs.push_back(t); }
  int i32(const std::string& name, std::vector<int32_t> v, std::vector<int32_t> shape = {}) {
    if (shape.empty()) shape = {static_cast<int32_t>(v.size())};
    return g.add_constant_i32(name, shape, v);
  }
  int f32(const std::string& name, std::vector<float> v, std::vector<int32_t> shape = {}) {
    if (shape.empty()) shape = {static_cast<int32_t>(v.size())};
    return g.add_constant_f32(name, shape, v);
  }
  // One op with one new float (or `type`) output.
  int op(BuiltinOperator code, std::vector<int32_t> in, std::vector<int32_t> out_shape, const std::string& name,
         BuiltinOptionsUnion options = {}, TensorType type = TensorType_FLOAT32, int version = 1) {
    int y = g.add_tensor(name, type, std::move(out_shape));
    g.add_op(code, std::move(in), {y}, std::move(options), version);
    return y;
  }
  template <typename T>
  static BuiltinOptionsUnion opts(T t) {
    BuiltinOptionsUnion u;
    u.Set(std::move(t));
    return u;
  }
  static BuiltinOptionsUnion reducer(bool keep) {
    ReducerOptionsT r;
    r.keep_dims = keep;
    return opts(std::move(r));
  }
  void quantize(int t, float scale, int64_t zero_point) {
    auto q = std::make_unique<QuantizationParametersT>();
    q->scale = {scale};
    q->zero_point = {zero_point};
    g.tensor(t).quantization = std::move(q);
  }
  int transpose(int x, std::vector<int32_t> perm, const std::string& name, TensorType type = TensorType_FLOAT32) {
    const auto& s = g.tensor(x).shape;
    std::vector<int32_t> out;
    for (int p : perm) out.push_back(s[p]);
    int pt = i32(name + "/perm", perm);
    int y = op(BuiltinOperator_TRANSPOSE, {x, pt}, out, name, opts(TransposeOptionsT{}), type,
               type == TensorType_INT8 ? 2 : 1);
    if (g.tensor(x).quantization) g.tensor(y).quantization = std::make_unique<QuantizationParametersT>(*g.tensor(x).quantization);
    return y;
  }
  int unary(BuiltinOperator code, int x, const std::string& name) {
    return op(code, {x}, g.tensor(x).shape, name);
  }
  std::vector<uint8_t> bytes() const { return write_model(g.model()); }
};

inline int count_op(const graph::Graph& g, const std::string& name) {
  int n = 0;
  for (int o = 0; o < g.num_ops(); ++o) n += g.op_name(o) == name;
  return n;
}

struct Optimized {
  passes::OptimizeResult res;
  std::unique_ptr<graph::Graph> graph;
  int count(const std::string& op) const { return count_op(*graph, op); }
  bool verified() const { return res.report["verify"].value("ok", false); }
  double max_diff() const { return res.report["verify"].value("max_abs_diff", -1.0); }
};

// Runs `passes` (empty: the target's set) on the model and verifies it in TensorFlow Lite on `verify` input sets.
inline Optimized optimize(const std::vector<uint8_t>& bytes, std::vector<std::string> passes = {}, int verify = 3,
                          std::optional<double> atol = std::nullopt, const std::string& target = "default") {
  passes::OptimizeOptions o;
  o.passes = std::move(passes);
  o.target = target;
  o.verify = verify;
  o.atol = atol;
  Optimized r;
  if (const char* dump = std::getenv("SEALITE_TEST_DUMP")) sealite::write_file_atomic(dump, bytes);  // debugging aid
  r.res = passes::optimize_model_bytes(bytes, "test.tflite", o);
  r.graph = std::make_unique<graph::Graph>(read_model(r.res.bytes.data(), r.res.bytes.size()));
  return r;
}

inline Optimized optimize(const Builder& b, std::vector<std::string> passes = {}, int verify = 3) {
  return optimize(b.bytes(), std::move(passes), verify);
}

// The pass list plus dead-code (so what a rewrite leaves behind is gone).
inline std::vector<std::string> with_dce(std::vector<std::string> v) {
  v.push_back("dead-code");
  return v;
}

// Runs a model (subgraph 0) with float inputs; returns output 0.
std::vector<float> run_float(const std::vector<uint8_t>& bytes, const std::vector<float>& input, bool xnnpack);

}  // namespace sealite::testing
