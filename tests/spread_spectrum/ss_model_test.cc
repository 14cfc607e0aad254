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

TEST(SealiteSs, EmbedThenDetectRecoversBitsAndCleanIsNotDetected) {
  ss::SsParams p;
  auto emb = tfl::write_model(*ss::build_embedder(p));
  auto det = tfl::write_model(*ss::build_detector(p));
  rt::Interpreter e(emb, rt::Options{1, true, true, true});
  rt::Interpreter d(det, rt::Options{1, true, true, true});
  EXPECT_EQ(d.delegation().builtin_nodes <= 3, true);
  std::mt19937 rng(5);
  int clean_detected = 0, marked_detected = 0, bit_errors = 0;
  for (int trial = 0; trial < 6; ++trial) {
    auto img = synthetic_image(100 + trial);
    std::vector<float> msg(p.nbits);
    for (auto& m : msg) m = static_cast<float>(rng() & 1);
    e.set_input(0, img);
    e.set_input(1, msg);
    e.invoke();
    auto r = e.output_float(0);
    ASSERT_EQ(r.size(), 256u * 256u);
    // residual RMS ~ amplitude
    double ss = 0;
    for (float v : r) ss += v * v;
    // bilinear x4 smooths the white grid code: RMS ~0.66 of the grid RMS
    EXPECT_NEAR(std::sqrt(ss / r.size()), 0.66 * p.amplitude, 0.1 * p.amplitude);
    // a faint mark: 1.5 grey levels RMS
    std::vector<float> marked = img;
    for (int i = 0; i < 256 * 256; ++i)
      for (int c = 0; c < 3; ++c) marked[i * 3 + c] += 1.5f / 255.f * r[i];
    d.set_input(0, img);
    d.invoke();
    auto lc = d.output_float(0);
    d.set_input(0, marked);
    d.invoke();
    auto lm = d.output_float(0);
    std::printf("trial %d: clean score %.2f marked score %.2f\n", trial, lc[0], lm[0]);
    clean_detected += lc[0] > 0;
    marked_detected += lm[0] > 0;
    for (int k = 0; k < p.nbits; ++k) bit_errors += (lm[1 + k] > 0) != (msg[k] > 0.5f);
  }
  EXPECT_EQ(clean_detected, 0);
  EXPECT_EQ(marked_detected, 6);
  EXPECT_EQ(bit_errors, 0);
}

TEST(SealiteSs, ChiSquareTail) {
  EXPECT_NEAR(ss::chi_square_upper_tail(64, 64), 0.4765, 2e-3);
  EXPECT_NEAR(ss::chi_square_upper_tail(2, 2), std::exp(-1.0), 1e-9);
  EXPECT_LT(ss::chi_square_upper_tail(130, 64), 1e-5);
  EXPECT_DOUBLE_EQ(ss::chi_square_upper_tail(0, 64), 1.0);
}
