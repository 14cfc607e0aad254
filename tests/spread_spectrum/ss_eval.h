// Robustness evaluation of the sealite-ss default through the real image
// pipeline: embed at full resolution (JND, blend, 8-bit rounding), then PNG,
// JPEG quality 75, and a 50 % downscale; detection scores on clean images.
#pragma once
#include <string>
#include <vector>

#include "media/image.h"

namespace sealite::testing {

struct SsEvalResult {
  std::string name;
  int width = 0, height = 0;
  double psnr = 0;
  double acc_png = 0, acc_jpeg75 = 0, acc_half = 0;
  float score_marked_png = 0, score_marked_jpeg = 0, score_clean = 0, score_clean_jpeg = 0;
};

// Generated test images of different content and sizes: gradients, noise,
// text-like strokes, flat colours, checkerboards, blobs.
std::vector<std::pair<std::string, media::Image>> generated_images();
media::Image load_image(const std::string& path);

// Embeds a message derived from `seed` and measures everything above.
SsEvalResult evaluate_ss(const std::string& model_dir, const std::string& name, const media::Image& img,
                         unsigned seed);

}  // namespace sealite::testing
