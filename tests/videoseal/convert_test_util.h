// Helpers of the convert_* tests: fixture tensors (NCHW .npy -> NHWC), small
// graphs built with vs::Layers, run in TensorFlow Lite with and without XNNPACK.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
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

// A test over one fixture family (the parameter: vs00, vs10, ...): its card and
// checkpoint, its intermediate dumps, and block-by-block comparison.
class FamilyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir = vs_dir(GetParam());
    card = vs::load_card_yaml(dir / "card.yaml");
    ck = std::make_unique<ckpt::Checkpoint>(ckpt::Checkpoint::open(dir / "checkpoint.pth"));
  }
  // An intermediate dump, NCHW -> NHWC (dumps inside a ConvNeXt block are NHWC already: dump_raw).
  Arr dump(const std::string& name) { return load_nhwc(dir / "intermediate" / (name + ".npy")); }
  Arr dump_raw(const std::string& name) { return load(dir / "intermediate" / (name + ".npy")); }
  // Runs `body` on `inputs` and compares with `ref`, with and without XNNPACK.
  void check_block(const std::string& what, const std::vector<Arr>& inputs, const Body& body, const Arr& ref,
                   double rel_tol = 2e-6, const vs::Lowering& low = {}) {
    std::vector<std::vector<int32_t>> shapes;
    std::vector<std::vector<float>> vals;
    for (const auto& a : inputs) {
      shapes.push_back(i32(a.shape));
      vals.push_back(a.v);
    }
    auto model = make_model(shapes, body, low);
    const double tol = std::max(1e-5, rel_tol * std::max(1.f, ref.max_abs()));
    for (bool xnn : {false, true}) {
      auto out = run_model(model, vals, xnn);
      ASSERT_EQ(out.size(), ref.v.size()) << what;
      double d = max_diff(out, ref.v);
      EXPECT_LE(d, tol) << GetParam() << " " << what << (xnn ? " (XNNPACK)" : " (built-in)") << " max|ref| "
                        << ref.max_abs();
      RecordProperty(what + (xnn ? "_xnn" : "_ref"), std::to_string(d));
    }
  }
  std::filesystem::path dir;
  vs::Card card;
  std::unique_ptr<ckpt::Checkpoint> ck;
};

}  // namespace sealite::testing
