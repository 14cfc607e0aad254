// `sealite embed` / `sealite detect` on videos through the CLI entry points
// (cli/video_cmd.h): the fixture clip through FFV1, float dumps against the
// references, detection JSON, audio copy, and failures leaving no output;
// through the `sealite` binary: broken inputs and variable frame rate are
// one-line errors with exit code 2 and no output, rotation and timestamps kept.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

extern "C" {
#include <libavformat/avformat.h>
}

#include "cli/cli_runner.h"
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

// ---- through the sealite binary

using sealite::testing::count_lines;
using sealite::testing::RunResult;
using sealite::testing::run_sealite;

std::vector<std::vector<uint8_t>> pattern_frames(int n, int w, int h) {
  std::vector<std::vector<uint8_t>> frames;
  for (int t = 0; t < n; ++t) {
    std::vector<uint8_t> f(static_cast<size_t>(w) * h * 3);
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<uint8_t>((i * 7 + t * 13) & 255);
    frames.push_back(std::move(f));
  }
  return frames;
}

fs::path fresh(const std::string& name) {
  const fs::path d = sealite::testing::temp_dir() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::string> file_names(const fs::path& d) {
  std::vector<std::string> v;
  for (auto& e : fs::directory_iterator(d)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

#define EXPECT_ONE_LINE_VIDEO_ERROR(r, needle)                                \
  do {                                                                        \
    EXPECT_EQ((r).code, 2) << (r).err;                                        \
    EXPECT_EQ(count_lines((r).err), 1) << (r).err;                            \
    EXPECT_NE((r).err.find(needle), std::string::npos) << (r).err;            \
    EXPECT_EQ((r).err.find("internal error"), std::string::npos) << (r).err;  \
    EXPECT_EQ((r).out, "") << (r).out;                                        \
  } while (0)

struct Timing {
  std::vector<int64_t> pts;
  int tb_num = 1, tb_den = 1, fps_num = 0, fps_den = 1, width = 0, height = 0;
  double rotation = 0;
};
Timing timing_of(const fs::path& p) {
  media::VideoReader r(p);
  Timing t;
  media::VideoFrame f;
  while (r.read(f)) t.pts.push_back(f.pts);
  t.tb_num = r.info().tb_num;
  t.tb_den = r.info().tb_den;
  t.fps_num = r.info().fps_num;
  t.fps_den = r.info().fps_den;
  t.width = r.info().width;
  t.height = r.info().height;
  t.rotation = r.info().rotation;
  return t;
}

TEST(VideoCliBinary, HelpMentionsRotationAndVariableFrameRate) {
  for (const char* cmd : {"embed", "detect"}) {
    SCOPED_TRACE(cmd);
    RunResult v = run_sealite(std::string(cmd) + " in.mp4 --help");
    ASSERT_EQ(v.code, 0) << v.err;
    EXPECT_NE(v.out.find("ariable frame rate"), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("stored orientation"), std::string::npos) << v.out;
    RunResult i = run_sealite(std::string(cmd) + " --help");  // the image help points to the video one
    ASSERT_EQ(i.code, 0) << i.err;
    EXPECT_NE(i.out.find("IN.mp4 --help"), std::string::npos) << i.out;
    EXPECT_NE(i.out.find("ariable frame rate"), std::string::npos) << i.out;
  }
}

TEST(VideoCliBinary, VariableFrameRateIsRefusedAndLeavesNothing) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  const fs::path dir = fresh("cli_vfr");
  // 25 fps, then a frame missing before frame 6: the failure comes after
  // frames were already encoded into the temporary file.
  media::TestVideoOptions o;
  o.time_base_den = 1000;
  o.pts = {0, 40, 80, 120, 160, 200, 280, 320};
  o.audio_sine_hz = 440;
  media::write_test_video(dir / "vfr.mkv", pattern_frames(8, 64, 48), 64, 48, 25, "ffv1", "yuv420p", o);
  media::write_test_video(dir / "vfr.mp4", pattern_frames(8, 64, 48), 64, 48, 25, "libx264", "yuv420p", o);
  const auto before = file_names(dir);
  for (const char* in : {"vfr.mkv", "vfr.mp4"}) {
    SCOPED_TRACE(in);
    // (the PCM audio of the .mkv does not go into MP4: Matroska output only)
    for (const char* out : {"out.mkv", "out.mp4"}) {
      if (std::string(in) == "vfr.mkv" && std::string(out) == "out.mp4") continue;
      RunResult r = run_sealite("embed " + q(dir / in) + " -o " + q(dir / out) + " --model " + q(model) +
                                " --message random:1 --json");
      EXPECT_ONE_LINE_VIDEO_ERROR(r, "variable frame rate");
      EXPECT_NE(r.err.find("frames 5 -> 6"), std::string::npos) << r.err;
    }
    RunResult d = run_sealite("detect " + q(dir / in) + " --model " + q(model) + " --json");
    EXPECT_ONE_LINE_VIDEO_ERROR(d, "variable frame rate");
  }
  EXPECT_EQ(file_names(dir), before);  // no output, no temporary file
}

TEST(VideoCliBinary, BrokenInputsAreOneLineErrorsAndWriteNothing) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  const fs::path dir = fresh("cli_broken");
  {  // text
    std::ofstream(dir / "garbage.mp4") << "not a video, just text";
  }
  // a PNG named .mp4
  fs::copy_file(sealite::testing::input_png(), dir / "image.mp4");
  {  // audio only: a WAV named .mkv
    std::vector<uint8_t> wav(44 + 16000, 0);
    auto put32 = [&](size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) wav[at + i] = (v >> (8 * i)) & 255; };
    auto put16 = [&](size_t at, uint16_t v) { wav[at] = v & 255; wav[at + 1] = v >> 8; };
    std::memcpy(wav.data(), "RIFF", 4);
    put32(4, 36 + 16000);
    std::memcpy(wav.data() + 8, "WAVEfmt ", 8);
    put32(16, 16);
    put16(20, 1);
    put16(22, 1);
    put32(24, 8000);
    put32(28, 16000);
    put16(32, 2);
    put16(34, 16);
    std::memcpy(wav.data() + 36, "data", 4);
    put32(40, 16000);
    write_file_atomic(dir / "audio.mkv", wav);
  }
  {  // an MP4 cut before its index
    media::write_test_video(dir / "whole.mp4", pattern_frames(10, 64, 48), 64, 48, 25, "libx264", "yuv420p");
    auto bytes = read_file(dir / "whole.mp4");
    bytes.resize(bytes.size() / 2);
    write_file_atomic(dir / "cut.mp4", bytes);
    fs::remove(dir / "whole.mp4");
  }
  fs::create_directories(dir / "folder.mp4");
  const auto before = file_names(dir);
  struct Case {
    std::string input, needle;
  };
  for (const Case& c : {Case{"missing.mp4", "no such file"}, Case{"folder.mp4", "is a directory"},
                        Case{"garbage.mp4", "cannot read as a video"}, Case{"image.mp4", "still image"},
                        Case{"audio.mkv", "no video stream"}, Case{"cut.mp4", "truncated"}}) {
    SCOPED_TRACE(c.input);
    RunResult e = run_sealite("embed " + q(dir / c.input) + " -o " + q(dir / "out.mp4") + " --model " + q(model));
    EXPECT_ONE_LINE_VIDEO_ERROR(e, c.needle);
    RunResult d = run_sealite("detect " + q(dir / c.input) + " --model " + q(model));
    EXPECT_ONE_LINE_VIDEO_ERROR(d, c.needle);
  }
  // odd size (the 79x45 fixture) with a 4:2:0 pixel format: refused before anything is written
  RunResult odd = run_sealite("embed " + q(input_mkv()) + " -o " + q(dir / "odd.mp4") + " --model " + q(model) +
                              " --pix-fmt yuv420p");
  EXPECT_ONE_LINE_VIDEO_ERROR(odd, "odd size");
  EXPECT_EQ(file_names(dir), before);
}

