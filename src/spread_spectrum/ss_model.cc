#include "spread_spectrum/ss_model.h"

#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "graph/graph.h"

namespace sealite::ss {
namespace {

using namespace sealite::tfl;

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

// nbits zero-mean orthonormal patterns on grid x grid (Gram-Schmidt against the
// constant vector and each other), row-major.
std::vector<std::vector<double>> patterns(const SsParams& p) {
  const int n = p.grid * p.grid;
  Rng rng{p.seed};
  std::vector<std::vector<double>> basis;
  basis.push_back(std::vector<double>(n, 1.0 / std::sqrt(double(n))));
  std::vector<std::vector<double>> out;
  for (int k = 0; k < p.nbits; ++k) {
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
    out.push_back(v);
  }
  return out;
}

// Bilinear x4 (align_corners=False, half-pixel centres) of a grid x grid map.
std::vector<double> upsample4(const std::vector<double>& g, int grid) {
  const int m = grid * 4;
  std::vector<double> out(static_cast<size_t>(m) * m);
  auto src = [&](int o) {
    double s = (o + 0.5) / 4.0 - 0.5;
    if (s < 0) s = 0;
    int i0 = static_cast<int>(std::floor(s));
    int i1 = std::min(i0 + 1, grid - 1);
    return std::tuple<int, int, double>(i0, i1, s - i0);
  };
  for (int y = 0; y < m; ++y) {
    auto [y0, y1, fy] = src(y);
    for (int x = 0; x < m; ++x) {
      auto [x0, x1, fx] = src(x);
      double a = g[y0 * grid + x0] + (g[y0 * grid + x1] - g[y0 * grid + x0]) * fx;
      double b = g[y1 * grid + x0] + (g[y1 * grid + x1] - g[y1 * grid + x0]) * fx;
      out[static_cast<size_t>(y) * m + x] = a + (b - a) * fy;
    }
  }
  return out;
}

constexpr float kHighPass[9] = {-1, -1, -1, -1, 8, -1, -1, -1, -1};

// The detector's feature chain on a 256x256 luminance map: 4x4 average pool,
// then the 3x3 high-pass (VALID) -> (grid-2)^2 values.
std::vector<double> features(const std::vector<double>& y256, int grid) {
  const int m = grid * 4;
  std::vector<double> pooled(static_cast<size_t>(grid) * grid, 0.0);
  for (int i = 0; i < grid; ++i)
    for (int j = 0; j < grid; ++j) {
      double s = 0;
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) s += y256[static_cast<size_t>(4 * i + a) * m + 4 * j + b];
      pooled[i * grid + j] = s / 16.0;
    }
  const int g2 = grid - 2;
  std::vector<double> f(static_cast<size_t>(g2) * g2);
  for (int i = 0; i < g2; ++i)
    for (int j = 0; j < g2; ++j) {
      double s = 0;
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) s += kHighPass[a * 3 + b] * pooled[(i + a) * grid + j + b];
      f[i * g2 + j] = s;
    }
  return f;
}

BuiltinOptionsUnion fc_options() {
  BuiltinOptionsUnion u;
  u.Set(FullyConnectedOptionsT{});
  return u;
}

int reshape(graph::Graph& g, int x, std::vector<int32_t> shape, const std::string& name) {
  int s = g.add_constant_i32(name + "/shape", {static_cast<int32_t>(shape.size())}, shape);
  int y = g.add_tensor(name, TensorType_FLOAT32, shape);
  ReshapeOptionsT o;
  o.new_shape = shape;
  BuiltinOptionsUnion u;
  u.Set(std::move(o));
  g.add_op(BuiltinOperator_RESHAPE, {x, s}, {y}, std::move(u));
  return y;
}

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

}  // namespace

