#include "videoseal/blend.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "videoseal/resize.h"

namespace sealite::videoseal {

namespace {

constexpr int64_t kGrain = 1 << 16;  // elements per thread chunk, at least

// Round-to-nearest-even of x in [0, 2^22] without a libm call: adding and
// subtracting 1.5*2^23 leaves the rounded integer (IEEE semantics; the
// compiler may not fold this without -ffast-math, which we never use).
inline float round_even_small(float x) {
  const float magic = 12582912.0f;
  return (x + magic) - magic;
}

inline float clamp01(float v) {
  v = v > 0.0f ? v : 0.0f;  // also maps NaN to 0
  return v < 1.0f ? v : 1.0f;
}

}  // namespace

uint8_t unit_to_u8(float v) {
  return static_cast<uint8_t>(round_even_small(clamp01(v) * 255.0f));
}

void blend_additive(const float* img, int channels, int h, int w, const float* residual,
                    int residual_channels, float scaling_i, float scaling_w, float* out,
                    bool clamp) {
  check(channels >= 1 && h >= 0 && w >= 0, "blend: invalid image size");
  check(residual_channels == 1 || residual_channels == channels,
        "blend: residual has " + std::to_string(residual_channels) + " channels, image " +
            std::to_string(channels));
  const int64_t plane = static_cast<int64_t>(h) * w;
  const int64_t total = plane * channels;
  parallel_for(total, kGrain, [&](int64_t b, int64_t e) {
    while (b < e) {
      const int64_t c = b / plane;
      const int64_t end = std::min(e, (c + 1) * plane);
      // residual index = i - shift (the broadcast plane is reused for every channel)
      const int64_t shift = residual_channels == 1 ? c * plane : 0;
      const float* r = residual;
      if (clamp) {
        for (int64_t i = b; i < end; ++i) {
          const float v = scaling_i * img[i] + scaling_w * r[i - shift];
          // torch.clamp(x, 0, 1): min(max(x, 0), 1)
          out[i] = std::min(std::max(v, 0.0f), 1.0f);
        }
      } else {
        for (int64_t i = b; i < end; ++i) out[i] = scaling_i * img[i] + scaling_w * r[i - shift];
      }
      b = end;
    }
  });
}

void hwc_to_chw(const float* src, int h, int w, int c, float* dst) {
  const int64_t plane = static_cast<int64_t>(h) * w;
  parallel_for(h, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, int64_t{w} * c)),
               [&](int64_t y0, int64_t y1) {
                 for (int64_t y = y0; y < y1; ++y)
                   for (int ch = 0; ch < c; ++ch) {
                     float* d = dst + ch * plane + y * w;
                     const float* s = src + y * w * c + ch;
                     for (int x = 0; x < w; ++x) d[x] = s[static_cast<int64_t>(x) * c];
                   }
               });
}

void chw_to_hwc(const float* src, int c, int h, int w, float* dst) {
  const int64_t plane = static_cast<int64_t>(h) * w;
  parallel_for(h, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, int64_t{w} * c)),
               [&](int64_t y0, int64_t y1) {
                 for (int64_t y = y0; y < y1; ++y)
                   for (int ch = 0; ch < c; ++ch) {
                     const float* s = src + ch * plane + y * w;
                     float* d = dst + y * w * c + ch;
                     for (int x = 0; x < w; ++x) d[static_cast<int64_t>(x) * c] = s[x];
                   }
               });
}

void u8_to_float(const uint8_t* src, size_t n, float* dst) {
  parallel_for(static_cast<int64_t>(n), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  });
}

void float_to_u8(const float* src, size_t n, uint8_t* dst) {
  parallel_for(static_cast<int64_t>(n), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      dst[i] = static_cast<uint8_t>(round_even_small(clamp01(src[i]) * 255.0f));
  });
}

void u8_hwc_to_float_chw(const uint8_t* src, int h, int w, int c, float* dst) {
  const int64_t plane = static_cast<int64_t>(h) * w;
  parallel_for(h, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, int64_t{w} * c)),
               [&](int64_t y0, int64_t y1) {
                 for (int64_t y = y0; y < y1; ++y)
                   for (int ch = 0; ch < c; ++ch) {
                     float* d = dst + ch * plane + y * w;
                     const uint8_t* s = src + y * w * c + ch;
                     for (int x = 0; x < w; ++x)
                       d[x] = static_cast<float>(s[static_cast<int64_t>(x) * c]) / 255.0f;
                   }
               });
}

void float_chw_to_u8_hwc(const float* src, int c, int h, int w, uint8_t* dst) {
  const int64_t plane = static_cast<int64_t>(h) * w;
  parallel_for(h, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, int64_t{w} * c)),
               [&](int64_t y0, int64_t y1) {
                 for (int64_t y = y0; y < y1; ++y)
                   for (int ch = 0; ch < c; ++ch) {
                     const float* s = src + ch * plane + y * w;
                     uint8_t* d = dst + y * w * c + ch;
                     for (int x = 0; x < w; ++x)
                       d[static_cast<int64_t>(x) * c] =
                           static_cast<uint8_t>(round_even_small(clamp01(s[x]) * 255.0f));
                   }
               });
}

}  // namespace sealite::videoseal
