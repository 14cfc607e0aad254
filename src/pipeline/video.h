// VideoSeal on videos (Meta's Videoseal.embed / detect / extract_message with
// is_video=True), frame by frame so that it streams.
//
// Embedding (VideoEmbedder). Frames f = 0, 1, ... (3 x H x W float RGB in
// [0,1]) are pushed in order. With step = the card's step_size and chunk =
// the card's chunk_size (both overridable):
//   * key frames 0, step, 2*step, ... go through the embedder (resized to S x S
//     with the antialiased bilinear kernel); the residual r_k of key frame k is
//     spread over the frames of its step by the video mode:
//       repeat       frames k*step .. k*step+step-1 use r_k (repeat_interleave);
//       alternate    only the key frame gets r_k, the other frames get 0;
//       interpolate  frame k*step+j gets a_j*r_k + (1-a_j)*r_{k+1} with
//                    a = 1 - linspace(0, 1, step); frames after the last key
//                    frame of a chunk use that key frame's residual.
//     Like the reference, modes apply per chunk of `chunk` key frames
//     (chunk*step frames): interpolation never crosses a chunk boundary.
//   * attenuation (JND, cards with jnd_1_1), per frame:
//       low-res (default for video, Meta's scripts):
//         preds_w = resize(jnd(resize(x, S)) * delta, H x W)
//       full-res (--fullres-attenuation): preds_w = jnd(x) * resize(delta, H x W)
//     The heatmap reproduces torch's batch of the frames of one chunk (see
//     videoseal/jnd.h): the total frame count, when known, makes the last chunk exact.
//   * out = clamp(scaling_i * x + scaling_w * strength * preds_w, 0, 1).
// Frames come out in order; at most `step` frames are held (interpolate mode).
//
// Detection (VideoDetector): per frame, `detect` logits = detector(resize(x, S),
// antialias=True) (Videoseal.detect) and `extract` logits = detector(resize(x,
// S), antialias=False) (what Videoseal.extract_message aggregates). The
// message = aggregate(extract bit logits over frames) > 0.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "pipeline/message.h"
#include "pipeline/model.h"
#include "pipeline/pipeline.h"

namespace sealite::pipeline {

enum class VideoMode { repeat, alternate, interpolate };
// "repeat" | "alternate" | "interpolate"; throws sealite::Error otherwise.
VideoMode parse_video_mode(const std::string& s);
const char* video_mode_name(VideoMode m);

struct VideoEmbedOptions {
  bool lowres_attenuation = true;  // video default; false = --fullres-attenuation
  double strength = 1.0;           // multiplies the card's scaling_w
  std::string video_mode;          // "" = the card's
  int step_size = 0;               // 0 = the card's
  int chunk_size = 0;              // 0 = the card's
};

// One frame: 3 x H x W planar float RGB.
using FrameF = std::vector<float>;

class VideoEmbedder {
 public:
  // total_frames < 0: unknown (then the last chunk's JND batch is assumed
  // full, which may move heatmap values by 1 ulp on a short last chunk).
  VideoEmbedder(const EmbedderModel& model, const Message& message, int height, int width,
                const VideoEmbedOptions& opt = {}, int64_t total_frames = -1);

  // Takes the next frame; appends the frames that are complete (in order) to `ready`.
  void push(FrameF frame, std::vector<FrameF>& ready);
  // End of the video: appends the frames still held.
  void finish(std::vector<FrameF>& ready);

  int step() const { return step_; }
  int chunk() const { return chunk_; }
  VideoMode mode() const { return mode_; }
  int64_t frames_in() const { return next_index_; }
  int64_t key_frames() const { return keys_done_; }
  const Timings& timings() const { return timings_; }