std::unique_ptr<tfl::ModelT> build_embedder(const SsParams& p) {
  check(p.nbits > 0 && p.grid >= 8, "sealite-ss: bad parameters");
  auto pats = patterns(p);
  const int n = p.grid * p.grid;
  // r = A * sqrt(n/nbits) * sum_k (2 b_k - 1) P_k : per-cell RMS = A.
  const double scale = p.amplitude * std::sqrt(double(n) / p.nbits);
  std::vector<float> w(static_cast<size_t>(n) * p.nbits), bias(n, 0.f);
  for (int i = 0; i < n; ++i) {
    double b = 0;
    for (int k = 0; k < p.nbits; ++k) {
      w[static_cast<size_t>(i) * p.nbits + k] = static_cast<float>(2 * scale * pats[k][i]);
      b -= scale * pats[k][i];
    }
    bias[i] = static_cast<float>(b);
  }
  graph::Graph g;
  g.subgraph().name = "sealite_ss_embedder";
  int image = g.add_tensor("image", TensorType_FLOAT32, {1, 4 * p.grid, 4 * p.grid, 3});
  int msg = g.add_tensor("message", TensorType_FLOAT32, {1, p.nbits});
  g.subgraph().inputs = {image, msg};
  int wt = g.add_constant_f32("patterns", {n, p.nbits}, w);
  int bt = g.add_constant_f32("patterns_bias", {n}, bias);
  int flat = g.add_tensor("code", TensorType_FLOAT32, {1, n});
  g.add_op(BuiltinOperator_FULLY_CONNECTED, {msg, wt, bt}, {flat}, fc_options());
  int grid = reshape(g, flat, {1, p.grid, p.grid, 1}, "code_grid");
  int size = g.add_constant_i32("size", {2}, std::vector<int32_t>{4 * p.grid, 4 * p.grid});
  int res = g.add_tensor("residual", TensorType_FLOAT32, {1, 4 * p.grid, 4 * p.grid, 1});
  ResizeBilinearOptionsT ro;
  ro.half_pixel_centers = true;
  BuiltinOptionsUnion ru;
  ru.Set(std::move(ro));
  g.add_op(BuiltinOperator_RESIZE_BILINEAR, {grid, size}, {res}, std::move(ru), 3);
  g.subgraph().outputs = {res};
  return g.release();
}

