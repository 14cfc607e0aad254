// A small reference evaluator for the index arithmetic that converters emit
// (ABS, SUB, RANGE, RESHAPE, TRANSPOSE, CAST, CONCATENATION, ...). It answers
// "what are these indices?" for tensors computed only from constants, without
// a runtime (TensorFlow Lite 2.9 cannot even run int32 ABS). Values are held
// as doubles and rounded to the tensor type after every op, which is exact
// for int32/int64 index math and for float32 element-wise ops.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "graph/graph.h"

namespace sealite::analysis {

struct Value {
  tfl::TensorType type = tfl::TensorType_FLOAT32;
  std::vector<int32_t> shape;
  std::vector<double> v;
  int64_t numel() const;
};

// Constant tensor data as a Value (nullopt for non-constant or unsupported types).
std::optional<Value> constant_value(const graph::Graph& g, int tensor);

class ConstEvaluator {
 public:
  explicit ConstEvaluator(const graph::Graph& g, int64_t max_elements = 1 << 22);
  // Value of `tensor` if it is constant or computed (transitively) only from
  // constants by ops this evaluator knows; nullopt otherwise.
  std::optional<Value> evaluate(int tensor);
  // The ops (indices) a computed tensor depends on, in execution order.
  std::vector<int> dependency_ops(int tensor) const;
  // True when some op on the way is not constant-computable because it depends
  // on a graph input or variable (i.e. the tensor is dynamic).
  bool depends_on_input(int tensor) const;
  // Can this op be evaluated (supported op type)?
  static bool supports(tfl::BuiltinOperator code);
  // Evaluates one op on given input values (exposed for tests and folding).
  std::optional<std::vector<Value>> eval_op(int op, const std::vector<Value>& inputs) const;

 private:
  const graph::Graph& g_;
  graph::Uses uses_;
  int64_t max_elements_;
  std::map<int, std::optional<Value>> memo_;
};

}  // namespace sealite::analysis
