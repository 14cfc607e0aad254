#include "spread_spectrum/ss_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "graph/graph.h"
#include "videoseal/layers.h"

namespace sealite::ss {
namespace {

using namespace sealite::tfl;
using vs::Layers;
using vs::Tensor;

constexpr int kSize = 256;  // the model contract's image size

// The 3x3 whitening high-pass (a discrete Laplacian): symmetric, so its
// adjoint (used by the embedder's back-projection) is the same kernel.
constexpr float kHighPass[9] = {-1, -1, -1, -1, 8, -1, -1, -1, -1};
// BT.601 luma in 0..255 units, as the detector sees the image.
constexpr float kLuma[3] = {0.299f * 255, 0.587f * 255, 0.114f * 255};
// VideoSeal's jnd_1_1 kernels (luminance background, Sobel).
constexpr float kLum5[25] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 2, 0, 2, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1};
constexpr float kSobelX[9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
constexpr float kSobelY[9] = {1, 2, 1, 0, 0, 0, -1, -2, -1};

int grid(const SsParams& p) { return kSize / p.pool; }
int feat_side(const SsParams& p) { return grid(p) - 2; }

void check_params(const SsParams& p) {
  check(p.nbits > 0 && p.nbits <= 256, "sealite-ss: nbits must be in 1..256");
  check(p.pool >= 1 && kSize % p.pool == 0 && grid(p) >= 16, "sealite-ss: bad pool");
  check(p.norm_radius >= 0 && p.iterations >= 1 && p.iterations <= 16, "sealite-ss: bad parameters");
}

// splitmix64 + Box-Muller: deterministic on every platform.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  double gauss() {
    double u = std::max(uniform(), 1e-300), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  }
};

// 2 * nbits zero-mean orthonormal patterns on the grid x grid feature grid
// (Gram-Schmidt against the constant vector and each other): the first nbits
// carry the message, the others are the never-embedded null patterns.
std::vector<std::vector<double>> patterns(const SsParams& p) {
  const int n = grid(p) * grid(p);
  Rng rng{p.seed};
  std::vector<std::vector<double>> basis;
  basis.push_back(std::vector<double>(n, 1.0 / std::sqrt(double(n))));
  for (int k = 0; k < 2 * p.nbits; ++k) {
    std::vector<double> v(n);
    for (auto& x : v) x = rng.gauss();
    for (int pass = 0; pass < 2; ++pass)
      for (auto& b : basis) {
        double d = std::inner_product(v.begin(), v.end(), b.begin(), 0.0);
        for (int i = 0; i < n; ++i) v[i] -= d * b[i];
      }
    double norm = std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
    for (auto& x : v) x /= norm;
    basis.push_back(v);
  }
  basis.erase(basis.begin());
  return basis;
}

// The matched filters: the detector's linear chain (bilinear up to 256 with
// half-pixel centres, average pool, high-pass VALID) applied to each pattern,
// unit norm. Row k = filter k over the feat_side^2 feature cells (row-major).
std::vector<float> matched_filters(const SsParams& p, const std::vector<std::vector<double>>& pats, int first,
                                   int count) {
  const int g = grid(p), fs = feat_side(p), pool = p.pool;
  std::vector<float> w(static_cast<size_t>(count) * fs * fs);
  std::vector<double> up(static_cast<size_t>(kSize) * kSize), pooled(static_cast<size_t>(g) * g);
  auto src = [&](int o, int& i0, int& i1, double& f) {
    double s = (o + 0.5) * g / kSize - 0.5;
    if (s < 0) s = 0;
    i0 = static_cast<int>(std::floor(s));
    i1 = std::min(i0 + 1, g - 1);
    f = s - i0;
  };
  for (int k = 0; k < count; ++k) {
    const auto& pat = pats[first + k];
    for (int y = 0; y < kSize; ++y) {
      int y0, y1;
      double fy;
      src(y, y0, y1, fy);
      for (int x = 0; x < kSize; ++x) {
        int x0, x1;
        double fx;
        src(x, x0, x1, fx);
        double a = pat[y0 * g + x0] + (pat[y0 * g + x1] - pat[y0 * g + x0]) * fx;
        double b = pat[y1 * g + x0] + (pat[y1 * g + x1] - pat[y1 * g + x0]) * fx;
        up[static_cast<size_t>(y) * kSize + x] = a + (b - a) * fy;
      }
    }
    for (int i = 0; i < g; ++i)
      for (int j = 0; j < g; ++j) {
        double s = 0;
        for (int a = 0; a < pool; ++a)
          for (int b = 0; b < pool; ++b) s += up[static_cast<size_t>(pool * i + a) * kSize + pool * j + b];
        pooled[i * g + j] = s / (pool * pool);
      }
    std::vector<double> f(static_cast<size_t>(fs) * fs);
    double norm = 0;
    for (int i = 0; i < fs; ++i)
      for (int j = 0; j < fs; ++j) {
        double s = 0;
        for (int a = 0; a < 3; ++a)
          for (int b = 0; b < 3; ++b) s += kHighPass[a * 3 + b] * pooled[(i + a) * g + j + b];
        f[i * fs + j] = s;
        norm += s * s;
      }
    norm = std::sqrt(norm);
    for (size_t i = 0; i < f.size(); ++i) w[static_cast<size_t>(k) * fs * fs + i] = static_cast<float>(f[i] / norm);
  }
  return w;
}

