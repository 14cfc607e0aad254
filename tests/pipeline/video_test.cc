// Video pipeline (issue 6) against the fixture references: Videoseal.embed
// (is_video=True, low-res and full-res JND), Videoseal.detect per frame and
// extract_message (antialias=False, avg), plus the other video modes and
// aggregations on small synthetic cases.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "pipeline/model.h"
#include "pipeline/pipeline_testing.h"
#include "pipeline/video.h"
#include "videoseal/blend.h"

namespace sealite::pipeline {
namespace {

namespace fs = std::filesystem;
using sealite::testing::converted_model;
using sealite::testing::fixture_file;

// Fixture video frames as float CHW (u8 / 255), T x 3 x H x W.
struct Clip {
  int t = 0, h = 0, w = 0;
  std::vector<FrameF> frames;
};

Clip load_input_clip(const std::string& family) {
  Clip c;
  fs::path p = sealite::testing::data_dir() / "media" / "video_10x45x79_u8_thwc.npy";
  if (!fs::exists(p)) p = fixture_file(family, "in_video_10x45x79_u8_thwc.npy");
  if (p.empty() || !fs::exists(p)) return c;
  NpyArray a = npy_load(p);
  c.t = static_cast<int>(a.shape[0]);
  c.h = static_cast<int>(a.shape[1]);
  c.w = static_cast<int>(a.shape[2]);
  const size_t fsz = static_cast<size_t>(c.h) * c.w * 3;
  for (int i = 0; i < c.t; ++i) {
    FrameF f(fsz);
    videoseal::u8_hwc_to_float_chw(a.data.data() + i * fsz, c.h, c.w, 3, f.data());
    c.frames.push_back(std::move(f));
  }
  return c;
}

std::vector<float> flatten(const std::vector<FrameF>& frames) {
  std::vector<float> out;
  for (const auto& f : frames) out.insert(out.end(), f.begin(), f.end());
  return out;
}

std::vector<FrameF> split(const std::vector<float>& all, int t) {
  std::vector<FrameF> out;
  const size_t fsz = all.size() / static_cast<size_t>(t);
  for (int i = 0; i < t; ++i) out.emplace_back(all.begin() + i * fsz, all.begin() + (i + 1) * fsz);
  return out;
}

Message load_message(const std::string& family) {
  Message m;
  for (int64_t v : npy_load(fixture_file(family, "in_msg.npy")).as_int64()) m.bits.push_back(static_cast<uint8_t>(v));
  return m;
}

class VideoFamily : public ::testing::TestWithParam<std::string> {};

TEST_P(VideoFamily, EmbedMatchesReferenceLowresAndFullres) {
  const std::string family = GetParam();
  auto ref_low = fixture_file(family, "video_lowres_imgs_w.npy");
  if (ref_low.empty()) GTEST_SKIP() << family << ": no video references (../shared absent?)";
  SEALITE_REQUIRE_FAMILY_MODEL(dir, family);
  Clip clip = load_input_clip(family);
  ASSERT_EQ(clip.t, 10);
  auto model = EmbedderModel::load(dir);
  Message msg = load_message(family);
  for (bool lowres : {true, false}) {
    VideoEmbedOptions opt;
    opt.lowres_attenuation = lowres;
    auto out = embed_video_frames(*model, clip.frames, clip.h, clip.w, msg, opt);
    ASSERT_EQ(out.size(), 10u);
    auto ref = sealite::testing::load_floats(fixture_file(family, lowres ? "video_lowres_imgs_w.npy"
                                                                         : "video_fullres_imgs_w.npy"));
    auto got = flatten(out);
    auto d = sealite::testing::max_diff(got, ref);
    size_t same_u8 = 0;
    for (size_t i = 0; i < got.size(); ++i)
      same_u8 += videoseal::unit_to_u8(got[i]) == videoseal::unit_to_u8(ref[i]);
    std::printf("[video] %s %s: max |diff| %.3g, u8 equal %.5f%%\n", family.c_str(), lowres ? "lowres" : "fullres",
                d.max_abs, 100.0 * same_u8 / got.size());
    EXPECT_LT(d.max_abs, 1e-4) << family << (lowres ? " lowres" : " fullres");
    EXPECT_GE(static_cast<double>(same_u8) / got.size(), 0.999);
  }
}

TEST_P(VideoFamily, DetectMatchesReference) {
  const std::string family = GetParam();
  auto ref_low = fixture_file(family, "video_lowres_imgs_w.npy");
  if (ref_low.empty()) GTEST_SKIP() << family << ": no video references";
  SEALITE_REQUIRE_FAMILY_MODEL(dir, family);
  auto model = DetectorModel::load(dir);
  NpyArray imgs = npy_load(ref_low);
  const int t = static_cast<int>(imgs.shape[0]), h = static_cast<int>(imgs.shape[2]),
            w = static_cast<int>(imgs.shape[3]);
  auto frames = split(imgs.as_float(), t);
  VideoDetection det = detect_video_frames(*model, frames, h, w);
  auto ref_preds = sealite::testing::load_floats(fixture_file(family, "video_lowres_detect_preds.npy"));
  std::vector<float> got;
  for (const auto& l : det.frame_logits) got.insert(got.end(), l.begin(), l.end());
  auto d = sealite::testing::max_diff(got, ref_preds);
  EXPECT_LT(d.max_abs, 1e-4);
  auto ref_avg = sealite::testing::load_floats(fixture_file(family, "video_lowres_extract_avg_logits.npy"));
  auto da = sealite::testing::max_diff(det.aggregated, ref_avg);
  std::printf("[video] %s detect preds max |diff| %.3g, extract avg logits max |diff| %.3g\n", family.c_str(),
              d.max_abs, da.max_abs);
  EXPECT_LT(da.max_abs, 1e-4);
  auto ref_msg = npy_load(fixture_file(family, "video_lowres_extract_message.npy")).as_int64();
  ASSERT_EQ(static_cast<size_t>(det.message.nbits()), ref_msg.size());
  for (size_t i = 0; i < ref_msg.size(); ++i) EXPECT_EQ(det.message.bits[i], ref_msg[i]) << "bit " << i;
  // (The fixture models have random weights: the embedded message does not come back.)
}

INSTANTIATE_TEST_SUITE_P(Families, VideoFamily, ::testing::ValuesIn(sealite::testing::pipeline_families()));

// Streaming in pieces gives the same frames as all at once; alternate and
// interpolate behave as the reference defines them.
TEST(VideoModes, StreamingAlternateInterpolate) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");
  Clip clip = load_input_clip("vs10");
  if (clip.t == 0) GTEST_SKIP() << "no input clip";
  auto model = EmbedderModel::load(dir);
  Message msg = parse_message("random:7", model->nbits());
  VideoEmbedOptions base;
  base.step_size = 3;
  base.chunk_size = 2;  // chunks of 6 frames: 0..5, 6..9
  auto rep = embed_video_frames(*model, clip.frames, clip.h, clip.w, msg, base);

