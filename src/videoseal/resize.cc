#include "videoseal/resize.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace sealite::videoseal {

// ---------------------------------------------------------------- threading

namespace {
std::atomic<int> g_threads{0};

int default_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  if (hc == 0) hc = 1;
  return static_cast<int>(std::min(hc, 16u));
}
}  // namespace

int vsmath_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

void set_vsmath_threads(int n) { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = std::min<int64_t>(vsmath_threads(), (n + grain - 1) / grain);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(chunks - 1));
  std::exception_ptr error;
  std::mutex error_mu;
  auto run = [&](int64_t k) {
    int64_t b = n * k / chunks, e = n * (k + 1) / chunks;
    try {
      if (b < e) fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
    }
  };
  for (int64_t k = 1; k < chunks; ++k) {
    try {
      workers.emplace_back(run, k);
    } catch (...) {  // cannot start a thread: do the chunk here
      run(k);
    }
  }
  run(0);
  for (auto& t : workers) t.join();
  if (error) std::rethrow_exception(error);
}

// ------------------------------------------------------------------ weights

namespace {

// Per output index along one axis: the first input index, the number of taps
// and `taps` weights (zero padded). Equal indices/weights for all rows.
struct AxisPlan {
  int taps = 0;
  bool linear2 = false;  // antialias=false 2-tap plan (different summation)
  std::vector<int> start;
  std::vector<int> count;
  std::vector<float> w;
};

// torch: HelperInterpLinear::aa_filter (triangle), evaluated on scalar_t=float.
inline float tri_filter(float x) {
  if (x < 0.0f) x = -x;
  if (x < 1.0f) return static_cast<float>(1.0 - static_cast<double>(x));
  return 0.0f;
}

// torch 1.13 _compute_indices_weights_aa with scalar_t = float, interp_size = 2.
// The mix of float and double below is deliberate: it is what the C++ in
// torch evaluates (int64 + 0.5 is double, float * double is double, ...).
AxisPlan plan_antialias(int in, int out) {
  AxisPlan p;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  const float support = (scale >= 1.0f) ? static_cast<float>(1.0 * static_cast<double>(scale)) : 1.0f;
  p.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  const float invscale = (scale >= 1.0f) ? static_cast<float>(1.0 / static_cast<double>(scale)) : 1.0f;
  p.start.resize(static_cast<size_t>(out));
  p.count.resize(static_cast<size_t>(out));
  p.w.assign(static_cast<size_t>(out) * static_cast<size_t>(p.taps), 0.0f);
  for (int i = 0; i < out; ++i) {
    const float center = static_cast<float>(static_cast<double>(scale) * (static_cast<double>(i) + 0.5));
    int64_t xmin = std::max<int64_t>(
        static_cast<int64_t>(static_cast<double>(center - support) + 0.5), 0);
    int64_t xsize = std::min<int64_t>(
        static_cast<int64_t>(static_cast<double>(center + support) + 0.5), in) - xmin;
    xsize = std::clamp<int64_t>(xsize, 0, p.taps);
    float* w = &p.w[static_cast<size_t>(i) * static_cast<size_t>(p.taps)];
    float total = 0.0f;
    for (int64_t j = 0; j < xsize; ++j) {
      const float d = static_cast<float>(j + xmin) - center;
      const float v = tri_filter(static_cast<float>((static_cast<double>(d) + 0.5) *
                                                    static_cast<double>(invscale)));
      w[j] = v;
      total += v;
    }
    if (total != 0.0f)
      for (int64_t j = 0; j < xsize; ++j) w[j] /= total;
    if (xsize == 0) {  // cannot happen for in, out >= 1; keep the plan well formed
      xmin = std::min<int64_t>(xmin, in - 1);
      xsize = 1;
      w[0] = 0.0f;
    }
    p.start[static_cast<size_t>(i)] = static_cast<int>(xmin);
    p.count[static_cast<size_t>(i)] = static_cast<int>(xsize);
  }
  return p;
}

// torch compute_source_index_and_lambda (align_corners=False): float scale,
// source index in double, float lambdas.
struct Linear2 {
  std::vector<int> i0, i1;
  std::vector<float> l0, l1;
};

Linear2 plan_linear(int in, int out) {
  Linear2 p;
  p.i0.resize(static_cast<size_t>(out));
  p.i1.resize(static_cast<size_t>(out));
  p.l0.resize(static_cast<size_t>(out));
  p.l1.resize(static_cast<size_t>(out));
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int i = 0; i < out; ++i) {
    size_t k = static_cast<size_t>(i);
    if (in == out) {
      p.i0[k] = p.i1[k] = i;
      p.l0[k] = 1.0f;
      p.l1[k] = 0.0f;
      continue;
    }
    // torch evaluates scale * (i + 0.5) - 0.5 in double (the literals are
    // double) and keeps the double for the integer part and the fraction.
    double real = static_cast<double>(scale) * (static_cast<double>(i) + 0.5) - 0.5;
    if (real < 0.0) real = 0.0;
    int i0 = static_cast<int>(real);
    if (i0 > in - 1) i0 = in - 1;  // rounding guard (not reached for sane sizes)
    p.i0[k] = i0;
    p.i1[k] = i0 + ((i0 < in - 1) ? 1 : 0);
    float l1 = static_cast<float>(real - static_cast<double>(i0));
    l1 = std::min(std::max(l1, 0.0f), 1.0f);
    p.l1[k] = l1;
    p.l0[k] = 1.0f - l1;
  }
  return p;
}

