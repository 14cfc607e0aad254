// The VideoSeal 0.0 ViT detector (videoseal/detector_vit.*) against the vs00
// fixture (PyTorch forward-hook dumps, copied to tests/data/videoseal/vs00 from
// ../shared/fixtures/videoseal/vs00), block by block and end to end, run in
// TensorFlow Lite with and without XNNPACK. Also the full-size videoseal_0.0
// card with deterministic random weights (loads and runs; graph rules).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "analysis/report.h"
#include "checkpoint/checkpoint.h"
#include "core/error.h"
#include "core/npy.h"
#include "graph/graph.h"
#include "runtime/interpreter.h"
#include "testing/test_paths.h"
#include "tflite/model_io.h"
#include "videoseal/card.h"
#include "videoseal/detector_vit.h"
#include "videoseal/layers.h"

namespace sealite::vs {
namespace {

namespace fs = std::filesystem;
using Shape = std::vector<int32_t>;

// The bar: max(1e-5, 10 x the fixture's float64 deviation of det_out, 8.7e-8).
constexpr double kLogitTol = 1e-5;

fs::path fixture_dir() { return sealite::testing::data_dir() / "videoseal" / "vs00"; }

const ckpt::Checkpoint& checkpoint() {
  static ckpt::Checkpoint ck = ckpt::Checkpoint::open(fixture_dir() / "checkpoint.pth");
  return ck;
}

const Card& card() {
  static Card c = load_card_yaml(fixture_dir() / "card.yaml");
  return c;
}

NpyArray dump(const std::string& name) { return npy_load(fixture_dir() / "intermediate" / ("det__" + name + ".npy")); }

// NCHW -> NHWC (values of an [N,C,H,W] array).
std::vector<float> nchw_to_nhwc(const NpyArray& a) {
  auto v = a.as_float();
  const int64_t N = a.shape[0], C = a.shape[1], H = a.shape[2], W = a.shape[3];
  std::vector<float> o(v.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
          o[((n * H + y) * W + x) * C + c] = v[((n * C + c) * H + y) * W + x];
  return o;
}

struct Built {
  std::vector<uint8_t> bytes;
  Shape out_shape;
  int ops = 0;
};

// A model with one input `x` of `in_shape`, the part built by `f`, output `y`.
Built build(const Shape& in_shape, const std::function<int(Layers&, int)>& f, Lowering low = {}) {
  graph::Graph g;
  Layers L(g, low);
  int x = L.input("image", in_shape);
  int y = f(L, x);
  L.output(y, "y");
  Built b;
  b.out_shape = g.tensor(y).shape;
  graph::compact(g.model());
  b.ops = g.num_ops();
  b.bytes = tfl::write_model(g.model());
  return b;
}

std::vector<float> run(const std::vector<uint8_t>& bytes, const std::vector<float>& input, bool xnnpack, int threads = 2) {
  rt::Options o;
  o.threads = threads;
  o.xnnpack = xnnpack;
  rt::Interpreter it(bytes, o);
  it.set_input(0, input);
  it.invoke();
  return it.output_float(0);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= m)) m = d;  // NaN propagates as a failure
  }
  return m;
}

// Runs a part with and without XNNPACK and compares with `ref`.
void expect_part(const char* what, const Shape& in_shape, const std::vector<float>& input,
                 const std::function<int(Layers&, int)>& f, const Shape& ref_shape, const std::vector<float>& ref,
                 double tol) {
  Built b = build(in_shape, f);
  ASSERT_EQ(b.out_shape, ref_shape) << what;
  for (bool xnn : {false, true}) {
    auto y = run(b.bytes, input, xnn);
    double d = max_abs_diff(y, ref);
    EXPECT_LE(d, tol) << what << (xnn ? " (XNNPACK)" : " (built-in kernels)");
    std::printf("  %-28s %-9s max|diff| %.3g\n", what, xnn ? "XNNPACK" : "built-in", d);
  }
}

TEST(VitDetector, CardIsTheFixtureCard) {
  const Card& c = card();
  EXPECT_TRUE(c.detector_is_vit());
  EXPECT_EQ(c.vit.embed_dim, 32);
  EXPECT_EQ(c.vit.depth, 4);
  EXPECT_EQ(c.vit.num_heads, 2);
  EXPECT_EQ(c.vit.global_attn_indexes, (std::vector<int>{1, 3}));
  EXPECT_EQ(c.nbits, 16);
}

