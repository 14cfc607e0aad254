// Helpers of the convert_* tests: fixture tensors (NCHW .npy -> NHWC), small
// graphs built with vs::Layers, run in TensorFlow Lite with and without XNNPACK.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "core/npy.h"
#include "videoseal/card.h"
#include "videoseal/layers.h"

namespace sealite::testing {

struct Arr {
  std::vector<int64_t> shape;
  std::vector<float> v;
  float max_abs() const;
};

// tests/data/videoseal/<family>
std::filesystem::path vs_dir(const std::string& family);
Arr load(const std::filesystem::path& p);
// [N,C,H,W] -> [N,H,W,C]; other ranks unchanged.
Arr nchw_to_nhwc(const Arr& a);
Arr load_nhwc(const std::filesystem::path& p);
// max |a-b| (sizes must match)
double max_diff(const std::vector<float>& a, const std::vector<float>& b);
// The fixture's float64 deviation for an output (manifest numerics).
double manifest_f64_err(const std::string& family, const std::string& output);

// Builds a graph: one float input per entry of `inputs` (shapes as given),
// `body` returns the output tensor.
using Body = std::function<vs::Tensor(vs::Layers&, const std::vector<vs::Tensor>&)>;
std::vector<uint8_t> make_model(const std::vector<std::vector<int32_t>>& input_shapes, const Body& body,
                                const vs::Lowering& low = {});
// Runs a model on inputs (float32), returns output 0.
std::vector<float> run_model(const std::vector<uint8_t>& model, const std::vector<std::vector<float>>& inputs,
                             bool xnnpack, int threads = 1);
std::vector<int32_t> i32(const std::vector<int64_t>& s);

}  // namespace sealite::testing