BuiltinOptionsUnion pool_options(int k, int stride, Padding pad) {
  Pool2DOptionsT o;
  o.padding = pad;
  o.stride_h = o.stride_w = stride;
  o.filter_height = o.filter_width = k;
  BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

Tensor avg_pool(Layers& L, Tensor x, int k, int stride, Padding pad, const std::string& name) {
  auto s = L.shape(x);
  int oh = pad == Padding_SAME ? (s[1] + stride - 1) / stride : (s[1] - k) / stride + 1;
  int ow = pad == Padding_SAME ? (s[2] + stride - 1) / stride : (s[2] - k) / stride + 1;
  Tensor y = L.new_tensor(name, {s[0], oh, ow, s[3]});
  // TFLite's AVERAGE_POOL_2D with SAME padding divides by the number of valid
  // cells (count_include_pad=False), which the local RMS wants.
  L.op(BuiltinOperator_AVERAGE_POOL_2D, {x}, {y}, pool_options(k, stride, pad));
  return y;
}

// Reduction over every axis but the batch -> [1] (a shape that broadcasts
// against anything without a RESHAPE).
Tensor reduce_all(Layers& L, BuiltinOperator code, Tensor x, const std::string& name) {
  auto s = L.shape(x);
  std::vector<int32_t> axes(s.size() - 1);
  std::iota(axes.begin(), axes.end(), 1);
  Tensor ax = L.constant_i32(name + "_axes", {static_cast<int32_t>(axes.size())}, axes);
  Tensor y = L.new_tensor(name, {1});
  ReducerOptionsT o;
  o.keep_dims = false;
  BuiltinOptionsUnion u;
  u.Set(std::move(o));
  L.op(code, {x, ax}, {y}, std::move(u));
  return y;
}

// Luma in 0..255 from the RGB [0,1] image: one 1x1 CONV_2D.
Tensor luma(Layers& L, Tensor image) {
  return L.pointwise(image, std::span<const float>(kLuma, 3), 1, {}, vs::Act::none, "luma");
}

// The detector's linear feature map: average pool, high-pass VALID.
Tensor features(Layers& L, Tensor y, const SsParams& p) {
  Tensor pooled = avg_pool(L, y, p.pool, p.pool, Padding_VALID, "pooled");
  return L.conv2d(pooled, std::span<const float>(kHighPass, 9), 1, 3, 3, {}, {}, vs::Act::none, "highpass");
}

// Local RMS of the features: sqrt(mean over the (2r+1)^2 window of f^2 + C).
Tensor local_rms(Layers& L, Tensor f, const SsParams& p) {
  Tensor f2 = L.square(f, "feat_sq");
  Tensor e = avg_pool(L, f2, 2 * p.norm_radius + 1, 1, Padding_SAME, "local_ms");
  return L.sqrt(L.add_scalar(e, p.norm_floor, "local_ms_c"), "local_rms");
}

// Normalised features f / L flattened to [1, feat_side^2].
Tensor flatten(Layers& L, Tensor x, const SsParams& p) {
  return L.reshape(x, {1, feat_side(p) * feat_side(p)}, "flat");
}

// FULLY_CONNECTED with a shared weight tensor [out, in] and a zero bias.
Tensor fc(Layers& L, Tensor x, Tensor weight, Tensor bias, int out, const std::string& name) {
  Tensor y = L.new_tensor(name, {1, out});
  FullyConnectedOptionsT o;
  BuiltinOptionsUnion u;
  u.Set(std::move(o));
  L.op(BuiltinOperator_FULLY_CONNECTED, {x, weight, bias}, {y}, std::move(u));
  return y;
}

}  // namespace

