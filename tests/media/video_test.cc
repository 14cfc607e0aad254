// Video I/O (issue 6): decoding the FFV1 fixture, lossless round trip with
// timestamps, audio stream copy bit for bit, encoder choices, errors,
// variable frame rate refused, rotation kept.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/display.h>
}

#include "core/error.h"
#include "core/fs.h"
#include "core/npy.h"
#include "media/video.h"
#include "testing/test_paths.h"

namespace sealite::media {
namespace {

namespace fs = std::filesystem;

fs::path fixture_mkv() { return sealite::testing::data_dir() / "media" / "video_10x45x79_ffv1.mkv"; }

struct Decoded {
  VideoInfo info;
  std::vector<VideoFrame> frames;
};

Decoded decode_all(const fs::path& p) {
  Decoded d;
  VideoReader r(p);
  d.info = r.info();
  VideoFrame f;
  while (r.read(f)) d.frames.push_back(f);
  return d;
}

// Concatenated packet payloads + timestamps of the first stream of `type`.
struct StreamDump {
  std::vector<uint8_t> data;
  std::vector<int64_t> pts;
  int64_t packets = 0;
};
StreamDump dump_stream(const fs::path& p, AVMediaType type) {
  StreamDump d;
  AVFormatContext* fmt = nullptr;
  EXPECT_EQ(avformat_open_input(&fmt, p.c_str(), nullptr, nullptr), 0);
  EXPECT_GE(avformat_find_stream_info(fmt, nullptr), 0);
  int idx = av_find_best_stream(fmt, type, -1, -1, nullptr, 0);
  EXPECT_GE(idx, 0);
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == idx) {
      d.data.insert(d.data.end(), pkt->data, pkt->data + pkt->size);
      d.pts.push_back(av_rescale_q(pkt->pts, fmt->streams[idx]->time_base, AVRational{1, 48000}));
      d.packets++;
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&fmt);
  return d;
}

std::vector<std::vector<uint8_t>> gradient_frames(int n, int w, int h) {
  std::vector<std::vector<uint8_t>> out;
  for (int t = 0; t < n; ++t) {
    std::vector<uint8_t> f(static_cast<size_t>(w) * h * 3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          f[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>((x * 3 + y * 5 + t * 7 + c * 60) & 255);
    out.push_back(std::move(f));
  }
  return out;
}

void copy_all(const fs::path& in, const fs::path& out, const VideoEncodeOptions& opt) {
  VideoReader r(in);
  VideoWriter w(out, r, opt);
  VideoFrame f;
  while (r.read(f)) w.write(f);
  w.finish();
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST(VideoReader, DecodesTheFfv1FixtureExactly) {
  Decoded d = decode_all(fixture_mkv());
  EXPECT_EQ(d.info.width, 79);
  EXPECT_EQ(d.info.height, 45);
  EXPECT_EQ(d.info.fps_num / static_cast<double>(d.info.fps_den), 24.0);
  ASSERT_EQ(d.frames.size(), 10u);
  NpyArray ref = npy_load(sealite::testing::data_dir() / "media" / "video_10x45x79_u8_thwc.npy");
  ASSERT_EQ(ref.data.size(), 10u * 45 * 79 * 3);
  for (size_t i = 0; i < 10; ++i) {
    std::vector<uint8_t> r(ref.data.begin() + i * 45 * 79 * 3, ref.data.begin() + (i + 1) * 45 * 79 * 3);
    EXPECT_EQ(d.frames[i].rgb, r) << "frame " << i;
    EXPECT_EQ(d.frames[i].index, static_cast<int64_t>(i));
  }
}

TEST(VideoWriter, Ffv1RoundTripIsLosslessWithTimestamps) {
  fs::path out = sealite::testing::temp_dir() / "rt.mkv";
  VideoEncodeOptions o;
  o.codec = "ffv1";
  copy_all(fixture_mkv(), out, o);
  Decoded a = decode_all(fixture_mkv()), b = decode_all(out);
  ASSERT_EQ(a.frames.size(), b.frames.size());
  EXPECT_EQ(b.info.codec, "ffv1");
  EXPECT_EQ(b.info.pix_fmt, a.info.pix_fmt);
  for (size_t i = 0; i < a.frames.size(); ++i) {
    EXPECT_EQ(a.frames[i].rgb, b.frames[i].rgb) << i;
    EXPECT_EQ(a.frames[i].pts * a.info.tb_num * b.info.tb_den, b.frames[i].pts * b.info.tb_num * a.info.tb_den) << i;
  }
  EXPECT_EQ(b.info.fps_num * a.info.fps_den, a.info.fps_num * b.info.fps_den);
}

TEST(VideoWriter, AudioIsCopiedBitForBit) {
  const fs::path dir = sealite::testing::temp_dir() / "audio";
  fs::create_directories(dir);
  // PCM in Matroska, AAC in MP4.
  for (const char* name : {"src.mkv", "src.mp4"}) {
    fs::path src = dir / name;
    write_test_video(src, gradient_frames(12, 64, 48), 64, 48, 25, "libx264", "yuv420p", 440.0);
    fs::path out = dir / (std::string("out_") + name);
    copy_all(src, out, {});
    StreamDump a = dump_stream(src, AVMEDIA_TYPE_AUDIO), b = dump_stream(out, AVMEDIA_TYPE_AUDIO);
    EXPECT_GT(a.packets, 0) << name;
    EXPECT_EQ(a.data, b.data) << name;
    EXPECT_EQ(a.pts, b.pts) << name;
    Decoded da = decode_all(src), db = decode_all(out);
    ASSERT_EQ(da.frames.size(), db.frames.size()) << name;
    EXPECT_EQ(db.frames.size(), 12u);
    EXPECT_EQ(db.info.audio_streams, 1);
    for (size_t i = 0; i < da.frames.size(); ++i)
      EXPECT_EQ(av_rescale_q(da.frames[i].pts, {da.info.tb_num, da.info.tb_den}, {1, 1000}),
                av_rescale_q(db.frames[i].pts, {db.info.tb_num, db.info.tb_den}, {1, 1000}))
          << name << " frame " << i;
  }
}

TEST(VideoWriter, DefaultEncoderAndOddSizes) {
  const fs::path dir = sealite::testing::temp_dir() / "odd";
  fs::create_directories(dir);
  // the fixture is 79x45: the default (libx264) picks a 4:4:4 format; yuv420p is refused clearly.
  fs::path out = dir / "odd.mp4";
  {
    VideoReader r(fixture_mkv());
    VideoWriter w(out, r, {});
    EXPECT_EQ(w.encoder_name(), "libx264");
    EXPECT_EQ(w.pix_fmt_name().find("420"), std::string::npos);
    VideoFrame f;
    while (r.read(f)) w.write(f);
    w.finish();
  }
  EXPECT_EQ(decode_all(out).frames.size(), 10u);
  VideoReader r(fixture_mkv());
  VideoEncodeOptions o;
  o.pix_fmt = "yuv420p";
  try {
    VideoWriter w(dir / "bad.mp4", r, o);
    FAIL() << "odd size with yuv420p accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("odd"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "bad.mp4"));
  o = {};
  o.codec = "no_such_encoder";
  EXPECT_THROW(VideoWriter(dir / "bad2.mp4", r, o), Error);
  EXPECT_EQ(files_in(dir), 1u);  // only odd.mp4; no temporaries left
}

TEST(VideoReader, ClearErrors) {
  const fs::path dir = sealite::testing::temp_dir() / "errors";
  fs::create_directories(dir);
  EXPECT_THROW(VideoReader(dir / "missing.mp4"), Error);
  {
    std::ofstream(dir / "garbage.mp4") << "this is not a video at all, just some text";
    EXPECT_THROW(VideoReader(dir / "garbage.mp4"), Error);
  }
  {  // audio only: a WAV file
    std::vector<uint8_t> wav(44 + 8000, 0);
    auto put32 = [&](size_t o, uint32_t v) { for (int i = 0; i < 4; ++i) wav[o + i] = (v >> (8 * i)) & 255; };
    auto put16 = [&](size_t o, uint16_t v) { wav[o] = v & 255; wav[o + 1] = v >> 8; };
    std::memcpy(wav.data(), "RIFF", 4);
    put32(4, 36 + 8000);
    std::memcpy(wav.data() + 8, "WAVEfmt ", 8);
    put32(16, 16);
    put16(20, 1);
    put16(22, 1);
    put32(24, 8000);
    put32(28, 16000);
    put16(32, 2);
    put16(34, 16);
    std::memcpy(wav.data() + 36, "data", 4);
    put32(40, 8000);
    write_file_atomic(dir / "audio.wav", wav);
    try {
      VideoReader r(dir / "audio.wav");
      FAIL() << "audio-only file accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no video stream"), std::string::npos) << e.what();
    }
  }
  {  // a PNG named .mp4 opens as a one-frame png_pipe "video": refused
    fs::copy_file(sealite::testing::data_dir() / "media" / "img_270x476.png", dir / "image.mp4",
                  fs::copy_options::overwrite_existing);
    try {
      VideoReader r(dir / "image.mp4");
      FAIL() << "still image accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("still image"), std::string::npos) << e.what();
    }
  }
  {  // a directory
    fs::create_directories(dir / "dir.mp4");
    EXPECT_THROW(VideoReader(dir / "dir.mp4"), Error);
  }
  {  // MP4 cut before its index (moov at the end): FFmpeg's reason is in the message
    write_test_video(dir / "whole.mp4", gradient_frames(10, 64, 48), 64, 48, 25, "libx264", "yuv420p");
    auto bytes = read_file(dir / "whole.mp4");
    bytes.resize(bytes.size() / 2);
    write_file_atomic(dir / "cut.mp4", bytes);
    try {
      VideoReader r(dir / "cut.mp4");
      FAIL() << "truncated mp4 accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
      EXPECT_NE(msg.find("moov"), std::string::npos) << msg;
    }
  }
  {  // truncated: the first 40% of the fixture
    auto bytes = read_file(fixture_mkv());
    bytes.resize(bytes.size() * 4 / 10);
    write_file_atomic(dir / "truncated.mkv", bytes);
    bool threw = false;
    size_t n = 0;
    try {
      Decoded d = decode_all(dir / "truncated.mkv");
      n = d.frames.size();
    } catch (const Error& e) {
      threw = true;
    }
    // Matroska has no frame count in its header: a cut file either fails or yields fewer frames.
    EXPECT_TRUE(threw || n < 10u) << n;
  }
}

TEST(VideoWriter, FailedRunLeavesNoFile) {
  const fs::path dir = sealite::testing::temp_dir() / "nofile";
  fs::create_directories(dir);
  {
    VideoReader r(fixture_mkv());
    VideoEncodeOptions o;
    o.codec = "ffv1";
    VideoWriter w(dir / "partial.mkv", r, o);
    VideoFrame f;
    ASSERT_TRUE(r.read(f));
    w.write(f);
    // destroyed without finish()
  }
  EXPECT_EQ(files_in(dir), 0u);
}

bool has_encoder(const char* name) { return avcodec_find_encoder_by_name(name) != nullptr; }

// Rotation stored in a file's first video stream: the display matrix as
// clockwise degrees (-av_display_rotation_get, the convention of
// VideoInfo::rotation), NAN when there is none; `tag` gets the `rotate` tag.
double stored_rotation(const fs::path& p, std::string* tag = nullptr) {
  AVFormatContext* fmt = nullptr;
  EXPECT_EQ(avformat_open_input(&fmt, p.c_str(), nullptr, nullptr), 0);
  EXPECT_GE(avformat_find_stream_info(fmt, nullptr), 0);
  const int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  EXPECT_GE(idx, 0);
  double rot = NAN;
  size_t sz = 0;
  const uint8_t* dm = av_stream_get_side_data(fmt->streams[idx], AV_PKT_DATA_DISPLAYMATRIX, &sz);
  if (dm && sz >= 9 * sizeof(int32_t)) {
    rot = -av_display_rotation_get(reinterpret_cast<const int32_t*>(dm));
    rot -= 360.0 * std::floor(rot / 360.0);
  }
  if (tag) {
    const AVDictionaryEntry* e = av_dict_get(fmt->streams[idx]->metadata, "rotate", nullptr, 0);
    *tag = e ? e->value : "";
  }
  avformat_close_input(&fmt);
  return rot;
}

// Timestamps in milliseconds (exact for the files below).
std::vector<int64_t> pts_ms(const Decoded& d) {
  std::vector<int64_t> v;
  for (const auto& f : d.frames) v.push_back(av_rescale_q(f.pts, {d.info.tb_num, d.info.tb_den}, {1, 1000}));
  return v;
}

TEST(VideoReader, VariableFrameRateIsRefused) {
  const fs::path dir = sealite::testing::temp_dir() / "vfr";
  fs::create_directories(dir);
  const auto frames = gradient_frames(8, 64, 48);
  // 25 fps with a frame missing before frame 6 (a gap of 80 ms), and a
  // phone-like jitter (33 / 50 ms).
  const std::vector<std::vector<int64_t>> cases = {{0, 40, 80, 120, 160, 200, 280, 320},
                                                   {0, 33, 66, 100, 150, 183, 216, 250}};
  for (const auto& pts : cases) {
    for (const std::string codec : {"ffv1", "libx264"}) {
      if (!has_encoder(codec.c_str())) continue;
      const fs::path p = dir / ("vfr_" + std::to_string(pts[6]) + (codec == "ffv1" ? ".mkv" : ".mp4"));
      SCOPED_TRACE(p.string());
      TestVideoOptions o;
      o.time_base_den = 1000;
      o.pts = pts;
      write_test_video(p, frames, 64, 48, 25, codec, "yuv420p", o);
      try {
        decode_all(p);
        FAIL() << "variable frame rate accepted";
      } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("variable frame rate"), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      }
      // allowed: every frame with its own timestamp, flagged
      VideoReadOptions allow;
      allow.allow_variable_frame_rate = true;
      VideoReader r(p, allow);
      Decoded d;
      VideoFrame f;
      while (r.read(f)) d.frames.push_back(f);
      d.info = r.info();
      EXPECT_TRUE(d.info.variable_frame_rate);
      EXPECT_EQ(pts_ms(d), pts);
    }
  }
}

TEST(VideoReader, ConstantRateWithRoundedTimestampsIsAccepted) {
  // 29.97 fps: 33.37 ms per frame. In 1/1000 (Matroska) the gaps are 33 or 34
  // ms; remuxed from such a file into a finer time base (MP4 1/16000, MOV
  // 1/90000) they stay 1 ms apart. None of this is a variable frame rate.
  const fs::path dir = sealite::testing::temp_dir() / "cfr";
  fs::create_directories(dir);
  const auto frames = gradient_frames(12, 64, 48);
  struct Case {
    std::string name, codec;
    int tb_den;
  };
  for (const Case& c : {Case{"ntsc.mkv", "ffv1", 1000}, Case{"ntsc.mp4", "libx264", 16000},
                        Case{"ntsc.mov", "libx264", 90000}, Case{"ntsc_exact.mp4", "libx264", 30000}}) {
    if (!has_encoder(c.codec.c_str())) continue;
    SCOPED_TRACE(c.name);
    TestVideoOptions o;
    o.time_base_den = c.tb_den;
    for (int i = 0; i < 12; ++i) {
      const int64_t ms = std::llround(i * 1001.0 / 30.0);
      o.pts.push_back(c.tb_den == 30000 ? i * 1001 : ms * (c.tb_den / 1000));
    }
    const fs::path p = dir / c.name;
    write_test_video(p, frames, 64, 48, 30, c.codec, "yuv420p", o);
    Decoded d = decode_all(p);
    EXPECT_EQ(d.frames.size(), 12u);
    EXPECT_FALSE(d.info.variable_frame_rate);
  }
  // 1/fps time base: every gap must be exactly one tick.
  TestVideoOptions o;
  o.pts = {0, 1, 2, 3, 5, 6, 7, 8};
  write_test_video(dir / "drop.nut", gradient_frames(8, 64, 48), 64, 48, 25, "ffv1", "yuv420p", o);
  EXPECT_THROW(decode_all(dir / "drop.nut"), Error);
}

TEST(VideoWriter, RotationIsKept) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "no libx264";
  const fs::path dir = sealite::testing::temp_dir() / "rotation";
  fs::create_directories(dir);
  const auto frames = gradient_frames(8, 64, 48);
  // A phone's portrait video: stored 64x48, displayed after 90 degrees
  // clockwise (display matrix, as MP4 / MOV store it); and the legacy
  // `rotate` tag of a Matroska file.
  TestVideoOptions m;
  m.rotation = 90;
  write_test_video(dir / "matrix.mp4", frames, 64, 48, 25, "libx264", "yuv420p", m);
  TestVideoOptions t;
  t.rotate_tag = "270";
  write_test_video(dir / "tag.mkv", frames, 64, 48, 25, "ffv1", "yuv444p", t);
  ASSERT_EQ(stored_rotation(dir / "matrix.mp4"), 90.0);
  struct Case {
    std::string src, out, codec;
    double rotation;
  };
  for (const Case& c : {Case{"matrix.mp4", "m.mp4", "", 90}, Case{"matrix.mp4", "m.mov", "", 90},
                        Case{"matrix.mp4", "m.mkv", "ffv1", 90}, Case{"tag.mkv", "t.mp4", "", 270},
                        Case{"tag.mkv", "t.mkv", "ffv1", 270}}) {
    SCOPED_TRACE(c.src + " -> " + c.out);
    const fs::path src = dir / c.src, out = dir / c.out;
    VideoEncodeOptions o;
    o.codec = c.codec;
    copy_all(src, out, o);
    Decoded a = decode_all(src), b = decode_all(out);
    EXPECT_EQ(a.info.rotation, c.rotation);
    EXPECT_EQ(b.info.rotation, c.rotation);
    std::string tag;
    const double stored = stored_rotation(out, &tag);
    if (out.extension() == ".mkv") {
      EXPECT_EQ(tag, c.rotation == 90 ? "90" : "270");  // Matroska: the tag
    } else {
      EXPECT_EQ(stored, c.rotation);  // MP4 / MOV: the display matrix in the track header
    }
    // Frames stay in their stored orientation (64x48), as Meta's reference
    // reads them (no autorotation); the pixels are the source's.
    ASSERT_EQ(b.frames.size(), a.frames.size());
    for (size_t i = 0; i < a.frames.size(); ++i) {
      ASSERT_EQ(b.frames[i].width, 64);
      ASSERT_EQ(b.frames[i].height, 48);
      double diff = 0;
      for (size_t k = 0; k < a.frames[i].rgb.size(); ++k)
        diff += std::abs(int(a.frames[i].rgb[k]) - int(b.frames[i].rgb[k]));
      // x264 at crf 18 on this sharp pattern: ~5; unrelated pictures: ~80
      EXPECT_LT(diff / a.frames[i].rgb.size(), 10.0) << "frame " << i;
    }
  }
  // No rotation in, none out.
  copy_all(fixture_mkv(), dir / "plain.mp4", {});
  std::string tag;
  EXPECT_TRUE(std::isnan(stored_rotation(dir / "plain.mp4", &tag)));
  EXPECT_EQ(tag, "");
  EXPECT_EQ(decode_all(dir / "plain.mp4").info.rotation, 0.0);
}

TEST(VideoReader, WithoutTheOtherStreams) {
  // A reader with no writer (detect) drops the audio instead of queueing it.
  const fs::path dir = sealite::testing::temp_dir() / "noaudio";
  fs::create_directories(dir);
  write_test_video(dir / "a.mkv", gradient_frames(10, 64, 48), 64, 48, 25, "ffv1", "yuv420p", 440.0);
  VideoReadOptions o;
  o.keep_other_streams = false;
  VideoReader r(dir / "a.mkv", o);
  EXPECT_EQ(r.info().audio_streams, 1);
  VideoFrame f;
  int n = 0;
  while (r.read(f)) ++n;
  EXPECT_EQ(n, 10);
}

TEST(VideoPaths, Extensions) {
  EXPECT_TRUE(is_video_path("a.MP4"));
  EXPECT_TRUE(is_video_path("x/y.mkv"));
  EXPECT_FALSE(is_video_path("a.png"));
  EXPECT_FALSE(is_video_path("a.npy"));
}

}  // namespace
}  // namespace sealite::media