TEST(VitDetector, PatchEmbed) {
  auto img = nchw_to_nhwc(npy_load(fixture_dir() / "in_img256.npy"));
  auto ref = dump("image_encoder.patch_embed");
  expect_part("patch_embed", {1, 256, 256, 3}, img,
              [](Layers& L, int x) { return vit_parts::patch_embed(L, checkpoint(), "detector.", card(), x); },
              {1, 16, 16, 32}, ref.as_float(), 1e-5);
}

TEST(VitDetector, PosEmbed) {
  auto in = dump("image_encoder.patch_embed");
  auto ref = dump("image_encoder.blocks.0.input");
  expect_part("pos_embed", {1, 16, 16, 32}, in.as_float(),
              [](Layers& L, int x) { return vit_parts::add_pos_embed(L, checkpoint(), "detector.", card(), x); },
              {1, 16, 16, 32}, ref.as_float(), 1e-6);
}

// Attention alone: windowed block 0 (output per window [4,8,8,32]) and global block 1.
TEST(VitDetector, Attention) {
  for (int b : {0, 1}) {
    auto in = dump("image_encoder.blocks." + std::to_string(b) + ".norm1");
    auto ref = dump("image_encoder.blocks." + std::to_string(b) + ".attn");
    Shape rs(ref.shape.begin(), ref.shape.end());
    for (auto variant : {0, 1, 2, 3}) {
      VitOptions o;
      if (variant == 3) o.scores = o.scores == VitOptions::Scores::q_rows ? VitOptions::Scores::q_grid_broadcast_k
                                                                          : VitOptions::Scores::q_rows;
      if (variant == 1) o.rel_w = o.rel_w == VitOptions::RelW::bmm_transposed ? VitOptions::RelW::fc_block_diagonal
                                                                              : VitOptions::RelW::bmm_transposed;
      if (variant == 2) o.attn_matmul = VitOptions::AttnMatmul::fully_connected;
      std::string what = "blocks." + std::to_string(b) + ".attn v" + std::to_string(variant);
      expect_part(what.c_str(), {1, 16, 16, 32}, in.as_float(),
                  [&](Layers& L, int x) { return vit_parts::attention(L, checkpoint(), "detector.", card(), b, x, o); },
                  rs, ref.as_float(), 1e-5);
    }
  }
}

// Each block fed with the previous block's dump.
TEST(VitDetector, Blocks) {
  for (int b = 0; b < 4; ++b) {
    auto in = b == 0 ? dump("image_encoder.blocks.0.input") : dump("image_encoder.blocks." + std::to_string(b - 1));
    auto ref = dump("image_encoder.blocks." + std::to_string(b));
    std::string what = "blocks." + std::to_string(b);
    expect_part(what.c_str(), {1, 16, 16, 32}, in.as_float(),
                [&](Layers& L, int x) { return vit_parts::block(L, checkpoint(), "detector.", card(), b, x); },
                {1, 16, 16, 32}, ref.as_float(), 1e-5);
  }
}

TEST(VitDetector, Neck) {
  auto in = dump("image_encoder.blocks.3");
  auto ref = nchw_to_nhwc(dump("image_encoder.neck.3"));
  expect_part("neck", {1, 16, 16, 32}, in.as_float(),
              [](Layers& L, int x) { return vit_parts::neck(L, checkpoint(), "detector.", card(), x); },
              {1, 16, 16, 32}, ref, 1e-5);
}

TEST(VitDetector, PixelDecoder) {
  auto in = nchw_to_nhwc(dump("image_encoder.neck.3"));
  auto up = nchw_to_nhwc(dump("pixel_decoder.output_upscaling"));
  expect_part("pixel_decoder.upscaling", {1, 16, 16, 32}, in,
              [](Layers& L, int x) { return vit_parts::pixel_upscaling(L, checkpoint(), "detector.", card(), x); },
              {1, 16, 16, 32}, up, 1e-5);
  auto logits = dump("pixel_decoder.linear");
  expect_part("pixel_decoder.head", {1, 16, 16, 32}, up,
              [](Layers& L, int x) { return vit_parts::pixel_head(L, checkpoint(), "detector.", card(), x); },
              {1, 17}, logits.as_float(), 1e-6);
}