AxisPlan plan_from_linear(const Linear2& l) {
  // 2-tap plan with torch's (possibly repeated) indices: start = i0, and the
  // second tap reads start + (i1 - i0) which is 0 or 1. Encoded with taps=2,
  // count=2 and, for i1 == i0, both weights applied to the same sample.
  AxisPlan p;
  p.taps = 2;
  p.linear2 = true;
  size_t n = l.i0.size();
  p.start.resize(n);
  p.count.resize(n);
  p.w.resize(n * 2);
  for (size_t k = 0; k < n; ++k) {
    p.start[k] = l.i0[k];
    p.count[k] = (l.i1[k] == l.i0[k]) ? -2 : 2;  // -2: both taps on the same sample
    p.w[2 * k] = l.l0[k];
    p.w[2 * k + 1] = l.l1[k];
  }
  return p;
}

// a*b + c with a single rounding, as the FMA instructions torch's AVX2 build
// contracts these expressions into. Computed in double: the product of two
// floats is exact there, so only the final double->float rounding can differ
// from a true fmaf (a double-rounding tie, probability ~2^-29 per value).
// Unlike std::fmaf this is fast without FMA hardware, vectorises with SSE2 and
// gives the same bits on every x86-64 CPU.
inline float fma_f(float a, float b, float c) {
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) + static_cast<double>(c));
}

// torch's `out = t0*w0; for j in 1..n-1: out += tj*wj` loop (1.13, AVX2
// build) is compiled as an in-order vectorised reduction over groups of 4
// taps -- products rounded to float, then added one by one -- followed by a
// scalar remainder loop whose statements are contracted to FMAs. Taps
// [1, aa_split(n)) are therefore accumulated unfused, taps [aa_split(n), n)
// fused. (Verified bit-exactly against torch on many sizes.)
inline int aa_split(int n) { return n <= 1 ? 1 : 1 + ((n - 1) / 4) * 4; }

constexpr int kBlock = 8;  // rows processed together by the horizontal pass

