// Helpers shared by the passes: reading small constants, permutation algebra,
// creating tensors and ops with the right options and versions, and an Editor
// that applies one rewrite (new ops placed next to the op they replace, old
// ops removed, execution order restored).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace sealite::passes {

using Perm = std::vector<int>;
using Shape = std::vector<int32_t>;

// ---- permutations. TRANSPOSE(x, p): out.shape[i] = x.shape[p[i]].
bool is_permutation(const Perm& p);
bool is_identity(const Perm& p);
Perm inverse(const Perm& p);
// TRANSPOSE(TRANSPOSE(x, first), second) == TRANSPOSE(x, compose(first, second)).
Perm compose(const Perm& first, const Perm& second);
Shape permute_shape(const Shape& s, const Perm& p);
// True when TRANSPOSE(x, p) only moves axes of size 1 (so it equals a RESHAPE).
bool moves_only_unit_axes(const Shape& s, const Perm& p);

// ---- tensors
// Integer contents of a constant, non-quantized INT32/INT64 tensor.
std::optional<std::vector<int64_t>> const_ints(const graph::Graph& g, int t);
// The permutation of a TRANSPOSE op (constant perm input), when valid for its input rank.
std::optional<Perm> transpose_perm(const graph::Graph& g, int op);
bool is_quantized(const tfl::TensorT& t);
// Same per-tensor or per-axis quantization parameters (or both none).
bool same_quantization(const tfl::TensorT& a, const tfl::TensorT& b);
// Static: known rank, every dim > 0 and no -1 in shape_signature.
bool is_static(const tfl::TensorT& t);
// The subgraph has a tensor with a dynamic dimension (reason filled when so).
bool has_dynamic_shapes(const graph::Graph& g, std::string* reason = nullptr);
int64_t numel(const Shape& s);
size_t element_size(tfl::TensorType t);
std::string shape_str(const Shape& s);

// ---- ops
// Op version for an op we create on a tensor of `type` and `rank` (TFLite's versioning rules).
int version_for(tfl::BuiltinOperator code, tfl::TensorType type, int rank, bool flag = false);
// Does some op read t, or is it a graph output?
bool is_read(const graph::Graph& g, const graph::Uses& u, int t);
// An op none of whose outputs is read (and that has no side effects we know of).
bool is_dead(const graph::Graph& g, const graph::Uses& u, int op);
// Ops that compute each output element from the same position of their inputs
// (numpy broadcasting), with no parameters tied to a layout.
bool is_unary_elementwise(tfl::BuiltinOperator c);
bool is_binary_elementwise(tfl::BuiltinOperator c);

class Editor {
 public:
  explicit Editor(graph::Graph& g);
  graph::Graph& graph() { return g_; }

  // New activation tensor with `like`'s type and quantization.
  int tensor_like(int like, Shape shape, const std::string& suffix);
  int const_i32(const std::string& name, const std::vector<int32_t>& values, Shape shape = {});
  // New constant with raw bytes, type and quantization of `like`.
  int const_like(int like, Shape shape, std::vector<uint8_t> bytes, const std::string& suffix);

  // Adds an op placed just before `anchor` (an op index of the graph as it was
  // when the Editor was made, or one returned by add_op) in execution order.
  int add_op(int anchor, tfl::BuiltinOperator code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
             tfl::BuiltinOptionsUnion options = {}, int version = 1);
  // Emit helpers: `out` < 0 creates the output tensor (like `x`). Return the output.
  int transpose(int anchor, int x, const Perm& p, int out = -1);
  int reshape(int anchor, int x, const Shape& shape, int out = -1);
  int slice(int anchor, int x, const std::vector<int32_t>& begin, const std::vector<int32_t>& size, int out = -1);
  int strided_slice(int anchor, int x, const std::vector<int32_t>& begin, const std::vector<int32_t>& end,
                    const std::vector<int32_t>& strides, int out = -1);
  int concat(int anchor, const std::vector<int>& xs, int axis, int out = -1);
  // PAD (mode < 0) or MIRROR_PAD (mode = tfl::MirrorPadMode).
  int pad(int anchor, int x, const std::vector<std::pair<int, int>>& pads, int mode, int out = -1);
  int reverse(int anchor, int x, int axis, int out = -1);
  int tile(int anchor, int x, const std::vector<int32_t>& multiples, int out = -1);
  int resize_nearest(int anchor, int x, int new_h, int new_w, int out = -1);

  // Every reader of `from` (ops and graph outputs) gets `to`, which holds the
  // same values with the same shape, type and quantization. `from`'s producer
  // is left with no readers (remove it). When `from` is a graph output it
  // keeps its tensor index: `to`'s producer writes `from` instead, or a
  // RESHAPE copy is added when that is impossible.
  void forward(int from, int to);
  // Would forward() need a copy op?
  bool forward_needs_copy(int from, int to) const;

  void remove(int op);
  bool removed(int op) const;
  // Drops every op, tensor, buffer and operator code added since construction.
  void rollback();
  // Applies removals and restores a valid execution order (new ops next to
  // their anchors). Op indices change; the Editor must not be used after.
  void commit();

 private:
  graph::Graph& g_;
  std::vector<double> key_;      // per op: position in the final order
  std::vector<char> removed_;
  int seq_ = 0;
  size_t ops0_, tensors0_, buffers0_, codes0_;
  int producer_of(int t) const;
};

}  // namespace sealite::passes
