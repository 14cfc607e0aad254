#include "videoseal/jnd.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "videoseal/resize.h"

namespace sealite::videoseal {

namespace {

constexpr int kPad = 2;  // the 5x5 luminance kernel needs 2, Sobel 1

// Luminance masking weights (row-major), kernel-order summation.
constexpr float kLum[5][5] = {{1, 1, 1, 1, 1},
                              {1, 2, 2, 2, 1},
                              {1, 2, 0, 2, 1},
                              {1, 2, 2, 2, 1},
                              {1, 1, 1, 1, 1}};

constexpr float kSobelX[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
constexpr float kSobelY[3][3] = {{1, 2, 1}, {0, 0, 0}, {-1, -2, -1}};

// torch computes `cm ** 2.4` with a vectorised kernel: 16-element blocks use
// Sleef's powf with the float exponent 2.4f, the remaining elements of each
// thread's chunk (fewer than 16) use std::pow(float, double) with the double
// exponent 2.4. The chunks come from at::parallel_for over the H*W elements
// with grain 32768 on kTorchThreads threads (the reference fixtures were made
// with 2 intra-op threads). We reproduce which elements take which exponent;
// the power itself is computed in double and rounded once (correctly rounded
// in practice; Sleef's u10 powf differs from that by 1 ulp on ~1.7% of inputs).
constexpr int64_t kTorchThreads = 2;
constexpr int64_t kTorchGrain = 32768;
constexpr int64_t kTorchVecBlock = 16;

inline bool pow_uses_double_exponent(int64_t i, int64_t n) {
  const int64_t chunks = n < kTorchGrain ? 1 : std::min(kTorchThreads, (n + kTorchGrain - 1) / kTorchGrain);
  const int64_t chunk = (n + chunks - 1) / chunks;
  const int64_t begin = (i / chunk) * chunk;
  const int64_t len = std::min(n, begin + chunk) - begin;
  return i >= begin + len - len % kTorchVecBlock;
}

inline float pow24(float c, bool double_exponent) {
  const double e = double_exponent ? 2.4 : static_cast<double>(2.4f);
  return static_cast<float>(std::pow(static_cast<double>(c), e));
}

}  // namespace

void jnd_heatmap(const float* rgb, int h, int w, float* hmap, int batch_index, int batch_size) {
  check(h >= 1 && w >= 1, "jnd: invalid size " + std::to_string(h) + "x" + std::to_string(w));
  check(batch_size >= 1 && batch_index >= 0 && batch_index < batch_size,
        "jnd: invalid batch position " + std::to_string(batch_index) + " of " + std::to_string(batch_size));
  const int64_t plane = static_cast<int64_t>(h) * w;
  // position of this frame's heatmap in torch's flattened (N,1,H,W) tensor
  const int64_t torch_offset = static_cast<int64_t>(batch_index) * plane;
  const int64_t torch_numel = static_cast<int64_t>(batch_size) * plane;
  const int pw = w + 2 * kPad;
  const int64_t ph = h + 2 * kPad;
  // Zero-padded 255-scaled luminance.
  std::vector<float> lum(static_cast<size_t>(ph * pw), 0.0f);
  const float* R = rgb;
  const float* G = rgb + plane;
  const float* B = rgb + 2 * plane;
  parallel_for(h, std::max<int64_t>(1, 16384 / w), [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y) {
      float* dst = lum.data() + (y + kPad) * pw + kPad;
      const int64_t o = y * w;
      for (int x = 0; x < w; ++x) {
        // torch: 255 * imgs, then rgbs[0]*R + rgbs[1]*G + rgbs[2]*B, all float32
        const float r = 255.0f * R[o + x], g = 255.0f * G[o + x], b = 255.0f * B[o + x];
        dst[x] = (0.299f * r + 0.587f * g) + 0.114f * b;
      }
    }
  });

  parallel_for(h, std::max<int64_t>(1, 4096 / w), [&](int64_t y0, int64_t y1) {
    std::vector<float> la(static_cast<size_t>(w)), gx(static_cast<size_t>(w)), gy(static_cast<size_t>(w));
    for (int64_t y = y0; y < y1; ++y) {
      // padded rows y .. y+4 are original rows y-2 .. y+2
      const float* r[5];
      for (int k = 0; k < 5; ++k) r[k] = lum.data() + (y + k) * pw;
      // 5x5 luminance sum and the two Sobel sums, taps in kernel order (row
      // major), float accumulation starting from 0 -- bit-identical to torch's
      // conv2d here. Tap-outer loops keep the x loops trivially vectorisable.
      float* lap = la.data();
      float* gxp = gx.data();
      float* gyp = gy.data();
      for (int x = 0; x < w; ++x) lap[x] = 0.0f, gxp[x] = 0.0f, gyp[x] = 0.0f;
      for (int ky = 0; ky < 5; ++ky)
        for (int kx = 0; kx < 5; ++kx) {
          const float k = kLum[ky][kx];
          if (k == 0.0f) continue;  // adding 0*x changes nothing
          const float* src = r[ky] + kx;
          for (int x = 0; x < w; ++x) lap[x] += k * src[x];
        }
      // Sobel: 3x3 neighbourhood = padded rows 1..3, columns x+1 .. x+3.
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          const float* src = r[ky + 1] + 1 + kx;
          const float kxv = kSobelX[ky][kx];
          const float kyv = kSobelY[ky][kx];
          if (kxv != 0.0f)
            for (int x = 0; x < w; ++x) gxp[x] += kxv * src[x];
          if (kyv != 0.0f)
            for (int x = 0; x < w; ++x) gyp[x] += kyv * src[x];
        }
      // Element-wise part, split so that everything but pow vectorises.
      const int64_t row0 = y * w;
      for (int x = 0; x < w; ++x) {
        // luminance masking (both branches computed, then selected)
        const float l = lap[x] / 32.0f;
        const float lo = 17.0f * (1.0f - std::sqrt(l / 127.0f + 1e-5f));
        const float hi = 0.0234375f * (l - 127.0f) + 3.0f;  // 3/128 is exact
        lap[x] = (l <= 127.0f) ? lo : hi;
        // gradient magnitude
        gxp[x] = std::sqrt(gxp[x] * gxp[x] + gyp[x] * gyp[x]);
      }
      for (int x = 0; x < w; ++x) gyp[x] = pow24(gxp[x], pow_uses_double_exponent(torch_offset + row0 + x, torch_numel));
      float* out = hmap + row0;
      for (int x = 0; x < w; ++x) {
        const float c = gxp[x];
        const float cmv = 0.117f * ((16.0f * gyp[x]) / (c * c + 676.0f));
        const float l = lap[x];
        const float v = (l + cmv) - 0.3f * std::min(l, cmv);
        out[x] = std::max(v, 0.0f) / 255.0f;
      }
    }
  });
}

}  // namespace sealite::videoseal
