// UNet embedders of every family against the PyTorch fixtures: block by block
// on the forward-hook dumps (intermediate/), then the whole converted model
// (RGB image + message -> residual) against emb_out, with and without XNNPACK.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/interpreter.h"
#include "testing/test_paths.h"
#include "videoseal/convert.h"
#include "videoseal/convert_test_util.h"
#include "videoseal/embedder.h"

namespace sealite::testing {
namespace {

using vs::Layers;
using vs::Tensor;

class Embedder : public FamilyTest {
 protected:
  void SetUp() override {
    FamilyTest::SetUp();
    msg = load(dir / "in_msg.npy");
  }
  Arr msg;
};

TEST_P(Embedder, Blocks) {
  const std::string p = "embedder.";
  Arr in = dump("emb_in");
  // inc (with the x*2-1 preprocess)
  check_block("inc", {in},
              [&](Layers& L, const std::vector<Tensor>& x) {
                const int c = L.channels(x[0]);
                std::vector<float> two(c, 2.f), m1(c, -1.f);
                Tensor t = L.channel_affine(x[0], two, m1);
                return vs::unet_parts::resnet_block(L, *ck, p + "unet.inc", card, t);
              },
              dump("emb__unet.inc"));
  const size_t levels = card.unet.z_channels_mults.size();
  for (size_t i = 0; i + 1 < levels; ++i) {
    std::string prev = i == 0 ? "emb__unet.inc" : "emb__unet.downs." + std::to_string(i - 1);
    check_block("downs." + std::to_string(i), {dump(prev)},
                [&](Layers& L, const std::vector<Tensor>& x) {
                  return vs::unet_parts::dblock(L, *ck, p + "unet.downs." + std::to_string(i), card, x[0]);
                },
                dump("emb__unet.downs." + std::to_string(i)));
  }
  std::string last_down = "emb__unet.downs." + std::to_string(levels - 2);
  check_block("msg_processor", {dump(last_down), msg},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return vs::unet_parts::msg_processor(L, *ck, p, card, x[0], x[1]);
              },
              dump("emb__unet.msg_processor"));
  for (int i = 0; i < card.unet.num_blocks; ++i) {
    std::string prev = i == 0 ? "emb__unet.msg_processor" : "emb__unet.bottleneck.model." + std::to_string(i - 1);
    check_block("bottleneck." + std::to_string(i), {dump(prev)},
                [&](Layers& L, const std::vector<Tensor>& x) {
                  return vs::unet_parts::resnet_block(L, *ck, p + "unet.bottleneck.model." + std::to_string(i), card,
                                                      x[0]);
                },
                dump("emb__unet.bottleneck.model." + std::to_string(i)));
  }
  for (size_t i = 0; i + 1 < levels; ++i) {
    std::string xin = i == 0 ? "emb__unet.bottleneck.model." + std::to_string(card.unet.num_blocks - 1)
                             : "emb__unet.ups." + std::to_string(i - 1);
    std::string skip = i == 0 ? "emb__unet.msg_processor" : "emb__unet.downs." + std::to_string(levels - 2 - i);
    for (bool up_only : {true, false}) {
      std::string name = "emb__unet.ups." + std::to_string(i) + (up_only ? ".up" : "");
      check_block(name, {dump(xin), dump(skip)},
                  [&](Layers& L, const std::vector<Tensor>& x) {
                    return vs::unet_parts::ublock(L, *ck, p + "unet.ups." + std::to_string(i), card, x[0], x[1],
                                                  up_only);
                  },
                  dump(name));
    }
  }
  std::string last_up = "emb__unet.ups." + std::to_string(levels - 2);
  check_block("outc", {dump(last_up)},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return vs::unet_parts::outc(L, *ck, p, card, x[0], false);
              },
              dump("emb__unet.outc"));
  check_block("outc+tanh", {dump(last_up)},
              [&](Layers& L, const std::vector<Tensor>& x) {
                return vs::unet_parts::outc(L, *ck, p, card, x[0], true);
              },
              dump("emb__output"));
  // The whole UNet on the crop (as ill-conditioned as the whole model: the
  // emb_out tolerance), with the message folded into the convs (default) and
  // with the concatenation built.
  for (bool fold : {true, false}) {
    vs::Lowering low;
    low.fold_message = fold;
    check_block(fold ? "unet" : "unet (message concatenated)", {in, msg},
                [&](Layers& L, const std::vector<Tensor>& x) {
                  return vs::unet_parts::unet(L, *ck, p, card, x[0], x[1]);
                },
                dump("emb__output"), 10 * manifest_f64_err(GetParam(), "emb_out"), low);
  }
}

TEST_P(Embedder, ConvertedModelMatchesEmbOut) {
  auto model = vs::build_embedder_model(*ck, card);
  Arr img = load_nhwc(dir / "in_img256.npy");
  Arr ref = load_nhwc(dir / "emb_out.npy");
  const double tol = std::max(1e-5, 10 * manifest_f64_err(GetParam(), "emb_out"));
  for (bool xnn : {false, true}) {
    rt::Options o;
    o.threads = 2;
    o.xnnpack = xnn;
    rt::Interpreter it(model, o);
    if (xnn) {
      EXPECT_TRUE(it.delegation().xnnpack_applied || !rt::Interpreter::xnnpack_available());
    }
    ASSERT_EQ(it.input_info(0).name, "image");
    ASSERT_EQ(it.input_info(1).name, "message");
    ASSERT_EQ(it.output_info(0).name, "residual");
    it.set_input(0, img.v);
    it.set_input(1, msg.v);
    it.invoke();
    auto out = it.output_float(0);
    ASSERT_EQ(out.size(), ref.v.size());
    double d = max_diff(out, ref.v);
    std::printf("[ emb_out  ] %-10s %-9s max|diff| %.3g (tolerance %.3g)\n", GetParam().c_str(),
                xnn ? "XNNPACK" : "built-in", d, tol);
    EXPECT_LE(d, tol) << (xnn ? "XNNPACK" : "built-in");
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Embedder, ::testing::Values("vs00", "vs10", "pixelseal", "chunky"));

}  // namespace
}  // namespace sealite::testing