  // streaming: same output, frames come out one by one in repeat mode.
  {
    VideoEmbedder e(*model, msg, clip.h, clip.w, base, clip.t);
    std::vector<FrameF> out;
    for (int i = 0; i < clip.t; ++i) {
      e.push(clip.frames[i], out);
      EXPECT_EQ(out.size(), static_cast<size_t>(i + 1));
    }
    e.finish(out);
    ASSERT_EQ(out.size(), rep.size());
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], rep[i]);
    EXPECT_EQ(e.key_frames(), 4);
  }
  // alternate: key frames as in repeat; other frames untouched (scaling_i = 1, no residual).
  VideoEmbedOptions alt = base;
  alt.video_mode = "alternate";
  auto a = embed_video_frames(*model, clip.frames, clip.h, clip.w, msg, alt);
  for (int i = 0; i < clip.t; ++i) {
    if (i % 3 == 0) EXPECT_EQ(a[i], rep[i]) << i;
    else EXPECT_EQ(a[i], clip.frames[i]) << i;
  }
  // interpolate: key frames as in repeat; frames after the last key frame of
  // a chunk (3,4,5 -> key 3; 9 -> key 9) use that key frame's residual.
  VideoEmbedOptions itp = base;
  itp.video_mode = "interpolate";
  auto in = embed_video_frames(*model, clip.frames, clip.h, clip.w, msg, itp);
  ASSERT_EQ(in.size(), rep.size());
  for (int i : {0, 3, 4, 5, 6, 9}) EXPECT_EQ(in[i], rep[i]) << i;
  for (int i : {1, 2, 7, 8}) EXPECT_NE(in[i], rep[i]) << i;
}

TEST(VideoAggregation, Definitions) {
  std::vector<std::vector<float>> b = {{1.0f, -2.0f}, {-3.0f, 0.5f}};
  auto avg = aggregate_bit_logits(b, Aggregation::avg);
  EXPECT_FLOAT_EQ(avg[0], -1.0f);
  EXPECT_FLOAT_EQ(avg[1], -0.75f);
  auto sq = aggregate_bit_logits(b, Aggregation::squared_avg);
  EXPECT_FLOAT_EQ(sq[0], (1.0f - 9.0f) / 2);
  EXPECT_FLOAT_EQ(sq[1], (-4.0f + 0.25f) / 2);
  auto l1 = aggregate_bit_logits(b, Aggregation::l1norm_avg);  // weights 3, 3.5
  EXPECT_FLOAT_EQ(l1[0], (3.0f - 10.5f) / 2);
  EXPECT_FLOAT_EQ(l1[1], (-6.0f + 1.75f) / 2);
  auto l2 = aggregate_bit_logits(b, Aggregation::l2norm_avg);  // weights sqrt(5), sqrt(9.25)
  EXPECT_NEAR(l2[0], (std::sqrt(5.0) - 3 * std::sqrt(9.25)) / 2, 1e-5);
  EXPECT_THROW(parse_aggregation("median"), sealite::Error);
  EXPECT_THROW(parse_video_mode("bounce"), sealite::Error);
}

}  // namespace
}  // namespace sealite::pipeline