// Graph rules of the issue: no GATHER_ND, ranks <= 5, TRANSPOSE only in attention
// and <= 5-D, every op at a version TFLite 2.9 has.
// `keys`: the allowed key counts of a softmax (window and grid token counts).
void expect_graph_rules(const std::vector<uint8_t>& bytes, std::vector<int> keys = {64, 256}) {
  auto m = tfl::read_model(bytes.data(), bytes.size());
  graph::Graph g(std::move(m));
  int transposes = 0;
  for (int t = 0; t < g.num_tensors(); ++t) EXPECT_LE(g.tensor(t).shape.size(), 5u) << g.tensor(t).name;
  for (int o = 0; o < g.num_ops(); ++o) {
    auto code = g.op_code(o);
    EXPECT_NE(code, tfl::BuiltinOperator_GATHER_ND);
    EXPECT_NE(code, tfl::BuiltinOperator_GATHER);
    EXPECT_LE(static_cast<int>(code), 151) << g.op_name(o);
    if (code == tfl::BuiltinOperator_TRANSPOSE) {
      ++transposes;
      const auto& name = g.tensor(g.op(o).outputs[0]).name;
      EXPECT_TRUE(name.find("/attn/") != std::string::npos || name.find("win_") != std::string::npos) << name;
      EXPECT_LE(g.tensor(g.op(o).inputs[0]).shape.size(), 5u);
      EXPECT_EQ(g.op_version(o), g.tensor(g.op(o).inputs[0]).shape.size() > 4 ? 4 : 1);
    }
    if (code == tfl::BuiltinOperator_BATCH_MATMUL) {
      for (int i : g.op(o).inputs) EXPECT_LE(g.tensor(i).shape.size(), 4u);  // 2.9's BATCH_MATMUL limit
    }
    if (code == tfl::BuiltinOperator_SOFTMAX) {
      // over the keys of a window (8x8 tokens) or of the whole grid (16x16): the last axis
      auto s = g.tensor(g.op(o).inputs[0]).shape;
      EXPECT_NE(std::find(keys.begin(), keys.end(), s.back()), keys.end()) << "softmax over " << s.back();
    }
  }
  EXPECT_GT(transposes, 0);
}

TEST(VitDetector, EndToEnd) {
  auto img = nchw_to_nhwc(npy_load(fixture_dir() / "in_img256.npy"));
  auto ref = npy_load(fixture_dir() / "det_out.npy").as_float();
  graph::Graph g;
  int x = g.add_tensor("image", tfl::TensorType_FLOAT32, {1, 256, 256, 3});
  int y = build_vit_detector(g, checkpoint(), "detector.", card(), x);
  g.subgraph().inputs = {x};
  g.subgraph().outputs = {y};
  g.tensor(y).name = "logits";
  ASSERT_EQ(g.tensor(y).shape, (Shape{1, 17}));
  graph::compact(g.model());
  auto bytes = tfl::write_model(g.model());
  expect_graph_rules(bytes);
  for (bool xnn : {false, true}) {
    for (int threads : {1, 2}) {
      auto out = run(bytes, img, xnn, threads);
      double d = max_abs_diff(out, ref);
      EXPECT_LE(d, kLogitTol) << (xnn ? "XNNPACK" : "built-in");
      int bits = 0;
      for (size_t i = 0; i < ref.size(); ++i) bits += (out[i] > 0) != (ref[i] > 0);
      EXPECT_EQ(bits, 0);
      std::printf("  det_out %-9s %d thread(s): max|diff| %.3g, bit decisions differing: %d\n",
                  xnn ? "XNNPACK" : "built-in", threads, d, bits);
    }
  }
  auto d = analysis::delegation_report(bytes, 2);
  std::printf("  vs00 detector: %d ops, XNNPACK partitions %d, built-in nodes %d %s\n", g.num_ops(),
              d["partitions"].get<int>(), d["builtin_nodes"].get<int>(), d["builtin_ops"].dump().c_str());
  EXPECT_TRUE(d["xnnpack_applied"].get<bool>());
}

// Both attention lowerings and both rel_w lowerings agree with det_out.
TEST(VitDetector, EndToEndLoweringVariants) {
  auto img = nchw_to_nhwc(npy_load(fixture_dir() / "in_img256.npy"));
  auto ref = npy_load(fixture_dir() / "det_out.npy").as_float();
  for (int v = 0; v < 4; ++v) {
    VitOptions o;
    Lowering low;
    if (v == 0) o.attn_matmul = VitOptions::AttnMatmul::fully_connected;
    if (v == 1) o.rel_w = o.rel_w == VitOptions::RelW::bmm_transposed ? VitOptions::RelW::fc_block_diagonal
                                                                       : VitOptions::RelW::bmm_transposed;
    if (v == 2) low.gelu = low.gelu == Lowering::Gelu::builtin ? Lowering::Gelu::erf_rational : Lowering::Gelu::builtin;
    if (v == 3) o.scores = o.scores == VitOptions::Scores::q_rows ? VitOptions::Scores::q_grid_broadcast_k
                                                                  : VitOptions::Scores::q_rows;
    Built b = build(
        {1, 256, 256, 3},
        [&](Layers& L, int x) { return build_vit_detector(L, checkpoint(), "detector.", card(), x, o); }, low);
    expect_graph_rules(b.bytes);
    for (bool xnn : {false, true}) {
      auto out = run(b.bytes, img, xnn);
      EXPECT_LE(max_abs_diff(out, ref), kLogitTol) << "variant " << v << (xnn ? " XNNPACK" : "");
      for (size_t i = 0; i < ref.size(); ++i) EXPECT_EQ(out[i] > 0, ref[i] > 0);
    }
  }
}