std::unique_ptr<tfl::ModelT> build_detector(const SsParams& p) {
  check_params(p);
  graph::Graph g;
  g.subgraph().name = "sealite_ss_detector";
  Layers L(g);
  Tensor image = L.input("image", {1, kSize, kSize, 3});
  Tensor f = features(L, luma(L, image), p);
  Tensor fn = flatten(L, L.div(f, local_rms(L, f, p), "feat_norm"), p);
  // global RMS of the normalised features
  Tensor ms = reduce_all(L, BuiltinOperator_MEAN, L.square(fn, "fn_sq"), "fn_ms");
  Tensor rms = L.sqrt(L.add_scalar(ms, 1e-6f, "fn_ms_eps"), "fn_rms");
  const auto pats = patterns(p);
  auto w_sig = matched_filters(p, pats, 0, p.nbits);
  auto w_null = matched_filters(p, pats, p.nbits, p.nbits);
  Tensor z = L.div(L.linear(fn, w_sig, p.nbits, {}, vs::Act::none, "corr"), rms, "z");
  Tensor zn = L.div(L.linear(fn, w_null, p.nbits, {}, vs::Act::none, "corr_null"), rms, "z_null");
  // logit 0 = ln(mean z^2) - ln(mean z_null^2) - ln F_crit
  auto mean_sq = [&](Tensor t, const std::string& name) {
    std::vector<float> w(p.nbits, 1.f / p.nbits);
    return L.linear(L.square(t, name + "_sq"), w, 1, {}, vs::Act::none, name);
  };
  Tensor s_sig = L.add_scalar(mean_sq(z, "ms_sig"), 1e-12f, "ms_sig_eps");
  Tensor s_null = L.add_scalar(mean_sq(zn, "ms_null"), 1e-12f, "ms_null_eps");
  Tensor ratio = L.div(s_sig, s_null, "f_ratio");
  Tensor lg = L.new_tensor("log_f", {1, 1});
  L.op(BuiltinOperator_LOG, {ratio}, {lg});
  Tensor score = L.add_scalar(lg, static_cast<float>(-log_f_threshold(p)), "score");
  Tensor logits = L.concat({score, z}, 1, "logits");
  L.output(logits, "logits");
  return g.release();
}

