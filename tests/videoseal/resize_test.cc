// resize_bilinear_aa against PyTorch 1.13.1 (tests/data/videoseal/vsmath,
// made by tests/data/videoseal/make_vsmath_refs.py).
#include "videoseal/resize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/npy.h"
#include "media/image.h"
#include "testing/test_paths.h"
#include "videoseal/blend.h"

namespace vs = sealite::videoseal;
using sealite::testing::data_dir;

namespace {

// Procedural inputs, bit-identical to `pattern` in make_vsmath_refs.py.
uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

std::vector<float> pattern(size_t n, uint32_t seed, bool is_signed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t h = lowbias32(static_cast<uint32_t>(i) * 0x9E3779B9u + seed) >> 8;
    v[i] = is_signed ? static_cast<float>(h) * 0x1p-23f - 1.0f : static_cast<float>(h) * 0x1p-24f;
  }
  return v;
}

// "image270" (tests/data/media/img_270x476.png as CHW u8/255) or "unsigned:N" / "signed:N".
std::vector<float> make_input(const std::string& src, size_t n) {
  if (src == "image270") {
    auto img = sealite::media::read_image(data_dir() / "media" / "img_270x476.png");
    std::vector<float> chw(img.rgb.size());
    vs::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, chw.data());
    return chw;
  }
  auto colon = src.find(':');
  return pattern(n, static_cast<uint32_t>(std::stoul(src.substr(colon + 1))), src.rfind("signed", 0) == 0);
}

std::vector<int> kept_rows(int h, int stride) {
  std::vector<int> rows;
  if (stride <= 0) {
    for (int y = 0; y < h; ++y) rows.push_back(y);
    return rows;
  }
  for (int y = 0; y < h; y += stride) rows.push_back(y);
  if (rows.back() != h - 1) rows.push_back(h - 1);
  return rows;
}

nlohmann::json load_cases(const std::string& kind) {
  auto j = nlohmann::json::parse(sealite::read_text_file(data_dir() / "videoseal" / "vsmath" / "cases.json"));
  nlohmann::json out = nlohmann::json::array();
  for (auto& c : j["cases"])
    if (c["kind"] == kind) out.push_back(c);
  return out;
}

struct Diff {
  double max_abs = 0;
  size_t mismatches = 0, count = 0;
};

// Compares out (channels x h x w) on the kept rows with the reference.
Diff compare_rows(const std::vector<float>& out, int channels, int h, int w, int stride,
                  const std::vector<float>& ref) {
  auto rows = kept_rows(h, stride);
  EXPECT_EQ(ref.size(), static_cast<size_t>(channels) * rows.size() * w);
  Diff d;
  size_t k = 0;
  for (int c = 0; c < channels; ++c)
    for (int y : rows)
      for (int x = 0; x < w; ++x, ++k) {
        if (k >= ref.size()) return d;
        float a = out[(static_cast<size_t>(c) * h + y) * w + x];
        double diff = std::fabs(static_cast<double>(a) - ref[k]);
        d.max_abs = std::max(d.max_abs, diff);
        d.mismatches += a != ref[k];
        d.count++;
      }
  return d;
}

}  // namespace

TEST(Resize, MatchesTorchOnAllReferenceCases) {
  auto cases = load_cases("resize");
  ASSERT_GE(cases.size(), 20u);
  double worst = 0;
  size_t total = 0, mism = 0;
  for (auto& c : cases) {
    const int ch = c["channels"], ih = c["in_h"], iw = c["in_w"], oh = c["out_h"], ow = c["out_w"];
    const bool aa = c["antialias"];
    const bool cl = c.value("layout", "contiguous") == "channels_last";
    auto x = make_input(c["input"], static_cast<size_t>(ch) * ih * iw);
    ASSERT_EQ(x.size(), static_cast<size_t>(ch) * ih * iw) << c["name"];
    std::vector<float> y(static_cast<size_t>(ch) * oh * ow, -1.0f);
    vs::resize_bilinear_aa(x.data(), ch, ih, iw, oh, ow, y.data(), aa, cl);
    auto ref = sealite::npy_load(data_dir() / "videoseal" / c["file"].get<std::string>()).as_float();
    Diff d = compare_rows(y, ch, oh, ow, c["row_stride"], ref);
    std::printf("  %-26s %dx%dx%d -> %dx%d aa=%d%s: max|diff| %.3g, %zu/%zu values differ\n",
                c["name"].get<std::string>().c_str(), ch, ih, iw, oh, ow, aa, cl ? " (channels-last)" : "",
                d.max_abs, d.mismatches, d.count);
    EXPECT_LE(d.max_abs, 1e-6) << c["name"];
    // The float arithmetic reproduces torch's, so the outputs are bit-identical.
    EXPECT_EQ(d.mismatches, 0u) << c["name"];
    worst = std::max(worst, d.max_abs);
    total += d.count;
    mism += d.mismatches;
  }
  std::printf("  resize vs torch: %zu values, %zu differ, max|diff| %.3g\n", total, mism, worst);
}