TEST(VitDetector, ParamShapesMatchTheCheckpoint) {
  auto shapes = vit_detector_param_shapes(card(), "detector.");
  size_t n_det = 0;
  for (const auto& k : checkpoint().keys()) n_det += k.rfind("detector.", 0) == 0;
  EXPECT_EQ(shapes.size(), n_det);
  for (const auto& [k, s] : shapes) {
    ASSERT_TRUE(checkpoint().has(k)) << k;
    EXPECT_EQ(checkpoint().at(k).shape, s) << k;
  }
}

TEST(VitDetector, ClearErrors) {
  graph::Graph g;
  int x = g.add_tensor("image", tfl::TensorType_FLOAT32, {1, 256, 256, 3});
  // wrong prefix: missing key named
  try {
    build_vit_detector(g, checkpoint(), "embedder.", card(), x);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("embedder.image_encoder."), std::string::npos) << e.what();
  }
  // a card that does not fit the checkpoint: key and both shapes named
  Card c = card();
  c.vit.embed_dim = 64;
  c.pixel_decoder.embed_dim = c.vit.out_chans;
  graph::Graph g2;
  int x2 = g2.add_tensor("image", tfl::TensorType_FLOAT32, {1, 256, 256, 3});
  try {
    build_vit_detector(g2, checkpoint(), "detector", c, x2);
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("detector.image_encoder."), std::string::npos) << m;
    EXPECT_NE(m.find("32"), std::string::npos) << m;
    EXPECT_NE(m.find("64"), std::string::npos) << m;
  }
  // unsupported geometry
  Card c3 = card();
  c3.vit.num_heads = 3;  // 32 channels do not split into 3 heads
  graph::Graph g3;
  int x3 = g3.add_tensor("image", tfl::TensorType_FLOAT32, {1, 256, 256, 3});
  EXPECT_THROW(build_vit_detector(g3, checkpoint(), "detector.", c3, x3), Error);
}

// ---- full size, random weights

