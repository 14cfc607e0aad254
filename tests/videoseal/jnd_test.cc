// jnd_heatmap (VideoSeal jnd_1_1) against the vs10 fixture and PyTorch 1.13.1
// references (tests/data/videoseal, made by make_vsmath_refs.py).
#include "videoseal/jnd.h"

#include <gtest/gtest.h>

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
#include "videoseal/resize.h"

namespace vs = sealite::videoseal;
using sealite::testing::data_dir;

namespace {

// Same generator as make_vsmath_refs.py `pattern` (unsigned variant).
std::vector<float> pattern(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t x = static_cast<uint32_t>(i) * 0x9E3779B9u + seed;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    v[i] = static_cast<float>(x >> 8) * 0x1p-24f;
  }
  return v;
}

struct Diff {
  double max_abs = 0;
  size_t mismatches = 0, count = 0;
};

Diff compare(const float* out, int h, int w, int stride, const std::vector<float>& ref) {
  std::vector<int> rows;
  for (int y = 0; y < h; y += (stride > 0 ? stride : 1)) rows.push_back(y);
  if (rows.back() != h - 1) rows.push_back(h - 1);
  EXPECT_EQ(ref.size(), rows.size() * w);
  Diff d;
  size_t k = 0;
  for (int y : rows)
    for (int x = 0; x < w && k < ref.size(); ++x, ++k) {
      float a = out[static_cast<size_t>(y) * w + x];
      d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(a) - ref[k]));
      d.mismatches += a != ref[k];
      d.count++;
    }
  return d;
}

// Everything but pow is bit-exact; torch's Sleef powf is within 1 ulp of the
// correctly rounded power we use, so a few percent of the values differ by an ulp.
void expect_close(const Diff& d, const std::string& what) {
  std::printf("  %-16s max|diff| %.3g, %zu/%zu values differ\n", what.c_str(), d.max_abs, d.mismatches, d.count);
  EXPECT_LE(d.max_abs, 1e-7) << what;  // required: 1e-6
  EXPECT_LE(d.mismatches, d.count / 25 + 1) << what;
}

}  // namespace

TEST(Jnd, MatchesVs10FixtureHeatmap) {
  // pipe256_jnd_hmaps = JND.heatmaps(in_img256), copied from fixtures/videoseal/vs10.
  auto in = sealite::npy_load(data_dir() / "videoseal" / "in_img256.npy");
  auto ref = sealite::npy_load(data_dir() / "videoseal" / "pipe256_jnd_hmaps.npy");
  ASSERT_EQ(in.shape, (std::vector<int64_t>{1, 3, 256, 256}));
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{1, 1, 256, 256}));
  auto x = in.as_float();
  std::vector<float> h(256 * 256);
  vs::jnd_heatmap(x.data(), 256, 256, h.data());
  expect_close(compare(h.data(), 256, 256, 0, ref.as_float()), "vs10 256x256");
}

TEST(Jnd, MatchesTorchReferences) {
  auto j = nlohmann::json::parse(sealite::read_text_file(data_dir() / "videoseal" / "vsmath" / "cases.json"));
  int n = 0;
  for (auto& c : j["cases"]) {
    if (c["kind"] != "jnd") continue;
    ++n;
    const int h = c["height"], w = c["width"];
    std::vector<float> x;
    if (c["input"] == "image270") {
      auto img = sealite::media::read_image(data_dir() / "media" / "img_270x476.png");
      ASSERT_EQ(img.height, h);
      x.resize(img.rgb.size());
      vs::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, x.data());
    } else {
      std::string src = c["input"];
      x = pattern(static_cast<size_t>(3) * h * w, static_cast<uint32_t>(std::stoul(src.substr(src.find(':') + 1))));
    }
    std::vector<float> out(static_cast<size_t>(h) * w);
    vs::jnd_heatmap(x.data(), h, w, out.data());
    auto ref = sealite::npy_load(data_dir() / "videoseal" / c["file"].get<std::string>()).as_float();
    expect_close(compare(out.data(), h, w, c["row_stride"], ref), c["name"]);
  }
  EXPECT_GE(n, 5);
}