 private:
  struct Pending {
    int64_t index;
    FrameF frame;       // full resolution
    FrameF small;       // S x S (lowres JND only)
  };
  void compute_key(const Pending& p, FrameF& residual_s);
  void emit(Pending& p, const float* delta_s, bool zero, std::vector<FrameF>& ready);
  void flush_interpolate(const FrameF* next_key, std::vector<FrameF>& ready);
  int jnd_batch_size(int64_t index) const;

  const EmbedderModel& model_;
  Message message_;
  int h_, w_, S_, C_;
  int step_, chunk_;
  VideoMode mode_;
  bool jnd_, lowres_, same_size_;
  float scaling_i_, scaling_w_;
  int64_t total_;
  int64_t next_index_ = 0, keys_done_ = 0;
  FrameF key_res_;                 // C x S x S residual of the current key frame
  int64_t key_res_index_ = -1;
  FrameF key_res_full_;            // resized back (cached: no attenuation / full-res JND)
  std::deque<Pending> pending_;    // interpolate mode: frames waiting for the next key frame
  Timings timings_;
};

// Embeds all frames at once (T frames of 3 x H x W). Same result as streaming.
std::vector<FrameF> embed_video_frames(const EmbedderModel& model, const std::vector<FrameF>& frames, int height,
                                       int width, const Message& message, const VideoEmbedOptions& opt = {});

enum class Aggregation { avg, squared_avg, l1norm_avg, l2norm_avg };
Aggregation parse_aggregation(const std::string& s);
const char* aggregation_name(Aggregation a);

// Aggregated bit logits (nbits) over frames of bit logits (each nbits), as
// Videoseal.extract_message: avg = mean_f(b); squared_avg = mean_f(b*|b|);
// l1norm_avg = mean_f(b * ||b_f||_1); l2norm_avg = mean_f(b * ||b_f||_2).
// Float32, frames summed in order, then divided by the frame count.
std::vector<float> aggregate_bit_logits(const std::vector<std::vector<float>>& bit_logits, Aggregation a);

// Detector logits (1 + nbits) of one frame after resizing it to S x S without
// antialias (extract_message). `torch_channels_last` chooses which of torch's
// two non-antialiased kernels to reproduce (see videoseal/resize.h); the
// reference extract_message ran on contiguous NCHW frames (false).
std::vector<float> extract_logits(const DetectorModel& model, const float* chw, int h, int w,
                                  bool torch_channels_last = false);

struct VideoDetectOptions {
  bool frame_logits = true;    // also run Videoseal.detect (antialiased) per frame
  bool extract = true;         // run the non-antialiased pass used for the message
  Aggregation aggregation = Aggregation::avg;
  int every = 1;               // look at frames 0, K, 2K, ...
};

struct VideoDetection {
  std::vector<int64_t> frame_index;              // frames looked at
  std::vector<std::vector<float>> frame_logits;  // detect logits (1+nbits) per frame looked at
  std::vector<std::vector<float>> extract_logits;  // extract logits (1+nbits) per frame looked at
  std::vector<float> aggregated;                 // nbits aggregated bit logits
  Message message;                               // aggregated > 0
  double mean_detection_logit = 0;               // mean of the detection logits (index 0)
};

class VideoDetector {
 public:
  VideoDetector(const DetectorModel& model, const VideoDetectOptions& opt = {});
  // Frame `index` (3 x h x w); frames not selected by `every` are skipped.
  void push(int64_t index, const float* chw, int h, int w);
  bool wants(int64_t index) const { return index % opt_.every == 0; }
  VideoDetection finish() const;
  // Per-frame results so far (aggregated / message not filled in).
  const VideoDetection& so_far() const { return acc_; }
  const Timings& timings() const { return timings_; }

 private:
  const DetectorModel& model_;
  VideoDetectOptions opt_;
  VideoDetection acc_;
  Timings timings_;
};

VideoDetection detect_video_frames(const DetectorModel& model, const std::vector<FrameF>& frames, int height,
                                   int width, const VideoDetectOptions& opt = {});

}  // namespace sealite::pipeline
