// `sealite embed` / `sealite detect` on videos through the CLI entry points
// (cli/video_cmd.h): the fixture clip through FFV1, float dumps against the
// references, detection JSON, audio copy, and failures leaving no output.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

extern "C" {
#include <libavformat/avformat.h>
}

#include "cli/video_cmd.h"
#include "core/error.h"
#include "core/fs.h"
#include "media/video.h"
#include "pipeline/message.h"
#include "pipeline/pipeline_testing.h"

namespace sealite::cli {
namespace {

namespace fs = std::filesystem;
using sealite::testing::fixture_file;

fs::path input_mkv() { return sealite::testing::data_dir() / "media" / "video_10x45x79_ffv1.mkv"; }

std::string message_bits(const std::string& family) {
  std::string s = "bits:";
  for (int64_t v : npy_load(fixture_file(family, "in_msg.npy")).as_int64()) s += v ? '1' : '0';
  return s;
}

std::vector<uint8_t> audio_payload(const fs::path& p, int64_t* packets) {
  std::vector<uint8_t> d;
  AVFormatContext* fmt = nullptr;
  EXPECT_EQ(avformat_open_input(&fmt, p.c_str(), nullptr, nullptr), 0);
  avformat_find_stream_info(fmt, nullptr);
  int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  AVPacket* pkt = av_packet_alloc();
  *packets = 0;
  while (idx >= 0 && av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == idx) {
      d.insert(d.end(), pkt->data, pkt->data + pkt->size);
      ++*packets;
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&fmt);
  return d;
}

class VideoCli : public ::testing::TestWithParam<std::string> {};

TEST_P(VideoCli, EmbedFfv1DumpFloatAndDetect) {
  const std::string family = GetParam();
  auto ref_low = fixture_file(family, "video_lowres_imgs_w.npy");
  if (ref_low.empty()) GTEST_SKIP() << family << ": no video references";
  SEALITE_REQUIRE_FAMILY_MODEL(dir, family);
  const fs::path tmp = sealite::testing::temp_dir() / ("cli_" + family);
  fs::create_directories(tmp);
  for (bool lowres : {true, false}) {
    const fs::path out = tmp / (lowres ? "low.mkv" : "full.mkv");
    const fs::path dump = tmp / (lowres ? "low.npy" : "full.npy");
    std::vector<std::string> args = {input_mkv().string(), "-o", out.string(), "--codec", "ffv1", "--model",
                                     dir.string(), "--message", message_bits(family), "--dump-float", dump.string(),
                                     "--quiet"};
    if (!lowres) args.push_back("--fullres-attenuation");
    ASSERT_TRUE(args_name_video_input(args));
    ASSERT_EQ(embed_video_main(args), 0);
    auto ref = sealite::testing::load_floats(fixture_file(family, lowres ? "video_lowres_imgs_w.npy"
                                                                         : "video_fullres_imgs_w.npy"));
    auto got = sealite::testing::load_floats(dump);
    EXPECT_LT(sealite::testing::max_diff(got, ref).max_abs, 1e-4);
    // the FFV1 file holds round(ref * 255) (>= 99.9 % of the values)
    media::VideoReader r(out);
    media::VideoFrame f;
    size_t same = 0, total = 0;
    const int h = 45, w = 79;
    while (r.read(f)) {
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < h * w; ++i) {
          const float v = ref[static_cast<size_t>(f.index) * 3 * h * w + c * h * w + i];
          same += f.rgb[static_cast<size_t>(i) * 3 + c] == std::nearbyint(std::min(1.f, std::max(0.f, v)) * 255.f);
          ++total;
        }
    }
    EXPECT_EQ(total, 10u * 3 * h * w);
    EXPECT_GE(static_cast<double>(same) / total, 0.999) << same << "/" << total;
  }
  // Detection on the reference float frames (.npy) and on the lossless file.
  std::string expect = "bits:";
  for (int64_t v : npy_load(fixture_file(family, "video_lowres_extract_message.npy")).as_int64()) expect += v ? '1' : '0';
  for (const fs::path& in : {ref_low, tmp / "low.mkv"}) {
    std::vector<std::string> args = {in.string(), "--model", dir.string(), "--json", "--expect", expect};
    ASSERT_TRUE(args_name_video_input(args));
    ::testing::internal::CaptureStdout();
    int rc = detect_video_main(args);
    std::string text = ::testing::internal::GetCapturedStdout();
    ASSERT_EQ(rc, 0);
    auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["frames"].size(), 10u);
    EXPECT_EQ(j["bit_accuracy"].get<double>(), 1.0) << in;
    if (in == ref_low) {
      auto ref = sealite::testing::load_floats(fixture_file(family, "video_lowres_detect_preds.npy"));
      std::vector<float> got;
      for (auto& fr : j["frames"])
        for (auto& v : fr["logits"]) got.push_back(v.get<float>());
      EXPECT_LT(sealite::testing::max_diff(got, ref).max_abs, 1e-4);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, VideoCli, ::testing::ValuesIn(sealite::testing::pipeline_families()));

TEST(VideoCliFiles, AudioCopiedFramesAndTimestampsKept) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");
  const fs::path tmp = sealite::testing::temp_dir() / "cli_audio";
  fs::create_directories(tmp);
  std::vector<std::vector<uint8_t>> frames;
  for (int t = 0; t < 9; ++t) {
    std::vector<uint8_t> f(64 * 48 * 3);
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<uint8_t>((i * 7 + t * 13) & 255);
    frames.push_back(std::move(f));
  }
  for (const char* name : {"a.mkv", "a.mp4"}) {
    const fs::path src = tmp / name, out = tmp / (std::string("wm_") + name);
    media::write_test_video(src, frames, 64, 48, 30, "libx264", "yuv420p", 1000.0);
    ASSERT_EQ(embed_video_main({src.string(), "-o", out.string(), "--model", dir.string(), "--message", "random:5",
                                "--quiet"}),
              0);
    int64_t na = 0, nb = 0;
    auto a = audio_payload(src, &na), b = audio_payload(out, &nb);
    EXPECT_GT(na, 0);
    EXPECT_EQ(na, nb);
    EXPECT_EQ(a, b) << name;
    media::VideoReader ra(src), rb(out);
    media::VideoFrame fa, fb;
    int n = 0;
    while (ra.read(fa)) {
      ASSERT_TRUE(rb.read(fb));
      EXPECT_EQ(av_rescale_q(fa.pts, {ra.info().tb_num, ra.info().tb_den}, {1, 90000}),
                av_rescale_q(fb.pts, {rb.info().tb_num, rb.info().tb_den}, {1, 90000}));
      ++n;
    }
    EXPECT_FALSE(rb.read(fb));
    EXPECT_EQ(n, 9);
  }
}

TEST(VideoCliFiles, FailuresLeaveNoOutput) {
  SEALITE_REQUIRE_FAMILY_MODEL(dir, "vs10");
  const fs::path tmp = sealite::testing::temp_dir() / "cli_fail";
  fs::create_directories(tmp);
  auto bytes = read_file(input_mkv());
  bytes.resize(bytes.size() / 3);
  write_file_atomic(tmp / "cut.mkv", bytes);
  size_t before = 0;
  for (auto& e : fs::directory_iterator(tmp)) before += e.is_regular_file();
  // odd size + 4:2:0 refused before anything is written
  EXPECT_THROW(embed_video_main({input_mkv().string(), "-o", (tmp / "o.mp4").string(), "--model", dir.string(),
                                 "--pix-fmt", "yuv420p", "--quiet"}),
               Error);
  // a truncated input either fails or gives fewer frames; on failure nothing is left behind
  try {
    embed_video_main({(tmp / "cut.mkv").string(), "-o", (tmp / "cut_wm.mkv").string(), "--model", dir.string(),
                      "--codec", "ffv1", "--quiet"});
  } catch (const Error&) {
    EXPECT_FALSE(fs::exists(tmp / "cut_wm.mkv"));
  }
  size_t after = 0;
  for (auto& e : fs::directory_iterator(tmp))
    after += e.is_regular_file() && e.path().filename().string().find("sealite-tmp") != std::string::npos;
  EXPECT_EQ(after, 0u);
  EXPECT_FALSE(fs::exists(tmp / "o.mp4"));
  (void)before;
}

}  // namespace
}  // namespace sealite::cli