TEST(VideoCliBinary, RotationKeptFramesInStoredOrientation) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  const fs::path dir = fresh("cli_rotation");
  // A portrait phone video: 64x48 stored, shown after 90 degrees clockwise.
  media::TestVideoOptions o;
  o.rotation = 90;
  o.audio_sine_hz = 1000;
  media::write_test_video(dir / "portrait.mp4", pattern_frames(9, 64, 48), 64, 48, 30, "libx264", "yuv420p", o);
  const Timing src = timing_of(dir / "portrait.mp4");
  ASSERT_EQ(src.rotation, 90.0);
  for (const char* out : {"wm.mp4", "wm.mov", "wm.mkv"}) {
    SCOPED_TRACE(out);
    RunResult r = run_sealite("embed " + q(dir / "portrait.mp4") + " -o " + q(dir / out) + " --model " + q(model) +
                              " --message random:3 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["rotation"].get<double>(), 90.0);
    const Timing t = timing_of(dir / out);
    EXPECT_EQ(t.rotation, 90.0);
    // Watermarked in the stored orientation, as Meta's reference (which reads
    // frames without autorotation) does: the frames are still 64x48.
    EXPECT_EQ(t.width, 64);
    EXPECT_EQ(t.height, 48);
    // Same frames at the same times. Relative to the first frame: Matroska
    // cannot store the AAC priming's negative timestamps, so its muxer moves
    // every stream 21 ms later (as `ffmpeg -c copy` does); MP4 / MOV keep them.
    ASSERT_EQ(t.pts.size(), src.pts.size());
    const bool mkv = fs::path(out).extension() == ".mkv";
    for (size_t i = 0; i < t.pts.size(); ++i)
      EXPECT_NEAR(av_rescale_q(t.pts[i] - (mkv ? t.pts[0] : 0), {t.tb_num, t.tb_den}, {1, 90000}),
                  av_rescale_q(src.pts[i] - (mkv ? src.pts[0] : 0), {src.tb_num, src.tb_den}, {1, 90000}),
                  mkv ? 90 : 0)  // 1 ms: Matroska timestamps are in milliseconds
          << "frame " << i;
  }
}