std::unique_ptr<tfl::ModelT> build_detector(const SsParams& p) {
  auto pats = patterns(p);
  const int g2 = p.grid - 2, nf = g2 * g2;
  // Matched filters: the detector's own feature chain applied to each pattern.
  std::vector<float> w(static_cast<size_t>(p.nbits) * nf);
  for (int k = 0; k < p.nbits; ++k) {
    auto f = features(upsample4(pats[k], p.grid), p.grid);
    double norm = std::sqrt(std::inner_product(f.begin(), f.end(), f.begin(), 0.0));
    for (int i = 0; i < nf; ++i) w[static_cast<size_t>(k) * nf + i] = static_cast<float>(f[i] / norm);
  }
  graph::Graph g;
  g.subgraph().name = "sealite_ss_detector";
  const int m = 4 * p.grid;
  int image = g.add_tensor("image", TensorType_FLOAT32, {1, m, m, 3});
  g.subgraph().inputs = {image};
  // Y = 0.299 R + 0.587 G + 0.114 B, scaled to 0..255 so the statistics are in pixel units.
  std::vector<float> yw = {0.299f * 255, 0.587f * 255, 0.114f * 255};
  int ywt = g.add_constant_f32("luma_w", {1, 1, 1, 3}, yw);
  float zero = 0.f;
  int ybt = g.add_constant_f32("luma_b", {1}, std::span<const float>(&zero, 1));
  int y = g.add_tensor("luma", TensorType_FLOAT32, {1, m, m, 1});
  Conv2DOptionsT co;
  co.padding = Padding_VALID;
  co.stride_h = co.stride_w = 1;
  BuiltinOptionsUnion cu;
  cu.Set(co);
  g.add_op(BuiltinOperator_CONV_2D, {image, ywt, ybt}, {y}, std::move(cu));
  int pooled = g.add_tensor("pooled", TensorType_FLOAT32, {1, p.grid, p.grid, 1});
  Pool2DOptionsT po;
  po.padding = Padding_VALID;
  po.stride_h = po.stride_w = 4;
  po.filter_height = po.filter_width = 4;
  BuiltinOptionsUnion pu;
  pu.Set(std::move(po));
  g.add_op(BuiltinOperator_AVERAGE_POOL_2D, {y}, {pooled}, std::move(pu));
  int hpw = g.add_constant_f32("highpass_w", {1, 3, 3, 1}, std::vector<float>(kHighPass, kHighPass + 9));
  int hpb = g.add_constant_f32("highpass_b", {1}, std::span<const float>(&zero, 1));
  int f = g.add_tensor("whitened", TensorType_FLOAT32, {1, g2, g2, 1});
  BuiltinOptionsUnion cu2;
  cu2.Set(co);
  g.add_op(BuiltinOperator_CONV_2D, {pooled, hpw, hpb}, {f}, std::move(cu2));
  // rms(f) = sqrt(mean(f^2) + eps), as a [1,1,1,1] map
  int f2 = g.add_tensor("whitened_sq", TensorType_FLOAT32, {1, g2, g2, 1});
  g.add_op(BuiltinOperator_MUL, {f, f}, {f2});
  int axes = g.add_constant_i32("hw_axes", {2}, std::vector<int32_t>{1, 2});
  int ms = g.add_tensor("mean_sq", TensorType_FLOAT32, {1, 1, 1, 1});
  ReducerOptionsT rdo;
  rdo.keep_dims = true;
  BuiltinOptionsUnion ru;
  ru.Set(std::move(rdo));
  g.add_op(BuiltinOperator_MEAN, {f2, axes}, {ms}, std::move(ru));
  float eps = 1e-6f;
  int epst = g.add_constant_f32("eps", {1}, std::span<const float>(&eps, 1));
  int mse = g.add_tensor("mean_sq_eps", TensorType_FLOAT32, {1, 1, 1, 1});
  g.add_op(BuiltinOperator_ADD, {ms, epst}, {mse});
  int rms = g.add_tensor("rms", TensorType_FLOAT32, {1, 1, 1, 1});
  g.add_op(BuiltinOperator_SQRT, {mse}, {rms});
  int rms2 = reshape(g, rms, {1, 1}, "rms_2d");
  int flat = reshape(g, f, {1, nf}, "whitened_flat");
  int wt = g.add_constant_f32("matched_filters", {p.nbits, nf}, w);
  int corr = g.add_tensor("correlation", TensorType_FLOAT32, {1, p.nbits});
  g.add_op(BuiltinOperator_FULLY_CONNECTED, {flat, wt, -1}, {corr}, fc_options());
  int z = g.add_tensor("z", TensorType_FLOAT32, {1, p.nbits});
  g.add_op(BuiltinOperator_DIV, {corr, rms2}, {z});
  // detection score = (sum z^2 - T) / sqrt(2 nbits)
  int z2 = g.add_tensor("z_sq", TensorType_FLOAT32, {1, p.nbits});
  g.add_op(BuiltinOperator_MUL, {z, z}, {z2});
  const float inv = static_cast<float>(1.0 / std::sqrt(2.0 * p.nbits));
  std::vector<float> ones(p.nbits, inv);
  float tb = -p.threshold * inv;
  int ow = g.add_constant_f32("score_w", {1, p.nbits}, ones);
  int ob = g.add_constant_f32("score_b", {1}, std::span<const float>(&tb, 1));
  int score = g.add_tensor("score", TensorType_FLOAT32, {1, 1});
  g.add_op(BuiltinOperator_FULLY_CONNECTED, {z2, ow, ob}, {score}, fc_options());
  int logits = g.add_tensor("logits", TensorType_FLOAT32, {1, 1 + p.nbits});
  ConcatenationOptionsT cco;
  cco.axis = 1;
  BuiltinOptionsUnion ccu;
  ccu.Set(std::move(cco));
  g.add_op(BuiltinOperator_CONCATENATION, {score, z}, {logits}, std::move(ccu));
  g.subgraph().outputs = {logits};
  return g.release();
}

double chi_square_upper_tail(double x, int k) {
  // Q(k/2, x/2), regularized upper incomplete gamma: series for x < a+1, continued fraction otherwise.
  if (x <= 0) return 1.0;
  const double a = k / 2.0, t = x / 2.0;
  const double lg = std::lgamma(a);
  if (t < a + 1) {
    double sum = 1.0 / a, term = sum;
    for (int n = 1; n < 1000; ++n) {
      term *= t / (a + n);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
    }
    return std::max(0.0, 1.0 - sum * std::exp(-t + a * std::log(t) - lg));
  }
  double b = t + 1 - a, c = 1e300, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (std::fabs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < 1e-15) break;
  }
  return std::exp(-t + a * std::log(t) - lg) * h;
}

}  // namespace sealite::ss