// Horizontal pass over `rows` rows of in_w samples -> rows of out_w samples.
// Rows are transposed 8 at a time into a column-interleaved buffer so that the
// per-output dot product (sequential in the tap index, as in torch) runs on 8
// rows at once with contiguous loads.
void horizontal_pass(const float* src, int64_t rows, int in_w, float* dst, int out_w,
                     const AxisPlan& p) {
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  const int64_t work_per_block = static_cast<int64_t>(out_w) * std::max(1, p.taps) * kBlock + in_w * kBlock;
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, work_per_block));
  parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    std::vector<float> tbuf(static_cast<size_t>(in_w) * kBlock);
    float* t = tbuf.data();
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kBlock;
      const int nr = static_cast<int>(std::min<int64_t>(kBlock, rows - r0));
      const float* s = src + r0 * in_w;
      if (nr == kBlock) {
        for (int x = 0; x < in_w; ++x)
          for (int r = 0; r < kBlock; ++r) t[x * kBlock + r] = s[static_cast<int64_t>(r) * in_w + x];
      } else {
        for (int x = 0; x < in_w; ++x)
          for (int r = 0; r < kBlock; ++r)
            t[x * kBlock + r] = r < nr ? s[static_cast<int64_t>(r) * in_w + x] : 0.0f;
      }
      float* d = dst + r0 * out_w;
      for (int ox = 0; ox < out_w; ++ox) {
        const float* w = &p.w[static_cast<size_t>(ox) * static_cast<size_t>(p.taps)];
        const float* c = t + static_cast<int64_t>(p.start[static_cast<size_t>(ox)]) * kBlock;
        int n = p.count[static_cast<size_t>(ox)];
        float acc[kBlock];
        if (p.linear2) {
          // torch generic kernel: t0*w0 + t1*w1, contracted to fma(t0, w0, t1*w1)
          const float* c1 = (n == -2) ? c : c + kBlock;
          for (int r = 0; r < kBlock; ++r) acc[r] = fma_f(c[r], w[0], c1[r] * w[1]);
        } else {
          // torch interpolate_aa_single_dim: out = t0*w0; out += tj*wj (see aa_split)
          const int m = aa_split(n);
          for (int r = 0; r < kBlock; ++r) acc[r] = c[r] * w[0];
          for (int j = 1; j < m; ++j) {
            const float wj = w[j];
            const float* cj = c + j * kBlock;
            for (int r = 0; r < kBlock; ++r) acc[r] = acc[r] + cj[r] * wj;
          }
          for (int j = m; j < n; ++j) {
            const float wj = w[j];
            const float* cj = c + j * kBlock;
            for (int r = 0; r < kBlock; ++r) acc[r] = fma_f(cj[r], wj, acc[r]);
          }
        }
        for (int r = 0; r < nr; ++r) d[static_cast<int64_t>(r) * out_w + ox] = acc[r];
      }
    }
  });
}

// Vertical pass: planes x in_h rows of `width` -> planes x out_h rows.
void vertical_pass(const float* src, int planes, int in_h, int width, float* dst, int out_h,
                   const AxisPlan& p) {
  const int64_t total = static_cast<int64_t>(planes) * out_h;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, static_cast<int64_t>(width) * std::max(1, p.taps)));
  parallel_for(total, grain, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t plane = q / out_h;
      const int oy = static_cast<int>(q % out_h);
      const float* w = &p.w[static_cast<size_t>(oy) * static_cast<size_t>(p.taps)];
      const float* s0 = src + (plane * in_h + p.start[static_cast<size_t>(oy)]) * static_cast<int64_t>(width);
      float* o = dst + q * width;
      int n = p.count[static_cast<size_t>(oy)];
      const float w0 = w[0];
      if (p.linear2) {
        const float* s1 = (n == -2) ? s0 : s0 + width;
        const float w1 = w[1];
        for (int x = 0; x < width; ++x) o[x] = fma_f(s0[x], w0, s1[x] * w1);
      } else {
        const int m = aa_split(n);
        for (int x = 0; x < width; ++x) o[x] = s0[x] * w0;
        for (int j = 1; j < m; ++j) {
          const float wj = w[j];
          const float* sj = s0 + static_cast<int64_t>(j) * width;
          for (int x = 0; x < width; ++x) o[x] = o[x] + sj[x] * wj;
        }
        for (int j = m; j < n; ++j) {
          const float wj = w[j];
          const float* sj = s0 + static_cast<int64_t>(j) * width;
          for (int x = 0; x < width; ++x) o[x] = fma_f(sj[x], wj, o[x]);
        }
      }
    }
  });
}