std::unique_ptr<tfl::ModelT> build_embedder(const SsParams& p) {
  check_params(p);
  graph::Graph g;
  g.subgraph().name = "sealite_ss_embedder";
  Layers L(g);
  const int fs = feat_side(p), nf = fs * fs;
  Tensor image = L.input("image", {1, kSize, kSize, 3});
  Tensor msg = L.input("message", {1, p.nbits});
  Tensor s = L.add_scalar(L.mul_scalar(msg, 2.f, "msg2"), -1.f, "sign");  // +-1

  Tensor y0 = luma(L, image);
  // jnd_1_1 at 256 (VideoSeal's formula). Luminance term la: the gain model.
  Tensor bg = L.conv2d(y0, std::span<const float>(kLum5, 25), 1, 5, 5, {}, vs::ConvParams::same(5), vs::Act::none,
                       "jnd_bg");
  bg = L.mul_scalar(bg, 1.f / 32.f, "jnd_bg32");
  Tensor lo = L.add_scalar(L.mul_scalar(L.sqrt(L.add_scalar(L.mul_scalar(bg, 1.f / 127.f, "bg127"), 1e-5f, "bg_eps"),
                                                "bg_sqrt"),
                                         -17.f, "lo17"),
                           17.f, "la_lo");
  Tensor hi = L.add_scalar(L.mul_scalar(bg, 3.f / 128.f, "hi_slope"), 3.f - 127.f * 3.f / 128.f, "la_hi");
  Tensor le = g.add_tensor(L.scoped("bg_le_127"), TensorType_BOOL, L.shape(bg));
  L.op(BuiltinOperator_LESS_EQUAL, {bg, L.scalar(127.f)}, {le});
  Tensor la = L.new_tensor("jnd_la", L.shape(bg));
  L.op(BuiltinOperator_SELECT_V2, {le, lo, hi}, {la});
  // contrast term cm, for the distortion estimate only
  std::vector<float> sobel(18);
  std::copy(kSobelX, kSobelX + 9, sobel.begin());
  std::copy(kSobelY, kSobelY + 9, sobel.begin() + 9);
  Tensor gxy = L.conv2d(y0, sobel, 2, 3, 3, {}, vs::ConvParams::same(3), vs::Act::none, "jnd_sobel");
  Tensor gm2 = L.channel_sum(L.square(gxy, "sobel_sq"), 1.f, "sobel_ms");
  Tensor gm = L.sqrt(gm2, "sobel_mag");
  Tensor pw = L.new_tensor("sobel_pow", L.shape(gm));
  L.op(BuiltinOperator_POW, {gm, L.scalar(2.4f)}, {pw});
  Tensor cm = L.div(L.mul_scalar(pw, 0.117f * 16.f, "cm_num"), L.add_scalar(gm2, 676.f, "cm_den"), "jnd_cm");
  Tensor v = L.sub(L.add(la, cm, vs::Act::none, "la_cm"), L.mul_scalar(L.minimum(la, cm, "la_cm_min"), 0.3f, "m03"),
                   "jnd_v");
  Tensor heat = L.relu(v);  // 255 x the jnd_1_1 heatmap: the pipeline's real gain at this resolution

  auto w_sig = matched_filters(p, patterns(p), 0, p.nbits);
  std::vector<float> w_sig_t(static_cast<size_t>(nf) * p.nbits);  // back-projection [nf, nbits]
  for (int k = 0; k < p.nbits; ++k)
    for (int i = 0; i < nf; ++i) w_sig_t[static_cast<size_t>(i) * p.nbits + k] = w_sig[static_cast<size_t>(k) * nf + i];
  // Adjoint of (average pool, high-pass VALID): zero pad 2, high-pass VALID
  // (symmetric kernel), nearest upsampling, / pool^2 (folded into the kernel).
  std::vector<float> hp_adj(kHighPass, kHighPass + 9);
  for (auto& x : hp_adj) x /= static_cast<float>(p.pool * p.pool);

  // One copy of each weight matrix, shared by every step.
  Tensor w_sig_c = L.constant("matched_filters", {p.nbits, nf}, w_sig);
  Tensor w_sig_t_c = L.constant("backprojection", {nf, p.nbits}, w_sig_t);
  Tensor zero_bits = L.constant("zero_bits", {p.nbits}, std::vector<float>(p.nbits, 0.f));
  Tensor zero_cells = L.constant("zero_cells", {nf}, std::vector<float>(nf, 0.f));
  auto correlate = [&](Tensor feat_over_l, const std::string& name) {
    return fc(L, flatten(L, feat_over_l, p), w_sig_c, zero_bits, p.nbits, name);
  };
  const float target_ms = static_cast<float>(std::pow(255.0 * std::pow(10.0, -p.plan_psnr / 20.0), 2));

  // Iteration 0 state: the host alone.
  Tensor f = features(L, y0, p);
  Tensor lrms = local_rms(L, f, p);
  Tensor fn = L.div(f, lrms, "fn");
  Tensor c = correlate(fn, "corr");
  Tensor host_ms = reduce_all(L, BuiltinOperator_MEAN, L.square(fn, "fn_sq"), "host_ms");
  Tensor T = L.mul_scalar(L.sqrt(L.add_scalar(host_ms, p.margin_floor * p.margin_floor, "host_ms_floor"), "host_rms"),
                          p.margin, "T");
  Tensor r = -1;
  for (int it = 0; it < p.iterations; ++it) {
    Layers::Scope scope(L, "step" + std::to_string(it));
    // deficits e_k = s_k relu(T - s_k c_k)
    Tensor e = L.mul(s, L.relu(L.sub(T, L.mul(s, c, "sc"), "gap")), "deficit");
    // direction d = back-projection of e through the normalised feature chain (L held fixed)
    Tensor u = L.reshape(fc(L, e, w_sig_t_c, zero_cells, nf, "backproj"), {1, fs, fs, 1}, "backproj_map");
    u = L.div(u, lrms, "backproj_norm");
    u = L.pad(u, {{0, 0}, {2, 2}, {2, 2}, {0, 0}}, "backproj_pad");
    u = L.conv2d(u, hp_adj, 1, 3, 3, {}, {}, vs::Act::none, "backproj_hp");
    Tensor up = L.new_tensor("backproj_up", {1, kSize, kSize, 1});
    {
      ResizeNearestNeighborOptionsT o;
      BuiltinOptionsUnion opt;
      opt.Set(std::move(o));
      Tensor size = L.constant_i32("up_size", {2}, std::vector<int32_t>{kSize, kSize});
      L.op(BuiltinOperator_RESIZE_NEAREST_NEIGHBOR, {u, size}, {up}, std::move(opt));
    }
    // The step is taken in residual space without the gain: the pipeline
    // multiplies the residual by the JND heatmap once; weighting the direction
    // by the gain as well would shape the mark by JND squared and spend the
    // distortion budget on dark areas (measured: 24 -> 28 of 31 images).
    Tensor d = up;
    // its effect on the correlations and the closed-form step mu = <e,dc>/|dc|^2
    Tensor dc = correlate(L.div(features(L, L.mul(d, la, "gained"), p), lrms, "dfn"), "dcorr");
    Tensor num = reduce_all(L, BuiltinOperator_SUM, L.mul(e, dc, "e_dc"), "num");
    Tensor den = reduce_all(L, BuiltinOperator_SUM, L.square(dc, "dc_sq"), "den");
    Tensor mu = L.div(num, L.add_scalar(den, 1e-30f, "den_eps"), "mu");
    Tensor step = L.mul(d, mu, "step");
    r = r < 0 ? step : L.add(r, step, vs::Act::none, "r");
    // No dead ops: TFLite 2.9's XNNPACK delegate crashes on delegated nodes
    // whose outputs nobody reads, so the last step stops here.
    if (it + 1 == p.iterations) break;
    // planned distortion -> adapt T (clamped to x0.5 .. x4 per step)
    Tensor ms = reduce_all(L, BuiltinOperator_MEAN, L.square(L.mul(r, heat, "dist"), "dist_sq"), "dist_ms");
    Tensor ratio = L.sqrt(L.div(L.scalar(target_ms), L.add_scalar(ms, 1e-20f, "ms_eps"), "ms_ratio"), "ms_gain");
    ratio = L.minimum(L.maximum(ratio, L.scalar(0.5f), "gain_lo"), L.scalar(4.f), "gain_hi");
    T = L.mul(T, ratio, "T_next");
    Tensor y = L.add(y0, L.mul(r, la, "marked_delta"), vs::Act::none, "marked");
    f = features(L, y, p);
    lrms = local_rms(L, f, p);
    c = correlate(L.div(f, lrms, "fn"), "corr");
  }
  // Scale to the planned distortion exactly.
  Tensor ms = reduce_all(L, BuiltinOperator_MEAN, L.square(L.mul(r, heat, "dist"), "dist_sq"), "dist_ms");
  Tensor alpha = L.sqrt(L.div(L.scalar(target_ms), L.add_scalar(ms, 1e-20f, "ms_eps"), "ms_ratio"), "alpha");
  Tensor residual = L.mul(r, alpha, "scaled");
  L.output(residual, "residual");
  return g.release();
}

