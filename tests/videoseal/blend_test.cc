// Blending and layout / dtype conversions.
#include "videoseal/blend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/npy.h"
#include "testing/test_paths.h"
#include "videoseal/resize.h"

namespace vs = sealite::videoseal;
using sealite::testing::data_dir;

namespace {

std::vector<float> pattern(size_t n, uint32_t seed, bool is_signed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t x = static_cast<uint32_t>(i) * 0x9E3779B9u + seed;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    x >>= 8;
    v[i] = is_signed ? static_cast<float>(x) * 0x1p-23f - 1.0f : static_cast<float>(x) * 0x1p-24f;
  }
  return v;
}

}  // namespace

TEST(Blend, MatchesTorch) {
  auto j = nlohmann::json::parse(sealite::read_text_file(data_dir() / "videoseal" / "vsmath" / "cases.json"));
  int n = 0;
  for (auto& c : j["cases"]) {
    if (c["kind"] != "blend") continue;
    ++n;
    const int h = c["height"], w = c["width"], rc = c["residual_channels"];
    auto img = pattern(static_cast<size_t>(3) * h * w, 50, false);
    auto res = pattern(static_cast<size_t>(rc) * h * w, 51, true);
    std::vector<float> out(img.size());
    vs::blend_additive(img.data(), 3, h, w, res.data(), rc, c["scaling_i"].get<float>(),
                       c["scaling_w"].get<float>(), out.data());
    auto ref = sealite::npy_load(data_dir() / "videoseal" / c["file"].get<std::string>()).as_float();
    EXPECT_EQ(out, ref) << c["name"];
  }
  EXPECT_EQ(n, 3);
}

TEST(Blend, ReproducesVs10ImgsW) {
  SEALITE_REQUIRE_SHARED();
  auto dir = sealite::testing::shared_dir() / "fixtures/videoseal/vs10";
  auto img = sealite::npy_load(dir / "in_img256.npy").as_float();
  auto preds = sealite::npy_load(dir / "pipe256_preds_w.npy").as_float();
  auto ref = sealite::npy_load(dir / "pipe256_imgs_w.npy").as_float();
  std::vector<float> out(img.size());
  vs::blend_additive(img.data(), 3, 256, 256, preds.data(), 1, 1.0f, 0.2f, out.data());
  EXPECT_EQ(out, ref);
}

TEST(Blend, InPlaceAndUnclamped) {
  auto img = pattern(3 * 4 * 5, 1, false);
  auto res = pattern(4 * 5, 2, true);
  std::vector<float> expect(img.size()), inplace = img, raw(img.size());
  vs::blend_additive(img.data(), 3, 4, 5, res.data(), 1, 1.0f, 0.9f, expect.data());
  vs::blend_additive(inplace.data(), 3, 4, 5, res.data(), 1, 1.0f, 0.9f, inplace.data());
  EXPECT_EQ(inplace, expect);
  vs::blend_additive(img.data(), 3, 4, 5, res.data(), 1, 1.0f, 0.9f, raw.data(), /*clamp=*/false);
  bool outside = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    EXPECT_EQ(expect[i], std::min(std::max(raw[i], 0.0f), 1.0f));
    outside |= raw[i] < 0.0f || raw[i] > 1.0f;
  }
  EXPECT_TRUE(outside);
}

TEST(Blend, RejectsResidualChannelMismatch) {
  float a[6] = {}, r[4] = {}, o[6] = {};
  EXPECT_THROW(vs::blend_additive(a, 3, 1, 2, r, 2, 1.0f, 0.2f, o), sealite::Error);
}

TEST(Convert, U8ToFloatIsTrueDivision) {
  std::vector<uint8_t> u(256);
  for (int i = 0; i < 256; ++i) u[i] = static_cast<uint8_t>(i);
  std::vector<float> f(256);
  vs::u8_to_float(u.data(), u.size(), f.data());
  int differs_from_reciprocal = 0;
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(f[i], static_cast<float>(i) / 255.0f);
    EXPECT_EQ(f[i], vs::u8_to_unit(static_cast<uint8_t>(i)));
    differs_from_reciprocal += f[i] != static_cast<float>(i) * (1.0f / 255.0f);
  }
  EXPECT_GT(differs_from_reciprocal, 0);  // why the true division matters
  std::vector<uint8_t> back(256);
  vs::float_to_u8(f.data(), f.size(), back.data());
  EXPECT_EQ(back, u);
}

TEST(Convert, FloatToU8RoundsHalfToEvenAndClamps) {
  EXPECT_EQ(vs::unit_to_u8(-0.5f), 0);
  EXPECT_EQ(vs::unit_to_u8(2.0f), 255);
  EXPECT_EQ(vs::unit_to_u8(NAN), 0);
  EXPECT_EQ(vs::unit_to_u8(INFINITY), 255);
  int ties = 0;
  for (int k = 0; k < 255; ++k) {
    float v = (static_cast<float>(k) + 0.5f) / 255.0f;
    if (v * 255.0f != static_cast<float>(k) + 0.5f) continue;  // not an exact tie in float
    ++ties;
    EXPECT_EQ(vs::unit_to_u8(v), k % 2 == 0 ? k : k + 1) << k;
  }
  EXPECT_GT(ties, 10);
  EXPECT_EQ(vs::unit_to_u8(std::nextafter(0.5f / 255.0f, 1.0f)), 1);
}

TEST(Convert, LayoutRoundTrips) {
  const int h = 7, w = 9, c = 3;
  auto hwc = pattern(static_cast<size_t>(h) * w * c, 3, false);
  std::vector<float> chw(hwc.size()), back(hwc.size());
  vs::hwc_to_chw(hwc.data(), h, w, c, chw.data());
  EXPECT_EQ(chw[(1 * h + 2) * w + 4], hwc[(2 * w + 4) * c + 1]);
  vs::chw_to_hwc(chw.data(), c, h, w, back.data());
  EXPECT_EQ(back, hwc);

  std::vector<uint8_t> u8(hwc.size()), u8back(hwc.size());
  for (size_t i = 0; i < u8.size(); ++i) u8[i] = static_cast<uint8_t>(i * 37 % 256);
  std::vector<float> f(hwc.size()), f2(hwc.size()), tmp(hwc.size());
  vs::u8_hwc_to_float_chw(u8.data(), h, w, c, f.data());
  vs::u8_to_float(u8.data(), u8.size(), tmp.data());
  vs::hwc_to_chw(tmp.data(), h, w, c, f2.data());
  EXPECT_EQ(f, f2);
  vs::float_chw_to_u8_hwc(f.data(), c, h, w, u8back.data());
  EXPECT_EQ(u8back, u8);
}

TEST(Convert, LargeInputsAreThreadedConsistently) {
  const size_t n = 3u * 1080 * 1920;
  auto f = pattern(n, 8, false);
  std::vector<uint8_t> a(n), b(n);
  vs::set_vsmath_threads(1);
  vs::float_to_u8(f.data(), n, a.data());
  vs::set_vsmath_threads(4);
  vs::float_to_u8(f.data(), n, b.data());
  vs::set_vsmath_threads(0);
  EXPECT_EQ(a, b);
  for (size_t i = 0; i < n; i += 9973) EXPECT_EQ(a[i], vs::unit_to_u8(f[i]));
}
