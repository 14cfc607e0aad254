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
// non-video files, no video stream, variable frame rate (unless allowed, see
// VideoReadOptions), pixel formats the encoder cannot take at odd sizes, a
// frame count that does not match, timestamps that go backwards. FFmpeg's own
// log lines are not printed (they would break the one-line errors); the last
// one is added to the message when a file cannot be opened.
//
// Variable frame rate is detected on the decoded frames' timestamps (in
// presentation order), not on the stream header: r_frame_rate and
// avg_frame_rate disagree on many constant-rate files (edit lists, trimmed
// durations, interlaced field rates). A video is constant-rate when every gap
// between consecutive frames is within one time-base tick of every other gap
// (what rounding to the time base gives: 29.97 fps in 1/1000 is 33, 34, 33, ...
// ms); a gap outside that tolerance (a dropped / duplicated frame, a phone's
// variable rate) is an error at that frame.
//
// Rotation: frames are decoded, processed and written in their stored
// orientation (no autorotation, as Meta's reference reads them); the rotation
// (display matrix side data, or the legacy `rotate` stream tag) is carried
// over to the output as display matrix side data (MP4 / MOV store it in the
// track header) and as the `rotate` tag (what Matroska and the other
// containers keep).
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
  double rotation = 0;                 // clockwise degrees in [0, 360) to display the stored frames upright
                                       // (display matrix, else the legacy `rotate` tag); 0 when none
  bool variable_frame_rate = false;    // irregular frame timing seen so far by read() (only with
                                       // VideoReadOptions::allow_variable_frame_rate; else read() throws)
  int audio_streams = 0, other_streams = 0;  // copied streams besides the video
};

struct VideoFrame {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // H x W x 3, 8-bit RGB
  int64_t pts = 0;           // in the video stream's time base (VideoInfo::tb_*)
  int64_t index = 0;         // 0-based decode order
};

class VideoWriter;

struct VideoReadOptions {
  // false: read() throws at the first frame whose timing shows a variable
  // frame rate (the embed / detect commands). true: frames are returned with
  // their timestamps and VideoInfo::variable_frame_rate is set.
  bool allow_variable_frame_rate = false;
  // Keep the packets of the other streams (audio, subtitles, ...) for a
  // VideoWriter. Readers without a writer should pass false: nothing would
  // consume them and they would pile up for the whole file.
  bool keep_other_streams = true;
};

class VideoReader {
 public:
  // Opens and probes; throws sealite::Error for unreadable files and files
  // without a video stream.
  explicit VideoReader(const std::filesystem::path& path, const VideoReadOptions& opt = {});
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

struct TestVideoOptions {
  double audio_sine_hz = 0;    // > 0: a mono sine track (PCM s16le in .mkv/.mov/.avi/.nut, AAC otherwise)
  int time_base_den = 0;       // video time base 1/time_base_den (0: 1/fps)
  std::vector<int64_t> pts;    // per-frame pts in that time base (empty: frame i at i/fps)
  double rotation = 0;         // != 0: display matrix side data rotating by this many degrees clockwise
                               // (the convention of VideoInfo::rotation and of the `rotate` tag)
  std::string rotate_tag;      // non-empty: the legacy `rotate` stream tag, written as given
};

// Writes RGB frames (each H x W x 3) to a new file with the given encoder and
// frame rate (tests, benchmarks). Optional `audio_sine_hz` > 0 adds a mono
// sine track (PCM s16le in .mkv/.mov/.avi, AAC otherwise) covering the video's duration.
void write_test_video(const std::filesystem::path& path, const std::vector<std::vector<uint8_t>>& frames, int width,
                      int height, int fps, const std::string& codec, const std::string& pix_fmt,
                      double audio_sine_hz = 0);
void write_test_video(const std::filesystem::path& path, const std::vector<std::vector<uint8_t>>& frames, int width,
                      int height, int fps, const std::string& codec, const std::string& pix_fmt,
                      const TestVideoOptions& opt);

}  // namespace sealite::media
