// The VideoSeal image pipeline at full resolution (Meta's Videoseal.embed /
// Videoseal.detect for one image), on planar float images.
//
// Embed (image x: 3 x H x W float32 RGB in [0,1], S = the card's img_size):
//   x_s      = resize(x, S x S)                  antialiased bilinear (torch, align_corners=False,
//                                                antialias=True); skipped when H x W == S x S
//   r_s      = embedder(x_s, message)            C x S x S tanh residual (C = 1 for Y-channel cards)
//   full-resolution attenuation (default):
//     preds_w = jnd(x) * resize(r_s, H x W)      the residual is resized back with the same
//                                                antialiased kernel, also when upscaling
//   low-resolution attenuation (lowres_attenuation, Meta's scripts):
//     preds_w = resize(jnd(x_s) * r_s, H x W)
//   no attenuation in the card: preds_w = resize(r_s, H x W)
//   out      = clamp(scaling_i * x + (scaling_w * strength) * preds_w, 0, 1)
//              (a 1-channel preds_w is added to R, G and B)
// Detect: logits = detector(resize(x, S x S)); bit k = logits[1+k] > 0 (strict),
// detected = logits[0] > 0.
//
// All full-resolution work (resize, JND, blend, layout changes) is vectorised
// and multi-threaded (videoseal::vsmath_threads()); the model runs in TFLite.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/message.h"
#include "pipeline/model.h"

namespace sealite::pipeline {

// Seconds spent per stage (accumulated over calls).
struct Timings {
  double decode = 0, resize = 0, model = 0, jnd = 0, blend = 0, encode = 0;
  double total() const { return decode + resize + model + jnd + blend + encode; }
  Timings& operator+=(const Timings& o);
};

// Images smaller than this on either side are refused (a watermark needs pixels).
inline constexpr int kMinSide = 16;
// Images with more pixels are refused (memory: about 80 bytes per pixel in flight).
inline constexpr int64_t kMaxPipelinePixels = 100'000'000;
// Throws sealite::Error naming `what` when h x w is outside the limits above.
void check_image_size(int h, int w, const std::string& what);

struct EmbedOptions {
  bool lowres_attenuation = false;  // JND on the S x S image (Meta's scripts) instead of the full image
  double strength = 1.0;            // multiplies the card's scaling_w
  // PSNR floor (dB) of the full-resolution result before rounding: the
  // attenuated residual is scaled down when it would go below. < 0: the card's
  // min_psnr (0 for VideoSeal cards = off); 0: off.
  double min_psnr = -1;
  bool keep_preds = false;          // also return preds_w (the attenuated residual before scaling_w)
};

struct EmbedOutput {
  int height = 0, width = 0;
  std::vector<float> image;   // 3 x H x W, clamped to [0,1], not rounded
  int preds_channels = 0;     // 1 or 3, when keep_preds
  std::vector<float> preds;   // preds_channels x H x W, when keep_preds
};

// `chw`: 3 x h x w RGB in [0,1]. Throws sealite::Error (bad sizes, message
// length, unsupported card attenuation).
EmbedOutput embed_image(const EmbedderModel& model, const float* chw, int h, int w, const Message& message,
                        const EmbedOptions& opt = {}, Timings* timings = nullptr);

// The same, overwriting `chw` with the result (no output allocation; for
// large images and batches).
void embed_image_inplace(const EmbedderModel& model, float* chw, int h, int w, const Message& message,
                         const EmbedOptions& opt = {}, Timings* timings = nullptr);

struct Detection {
  std::vector<float> logits;  // 1 + nbits; [0] detection logit, [1+k] bit k
  Message message;            // bit k = logits[1+k] > 0
  bool detected = false;      // logits[0] > 0
  // P-value of "no watermark" when the detector defines one (sealite-ss: from
  // the F statistic in logits[0]); VideoSeal detectors give none.
  std::optional<double> p_value_unmarked;
  float detection_logit() const { return logits.empty() ? 0.f : logits[0]; }
};

Detection detect_image(const DetectorModel& model, const float* chw, int h, int w, Timings* timings = nullptr);
// From raw logits (1 + nbits values).
Detection interpret_logits(std::vector<float> logits);

struct Verification {
  int matching = 0, nbits = 0;
  double bit_accuracy = 0;  // matching / nbits
  double p_value = 1;       // binomial_p_value(matching, nbits)
};
Verification verify(const Message& decoded, const Message& expected);

// PSNR in dB (peak 1.0) between two 3 x H x W float images, after rounding
// `b` to `bits` (8 or 16; 0 = no rounding). +inf when identical.
double psnr(const float* a, const float* b, size_t n, int bits = 0);
// The same between an interleaved input (h x w x 3) and a planar output (3 x h x w).
double psnr_hwc_chw(const float* input_hwc, const float* output_chw, int h, int w, int bits = 0);

// ---------------------------------------------------------------- files

struct EmbedFileOptions {
  EmbedOptions embed;
  int jpeg_quality = -1;                        // >= 0: write JPEG with this quality
  std::optional<std::filesystem::path> dump_float;  // also write the float result (before rounding) as .npy
};

struct EmbedFileResult {
  std::filesystem::path input, output;
  int width = 0, height = 0;
  Message message;
  double psnr = 0;   // output (rounded to its bit depth, before JPEG compression) vs input, dB
  Timings timings;
};

// Reads `input` (PNG, JPEG, .npy), embeds, writes `output` atomically (the
// format follows the extension: .png, .jpg/.jpeg, .npy; see media/image.h).
// Alpha, bit depth, ICC and EXIF are carried over. Refuses output == input.
// The float dump is 1 x 3 x H x W float32 (NCHW, like the reference fixtures).
EmbedFileResult embed_file(const EmbedderModel& model, const std::filesystem::path& input,
                           const std::filesystem::path& output, const Message& message,
                           const EmbedFileOptions& opt = {});

struct DetectFileResult {
  std::filesystem::path input;
  int width = 0, height = 0;
  Detection detection;
  Timings timings;
};
DetectFileResult detect_file(const DetectorModel& model, const std::filesystem::path& input);

// Throws when `output` names the same file as `input` (existing file, same
// inode, or the same normalised path).
void check_not_same_path(const std::filesystem::path& input, const std::filesystem::path& output);

// Output path for --output-dir: DIR / (input stem + suffix + ext), e.g.
// photos/cat.jpg -> out/cat_wm.png with suffix "_wm" and ext ".png".
std::filesystem::path output_path_for(const std::filesystem::path& input, const std::filesystem::path& dir,
                                      const std::string& suffix, const std::string& ext);

// Runs work(i) for i in [0, n) on up to `jobs` threads (work items are taken
// in order; at most `jobs` run at once, so memory stays bounded). An
// exception in one item is captured and does not stop the others. done(i,
// error) is called for each item, in index order, as soon as all earlier
// items are done (serialised: never concurrently). Returns the number of failed items.
size_t run_parallel(size_t n, int jobs, const std::function<void(size_t)>& work,
                    const std::function<void(size_t, const std::string* error)>& done);

// A monotonic stopwatch in seconds.
class Stopwatch {
 public:
  Stopwatch() : t0_(std::chrono::steady_clock::now()) {}
  double lap() {
    auto t = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(t - t0_).count();
    t0_ = t;
    return s;
  }
 private:
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace sealite::pipeline
