// What every GATHER_ND / GATHER in a graph really does: where its indices come
// from, what the index map is along which axis when the indices are known, its
// producers and consumers (by tensor), and the block it sits in.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "analysis/const_eval.h"
#include "graph/graph.h"

namespace sealite::analysis {

// A 1-D index map g: [0, m) -> [0, n) recognised as a known operation.
struct AxisMap {
  std::string kind;  // identity | slice | strided_slice | reverse | repeat | reflect_pad | symmetric_pad | edge_pad | general
  int before = 0, after = 0;  // pads
  int start = 0, stride = 1, size = 0, factor = 1;
  std::string describe() const;
};
AxisMap classify_axis_map(const std::vector<int64_t>& g, int64_t n);

// The whole gather as an axis-wise map, when it is one.
struct GatherPattern {
  std::string kind = "unknown";   // an AxisMap kind, or permutation | reshape | composite | general | unknown
  std::optional<int> axis;        // the one param axis changed, when there is exactly one
  std::vector<int> perm;          // output axis -> param axis, for permutation/composite
  std::vector<std::pair<int, AxisMap>> axis_maps;  // param axis -> map (non-identity ones)
  std::string detail;             // human readable
};

// Index map of a GATHER_ND (params shape, indices value) or GATHER (axis).
GatherPattern classify_gather_nd(const std::vector<int32_t>& params_shape, const Value& indices);
GatherPattern classify_gather(const std::vector<int32_t>& params_shape, const Value& indices, int axis);

struct OpRef {
  int op = -1;
  std::string name;
  int tensor = -1;  // the tensor that links the two ops
};

struct GatherInfo {
  int op = -1;
  std::string op_name;                   // GATHER_ND or GATHER
  std::vector<int32_t> params_shape, indices_shape, output_shape;
  std::string index_source;              // constant | computed_from_constants | dynamic
  std::vector<std::string> index_ops;    // op names computing the indices, execution order
  std::vector<int> index_op_ids;
  GatherPattern pattern;
  std::optional<std::string> block;
  std::vector<OpRef> producers, consumers;
};

// Block label of every op: ops are grouped along the data path between
// landmarks (convolutions, fully connected, matmul close a block; RESIZE_*
// opens an `upsample#k` block, numbered in graph order). Ops that only compute
// constants get no label.
std::vector<std::optional<std::string>> label_blocks(const graph::Graph& g);

std::vector<GatherInfo> analyze_gathers(const graph::Graph& g);

}  // namespace sealite::analysis
