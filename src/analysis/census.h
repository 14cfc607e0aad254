// Op census and compute cost of a subgraph.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "graph/graph.h"

namespace sealite::analysis {

struct OpStats {
  int count = 0;
  std::set<int> versions;
  int64_t macs = 0;  // for CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL, TRANSPOSE_CONV
};

struct Census {
  int ops = 0;
  std::map<std::string, OpStats> by_op;  // op name -> stats
  int64_t macs_total = 0;
  bool macs_approximate = false;  // some shapes were dynamic (-1 counted as 1)
};

// Estimated multiply-accumulates of op `o` (0 for ops we do not cost).
int64_t op_macs(const graph::Graph& g, int o, bool* approximate = nullptr);
Census census(const graph::Graph& g);

}  // namespace sealite::analysis
