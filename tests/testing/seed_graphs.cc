#include "testing/seed_graphs.h"

#include <cmath>
#include <random>

namespace sealite::testing {
namespace {

using namespace sealite::tfl;

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

// Reflect-pad-1 indices for a length-n axis as a [n+2, 1] int32 tensor: either a
// constant buffer, or computed like ai-edge-torch does: i' = (n-1) - |(n-1) - |i||
// over i in [-1, n], in float (TFLite 2.9 has no int32 ABS) then CAST.
int reflect_indices(graph::Graph& g, int n, bool computed, const std::string& name) {
  std::vector<int32_t> idx(n + 2);
  for (int i = -1; i <= n; ++i) idx[i + 1] = (n - 1) - std::abs((n - 1) - std::abs(i));
  if (!computed) return g.add_constant_i32(name, {n + 2, 1}, idx);
  std::vector<float> base(n + 2);
  for (int i = -1; i <= n; ++i) base[i + 1] = static_cast<float>(i);
  int b = g.add_constant_f32(name + "/arange", {n + 2}, base);
  float nm1 = static_cast<float>(n - 1);
  int c = g.add_constant_f32(name + "/n_minus_1", {1}, std::span<const float>(&nm1, 1));
  auto unary = [&](BuiltinOperator op, int x, const std::string& nm) {
    int y = g.add_tensor(nm, TensorType_FLOAT32, {n + 2});
    g.add_op(op, {x}, {y});
    return y;
  };
  auto sub = [&](int a, int bb, const std::string& nm) {
    int y = g.add_tensor(nm, TensorType_FLOAT32, {n + 2});
    BuiltinOptionsUnion u;
    u.Set(SubOptionsT{});
    g.add_op(BuiltinOperator_SUB, {a, bb}, {y}, std::move(u));
    return y;
  };
  int a1 = unary(BuiltinOperator_ABS, b, name + "/abs1");
  int s1 = sub(c, a1, name + "/sub1");
  int a2 = unary(BuiltinOperator_ABS, s1, name + "/abs2");
  int s2 = sub(c, a2, name + "/sub2");
  int ci = g.add_tensor(name + "/int", TensorType_INT32, {n + 2});
  BuiltinOptionsUnion cu;
  CastOptionsT co;
  co.in_data_type = TensorType_FLOAT32;
  co.out_data_type = TensorType_INT32;
  cu.Set(std::move(co));
  g.add_op(BuiltinOperator_CAST, {s2}, {ci}, std::move(cu));
  int shp = g.add_constant_i32(name + "/shape", {2}, std::vector<int32_t>{n + 2, 1});
  int out = g.add_tensor(name + "/indices", TensorType_INT32, {n + 2, 1});
  ReshapeOptionsT ro;
  ro.new_shape = {n + 2, 1};
  BuiltinOptionsUnion ru;
  ru.Set(std::move(ro));
  g.add_op(BuiltinOperator_RESHAPE, {ci, shp}, {out}, std::move(ru));
  return out;
}

int gather_nd(graph::Graph& g, int params, int indices, std::vector<int32_t> out_shape, const std::string& name) {
  int y = g.add_tensor(name, TensorType_FLOAT32, std::move(out_shape));
  BuiltinOptionsUnion u;
  u.Set(GatherNdOptionsT{});
  g.add_op(BuiltinOperator_GATHER_ND, {params, indices}, {y}, std::move(u));
  return y;
}

// Reflection pad 1 of an NHWC [1,H,W,C] tensor the way ai-edge-torch emits it:
// RESHAPE [H,W,C] -> GATHER_ND (reflect pad on axis 0) -> TRANSPOSE [1,0,2] ->
// GATHER_ND (reflect pad on the new axis 0 = W) -> GATHER_ND (permutation, undoes
// the transpose) -> RESHAPE [1,H+2,W+2,C]. Returns the padded tensor.
int reflect_pad_as_gathers(graph::Graph& g, int x, int H2, int W2, int C, bool computed, const std::string& p) {
  int r3 = reshape(g, x, {H2, W2, C}, p + "/reshape_hwc");
  int ih = reflect_indices(g, H2, computed, p + "/pad_h");
  int ph = gather_nd(g, r3, ih, {H2 + 2, W2, C}, p + "/gather_pad_h");
  int perm = g.add_constant_i32(p + "/perm", {3}, std::vector<int32_t>{1, 0, 2});
  int tr = g.add_tensor(p + "/transpose", TensorType_FLOAT32, {W2, H2 + 2, C});
  BuiltinOptionsUnion tu;
  tu.Set(TransposeOptionsT{});
  g.add_op(BuiltinOperator_TRANSPOSE, {ph, perm}, {tr}, std::move(tu));
  int iw = reflect_indices(g, W2, computed, p + "/pad_w");
  int pw = gather_nd(g, tr, iw, {W2 + 2, H2 + 2, C}, p + "/gather_pad_w");
  // Permutation gather that undoes the transpose: out[i][j] = in[j][i].
  std::vector<int32_t> pidx;
  for (int i = 0; i < H2 + 2; ++i)
    for (int j = 0; j < W2 + 2; ++j) { pidx.push_back(j); pidx.push_back(i); }
  int pi = g.add_constant_i32(p + "/perm_indices", {H2 + 2, W2 + 2, 2}, pidx);
  int back = gather_nd(g, pw, pi, {H2 + 2, W2 + 2, C}, p + "/gather_transpose");
  return reshape(g, back, {1, H2 + 2, W2 + 2, C}, p + "/reshape_nhwc");
}

// CONV_2D 3x3 VALID, stride 1, NHWC, weights OHWI.
int conv3x3(graph::Graph& g, int x, int H, int W, int cin, int cout, const std::vector<float>& w,
            const std::vector<float>& bias, const std::string& p) {
  int wt = g.add_constant_f32(p + "/conv/w", {cout, 3, 3, cin}, w);
  int bt = g.add_constant_f32(p + "/conv/b", {cout}, bias);
  int y = g.add_tensor(p + "/conv", TensorType_FLOAT32, {1, H, W, cout});
  Conv2DOptionsT co;
  co.padding = Padding_VALID;
  co.stride_w = co.stride_h = 1;
  BuiltinOptionsUnion cu;
  cu.Set(std::move(co));
  g.add_op(BuiltinOperator_CONV_2D, {x, wt, bt}, {y}, std::move(cu));
  return y;
}

// The upsample blocks of `spec` on x; returns the last block's output (H, W updated).
int append_upsample_blocks(SeedGraph& sg, int x, const SeedGraphSpec& spec, int& H, int& W) {
  graph::Graph& g = sg.graph;
  std::mt19937 rng(spec.seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  const int C = spec.channels;
  for (int b = 0; b < spec.blocks; ++b) {
    const std::string p = "block" + std::to_string(b);
    bool computed = b < static_cast<int>(spec.computed_indices.size()) && spec.computed_indices[b];
    int H2 = 2 * H, W2 = 2 * W;
    // RESIZE_BILINEAR x2, align_corners=False (half-pixel centres): op version 3.
    int size = g.add_constant_i32(p + "/size", {2}, std::vector<int32_t>{H2, W2});
    int up = g.add_tensor(p + "/resize", TensorType_FLOAT32, {1, H2, W2, C});
    ResizeBilinearOptionsT ro;
    ro.half_pixel_centers = true;
    BuiltinOptionsUnion ru;
    ru.Set(std::move(ro));
    g.add_op(BuiltinOperator_RESIZE_BILINEAR, {x, size}, {up}, std::move(ru), 3);
    int r4 = reflect_pad_as_gathers(g, up, H2, W2, C, computed, p);
    std::vector<float> w(C * 3 * 3 * C), bias(C);
    for (auto& v : w) v = dist(rng);
    for (auto& v : bias) v = dist(rng);
    int y = conv3x3(g, r4, H2, W2, C, C, w, bias, p);
    sg.conv_w.push_back(w);
    sg.conv_b.push_back(bias);
    x = y;
    H = H2;
    W = W2;
  }
  return x;
}

}  // namespace

SeedGraph build_seed_upsample_graph(const SeedGraphSpec& spec) {
  SeedGraph sg;
  graph::Graph& g = sg.graph;
  int H = spec.height, W = spec.width, C = spec.channels;
  int x = g.add_tensor("image", TensorType_FLOAT32, {1, H, W, C});
  g.subgraph().inputs.push_back(x);
  x = append_upsample_blocks(sg, x, spec, H, W);
  g.tensor(x).name = "out";
  g.subgraph().outputs.push_back(x);
  sg.out_shape = {1, H, W, C};
  return sg;
}

std::vector<float> seed_reference(const SeedGraph& sgr, const SeedGraphSpec& spec, const std::vector<float>& input) {
  int H = spec.height, W = spec.width, C = spec.channels;
  std::vector<float> x = input;
  for (int b = 0; b < spec.blocks; ++b) {
    int H2 = 2 * H, W2 = 2 * W;
    // bilinear x2, align_corners=False
    std::vector<float> up(static_cast<size_t>(H2) * W2 * C);
    auto src = [](int o, int in) {
      float s = (o + 0.5f) * 0.5f - 0.5f;
      if (s < 0) s = 0;
      int i0 = static_cast<int>(std::floor(s));
      int i1 = std::min(i0 + 1, in - 1);
      return std::tuple<int, int, float>(i0, i1, s - i0);
    };
    for (int i = 0; i < H2; ++i) {
      auto [y0, y1, fy] = src(i, H);
      for (int j = 0; j < W2; ++j) {
        auto [x0, x1, fx] = src(j, W);
        for (int c = 0; c < C; ++c) {
          auto at = [&](int yy, int xx) { return x[(static_cast<size_t>(yy) * W + xx) * C + c]; };
          float top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
          float bot = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
          up[(static_cast<size_t>(i) * W2 + j) * C + c] = top + (bot - top) * fy;
        }
      }
    }
    auto refl = [](int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); };
    std::vector<float> y(static_cast<size_t>(H2) * W2 * C);
    const auto& w = sgr.conv_w[b];
    const auto& bias = sgr.conv_b[b];
    for (int i = 0; i < H2; ++i)
      for (int j = 0; j < W2; ++j)
        for (int o = 0; o < C; ++o) {
          double acc = bias[o];
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              int yy = refl(i + ky - 1, H2), xx = refl(j + kx - 1, W2);
              for (int c = 0; c < C; ++c)
                acc += static_cast<double>(w[((o * 3 + ky) * 3 + kx) * C + c]) *
                       up[(static_cast<size_t>(yy) * W2 + xx) * C + c];
            }
          y[(static_cast<size_t>(i) * W2 + j) * C + o] = static_cast<float>(acc);
        }
    x = std::move(y);
    H = H2;
    W = W2;
  }
  return x;
}

