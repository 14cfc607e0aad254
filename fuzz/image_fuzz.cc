// libFuzzer target: PNG / JPEG / .npy decoding from memory (media::read_image_from_memory),
// plus a PNG re-encode round trip of what decodes.
//
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc \
//     fuzz/image_fuzz.cc src/media/image.cc src/core/fs.cc src/core/npy.cc -lpng -ljpeg -o image_fuzz
//   ./image_fuzz -max_total_time=120 -rss_limit_mb=2048 corpus/
//
// Invariants checked: decoding either throws sealite::Error or yields a
// consistent image (sizes match, values in [0,1], alpha plane consistent);
// re-encoding a decoded PNG/JPEG as PNG and decoding it again is lossless.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "media/image.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "image_fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sealite::media::Image;
  Image img;
  try {
    // A lower pixel cap than the default keeps each run cheap.
    img = sealite::media::read_image_from_memory(data, size, "fuzz", int64_t{1} << 22);
  } catch (const sealite::Error&) {
    return 0;
  }
  if (img.width <= 0 || img.height <= 0) fail("non-positive size");
  if (img.rgb.size() != img.pixels() * 3) fail("rgb size");
  if (!img.alpha.empty() && (img.alpha.size() != img.pixels() || (img.alpha_bits != 8 && img.alpha_bits != 16)))
    fail("alpha plane");
  for (float v : img.rgb)
    if (!(v >= 0.0f && v <= 1.0f)) fail("value outside [0,1]");
  if (img.gray)
    for (size_t p = 0; p < img.pixels(); ++p)
      if (img.rgb[3 * p] != img.rgb[3 * p + 1] || img.rgb[3 * p] != img.rgb[3 * p + 2]) fail("gray channels differ");

  if (img.format != "npy" && img.pixels() <= 65536) {
    std::vector<uint8_t> png;
    try {
      png = sealite::media::encode_png(img);
    } catch (const sealite::Error&) {
      fail("re-encoding a decoded image failed");
    }
    Image back;
    try {
      back = sealite::media::read_image_from_memory(png.data(), png.size(), "fuzz-roundtrip", int64_t{1} << 22);
    } catch (const sealite::Error&) {
      fail("decoding our own PNG failed");
    }
    if (back.width != img.width || back.height != img.height || back.rgb != img.rgb || back.alpha != img.alpha ||
        back.gray != img.gray)
      fail("PNG round trip is not lossless");
  }
  return 0;
}