TEST(VideoCliBinary, Ffv1FrameCountAndTimestampsKeptExactly) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  const fs::path dir = fresh("cli_timing");
  // the 24 fps fixture, and 29.97 fps with exact 1/30000 timestamps starting at 1001
  media::TestVideoOptions o;
  o.time_base_den = 30000;
  for (int i = 0; i < 12; ++i) o.pts.push_back(1001 * (i + 1));
  media::write_test_video(dir / "ntsc.mkv", pattern_frames(12, 64, 48), 64, 48, 30, "ffv1", "yuv420p", o);
  for (const fs::path& in : {input_mkv(), dir / "ntsc.mkv"}) {
    SCOPED_TRACE(in.string());
    const fs::path out = dir / ("wm_" + in.filename().string());
    RunResult r = run_sealite("embed " + q(in) + " -o " + q(out) + " --model " + q(model) +
                              " --codec ffv1 --message random:2 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");  // not a terminal: no progress bar
    const Timing a = timing_of(in), b = timing_of(out);
    EXPECT_EQ(nlohmann::json::parse(r.out)["frames"].get<size_t>(), a.pts.size());
    EXPECT_EQ(b.tb_num, a.tb_num);
    EXPECT_EQ(b.tb_den, a.tb_den);
    EXPECT_EQ(b.pts, a.pts);  // same frame count, same timestamps
    EXPECT_EQ(b.fps_num * a.fps_den, a.fps_num * b.fps_den);
  }
}

}  // namespace
}  // namespace sealite::cli
