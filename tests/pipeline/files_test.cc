// embed_file / detect_file on the formats users have (gray, 16-bit, alpha,
// JPEG out, float .npy in), strength, concurrency, and model loading checks.
#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "core/fs.h"
#include "core/npy.h"
#include "media/image.h"
#include "pipeline/model.h"
#include "pipeline/pipeline.h"
#include "pipeline_testing.h"
#include "videoseal/blend.h"

namespace fs = std::filesystem;
namespace pl = sealite::pipeline;
namespace media = sealite::media;
using namespace sealite::testing;

namespace {

fs::path tmp(const std::string& name) {
  fs::path d = temp_dir() / "files";
  fs::create_directories(d);
  return d / name;
}

media::Image base_image() { return media::read_image(input_png()); }

}  // namespace

TEST(PipelineFiles, AlphaDepthAndMetadataAreKept) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "chunky");  // RGB residual
  auto model = pl::EmbedderModel::load(dir);
  media::Image img = base_image();
  img.alpha.resize(img.pixels());
  for (size_t i = 0; i < img.pixels(); ++i) img.alpha[i] = static_cast<uint16_t>(i * 7919 % 65536);
  img.alpha_bits = 16;
  img.bit_depth = 16;
  fs::path in = tmp("rgba16.png"), out = tmp("rgba16_wm.png");
  media::write_image(in, img);
  const pl::Message msg = pl::parse_message("random:5", model->nbits());
  auto r = pl::embed_file(*model, in, out, msg);
  auto back = media::read_image(out);
  EXPECT_EQ(back.bit_depth, 16);
  EXPECT_EQ(back.alpha_bits, 16);
  EXPECT_EQ(back.alpha, img.alpha);
  EXPECT_GT(r.psnr, 20);
  EXPECT_EQ(r.width, 476);
  EXPECT_GT(r.timings.decode, 0);
  EXPECT_GT(r.timings.encode, 0);
  // The 16-bit file holds the float result to 1/65535.
  fs::path dump = tmp("rgba16_wm.npy");
  pl::EmbedFileOptions fo;
  fo.dump_float = dump;
  pl::embed_file(*model, in, tmp("rgba16_wm2.png"), msg, fo);
  auto f = sealite::npy_load(dump).as_float();
  const int h = back.height, w = back.width;
  double m = 0;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < h * w; ++i) m = std::max(m, std::fabs(double(back.rgb[size_t(i) * 3 + c]) - f[size_t(c) * h * w + i]));
  EXPECT_LE(m, 0.5 / 65535 + 1e-7);
}

TEST(PipelineFiles, GrayStaysGrayWithAYChannelModel) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");  // Y residual: R == G == B stays equal
  auto model = pl::EmbedderModel::load(dir);
  media::Image img = base_image();
  for (size_t i = 0; i < img.pixels(); ++i) {
    float g = img.rgb[i * 3 + 1];
    img.rgb[i * 3] = img.rgb[i * 3 + 2] = g;
  }
  img.gray = true;
  fs::path in = tmp("gray.png"), out = tmp("gray_wm.png");
  media::write_image(in, img);
  ASSERT_TRUE(media::read_image(in).gray);
  pl::embed_file(*model, in, out, pl::parse_message("random:1", model->nbits()));
  auto back = media::read_image(out);
  EXPECT_TRUE(back.gray);
  // With an RGB-residual model the output becomes RGB (the watermark is not averaged away).
  SEALITE_REQUIRE_FAMILY_MODEL(dir3, "chunky");
  auto m3 = pl::EmbedderModel::load(dir3);
  pl::embed_file(*m3, in, tmp("gray_rgb_wm.png"), pl::parse_message("random:1", m3->nbits()));
  EXPECT_FALSE(media::read_image(tmp("gray_rgb_wm.png")).gray);
}

TEST(PipelineFiles, JpegOutputAndNpyInput) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");
  auto model = pl::EmbedderModel::load(dir);
  auto det = pl::DetectorModel::load(dir);
  const pl::Message msg = pl::parse_message("text:abcd", model->nbits());
  pl::EmbedFileOptions fo;
  fo.jpeg_quality = 90;
  auto r = pl::embed_file(*model, input_png(), tmp("out.jpg"), msg, fo);
  auto back = media::read_image(tmp("out.jpg"));
  EXPECT_EQ(back.format, "jpeg");
  // .npy in and .npy out (float, unrounded): identical to the in-memory result.
  media::Image img = base_image();
  sealite::npy_save(tmp("in.npy"), sealite::npy_from_floats({img.height, img.width, 3}, img.rgb.data()));
  pl::embed_file(*model, tmp("in.npy"), tmp("out.npy"), msg);
  auto f = sealite::npy_load(tmp("out.npy"));
  EXPECT_EQ(f.shape, (std::vector<int64_t>{270, 476, 3}));
  std::vector<float> chw(3 * img.pixels());
  sealite::videoseal::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, chw.data());
  auto e = pl::embed_image(*model, chw.data(), img.height, img.width, msg);
  std::vector<float> hwc(e.image.size());
  sealite::videoseal::chw_to_hwc(e.image.data(), 3, img.height, img.width, hwc.data());
  EXPECT_EQ(f.as_float(), hwc);
  // Detect on the .npy result.
  auto d = pl::detect_file(*det, tmp("out.npy"));
  EXPECT_EQ(d.detection.logits.size(), 33u);
}