TEST(Jnd, BatchedFramesMatchTorch) {
  // torch computed the heatmaps of N frames in one call; the frame's position
  // in that batch decides which pow path each element took.
  auto j = nlohmann::json::parse(sealite::read_text_file(data_dir() / "videoseal" / "vsmath" / "cases.json"));
  int n = 0;
  for (auto& c : j["cases"]) {
    if (c["kind"] != "jnd_batch") continue;
    ++n;
    const int frames = c["frames"], h = c["height"], w = c["width"], stride = c["row_stride"];
    std::string src = c["input"];
    auto x = pattern(static_cast<size_t>(frames) * 3 * h * w,
                     static_cast<uint32_t>(std::stoul(src.substr(src.find(':') + 1))));
    auto ref = sealite::npy_load(data_dir() / "videoseal" / c["file"].get<std::string>()).as_float();
    const size_t per_frame = ref.size() / frames;
    Diff batched, single;
    for (int f = 0; f < frames; ++f) {
      std::vector<float> ref_f(ref.begin() + f * per_frame, ref.begin() + (f + 1) * per_frame);
      std::vector<float> out(static_cast<size_t>(h) * w);
      const float* xf = x.data() + static_cast<size_t>(f) * 3 * h * w;
      vs::jnd_heatmap(xf, h, w, out.data(), f, frames);
      Diff d = compare(out.data(), h, w, stride, ref_f);
      batched.max_abs = std::max(batched.max_abs, d.max_abs);
      batched.mismatches += d.mismatches;
      batched.count += d.count;
      vs::jnd_heatmap(xf, h, w, out.data());  // as if each frame were alone: still within 1 ulp
      d = compare(out.data(), h, w, stride, ref_f);
      single.max_abs = std::max(single.max_abs, d.max_abs);
      single.mismatches += d.mismatches;
      single.count += d.count;
    }
    expect_close(batched, c["name"].get<std::string>() + " (batch)");
    expect_close(single, c["name"].get<std::string>() + " (frames)");
    EXPECT_LE(batched.mismatches, single.mismatches);
  }
  EXPECT_EQ(n, 2);
  EXPECT_THROW(vs::jnd_heatmap(nullptr, 2, 2, nullptr, 3, 3), sealite::Error);
}

TEST(Jnd, MatchesSharedFixtureAt270x476) {
  SEALITE_REQUIRE_SHARED();
  // The same heatmap recomputed from the shared uint8 input (u8/255, NCHW).
  auto u8 = sealite::npy_load(sealite::testing::shared_dir() / "fixtures/videoseal/_inputs/img_270x476_u8_hwc.npy");
  ASSERT_EQ(u8.shape, (std::vector<int64_t>{270, 476, 3}));
  std::vector<float> x(u8.data.size());
  vs::u8_hwc_to_float_chw(u8.data.data(), 270, 476, 3, x.data());
  std::vector<float> out(270 * 476);
  vs::jnd_heatmap(x.data(), 270, 476, out.data());
  auto j = nlohmann::json::parse(sealite::read_text_file(data_dir() / "videoseal" / "vsmath" / "cases.json"));
  for (auto& c : j["cases"])
    if (c["name"] == "jnd_img270")
      expect_close(compare(out.data(), 270, 476, c["row_stride"],
                           sealite::npy_load(data_dir() / "videoseal" / c["file"].get<std::string>()).as_float()),
                   "shared 270x476");
}

TEST(Jnd, FlatImageHasOnlyLuminanceMasking) {
  // Flat interior: gradients 0 -> cm = 0, hmap = la / 255.
  const int h = 20, w = 30;
  std::vector<float> x(3 * h * w, 0.5f), out(h * w);
  vs::jnd_heatmap(x.data(), h, w, out.data());
  const float lum = (0.299f * 127.5f + 0.587f * 127.5f) + 0.114f * 127.5f;
  const float la = (lum * 32.0f) / 32.0f;
  const float expect = (0.0234375f * (la - 127.0f) + 3.0f) / 255.0f;
  EXPECT_NEAR(out[10 * w + 15], expect, 1e-7f);
  for (float v : out) EXPECT_GE(v, 0.0f);
}

TEST(Jnd, ThreadCountDoesNotChangeResults) {
  auto x = pattern(3 * 300 * 411, 77);
  std::vector<float> a(300 * 411), b(a.size());
  vs::set_vsmath_threads(1);
  vs::jnd_heatmap(x.data(), 300, 411, a.data());
  vs::set_vsmath_threads(5);
  vs::jnd_heatmap(x.data(), 300, 411, b.data());
  vs::set_vsmath_threads(0);
  EXPECT_EQ(a, b);
}

TEST(Jnd, RejectsEmpty) {
  float x[3] = {0, 0, 0}, y = 0;
  EXPECT_THROW(vs::jnd_heatmap(x, 0, 1, &y), sealite::Error);
}

TEST(Jnd, Speed1080p) {
  auto x = pattern(3 * 1080 * 1920, 4);
  std::vector<float> out(1080 * 1920);
  auto t0 = std::chrono::steady_clock::now();
  vs::jnd_heatmap(x.data(), 1080, 1920, out.data());
  auto t1 = std::chrono::steady_clock::now();
  std::printf("  JND 1080p: %.2f ms (%d threads)\n", std::chrono::duration<double, std::milli>(t1 - t0).count(),
              vs::vsmath_threads());
}