namespace {

int op1(graph::Graph& g, BuiltinOperator code, std::vector<int32_t> in, std::vector<int32_t> shape,
        const std::string& name, BuiltinOptionsUnion opt = {}) {
  int y = g.add_tensor(name, TensorType_FLOAT32, std::move(shape));
  g.add_op(code, std::move(in), {y}, std::move(opt));
  return y;
}

BuiltinOptionsUnion reducer(bool keep) {
  ReducerOptionsT r;
  r.keep_dims = keep;
  BuiltinOptionsUnion u;
  u.Set(std::move(r));
  return u;
}

template <typename T>
BuiltinOptionsUnion opts(T t) {
  BuiltinOptionsUnion u;
  u.Set(std::move(t));
  return u;
}

}  // namespace

SeedTailGraph build_seed_graph_with_detector_tail(const SeedGraphSpec& spec, const DetectorTailSpec& ts) {
  SeedTailGraph st;
  graph::Graph& g = st.seed.graph;
  int H = spec.height, W = spec.width, C = spec.channels;
  int x = g.add_tensor("image", TensorType_FLOAT32, {1, H, W, C});
  g.subgraph().inputs.push_back(x);
  x = append_upsample_blocks(st.seed, x, spec, H, W);
  st.seed.out_shape = {1, H, W, C};
  std::mt19937 rng(ts.seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  const int K = ts.conv_channels;
  const std::string p = "tail";
  int padded = reflect_pad_as_gathers(g, x, H, W, C, ts.computed_indices, p);
  st.conv_w.resize(static_cast<size_t>(K) * 9 * C);
  st.conv_b.resize(K);
  for (auto& v : st.conv_w) v = dist(rng);
  for (auto& v : st.conv_b) v = dist(rng);
  int y = conv3x3(g, padded, H, W, C, K, st.conv_w, st.conv_b, p);
  // to NCHW, as PyTorch sees it
  int perm = g.add_constant_i32(p + "/to_nchw/perm", {4}, std::vector<int32_t>{0, 3, 1, 2});
  int t = op1(g, BuiltinOperator_TRANSPOSE, {y, perm}, {1, K, H, W}, p + "/to_nchw", opts(TransposeOptionsT{}));
  // LayerNorm(channels_first): u = mean_c(x); s = mean_c((x-u)^2); (x-u)/sqrt(s+eps) * w + b
  int ax1 = g.add_constant_i32(p + "/ln/axis", {1}, std::vector<int32_t>{1});
  int u = op1(g, BuiltinOperator_MEAN, {t, ax1}, {1, 1, H, W}, p + "/ln/mean", reducer(true));
  int d = op1(g, BuiltinOperator_SUB, {t, u}, {1, K, H, W}, p + "/ln/centered", opts(SubOptionsT{}));
  int d2 = op1(g, BuiltinOperator_MUL, {d, d}, {1, K, H, W}, p + "/ln/square", opts(MulOptionsT{}));
  int v = op1(g, BuiltinOperator_MEAN, {d2, ax1}, {1, 1, H, W}, p + "/ln/var", reducer(true));
  int eps = g.add_constant_f32(p + "/ln/eps", {1}, std::vector<float>{ts.eps});
  int ve = op1(g, BuiltinOperator_ADD, {v, eps}, {1, 1, H, W}, p + "/ln/var_eps", opts(AddOptionsT{}));
  int sd = op1(g, BuiltinOperator_SQRT, {ve}, {1, 1, H, W}, p + "/ln/std");
  int n = op1(g, BuiltinOperator_DIV, {d, sd}, {1, K, H, W}, p + "/ln/normalized", opts(DivOptionsT{}));
  st.ln_w.resize(K);
  st.ln_b.resize(K);
  for (auto& q : st.ln_w) q = 1.0f + dist(rng);
  for (auto& q : st.ln_b) q = dist(rng);
  int lw = g.add_constant_f32(p + "/ln/weight", {K, 1, 1}, st.ln_w);
  int lb = g.add_constant_f32(p + "/ln/bias", {K, 1, 1}, st.ln_b);
  int sc = op1(g, BuiltinOperator_MUL, {n, lw}, {1, K, H, W}, p + "/ln/scaled", opts(MulOptionsT{}));
  int ln = op1(g, BuiltinOperator_ADD, {sc, lb}, {1, K, H, W}, p + "/ln/out", opts(AddOptionsT{}));
  GeluOptionsT go;
  go.approximate = false;
  int ge = op1(g, BuiltinOperator_GELU, {ln}, {1, K, H, W}, p + "/gelu", opts(std::move(go)));
  int ax23 = g.add_constant_i32(p + "/pool/axes", {2}, std::vector<int32_t>{2, 3});
  int pooled = op1(g, BuiltinOperator_MEAN, {ge, ax23}, {1, K}, p + "/pool", reducer(false));
  st.fc_w.resize(static_cast<size_t>(ts.classes) * K);
  st.fc_b.resize(ts.classes);
  for (auto& q : st.fc_w) q = dist(rng);
  for (auto& q : st.fc_b) q = dist(rng);
  int fw = g.add_constant_f32(p + "/fc/w", {ts.classes, K}, st.fc_w);
  int fb = g.add_constant_f32(p + "/fc/b", {ts.classes}, st.fc_b);
  int logits = op1(g, BuiltinOperator_FULLY_CONNECTED, {pooled, fw, fb}, {1, ts.classes}, "logits",
                   opts(FullyConnectedOptionsT{}));
  g.subgraph().outputs.push_back(logits);
  st.out_shape = {1, ts.classes};
  return st;
}

std::vector<float> seed_tail_reference(const SeedTailGraph& st, const SeedGraphSpec& spec, const DetectorTailSpec& ts,
                                       const std::vector<float>& input) {
  std::vector<float> x = seed_reference(st.seed, spec, input);
  const int H = st.seed.out_shape[1], W = st.seed.out_shape[2], C = st.seed.out_shape[3], K = ts.conv_channels;
  auto refl = [](int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); };
  std::vector<double> y(static_cast<size_t>(H) * W * K);  // NHWC
  for (int i = 0; i < H; ++i)
    for (int j = 0; j < W; ++j)
      for (int o = 0; o < K; ++o) {
        double acc = st.conv_b[o];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            int yy = refl(i + ky - 1, H), xx = refl(j + kx - 1, W);
            for (int c = 0; c < C; ++c)
              acc += static_cast<double>(st.conv_w[((o * 3 + ky) * 3 + kx) * C + c]) *
                     x[(static_cast<size_t>(yy) * W + xx) * C + c];
          }
        y[(static_cast<size_t>(i) * W + j) * K + o] = acc;
      }
  std::vector<double> pooled(K, 0.0);
  for (int i = 0; i < H * W; ++i) {
    const double* px = &y[static_cast<size_t>(i) * K];
    double mean = 0, var = 0;
    for (int c = 0; c < K; ++c) mean += px[c];
    mean /= K;
    for (int c = 0; c < K; ++c) var += (px[c] - mean) * (px[c] - mean);
    var /= K;
    double sd = std::sqrt(var + ts.eps);
    for (int c = 0; c < K; ++c) {
      double z = (px[c] - mean) / sd * st.ln_w[c] + st.ln_b[c];
      pooled[c] += 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0)));
    }
  }
  std::vector<float> out(ts.classes);
  for (int k = 0; k < ts.classes; ++k) {
    double acc = st.fc_b[k];
    for (int c = 0; c < K; ++c) acc += st.fc_w[static_cast<size_t>(k) * K + c] * (pooled[c] / (H * W));
    out[k] = static_cast<float>(acc);
  }
  return out;
}

}  // namespace sealite::testing
