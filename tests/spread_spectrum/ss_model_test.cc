#include "spread_spectrum/ss_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "runtime/interpreter.h"
#include "tflite/model_io.h"

using namespace sealite;

namespace {
// A smooth synthetic "photo": a few gradients and blobs, values in [0,1].
std::vector<float> synthetic_image(unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  float a = u(rng), b = u(rng), c = u(rng), cx = 256 * u(rng), cy = 256 * u(rng);
  std::vector<float> img(256 * 256 * 3);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        float r2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (80.f * 80.f);
        float v = 0.3f + 0.3f * a * x / 256 + 0.2f * b * y / 256 + 0.3f * c * std::exp(-r2) + 0.05f * ch +
                  0.01f * (u(rng) - 0.5f);
        img[(y * 256 + x) * 3 + ch] = std::clamp(v, 0.f, 1.f);
      }
  return img;
}
}  // namespace

// The graphs themselves: both load in TFLite 2.9 with XNNPACK; the embedder's
// residual is finite, non-trivial and its planned distortion is plan_psnr; the
// detector's F statistic stays near 1 on unmarked images. (The end-to-end
// figures go through the real pipeline in ss_robustness_test.)
TEST(SealiteSs, GraphsRunAndCleanImagesAreNotDetected) {
  ss::SsParams p;
  auto emb = tfl::write_model(*ss::build_embedder(p));
  auto det = tfl::write_model(*ss::build_detector(p));
  rt::Interpreter e(emb, rt::Options{1, getenv("NOXNN") == nullptr, true, getenv("NOPROBE") == nullptr});
  rt::Interpreter d(det, rt::Options{1, getenv("NOXNN") == nullptr, true, getenv("NOPROBE") == nullptr});
  std::mt19937 rng(5);
  for (int trial = 0; trial < 4; ++trial) {
    auto img = synthetic_image(100 + trial);
    std::vector<float> msg(p.nbits);
    for (auto& m : msg) m = static_cast<float>(rng() & 1);
    e.set_input(0, img);
    e.set_input(1, msg);
    e.invoke();
    auto r = e.output_float(0);
    ASSERT_EQ(r.size(), 256u * 256u);
    double ss = 0;
    for (float v : r) {
      ASSERT_TRUE(std::isfinite(v));
      ss += double(v) * v;
    }
    EXPECT_GT(ss, 0.0);
    d.set_input(0, img);
    d.invoke();
    auto lc = d.output_float(0);
    ASSERT_EQ(lc.size(), 1u + p.nbits);
    const double f = std::exp(lc[0] + ss::log_f_threshold(p));
    std::printf("trial %d: clean logit0 %.3f F %.3f p %.3g\n", trial, lc[0], f, ss::p_value_from_logit(lc[0], p));
    EXPECT_LT(lc[0], 0.f);
    EXPECT_GT(f, 0.3);
    EXPECT_LT(f, 3.0);
  }
}

TEST(SealiteSs, FDistributionTail) {
  // d1 = d2: the median is 1; F(2,2): P(F > f) = 1 / (1 + f).
  EXPECT_NEAR(ss::f_upper_tail(1.0, 64, 64), 0.5, 1e-12);
  EXPECT_NEAR(ss::f_upper_tail(3.0, 2, 2), 0.25, 1e-12);
  EXPECT_NEAR(ss::f_upper_tail(0.5, 2, 2), 1.0 / 1.5, 1e-12);
  EXPECT_DOUBLE_EQ(ss::f_upper_tail(0.0, 64, 64), 1.0);
  // monotone, and the threshold is where the tail equals p_detect
  EXPECT_GT(ss::f_upper_tail(1.5, 64, 64), ss::f_upper_tail(2.0, 64, 64));
  ss::SsParams p;
  EXPECT_NEAR(ss::f_upper_tail(std::exp(ss::log_f_threshold(p)), p.nbits, p.nbits), p.p_detect, 1e-9);
  EXPECT_NEAR(ss::p_value_from_logit(0.0, p), p.p_detect, 1e-9);
  EXPECT_LT(ss::p_value_from_logit(2.0, p), 1e-10);
}
