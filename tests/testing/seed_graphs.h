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

// The detector's one-block tail, as ai-edge-torch emits it from PyTorch (NCHW
// outside the convolution): reflection pad 1 as the three GATHER_NDs above ->
// CONV_2D 3x3 VALID -> TRANSPOSE to NCHW -> channels-first LayerNorm (MEAN,
// SUB, MUL, MEAN, ADD eps, SQRT, DIV, MUL weight[C,1,1], ADD bias[C,1,1]) ->
// GELU (exact) -> MEAN over H,W -> FULLY_CONNECTED.
struct DetectorTailSpec {
  int conv_channels = 8;   // CONV 3x3: C -> conv_channels
  int classes = 5;         // FULLY_CONNECTED outputs
  bool computed_indices = true;
  float eps = 1e-6f;
  unsigned seed = 7;
};

struct SeedTailGraph {
  SeedGraph seed;          // the graph (blocks + tail) and the blocks' weights
  std::vector<int> out_shape;  // [1, classes]
  std::vector<float> conv_w, conv_b, ln_w, ln_b, fc_w, fc_b;
};

// The seed's upsample blocks (spec) followed by the detector tail; input
// "image" [1,H,W,C], output "logits" [1,classes]. spec.blocks may be 0.
SeedTailGraph build_seed_graph_with_detector_tail(const SeedGraphSpec& spec, const DetectorTailSpec& tail);
// Plain C++ reference of the whole graph.
std::vector<float> seed_tail_reference(const SeedTailGraph& g, const SeedGraphSpec& spec,
                                       const DetectorTailSpec& tail, const std::vector<float>& input);

}  // namespace sealite::testing
