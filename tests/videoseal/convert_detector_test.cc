// ConvNeXt-V2 detectors (1.0 / PixelSeal / ChunkySeal) against the PyTorch
// fixtures: block by block on the forward-hook dumps, then the whole converted
// model against det_out (with and without XNNPACK; identical bit decisions).
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/interpreter.h"
#include "testing/test_paths.h"
#include "videoseal/convert.h"
#include "videoseal/convert_test_util.h"
#include "videoseal/detector_convnext.h"

namespace sealite::testing {
namespace {

using vs::Layers;
using vs::Tensor;

using Detector = FamilyTest;

TEST_P(Detector, Blocks) {
  const std::string p = "detector.";
  check_block("downsample_layers.0", {dump("det_in")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return vs::convnext_parts::downsample(L, *ck, p, card, 0, x[0], true);
              },
              dump("det__convnext.downsample_layers.0"));
  for (int i = 0; i < 4; ++i) {
    const std::string si = std::to_string(i);
    if (i > 0)
      check_block("downsample_layers." + si, {dump("det__convnext.stages." + std::to_string(i - 1))},
                  [&](Layers& L, const std::vector<Tensor>& x) {
                    return vs::convnext_parts::downsample(L, *ck, p, card, i, x[0]);
                  },
                  dump("det__convnext.downsample_layers." + si));
    check_block("stages." + si, {dump("det__convnext.downsample_layers." + si)},
                [&](Layers& L, const std::vector<Tensor>& x) {
                  return vs::convnext_parts::stage(L, *ck, p, card, i, x[0]);
                },
                dump("det__convnext.stages." + si));
  }
  check_block("stages.2.0", {dump("det__convnext.downsample_layers.2")},
              [&](Layers& L, const std::vector<Tensor>& x) { return vs::convnext_parts::block(L, *ck, p, 2, 0, x[0]); },
              dump("det__convnext.stages.2.0"));
  // Inside block stages.3.0, one layer at a time (NHWC dumps).
  const std::string k = p + "convnext.stages.3.0.";
  const int d = card.convnext.dims[3], h = 4 * d;
  check_block("stages.3.0.dwconv", {dump("det__convnext.downsample_layers.3")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                auto w = ck->get(k + "dwconv.weight", {d, 1, 7, 7});
                auto b = ck->get(k + "dwconv.bias", {d});
                return L.depthwise_conv2d(x[0], w, 7, 7, b, vs::ConvParams::same(7));
              },
              dump("det__convnext.stages.3.0.dwconv"));
  check_block("stages.3.0.norm", {dump("det__convnext.stages.3.0.dwconv")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return L.layer_norm(x[0], ck->get(k + "norm.weight", {d}), ck->get(k + "norm.bias", {d}), 1e-6);
              },
              dump_raw("det__convnext.stages.3.0.norm"));
  check_block("stages.3.0.pwconv1", {dump_raw("det__convnext.stages.3.0.norm")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return L.pointwise(x[0], ck->get(k + "pwconv1.weight", {h, d}), h, ck->get(k + "pwconv1.bias", {h}));
              },
              dump_raw("det__convnext.stages.3.0.pwconv1"));
  for (auto g : {vs::Lowering::Gelu::erf_rational, vs::Lowering::Gelu::builtin}) {
    vs::Lowering low;
    low.gelu = g;
    check_block("stages.3.0.act", {dump_raw("det__convnext.stages.3.0.pwconv1")},
                [&](Layers& L, const std::vector<Tensor>& x) { return L.gelu(x[0]); },
                dump_raw("det__convnext.stages.3.0.act"), 2e-6, low);
  }
  check_block("stages.3.0.grn", {dump_raw("det__convnext.stages.3.0.act")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return L.grn(x[0], ck->get(k + "grn.gamma", {1, 1, 1, h}), ck->get(k + "grn.beta", {1, 1, 1, h}));
              },
              dump_raw("det__convnext.stages.3.0.grn"));
  check_block("stages.3.0.pwconv2", {dump_raw("det__convnext.stages.3.0.grn")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return L.pointwise(x[0], ck->get(k + "pwconv2.weight", {d, h}), d, ck->get(k + "pwconv2.bias", {d}));
              },
              dump_raw("det__convnext.stages.3.0.pwconv2"));
  check_block("pixel_decoder.output_upscaling", {dump("det__convnext.stages.3")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return vs::convnext_parts::pixel_upscaling(L, *ck, p, card, x[0]);
              },
              dump("det__pixel_decoder.output_upscaling"));
  check_block("pixel_decoder", {dump("det__convnext.stages.3")},
              [&](Layers& L, const std::vector<Tensor>& x) { return vs::build_pixel_decoder(L, *ck, p, card, x[0]); },
              dump_raw("det__pixel_decoder.linear"));
  check_block("detector on the crop", {dump("det_in")},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return vs::build_convnext_detector(L, *ck, p, card, x[0]);
              },
              dump_raw("det__pixel_decoder.linear"));
}

TEST_P(Detector, ConvertedModelMatchesDetOut) {
  auto model = vs::build_detector_model(*ck, card);
  Arr img = load_nhwc(dir / "in_img256.npy");
  Arr ref = load(dir / "det_out.npy");
  const double tol = std::max(1e-5, 10 * manifest_f64_err(GetParam(), "det_out"));
  for (bool xnn : {false, true}) {
    rt::Options o;
    o.threads = 2;
    o.xnnpack = xnn;
    rt::Interpreter it(model, o);
    ASSERT_EQ(it.input_info(0).name, "image");
    ASSERT_EQ(it.output_info(0).name, "logits");
    it.set_input(0, img.v);
    it.invoke();
    auto out = it.output_float(0);
    ASSERT_EQ(out.size(), ref.v.size());
    double d = max_diff(out, ref.v);
    std::printf("[ det_out  ] %-10s %-9s max|diff| %.3g (tolerance %.3g)\n", GetParam().c_str(),
                xnn ? "XNNPACK" : "built-in", d, tol);
    EXPECT_LE(d, tol);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i] > 0, ref.v[i] > 0) << "logit " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Detector, ::testing::Values("vs10", "pixelseal", "chunky"));

}  // namespace
}  // namespace sealite::testing