std::vector<uint8_t> random_safetensors(const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes,
                                        uint64_t seed) {
  Rng rng(seed);
  nlohmann::ordered_json h;
  std::vector<uint8_t> data;
  for (const auto& [k, s] : shapes) {
    int64_t n = 1;
    for (auto d : s) n *= d;
    const int64_t fan_in = s.size() >= 2 ? n / s[0] : 1;
    const bool norm_weight = s.size() == 1 && k.ends_with(".weight");  // LayerNorm gammas
    std::vector<float> v(n);
    for (auto& x : v) {
      float r = rng.normal();
      x = s.size() == 1 ? (norm_weight ? 1.f + 0.1f * r : 0.02f * r) : r / std::sqrt(static_cast<float>(fan_in));
    }
    size_t off = data.size();
    data.resize(off + v.size() * 4);
    std::memcpy(data.data() + off, v.data(), v.size() * 4);
    h[k] = {{"dtype", "F32"}, {"shape", s}, {"data_offsets", {off, data.size()}}};
  }
  std::string hs = h.dump();
  std::vector<uint8_t> out(8);
  uint64_t len = hs.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(len >> (8 * i));
  out.insert(out.end(), hs.begin(), hs.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Built full_size_model(Lowering low = {}, VitOptions opt = {}) {
  static const Card c = load_card("videoseal_0.0");
  static const ckpt::Checkpoint ck =
      ckpt::Checkpoint::from_memory(random_safetensors(vit_detector_param_shapes(c, "detector."), 7), "random");
  return build(
      {1, 256, 256, 3}, [&](Layers& L, int x) { return build_vit_detector(L, ck, "detector.", c, x, opt); }, low);
}

TEST(VitDetector, FullSizeRandomLoadsAndRuns) {
  const Card c = load_card("videoseal_0.0");
  EXPECT_EQ(c.vit.embed_dim, 384);
  EXPECT_EQ(c.vit.out_chans, 384);
  EXPECT_EQ(c.vit.global_attn_indexes, (std::vector<int>{2, 5, 8, 11}));
  Built b = full_size_model();
  EXPECT_EQ(b.out_shape, (Shape{1, 97}));
  expect_graph_rules(b.bytes);
  std::vector<float> img(256 * 256 * 3);
  Rng r(3);
  for (auto& v : img) v = static_cast<float>(r.uniform());
  auto a = run(b.bytes, img, true);
  auto bb = run(b.bytes, img, false);
  ASSERT_EQ(a.size(), 97u);
  for (float v : a) EXPECT_TRUE(std::isfinite(v));
  EXPECT_LE(max_abs_diff(a, bb), 1e-4);
  auto d = analysis::delegation_report(b.bytes, 2);
  std::printf("  full-size 0.0 detector: %d ops, %.1f MB, XNNPACK partitions %d, delegated %d, built-in %d %s\n",
              b.ops, b.bytes.size() / 1e6, d["partitions"].get<int>(), d["delegated_nodes"].get<int>(),
              d["builtin_nodes"].get<int>(), d["builtin_ops"].dump().c_str());
}

// ---- other geometries against a plain float64 reference of the PyTorch module
// (heads 1 and 3, head_dim 8 (inexact attention scale), window 4, all-global,
// no rel-pos, no qkv bias, an x2 upscale stage), random weights.

struct RefVit {
  const ckpt::Checkpoint& ck;
  const Card& c;
  using V = std::vector<double>;
  V get(const std::string& k) const {
    auto f = ck.at("detector." + k).to_float();
    return V(f.begin(), f.end());
  }
  static double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
  // LayerNorm over the last axis of [n, C]
  static void layer_norm(V& x, int C, const V& g, const V& b, double eps) {
    for (size_t r = 0; r < x.size() / C; ++r) {
      double m = 0, v = 0;
      for (int i = 0; i < C; ++i) m += x[r * C + i];
      m /= C;
      for (int i = 0; i < C; ++i) v += (x[r * C + i] - m) * (x[r * C + i] - m);
      v /= C;
      for (int i = 0; i < C; ++i) x[r * C + i] = (x[r * C + i] - m) / std::sqrt(v + eps) * g[i] + b[i];
    }
  }
  // y[n, O] = x[n, I] W^T + b
  static V linear(const V& x, int I, const V& W, const V& b, int O) {
    size_t n = x.size() / I;
    V y(n * O);
    for (size_t r = 0; r < n; ++r)
      for (int o = 0; o < O; ++o) {
        double a = b.empty() ? 0 : b[o];
        for (int i = 0; i < I; ++i) a += x[r * I + i] * W[static_cast<size_t>(o) * I + i];
        y[r * O + o] = a;
      }
    return y;
  }
  // NHWC [H, W, I] conv KxK (OIHW weights), stride 1, given zero padding
  static V conv(const V& x, int H, int W, int I, const V& w, int O, int K, int pad, int& oh, int& ow) {
    oh = H + 2 * pad - K + 1;
    ow = W + 2 * pad - K + 1;
    V y(static_cast<size_t>(oh) * ow * O, 0.0);
    for (int yy = 0; yy < oh; ++yy)
      for (int xx = 0; xx < ow; ++xx)
        for (int o = 0; o < O; ++o) {
          double a = 0;
          for (int ky = 0; ky < K; ++ky)
            for (int kx = 0; kx < K; ++kx) {
              int sy = yy + ky - pad, sx = xx + kx - pad;
              if (sy < 0 || sx < 0 || sy >= H || sx >= W) continue;
              for (int i = 0; i < I; ++i)
                a += x[(static_cast<size_t>(sy) * W + sx) * I + i] * w[((static_cast<size_t>(o) * I + i) * K + ky) * K + kx];
            }
          y[(static_cast<size_t>(yy) * ow + xx) * O + o] = a;
        }
    return y;
  }

  V forward(const std::vector<float>& img_nhwc) const {
    const auto& v = c.vit;
    const int P = v.patch_size, G = v.img_size / P, D = v.embed_dim, nh = v.num_heads, hd = D / nh;
    const int M = static_cast<int>(D * v.mlp_ratio);
    // patch embed
    V pw = get("image_encoder.patch_embed.proj.weight"), pb = get("image_encoder.patch_embed.proj.bias");
    V pe = get("image_encoder.pos_embed");
    V x(static_cast<size_t>(G) * G * D);
    for (int gy = 0; gy < G; ++gy)
      for (int gx = 0; gx < G; ++gx)
        for (int o = 0; o < D; ++o) {
          double a = pb[o];
          for (int ch = 0; ch < 3; ++ch)
            for (int ky = 0; ky < P; ++ky)
              for (int kx = 0; kx < P; ++kx)
                a += (2.0 * img_nhwc[((static_cast<size_t>(gy) * P + ky) * v.img_size + gx * P + kx) * 3 + ch] - 1.0) *
                     pw[((static_cast<size_t>(o) * 3 + ch) * P + ky) * P + kx];
          x[(static_cast<size_t>(gy) * G + gx) * D + o] = a + pe[(static_cast<size_t>(gy) * G + gx) * D + o];
        }
    for (int b = 0; b < v.depth; ++b) {
      const std::string k = "image_encoder.blocks." + std::to_string(b) + ".";
      bool global = std::find(v.global_attn_indexes.begin(), v.global_attn_indexes.end(), b) !=
                    v.global_attn_indexes.end();
      const int S = global || v.window_size == 0 ? G : v.window_size;
      const int Gp = (G + S - 1) / S * S, n = Gp / S;  // torch pads the grid with zeros (after norm1)
      V h = x;
      layer_norm(h, D, get(k + "norm1.weight"), get(k + "norm1.bias"), 1e-5);
      V hp(static_cast<size_t>(Gp) * Gp * D, 0.0);
      for (int yy = 0; yy < G; ++yy)
        for (int xx = 0; xx < G; ++xx)
          for (int t = 0; t < D; ++t) hp[(static_cast<size_t>(yy) * Gp + xx) * D + t] = h[(static_cast<size_t>(yy) * G + xx) * D + t];
      V qkv = linear(hp, D, get(k + "attn.qkv.weight"), v.qkv_bias ? get(k + "attn.qkv.bias") : V{}, 3 * D);
      V rph, rpw;
      if (v.use_rel_pos) rph = get(k + "attn.rel_pos_h"), rpw = get(k + "attn.rel_pos_w");
      V attp(static_cast<size_t>(Gp) * Gp * D);
      const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
      for (int wy = 0; wy < n; ++wy)
        for (int wx = 0; wx < n; ++wx)
          for (int hh = 0; hh < nh; ++hh) {
            auto tok = [&](int i, int j) { return static_cast<size_t>((wy * S + i) * Gp + wx * S + j); };
            for (int qi = 0; qi < S; ++qi)
              for (int qj = 0; qj < S; ++qj) {
                const double* q = &qkv[tok(qi, qj) * 3 * D + hh * hd];
                V logits(static_cast<size_t>(S) * S);
                double mx = -1e300;
                for (int ki = 0; ki < S; ++ki)
                  for (int kj = 0; kj < S; ++kj) {
                    const double* kk = &qkv[tok(ki, kj) * 3 * D + D + hh * hd];
                    double a = 0, rh = 0, rw = 0;
                    for (int t = 0; t < hd; ++t) a += q[t] * scale * kk[t];
                    if (v.use_rel_pos)
                      for (int t = 0; t < hd; ++t) {
                        rh += q[t] * rph[static_cast<size_t>(qi - ki + S - 1) * hd + t];
                        rw += q[t] * rpw[static_cast<size_t>(qj - kj + S - 1) * hd + t];
                      }
                    logits[ki * S + kj] = a + rh + rw;
                    mx = std::max(mx, logits[ki * S + kj]);
                  }
                double sum = 0;
                for (auto& l : logits) sum += (l = std::exp(l - mx));
                for (int t = 0; t < hd; ++t) {
                  double a = 0;
                  for (int kt = 0; kt < S * S; ++kt)
                    a += logits[kt] / sum * qkv[tok(kt / S, kt % S) * 3 * D + 2 * D + hh * hd + t];
                  attp[tok(qi, qj) * D + hh * hd + t] = a;
                }
              }
          }
      V att(static_cast<size_t>(G) * G * D);
      for (int yy = 0; yy < G; ++yy)
        for (int xx = 0; xx < G; ++xx)
          for (int t = 0; t < D; ++t) att[(static_cast<size_t>(yy) * G + xx) * D + t] = attp[(static_cast<size_t>(yy) * Gp + xx) * D + t];
      att = linear(att, D, get(k + "attn.proj.weight"), get(k + "attn.proj.bias"), D);
      for (size_t i = 0; i < x.size(); ++i) x[i] += att[i];
      h = x;
      layer_norm(h, D, get(k + "norm2.weight"), get(k + "norm2.bias"), 1e-5);
      h = linear(h, D, get(k + "mlp.lin1.weight"), get(k + "mlp.lin1.bias"), M);
      for (auto& e : h) e = gelu(e);
      h = linear(h, M, get(k + "mlp.lin2.weight"), get(k + "mlp.lin2.bias"), D);
      for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];
    }
    const int C = v.out_chans;
    int H = G, W = G, oh, ow;
    x = conv(x, H, W, D, get("image_encoder.neck.0.weight"), C, 1, 0, oh, ow);
    layer_norm(x, C, get("image_encoder.neck.1.weight"), get("image_encoder.neck.1.bias"), 1e-6);
    x = conv(x, H, W, C, get("image_encoder.neck.2.weight"), C, 3, 1, oh, ow);
    layer_norm(x, C, get("image_encoder.neck.3.weight"), get("image_encoder.neck.3.bias"), 1e-6);
    int ch = C;
    for (size_t s = 0; s < c.pixel_decoder.upscale_stages.size(); ++s) {
      const int f = c.pixel_decoder.upscale_stages[s], co = ch / f;
      const std::string k = "pixel_decoder.output_upscaling." + std::to_string(s) + ".upsample_block.";
      if (f != 1) {  // bilinear, align_corners=False
        const int H2 = H * f, W2 = W * f;
        V u(static_cast<size_t>(H2) * W2 * ch);
        auto src = [&](int d, int in) {
          double sc = std::max(0.0, (d + 0.5) / f - 0.5);
          int i0 = std::min(static_cast<int>(sc), in - 1);
          return std::pair<int, double>(i0, sc - i0);
        };
        for (int yy = 0; yy < H2; ++yy)
          for (int xx = 0; xx < W2; ++xx) {
            auto [y0, ly] = src(yy, H);
            auto [x0, lx] = src(xx, W);
            int y1 = std::min(y0 + 1, H - 1), x1 = std::min(x0 + 1, W - 1);
            for (int cc = 0; cc < ch; ++cc) {
              auto at = [&](int a, int b2) { return x[(static_cast<size_t>(a) * W + b2) * ch + cc]; };
              u[(static_cast<size_t>(yy) * W2 + xx) * ch + cc] = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
                                                                 ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
            }
          }
        x = u;
        H = H2;
        W = W2;
      }
      // reflection pad 1
      V p(static_cast<size_t>(H + 2) * (W + 2) * ch);
      auto refl = [](int i, int n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; };
      for (int yy = 0; yy < H + 2; ++yy)
        for (int xx = 0; xx < W + 2; ++xx)
          for (int cc = 0; cc < ch; ++cc)
            p[(static_cast<size_t>(yy) * (W + 2) + xx) * ch + cc] =
                x[(static_cast<size_t>(refl(yy - 1, H)) * W + refl(xx - 1, W)) * ch + cc];
      x = conv(p, H + 2, W + 2, ch, get(k + "2.weight"), co, 3, 0, oh, ow);
      layer_norm(x, co, get(k + "3.weight"), get(k + "3.bias"), 1e-6);
      for (auto& e : x) e = gelu(e);
      ch = co;
    }
    V m(ch, 0.0);
    for (size_t i = 0; i < x.size(); ++i) m[i % ch] += x[i];
    for (auto& e : m) e /= static_cast<double>(H) * W;
    return linear(m, ch, get("pixel_decoder.linear.weight"), get("pixel_decoder.linear.bias"), 1 + c.nbits);
  }
};

TEST(VitDetector, OtherGeometriesAgainstAFloat64Reference) {
  struct Geom {
    const char* name;
    int dim, heads, depth, window, out_chans;
    std::vector<int> global, upscale;
    bool rel_pos, qkv_bias;
    double mlp_ratio;
  };
  const Geom geoms[] = {
      {"dim 24, 3 heads (hd 8), window 4, global [2], no qkv bias", 24, 3, 3, 4, 16, {2}, {1}, true, false, 2.0},
      {"dim 16, 1 head, all global, no rel-pos, upscale x2", 16, 1, 2, 0, 16, {}, {2}, false, true, 4.0},
      {"dim 16, 2 heads, window 16 (= grid), upscale [1, 2]", 16, 2, 2, 16, 16, {}, {1, 2}, true, true, 1.5},
      {"dim 16, 2 heads, window 5 (padded to 20), global [1]", 16, 2, 3, 5, 16, {1}, {1}, true, true, 4.0},
      {"dim 16, 4 heads (hd 4), window 24 (> grid, padded)", 16, 4, 1, 24, 16, {}, {1}, true, true, 4.0},
  };
  std::vector<float> img(256 * 256 * 3);
  Rng r(11);
  for (auto& e : img) e = static_cast<float>(r.uniform());
  for (const auto& gm : geoms) {
    Card c = card();
    c.nbits = 5;
    c.vit.embed_dim = gm.dim;
    c.vit.num_heads = gm.heads;
    c.vit.depth = gm.depth;
    c.vit.window_size = gm.window;
    c.vit.global_attn_indexes = gm.global;
    c.vit.out_chans = gm.out_chans;
    c.vit.use_rel_pos = gm.rel_pos;
    c.vit.qkv_bias = gm.qkv_bias;
    c.vit.mlp_ratio = gm.mlp_ratio;
    c.pixel_decoder.embed_dim = gm.out_chans;
    c.pixel_decoder.nbits = c.nbits;
    c.pixel_decoder.upscale_stages = gm.upscale;
    auto ck = ckpt::Checkpoint::from_memory(random_safetensors(vit_detector_param_shapes(c, "detector."), 99), "random");
    auto want = RefVit{ck, c}.forward(img);
    Built b = build({1, 256, 256, 3}, [&](Layers& L, int x) { return build_vit_detector(L, ck, "detector.", c, x); });
    ASSERT_EQ(b.out_shape, (Shape{1, 1 + c.nbits})) << gm.name;
    expect_graph_rules(b.bytes, {gm.window * gm.window, 256});
    for (bool xnn : {false, true}) {
      auto got = run(b.bytes, img, xnn);
      double d = 0;
      for (size_t i = 0; i < want.size(); ++i) d = std::max(d, std::fabs(got[i] - want[i]));
      EXPECT_LE(d, 2e-5) << gm.name << (xnn ? " XNNPACK" : " built-in");
      std::printf("  %-58s %-9s max|diff| vs float64 %.3g\n", gm.name, xnn ? "XNNPACK" : "built-in", d);
    }
  }
}

// Not a test: latency of the full-size detector (XNNPACK, 1 and 2 threads, median
// of 10) for the lowering variants. Run with
//   vit_detector_test --gtest_also_run_disabled_tests --gtest_filter='*Benchmark*'
TEST(VitDetector, DISABLED_Benchmark) {
  struct V {
    const char* name;
    VitOptions o;
    Lowering::Gelu gelu;
  };
  using O = VitOptions;
  std::vector<V> vars;
  auto variant = [&](const char* name, auto change) {
    V v{name, O{}, Lowering{}.gelu};
    change(v);
    vars.push_back(v);
  };
  variant("default", [](V&) {});
  variant("attn FULLY_CONNECTED", [](V& v) { v.o.attn_matmul = O::AttnMatmul::fully_connected; });
  variant("rel_w block-diagonal FC", [](V& v) { v.o.rel_w = O::RelW::fc_block_diagonal; });
  variant("rel_w BMM transposed", [](V& v) { v.o.rel_w = O::RelW::bmm_transposed; });
  variant("scores q rows", [](V& v) { v.o.scores = O::Scores::q_rows; });
  variant("scores q grid", [](V& v) { v.o.scores = O::Scores::q_grid_broadcast_k; });
  variant("GELU builtin", [](V& v) { v.gelu = Lowering::Gelu::builtin; });
  variant("GELU erf_rational", [](V& v) { v.gelu = Lowering::Gelu::erf_rational; });
  std::vector<float> img(256 * 256 * 3, 0.5f);
  for (const auto& v : vars) {
    Lowering low;
    low.gelu = v.gelu;
    Built b = full_size_model(low, v.o);
    auto d = analysis::delegation_report(b.bytes, 2);
    double med[2];
    for (int threads : {1, 2}) {
      rt::Options o;
      o.threads = threads;
      rt::Interpreter it(b.bytes, o);
      it.set_input(0, img);
      it.invoke();
      std::vector<double> ts;
      for (int i = 0; i < 10; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        it.invoke();
        ts.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ts.begin(), ts.end());
      med[threads - 1] = (ts[4] + ts[5]) / 2;
    }
    std::printf("  %-26s ops %4d  partitions %3d  built-in nodes %3d  1 thread %7.1f ms  2 threads %7.1f ms\n",
                v.name, b.ops, d["partitions"].get<int>(), d["builtin_nodes"].get<int>(), med[0], med[1]);
  }
}

}  // namespace
}  // namespace sealite::vs