double f_upper_tail(double f, double d1, double d2) {
  // P(F > f) = I_x(d2/2, d1/2), x = d2 / (d2 + d1 f): regularized incomplete
  // beta by its continued fraction (modified Lentz), symmetry for convergence.
  if (!(f > 0)) return 1.0;
  if (std::isinf(f)) return 0.0;
  const double x = d2 / (d2 + d1 * f), a = d2 / 2, b = d1 / 2;
  auto cf = [](double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (std::fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m < 10000; ++m) {
      double m2 = 2.0 * m;
      double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
      d = 1 + aa * d;
      if (std::fabs(d) < tiny) d = tiny;
      c = 1 + aa / c;
      if (std::fabs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
      aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
      d = 1 + aa * d;
      if (std::fabs(d) < tiny) d = tiny;
      c = 1 + aa / c;
      if (std::fabs(c) < tiny) c = tiny;
      d = 1 / d;
      double del = d * c;
      h *= del;
      if (std::fabs(del - 1) < 1e-15) break;
    }
    return h;
  };
  const double lbt = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(lbt) * cf(a, b, x) / a;
  return 1.0 - std::exp(lbt) * cf(b, a, 1 - x) / b;
}

double log_f_threshold(const SsParams& p) {
  // bisection on ln F for P(F >= F_crit) = p_detect
  double lo = 0, hi = 10;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    (f_upper_tail(std::exp(mid), p.nbits, p.nbits) > p.p_detect ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double p_value_from_logit(double logit0, double log_f_threshold, int nbits) {
  return f_upper_tail(std::exp(logit0 + log_f_threshold), nbits, nbits);
}

double p_value_from_logit(double logit0, const SsParams& p) {
  return p_value_from_logit(logit0, log_f_threshold(p), p.nbits);
}

}  // namespace sealite::ss
