// The built-in default watermark through the real pipeline: the figures
// asserted on a small set (the photo and generated images of different content).
#include <gtest/gtest.h>

#include <cstdio>

#include "spread_spectrum/ss_convert.h"
#include "spread_spectrum/ss_eval.h"
#include "testing/test_paths.h"

using namespace sealite;

namespace {
std::string model_dir() {
  static std::string dir = [] {
    auto d = sealite::testing::temp_dir() / "ss_models";
    ss::write_models(d);
    return d.string();
  }();
  return dir;
}

void check(const sealite::testing::SsEvalResult& r) {
  std::printf("%-22s %5dx%-5d psnr %.1f dB  acc png %.3f jpeg75 %.3f half %.3f  score marked %.1f/%.1f clean %.1f/%.1f\n",
              r.name.c_str(), r.width, r.height, r.psnr, r.acc_png, r.acc_jpeg75, r.acc_half, r.score_marked_png,
              r.score_marked_jpeg, r.score_clean, r.score_clean_jpeg);
  EXPECT_GE(r.psnr, 42.0) << r.name;
  EXPECT_EQ(r.acc_png, 1.0) << r.name;
  EXPECT_GE(r.acc_jpeg75, 0.99) << r.name;
  EXPECT_GE(r.acc_half, 0.95) << r.name;
  EXPECT_GT(r.score_marked_png, 0.f) << r.name;
  EXPECT_LT(r.score_clean, 0.f) << r.name;
  EXPECT_LT(r.score_clean_jpeg, 0.f) << r.name;
}
}  // namespace

TEST(SealiteSsRobustness, Photo) {
  auto img = sealite::testing::load_image((sealite::testing::data_dir() / "media/photo_1904x1080.jpg").string());
  check(sealite::testing::evaluate_ss(model_dir(), "photo_1904x1080", img, 1));
}

TEST(SealiteSsRobustness, GeneratedImages) {
  unsigned seed = 2;
  for (auto& [name, img] : sealite::testing::generated_images()) {
    auto r = sealite::testing::evaluate_ss(model_dir(), name, img, seed++);
    if (name.rfind("text", 0) == 0) {
      // Borderline (README): dark strokes on white paper keep 100 % after PNG
      // and the 50 % downscale, but JPEG 75 costs one bit of 64 for this message.
      std::printf("%-22s psnr %.1f dB acc png %.3f jpeg75 %.3f half %.3f (borderline)\n", name.c_str(), r.psnr,
                  r.acc_png, r.acc_jpeg75, r.acc_half);
      EXPECT_GE(r.psnr, 42.0);
      EXPECT_EQ(r.acc_png, 1.0);
      EXPECT_GE(r.acc_jpeg75, 0.98);
      EXPECT_GE(r.acc_half, 0.95);
      EXPECT_LT(r.score_clean, 0.f);
      continue;
    }
    if (name.rfind("checker", 0) == 0) {
      // Known limit (README): a hard-edged 45 px checkerboard leaves too little
      // JND budget to cancel its own projection on the codes; only the
      // distortion bound and "no false detection" hold there.
      std::printf("%-22s psnr %.1f dB acc png %.3f (known limit)\n", name.c_str(), r.psnr, r.acc_png);
      EXPECT_GE(r.psnr, 42.0);
      EXPECT_LT(r.score_clean, 0.f);
      continue;
    }
    check(r);
  }
}
