// Graphs that reproduce what ai-edge-torch makes of VideoSeal's upsample
// blocks (the seed's GATHER_ND pattern), built with sealite's own graph code,
// plus a plain C++ reference of what they compute. Used by the inspect tests
// (foundation) and the optimizer tests.
#pragma once
#include <vector>

#include "graph/graph.h"

namespace sealite::testing {

struct SeedGraphSpec {
  int height = 8, width = 8, channels = 4;  // input [1,H,W,C]
  int blocks = 3;                           // each doubles H and W
  // Per block: indices computed at run time from constants with ABS/SUB (true)
  // or folded into constant buffers (false).
  std::vector<bool> computed_indices = {true, false, true};
  unsigned seed = 1;
};

struct SeedGraph {
  graph::Graph graph;
  std::vector<int> out_shape;                 // NHWC
  std::vector<std::vector<float>> conv_w;     // per block, OHWI
  std::vector<std::vector<float>> conv_b;
};

// Per block: RESIZE_BILINEAR(x2, half-pixel) -> RESHAPE [H,W,C] -> GATHER_ND (reflect pad on axis 0)
// -> TRANSPOSE [1,0,2] -> GATHER_ND (reflect pad on the new axis 0 = W) -> GATHER_ND (permutation,
// undoes the transpose) -> RESHAPE [1,H+2,W+2,C] -> CONV_2D 3x3 VALID. Input "image", output "out".
SeedGraph build_seed_upsample_graph(const SeedGraphSpec& spec);

// The same computation in plain C++: bilinear x2 (align_corners=False), reflection pad 1, conv 3x3.
std::vector<float> seed_reference(const SeedGraph& g, const SeedGraphSpec& spec, const std::vector<float>& input);

}  // namespace sealite::testing
