// sealite-ss: the built-in classical watermark (NOT VideoSeal). An informed
// spread-spectrum code that fits VideoSeal's model contract, so it runs through
// exactly the same pipeline (resize to 256, residual upscaling, JND
// attenuation, blend, detect) as a converted VideoSeal model.
//
//  detector  image (1 x 256 x 256 x 3) -> logits (1 x 1+nbits):
//            Y (0..255) -> 2x2 average pool (128 x 128) -> 3x3 high-pass (whitening, VALID: 126 x 126)
//            -> divided by the local RMS (9x9 window, + C): host texture stops dominating
//            -> correlated with nbits signal filters and nbits null filters (FULLY_CONNECTED), all
//            divided by the global RMS: z-scores. Bit k = z_k > 0. The null filters are never
//            embedded: F = mean(z_sig^2) / mean(z_null^2) is ~F(nbits, nbits) on an unmarked image,
//            whatever its texture, which gives the p-value. logits[0] = ln F - ln F_crit
//            (F_crit: the F value whose p-value is `p_detect`), positive = watermark present.
//  embedder  image + bits -> residual (1 x 256 x 256 x 1), informed embedding: a few unrolled
//            projected-gradient steps that run the detector's own chain on image + gain * residual
//            and push every bit whose margin s_k c_k is below T along the detector's back-projected
//            filters (line search in closed form). The gain model is JND's luminance term (a lower
//            bound of the jnd_1_1 heatmap the pipeline multiplies the residual by), so the real
//            mark is at least as strong as planned. T adapts so that the predicted distortion
//            (full jnd_1_1 heatmap at 256) is `plan_psnr`; the pipeline's `min_psnr` card field
//            then caps the real full-resolution distortion.
#pragma once
#include <cstdint>
#include <memory>

#include "tflite/schema.h"

namespace sealite::ss {

struct SsParams {
  int nbits = 64;
  uint64_t seed = 0x5ea11e5eedULL;
  int pool = 2;               // feature grid = 256 / pool
  int norm_radius = 4;        // local RMS window = 2 r + 1 feature cells
  float norm_floor = 400.f;   // C in sqrt(local mean square + C), in (0..255 units)^2
  float margin = 3.0f;        // M: target margin T = M * sqrt(rms_host^2 + floor^2)
  float margin_floor = 0.3f;
  int iterations = 4;         // unrolled embedding steps
  double plan_psnr = 37.0;    // distortion planned inside the embedder (dB, at 256 with the 256 heatmap)
  double min_psnr = 42.5;     // pipeline cap on the real distortion (card field)
  double p_detect = 1e-4;     // false-positive rate of the detection threshold (logit 0 > 0)
};

std::unique_ptr<tfl::ModelT> build_embedder(const SsParams& p);
std::unique_ptr<tfl::ModelT> build_detector(const SsParams& p);

// ln F_crit: the detection threshold on F = mean(z_sig^2)/mean(z_null^2).
double log_f_threshold(const SsParams& p);
// P(F(d1, d2) >= f): the p-value of an F statistic.
double f_upper_tail(double f, double d1, double d2);
// The p-value of "no watermark" from the detection logit of a sealite-ss detector
// (logit0 = ln F - ln F_crit; the card stores ln F_crit as detect_log_f_threshold).
double p_value_from_logit(double logit0, double log_f_threshold, int nbits);
double p_value_from_logit(double logit0, const SsParams& p);

}  // namespace sealite::ss