TEST(Resize, LayoutVariantsDifferByAtMostOneUlp) {
  // torch's NCHW and channels-last antialias=False kernels round differently.
  auto x = pattern(3 * 45 * 79, 2, false);
  std::vector<float> a(3 * 256 * 256), b(a.size());
  vs::resize_bilinear_aa(x.data(), 3, 45, 79, 256, 256, a.data(), false, false);
  vs::resize_bilinear_aa(x.data(), 3, 45, 79, 256, 256, b.data(), false, true);
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_LE(std::fabs(a[i] - b[i]), 1.2e-7f);
    differ += a[i] != b[i];
  }
  EXPECT_GT(differ, 0u);
  // antialias=true ignores the flag
  vs::resize_bilinear_aa(x.data(), 3, 45, 79, 256, 256, a.data(), true, false);
  vs::resize_bilinear_aa(x.data(), 3, 45, 79, 256, 256, b.data(), true, true);
  EXPECT_EQ(a, b);
}

TEST(Resize, SameSizeIsACopy) {
  auto x = pattern(3 * 5 * 7, 1, false);
  std::vector<float> y(x.size());
  for (bool aa : {true, false}) {
    vs::resize_bilinear_aa(x.data(), 3, 5, 7, 5, 7, y.data(), aa);
    EXPECT_EQ(x, y);
  }
}

TEST(Resize, ConstantStaysConstant) {
  for (bool aa : {true, false})
    for (auto [ih, iw, oh, ow] : std::vector<std::array<int, 4>>{{270, 476, 256, 256}, {256, 256, 1080, 1920},
                                                                 {1, 1, 9, 4}, {33, 1, 2, 5}}) {
      std::vector<float> x(static_cast<size_t>(2) * ih * iw, 0.7f), y(static_cast<size_t>(2) * oh * ow);
      vs::resize_bilinear_aa(x.data(), 2, ih, iw, oh, ow, y.data(), aa);
      for (float v : y) ASSERT_NEAR(v, 0.7f, 2e-7) << ih << "x" << iw << "->" << oh << "x" << ow;
    }
}

TEST(Resize, OneByOneAndSinglePixelTargets) {
  auto x = pattern(3 * 40 * 30, 5, false);
  std::vector<float> y(3);
  vs::resize_bilinear_aa(x.data(), 3, 40, 30, 1, 1, y.data(), true);
  // Antialiased 1x1 target = (weighted) average of the plane: inside the value range.
  for (int c = 0; c < 3; ++c) {
    auto b = x.begin() + c * 1200;
    EXPECT_GE(y[c], *std::min_element(b, b + 1200));
    EXPECT_LE(y[c], *std::max_element(b, b + 1200));
  }
  std::vector<float> one = {0.25f}, big(7 * 3);
  vs::resize_bilinear_aa(one.data(), 1, 1, 1, 7, 3, big.data(), true);
  for (float v : big) EXPECT_EQ(v, 0.25f);
}

TEST(Resize, ThreadCountDoesNotChangeResults) {
  auto x = pattern(3 * 270 * 476, 9, false);
  std::vector<float> a(3 * 256 * 256), b(a.size()), c(3 * 300 * 500), d(c.size());
  vs::set_vsmath_threads(1);
  vs::resize_bilinear_aa(x.data(), 3, 270, 476, 256, 256, a.data(), true);
  vs::resize_bilinear_aa(x.data(), 3, 270, 476, 300, 500, c.data(), false);
  vs::set_vsmath_threads(7);
  vs::resize_bilinear_aa(x.data(), 3, 270, 476, 256, 256, b.data(), true);
  vs::resize_bilinear_aa(x.data(), 3, 270, 476, 300, 500, d.data(), false);
  vs::set_vsmath_threads(0);
  EXPECT_EQ(a, b);
  EXPECT_EQ(c, d);
}

TEST(Resize, RejectsInvalidSizes) {
  float x = 0, y = 0;
  EXPECT_THROW(vs::resize_bilinear_aa(&x, 1, 0, 1, 1, 1, &y), sealite::Error);
  EXPECT_THROW(vs::resize_bilinear_aa(&x, 1, 1, 1, 1, -3, &y), sealite::Error);
  EXPECT_THROW(vs::resize_bilinear_aa(&x, 0, 1, 1, 1, 1, &y), sealite::Error);
}

TEST(Resize, ParallelForCoversRangeAndPropagatesErrors) {
  std::vector<int> hits(1000, 0);
  vs::parallel_for(1000, 10, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
  });
  for (int h : hits) ASSERT_EQ(h, 1);
  EXPECT_THROW(vs::parallel_for(100, 1, [](int64_t b, int64_t) {
                 if (b > 0) throw sealite::Error("boom");
               }),
               sealite::Error);
  vs::parallel_for(0, 1, [](int64_t, int64_t) { FAIL(); });
}

TEST(Resize, Speed1080p) {
  // Informational (no assertion on time): the pipeline's resizes at 1080p.
  auto x = pattern(3 * 1080 * 1920, 3, false);
  std::vector<float> s(3 * 256 * 256), r(1080 * 1920);
  auto t0 = std::chrono::steady_clock::now();
  vs::resize_bilinear_aa(x.data(), 3, 1080, 1920, 256, 256, s.data(), true);
  auto t1 = std::chrono::steady_clock::now();
  vs::resize_bilinear_aa(s.data(), 1, 256, 256, 1080, 1920, r.data(), true);
  auto t2 = std::chrono::steady_clock::now();
  std::printf("  1080p -> 256 (3 ch): %.2f ms; 256 -> 1080p (1 ch): %.2f ms; %d threads\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(), vs::vsmath_threads());
}
