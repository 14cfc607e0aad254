// sealite-ss: the built-in classical watermark (NOT VideoSeal). A
// spread-spectrum code that fits VideoSeal's model contract, so it runs through
// exactly the same pipeline (resize to 256, residual upscaling, JND
// attenuation, blend, detect) as a converted VideoSeal model:
//
//  embedder  message bits b (1 x nbits) -> residual (1 x 256 x 256 x 1):
//            r = A * up4( sum_k (2 b_k - 1) P_k )   (one FULLY_CONNECTED, RESHAPE, RESIZE_BILINEAR)
//            P_k: zero-mean, orthonormal pseudo-random patterns on a 64x64 grid (seeded), bilinear
//            x4 up to 256: low-to-mid frequencies that survive the pipeline's resizes and JPEG.
//  detector  image (1 x 256 x 256 x 3) -> logits (1 x 1+nbits):
//            Y -> 4x4 average pool -> 3x3 high-pass (whitening) -> correlate with the matched
//            filters W_k (the same chain applied to up4(P_k)), normalised by the filtered image's
//            energy: z_k = <f, W_k> / rms(f). Bit k = z_k > 0. Index 0 is a detection score:
//            (sum_k z_k^2 - T) / sqrt(2 nbits), positive when the code is present; sum z^2 is
//            ~chi-square(nbits) on images without the mark, which gives the p-value.
#pragma once
#include <cstdint>
#include <memory>

#include "tflite/schema.h"

namespace sealite::ss {

struct SsParams {
  int nbits = 64;
  int grid = 64;              // pattern grid (the model works at 256 = 4 x grid)
  uint64_t seed = 0x5ea11e5eedULL;
  float amplitude = 1.0f;     // residual RMS before JND and scaling_w
  float threshold = 130.0f;   // T: sum z^2 above which the mark is declared present
  double scaling_w = 0.35;    // card scaling_w (after JND attenuation); tuned for PSNR >= 42 dB
};

std::unique_ptr<tfl::ModelT> build_embedder(const SsParams& p);
std::unique_ptr<tfl::ModelT> build_detector(const SsParams& p);

// P-value of the detection statistic sum z_k^2 under "no watermark"
// (chi-square with nbits degrees of freedom, upper tail).
double chi_square_upper_tail(double x, int dof);

}  // namespace sealite::ss