// torch cpu_upsample_linear_channels_last: float weights wij = hi*wj; for the
// scalar tail (the last channels % 8 channels) x00*w00 + x01*w01 + x10*w10 +
// x11*w11 is accumulated in double (opmath) and rounded once; the 8-wide
// vector body evaluates fma(x00,w00, fma(x01,w01, fma(x11,w11, x10*w10))).
void bilinear_channels_last(const float* src, int channels, int in_h, int in_w, float* dst, int out_h,
                            int out_w) {
  const Linear2 ph = plan_linear(in_h, out_h);
  const Linear2 pw = plan_linear(in_w, out_w);
  const int vec_channels = channels - channels % 8;
  const int64_t in_plane = static_cast<int64_t>(in_h) * in_w;
  const int64_t out_plane = static_cast<int64_t>(out_h) * out_w;
  const int64_t total = static_cast<int64_t>(channels) * out_h;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max(1, out_w));
  parallel_for(total, grain, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int c = static_cast<int>(q / out_h);
      const int64_t oy = q % out_h;
      const size_t ky = static_cast<size_t>(oy);
      const float* plane = src + c * in_plane;
      const float* r0 = plane + static_cast<int64_t>(ph.i0[ky]) * in_w;
      const float* r1 = plane + static_cast<int64_t>(ph.i1[ky]) * in_w;
      const float h0 = ph.l0[ky], h1 = ph.l1[ky];
      float* o = dst + c * out_plane + oy * out_w;
      if (c < vec_channels) {
        for (int ox = 0; ox < out_w; ++ox) {
          const size_t kx = static_cast<size_t>(ox);
          const int x0 = pw.i0[kx], x1 = pw.i1[kx];
          const float w0 = pw.l0[kx], w1 = pw.l1[kx];
          float v = r1[x0] * (h1 * w0);
          v = fma_f(r1[x1], h1 * w1, v);
          v = fma_f(r0[x1], h0 * w1, v);
          o[ox] = fma_f(r0[x0], h0 * w0, v);
        }
      } else {
        for (int ox = 0; ox < out_w; ++ox) {
          const size_t kx = static_cast<size_t>(ox);
          const int x0 = pw.i0[kx], x1 = pw.i1[kx];
          const float w0 = pw.l0[kx], w1 = pw.l1[kx];
          const float w00 = h0 * w0, w01 = h0 * w1, w10 = h1 * w0, w11 = h1 * w1;
          double v = static_cast<double>(r0[x0]) * w00;
          v = v + static_cast<double>(r0[x1]) * w01;
          v = v + static_cast<double>(r1[x0]) * w10;
          v = v + static_cast<double>(r1[x1]) * w11;
          o[ox] = static_cast<float>(v);
        }
      }
    }
  });
}

}  // namespace

void resize_bilinear_aa(const float* src, int channels, int in_h, int in_w, int out_h, int out_w,
                        float* dst, bool antialias, bool torch_channels_last) {
  check(channels >= 1 && in_h >= 1 && in_w >= 1 && out_h >= 1 && out_w >= 1,
        "resize: invalid size " + std::to_string(channels) + "x" + std::to_string(in_h) + "x" +
            std::to_string(in_w) + " -> " + std::to_string(out_h) + "x" + std::to_string(out_w));
  const int64_t in_plane = static_cast<int64_t>(in_h) * in_w;
  if (in_h == out_h && in_w == out_w) {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(in_plane * channels));
    return;
  }
  if (!antialias && (channels == 1 || torch_channels_last)) {
    bilinear_channels_last(src, channels, in_h, in_w, dst, out_h, out_w);
    return;
  }
  AxisPlan pw, ph;
  if (antialias) {
    if (in_w != out_w) pw = plan_antialias(in_w, out_w);
    if (in_h != out_h) ph = plan_antialias(in_h, out_h);
  } else {
    // torch's generic kernel: out = t0*wy0 + t1*wy1 with tk = x[yk][x0]*wx0 + x[yk][x1]*wx1,
    // i.e. a 2-tap horizontal pass followed by a 2-tap vertical pass. An axis of
    // unchanged size contributes x*1 + x*0 == x, so it can be skipped.
    if (in_w != out_w) pw = plan_from_linear(plan_linear(in_w, out_w));
    if (in_h != out_h) ph = plan_from_linear(plan_linear(in_h, out_h));
  }
  if (in_w != out_w && in_h != out_h) {
    std::vector<float> tmp(static_cast<size_t>(channels) * static_cast<size_t>(in_h) * static_cast<size_t>(out_w));
    horizontal_pass(src, static_cast<int64_t>(channels) * in_h, in_w, tmp.data(), out_w, pw);
    vertical_pass(tmp.data(), channels, in_h, out_w, dst, out_h, ph);
  } else if (in_w != out_w) {
    horizontal_pass(src, static_cast<int64_t>(channels) * in_h, in_w, dst, out_w, pw);
  } else {
    vertical_pass(src, channels, in_h, in_w, dst, out_h, ph);
  }
}

}  // namespace sealite::videoseal