TEST(PipelineFiles, StrengthScalesTheResidual) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");
  auto model = pl::EmbedderModel::load(dir);
  media::Image img = base_image();
  std::vector<float> chw(3 * img.pixels());
  sealite::videoseal::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, chw.data());
  const pl::Message msg = pl::parse_message("random:2", model->nbits());
  pl::EmbedOptions o0;
  o0.strength = 0;
  auto zero = pl::embed_image(*model, chw.data(), img.height, img.width, msg, o0);
  EXPECT_EQ(zero.image, chw);  // clamp(1*x + 0*r) == x for x in [0,1]
  pl::EmbedOptions o1, o2;
  o2.strength = 2;
  auto one = pl::embed_image(*model, chw.data(), img.height, img.width, msg, o1);
  auto two = pl::embed_image(*model, chw.data(), img.height, img.width, msg, o2);
  double e1 = 0, e2 = 0;
  for (size_t i = 0; i < chw.size(); ++i) {
    e1 += std::fabs(one.image[i] - chw[i]);
    e2 += std::fabs(two.image[i] - chw[i]);
  }
  EXPECT_GT(e2, 1.5 * e1);
  EXPECT_LT(e2, 2.01 * e1);
}

TEST(PipelineFiles, ConcurrentCallsGiveTheSameBits) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");
  for (int interpreters : {1, 3}) {
    pl::RuntimeOptions ro;
    ro.interpreters = interpreters;
    auto model = pl::EmbedderModel::load(dir, ro);
    auto det = pl::DetectorModel::load(dir, ro);
    media::Image img = base_image();
    std::vector<float> chw(3 * img.pixels());
    sealite::videoseal::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, chw.data());
    const pl::Message msg = pl::parse_message("random:9", model->nbits());
    auto ref = pl::embed_image(*model, chw.data(), img.height, img.width, msg);
    auto ref_d = pl::detect_image(*det, ref.image.data(), img.height, img.width);
    std::vector<std::thread> ts;
    std::vector<int> ok(4, 0);
    for (int k = 0; k < 4; ++k)
      ts.emplace_back([&, k] {
        auto e = pl::embed_image(*model, chw.data(), img.height, img.width, msg);
        auto d = pl::detect_image(*det, e.image.data(), img.height, img.width);
        ok[k] = e.image == ref.image && d.logits == ref_d.logits;
      });
    for (auto& t : ts) t.join();
    for (int k = 0; k < 4; ++k) EXPECT_TRUE(ok[k]) << "thread " << k << " interpreters " << interpreters;
  }
}

TEST(PipelineFiles, RunParallelReportsInOrder) {
  std::vector<size_t> order;
  std::vector<bool> failed;
  size_t n = pl::run_parallel(
      20, 4,
      [](size_t i) {
        std::this_thread::sleep_for(std::chrono::milliseconds((20 - i) % 5));
        if (i % 7 == 3) throw sealite::Error("bad " + std::to_string(i));
      },
      [&](size_t i, const std::string* e) {
        order.push_back(i);
        failed.push_back(e != nullptr);
        if (e) EXPECT_EQ(*e, "bad " + std::to_string(i));
      });
  EXPECT_EQ(n, 3u);  // 3, 10, 17
  ASSERT_EQ(order.size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(order[i], i);
    EXPECT_EQ(failed[i], i % 7 == 3);
  }
  EXPECT_EQ(pl::run_parallel(0, 4, [](size_t) {}, nullptr), 0u);
}

TEST(PipelineFiles, ModelHeaderAndCard) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "pixelseal");
  auto bytes = sealite::read_file(dir / "embedder.tflite");
  auto h = pl::read_model_header(bytes.data(), bytes.size(), "e");
  EXPECT_EQ(h.role, pl::ModelRole::embedder);
  ASSERT_TRUE(h.card);
  EXPECT_EQ(h.card->nbits, 24);
  auto model = pl::EmbedderModel::load(dir);
  EXPECT_EQ(model->residual_channels(), 1);
  EXPECT_EQ(model->size(), 256);
  auto dbytes = sealite::read_file(dir / "detector.tflite");
  EXPECT_EQ(pl::read_model_header(dbytes.data(), dbytes.size(), "d").role, pl::ModelRole::detector);
  // Garbage and truncation.
  std::vector<uint8_t> trunc(bytes.begin(), bytes.begin() + bytes.size() / 3);
  EXPECT_THROW(pl::read_model_header(trunc.data(), trunc.size(), "t"), sealite::Error);
  EXPECT_THROW(pl::EmbedderModel::from_bytes(trunc, "t"), sealite::Error);
  std::vector<uint8_t> junk(100, 7);
  EXPECT_THROW(pl::read_model_header(junk.data(), junk.size(), "j"), sealite::Error);
  EXPECT_THROW(pl::DetectorModel::from_bytes(bytes, "emb"), sealite::Error);
}

TEST(PipelineFiles, SizesOutsideTheLimitsAreRefused) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");
  auto model = pl::EmbedderModel::load(dir);
  std::vector<float> px(3 * 15 * 300, 0.5f);
  const pl::Message msg = pl::parse_message("random:2", model->nbits());
  EXPECT_THROW(pl::embed_image(*model, px.data(), 15, 300, msg), sealite::Error);
  // 16x16 is accepted (the model input is upscaled with the same antialiased kernel).
  std::vector<float> small(3 * 16 * 16, 0.25f);
  auto out = pl::embed_image(*model, small.data(), 16, 16, msg);
  EXPECT_EQ(out.image.size(), small.size());
  pl::Message wrong = pl::parse_message("random:2", 16);
  EXPECT_THROW(pl::embed_image(*model, small.data(), 16, 16, wrong), sealite::Error);
}
