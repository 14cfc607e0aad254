// The graph IR: one subgraph of a model, seen as tensors and ops with
// producer/consumer links. It edits the model's object tree in place, so
// everything the IR does not touch (options, quantization, signatures,
// metadata, other subgraphs) is carried through unchanged.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tflite/schema.h"

namespace sealite::graph {

using tfl::BuiltinOperator;
using tfl::TensorType;

// Producer and consumers of every tensor (computed on demand; recompute after edits).
struct Uses {
  std::vector<int> producer;                // op index or -1 (graph input, constant, unused)
  std::vector<std::vector<int>> consumers;  // op indices, in op order
};

class Graph {
 public:
  // Takes the whole model; works on subgraph `subgraph`.
  explicit Graph(std::unique_ptr<tfl::ModelT> model, int subgraph = 0);
  // An empty model with one subgraph and the mandatory empty buffer 0.
  Graph();

  tfl::ModelT& model() { return *model_; }
  const tfl::ModelT& model() const { return *model_; }
  tfl::SubGraphT& subgraph() { return *model_->subgraphs[sg_]; }
  const tfl::SubGraphT& subgraph() const { return *model_->subgraphs[sg_]; }
  std::unique_ptr<tfl::ModelT> release() { return std::move(model_); }

  // ---- tensors
  int num_tensors() const { return static_cast<int>(subgraph().tensors.size()); }
  tfl::TensorT& tensor(int t) { return *subgraph().tensors.at(t); }
  const tfl::TensorT& tensor(int t) const { return *subgraph().tensors.at(t); }
  // A tensor whose data is in a non-empty buffer.
  bool is_constant(int t) const;
  // The constant data (nullptr when not constant).
  const std::vector<uint8_t>* data(int t) const;
  // New activation tensor (no buffer).
  int add_tensor(const std::string& name, TensorType type, std::vector<int32_t> shape);
  // New constant tensor with its own buffer.
  int add_constant(const std::string& name, TensorType type, std::vector<int32_t> shape,
                   std::span<const uint8_t> bytes);
  int add_constant_f32(const std::string& name, std::vector<int32_t> shape, std::span<const float> v);
  int add_constant_i32(const std::string& name, std::vector<int32_t> shape, std::span<const int32_t> v);
  int64_t num_elements(int t) const;

  // ---- ops
  int num_ops() const { return static_cast<int>(subgraph().operators.size()); }
  tfl::OperatorT& op(int o) { return *subgraph().operators.at(o); }
  const tfl::OperatorT& op(int o) const { return *subgraph().operators.at(o); }
  BuiltinOperator op_code(int o) const;
  int op_version(int o) const;
  std::string op_name(int o) const;  // "CONV_2D" or "CUSTOM:name"
  // Index of an operator code, added when missing.
  uint32_t opcode_index(BuiltinOperator code, int version = 1, const std::string& custom = "");
  // Inserts an op at `pos` (default: the end) and returns its index.
  int add_op(BuiltinOperator code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
             tfl::BuiltinOptionsUnion options = {}, int version = 1, int pos = -1);
  // Removes ops by index (any order).
  void remove_ops(std::vector<int> ops);
  // Every read of `from` (op inputs, graph outputs) now reads `to`.
  void replace_uses(int from, int to);

  // ---- structure
  Uses uses() const;
  // Op indices in a valid execution order; throws sealite::Error on a cycle.
  std::vector<int> topological_order() const;
  void sort_topologically();
  bool is_graph_input(int t) const;
  bool is_graph_output(int t) const;

 private:
  std::unique_ptr<tfl::ModelT> model_;
  int sg_ = 0;
};

// Makes a compact, valid model: ops whose outputs nobody reads removed (unless
// they have side effects), unused tensors and buffers dropped, identical
// constant buffers shared, unused operator codes dropped. Applies to every
// subgraph. Returns the number of things removed.
struct CompactStats {
  int ops_removed = 0, tensors_removed = 0, buffers_removed = 0, buffers_deduplicated = 0, opcodes_removed = 0;
};
CompactStats compact(tfl::ModelT& model);

}  // namespace sealite::graph
