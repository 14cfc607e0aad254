// Video file I/O with FFmpeg's libraries (libavformat / libavcodec /
// libswscale / libavutil).
//
// VideoReader decodes the first video stream of any container / codec FFmpeg
// reads into 8-bit RGB frames (H x W x 3, interleaved), with each frame's
// presentation timestamp in the stream's time base. Packets of the other
// streams (audio, subtitles, data) are kept, untouched, for a VideoWriter that
// copies them.
//
// VideoWriter encodes RGB frames with a chosen encoder (default: libx264 when
// available, else the best encoder FFmpeg has for the output container),
// keeping the source's frame rate, time base, per-frame timestamps, rotation
// (display matrix side data and the `rotate` tag) and metadata; every other
// stream of the source is copied packet by packet without re-encoding. The
// output is written to a temporary file next to the target and renamed into
// place by finish(); a writer destroyed without finish() removes it, so a
// failed run leaves no partial output.
//
// Errors are sealite::Error with one-line messages: unreadable / truncated /
// non-video files, no video stream, pixel formats the encoder cannot take at
// odd sizes, a frame count that does not match, timestamps that go backwards.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sealite::media {

struct VideoInfo {
  int width = 0, height = 0;
  int fps_num = 0, fps_den = 1;        // average frame rate (0/1 when unknown)
  int tb_num = 1, tb_den = 1;          // video stream time base
  int64_t frame_count = -1;            // from the container; -1 when unknown
  double duration = 0;                 // seconds, 0 when unknown
  std::string codec;                   // decoder name
  std::string pix_fmt;                 // source pixel format
  std::string container;               // demuxer name
  double rotation = 0;                 // degrees (display matrix), 0 when none
  bool variable_frame_rate = false;    // r_frame_rate != avg_frame_rate (timestamps are kept either way)
  int audio_streams = 0, other_streams = 0;  // copied streams besides the video
};

struct VideoFrame {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // H x W x 3, 8-bit RGB
  int64_t pts = 0;           // in the video stream's time base (VideoInfo::tb_*)
  int64_t index = 0;         // 0-based decode order
};

class VideoWriter;

class VideoReader {
 public:
  // Opens and probes; throws sealite::Error for unreadable files and files
  // without a video stream.
  explicit VideoReader(const std::filesystem::path& path);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;
  const std::filesystem::path& path() const;
  // Decodes the next frame into `out`; false at the end of the stream. Throws
  // sealite::Error on corrupt or truncated data.
  bool read(VideoFrame& out);
  int64_t frames_read() const;

  struct Impl;

 private:
  friend class VideoWriter;
  std::unique_ptr<Impl> impl_;
};

struct VideoEncodeOptions {
  std::string codec;    // encoder name ("" = libx264 if available, else the container's default)
  int crf = -1;         // -1 = encoder default (libx264/libx265: 18 when not given)
  std::string preset;   // e.g. "medium" for x264/x265 ("" = encoder default)
  std::string pix_fmt;  // "" = the source's when the encoder takes it, else the encoder's best match
  int threads = 0;      // encoder threads, 0 = auto
};

class VideoWriter {
 public:
  // `source` supplies the stream layout (other streams are copied from it).
  // The output format follows the extension of `path`.
  VideoWriter(const std::filesystem::path& path, VideoReader& source, const VideoEncodeOptions& opt = {});
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Encodes one RGB frame (the source's size) with its pts (source time base).
  // Also writes the copied packets the reader has collected so far.
  void write(const VideoFrame& frame);
  // Flushes the encoder, copies the source's remaining packets, writes the
  // trailer and renames the temporary file to `path`.
  void finish();

  std::string encoder_name() const;
  std::string pix_fmt_name() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// True when the extension names a video container sealite reads / writes
// (.mp4 .mkv .mov .webm .avi .m4v .mpg .mpeg .ts .flv .nut .y4m).
bool is_video_path(const std::filesystem::path& p);

// Writes RGB frames (each H x W x 3) to a new file with the given encoder and
// frame rate (tests, benchmarks). Optional `audio_sine_hz` > 0 adds a mono
// sine track (PCM s16le in .mkv/.mov/.avi, AAC otherwise) covering the video's duration.
void write_test_video(const std::filesystem::path& path, const std::vector<std::vector<uint8_t>>& frames, int width,
                      int height, int fps, const std::string& codec, const std::string& pix_fmt,
                      double audio_sine_hz = 0);

}  // namespace sealite::media
