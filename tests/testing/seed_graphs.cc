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

}  // namespace

SeedGraph build_seed_upsample_graph(const SeedGraphSpec& spec) {
  SeedGraph sg;
  graph::Graph& g = sg.graph;
  std::mt19937 rng(spec.seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  int H = spec.height, W = spec.width, C = spec.channels;
  int x = g.add_tensor("image", TensorType_FLOAT32, {1, H, W, C});
  g.subgraph().inputs.push_back(x);
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
    int r3 = reshape(g, up, {H2, W2, C}, p + "/reshape_hwc");
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
    int r4 = reshape(g, back, {1, H2 + 2, W2 + 2, C}, p + "/reshape_nhwc");
    std::vector<float> w(C * 3 * 3 * C), bias(C);
    for (auto& v : w) v = dist(rng);
    for (auto& v : bias) v = dist(rng);
    int wt = g.add_constant_f32(p + "/conv/w", {C, 3, 3, C}, w);
    int bt = g.add_constant_f32(p + "/conv/b", {C}, bias);
    int y = g.add_tensor(p + "/conv", TensorType_FLOAT32, {1, H2, W2, C});
    Conv2DOptionsT co;
    co.padding = Padding_VALID;
    co.stride_w = co.stride_h = 1;
    BuiltinOptionsUnion cu;
    cu.Set(std::move(co));
    g.add_op(BuiltinOperator_CONV_2D, {r4, wt, bt}, {y}, std::move(cu));
    sg.conv_w.push_back(w);
    sg.conv_b.push_back(bias);
    x = y;
    H = H2;
    W = W2;
  }
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

}  // namespace sealite::testing
