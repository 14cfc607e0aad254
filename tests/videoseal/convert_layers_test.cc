// vs::Layers lowerings against plain C++ references, with and without
// XNNPACK, and what the XNNPACK 2.9 delegate takes of the default lowerings.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/report.h"
#include "core/error.h"
#include "videoseal/convert.h"
#include "videoseal/convert_test_util.h"
#include "videoseal/layers.h"

namespace sealite::testing {
namespace {

using vs::Layers;
using vs::Lowering;
using vs::Tensor;

std::vector<float> ramp(size_t n, float scale, float phase = 0.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.7f * static_cast<float>(i) + phase) + 0.1f * std::cos(1.3f * i);
  return v;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, double tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_LE(max_diff(a, b), tol) << what;
}

TEST(Layers, GeluErfRationalMatchesExactGelu) {
  // Dense sweep of [-12, 12] plus the ramp values.
  std::vector<float> x;
  for (int i = -120000; i <= 120000; ++i) x.push_back(i * 1e-4f);
  std::vector<float> ref(x.size());
  for (size_t i = 0; i < x.size(); ++i) ref[i] = static_cast<float>(0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0))));
  const int32_t n = static_cast<int32_t>(x.size());
  for (auto g : {Lowering::Gelu::erf_rational, Lowering::Gelu::builtin}) {
    Lowering low;
    low.gelu = g;
    auto m = make_model({{1, 1, n, 1}}, [](Layers& L, const std::vector<Tensor>& in) { return L.gelu(in[0]); }, low);
    for (bool xnn : {false, true}) {
      auto out = run_model(m, {x}, xnn);
      double worst = 0;
      for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(out[i] - ref[i]) / std::max(1.f, std::fabs(x[i]))));
      EXPECT_LE(worst, 4e-7) << (g == Lowering::Gelu::builtin ? "builtin" : "erf_rational") << (xnn ? " XNNPACK" : "");
    }
  }
}

TEST(Layers, TanhLogisticForm) {
  std::vector<float> x;
  for (int i = -2000; i <= 2000; ++i) x.push_back(i * 5e-3f);
  std::vector<float> ref(x.size());
  for (size_t i = 0; i < x.size(); ++i) ref[i] = std::tanh(x[i]);
  auto m = make_model({{1, 1, static_cast<int32_t>(x.size()), 1}},
                      [](Layers& L, const std::vector<Tensor>& in) { return L.tanh(in[0]); });
  for (bool xnn : {false, true}) expect_close(run_model(m, {x}, xnn), ref, 3e-7, xnn ? "XNNPACK" : "built-in");
}

std::vector<float> reflect_ref(const std::vector<float>& x, int H, int W, int C) {
  std::vector<float> r(static_cast<size_t>(H + 2) * (W + 2) * C);
  auto refl = [](int i, int n) { return i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i); };
  for (int i = 0; i < H + 2; ++i)
    for (int j = 0; j < W + 2; ++j)
      for (int c = 0; c < C; ++c)
        r[(static_cast<size_t>(i) * (W + 2) + j) * C + c] = x[(static_cast<size_t>(refl(i - 1, H)) * W + refl(j - 1, W)) * C + c];
  return r;
}

TEST(Layers, ReflectPad1AllLoweringsExact) {
  for (auto [H, W, C] : {std::tuple{2, 2, 1}, std::tuple{5, 7, 3}, std::tuple{16, 9, 8}}) {
    auto x = ramp(static_cast<size_t>(H) * W * C, 3.f);
    auto ref = reflect_ref(x, H, W, C);
    for (auto rp : {Lowering::ReflectPad::mirror_pad, Lowering::ReflectPad::slice_concat,
                    Lowering::ReflectPad::masked_dwconv}) {
      Lowering low;
      low.reflect_pad = rp;
      auto m = make_model({{1, H, W, C}}, [](Layers& L, const std::vector<Tensor>& in) { return L.reflect_pad1(in[0]); },
                          low);
      for (bool xnn : {false, true})
        expect_close(run_model(m, {x}, xnn), ref, 0.0, "reflect pad " + std::to_string(static_cast<int>(rp)));
    }
  }
}

TEST(Layers, NormsMatchReference) {
  const int H = 5, W = 6, C = 7;
  auto x = ramp(H * W * C, 2.f);
  for (size_t i = 0; i < x.size(); i += 5) x[i] += 3.f;  // non-zero means
  std::vector<float> g = ramp(C, 0.5f, 1.f), b = ramp(C, 0.3f, 2.f);
  for (auto& v : g) v += 1.f;
  std::vector<float> ln(x.size()), rms(x.size());
  for (int p = 0; p < H * W; ++p) {
    double m = 0, v = 0, ss = 0;
    for (int c = 0; c < C; ++c) m += x[p * C + c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[p * C + c] - m) * (x[p * C + c] - m), ss += double(x[p * C + c]) * x[p * C + c];
    v /= C;
    for (int c = 0; c < C; ++c) {
      ln[p * C + c] = static_cast<float>((x[p * C + c] - m) / std::sqrt(v + 1e-6) * g[c] + b[c]);
      rms[p * C + c] = static_cast<float>(x[p * C + c] / std::max(std::sqrt(ss), 1e-12) * std::sqrt(double(C)) * g[c]);
    }
  }
  for (auto cr : {Lowering::ChannelReduce::conv1x1, Lowering::ChannelReduce::reduce_op}) {
    Lowering low;
    low.channel_reduce = cr;
    auto m1 = make_model({{1, H, W, C}},
                         [&](Layers& L, const std::vector<Tensor>& in) { return L.layer_norm(in[0], g, b, 1e-6); }, low);
    auto m2 = make_model({{1, H, W, C}},
                         [&](Layers& L, const std::vector<Tensor>& in) { return L.chan_rms_norm(in[0], g); }, low);
    for (bool xnn : {false, true}) {
      expect_close(run_model(m1, {x}, xnn), ln, 2e-6, "layer_norm");
      expect_close(run_model(m2, {x}, xnn), rms, 2e-6, "chan_rms_norm");
    }
  }
}

TEST(Layers, ConcatChannelsPadAddIsExact) {
  auto a = ramp(4 * 3 * 2, 1.f), b = ramp(4 * 3 * 5, 7.f, 0.5f);
  std::vector<float> ref;
  for (int p = 0; p < 12; ++p) {
    for (int c = 0; c < 2; ++c) ref.push_back(a[p * 2 + c]);
    for (int c = 0; c < 5; ++c) ref.push_back(b[p * 5 + c]);
  }
  auto m = make_model({{1, 4, 3, 2}, {1, 4, 3, 5}}, [](Layers& L, const std::vector<Tensor>& in) {
    return L.concat_channels_padadd({in[0], in[1]});
  });
  for (bool xnn : {false, true}) expect_close(run_model(m, {a, b}, xnn), ref, 0.0, "concat");
}

TEST(Layers, Fp16WeightsDequantize) {
  auto x = ramp(6 * 6 * 4, 1.f);
  auto w = ramp(8 * 4 * 9, 0.2f, 0.3f);
  std::vector<float> ref, out16;
  auto body = [&](Layers& L, const std::vector<Tensor>& in) {
    return L.conv2d(in[0], w, 8, 3, 3, {}, vs::ConvParams::same(3));
  };
  auto m32 = make_model({{1, 6, 6, 4}}, body);
  Lowering low;
  low.fp16_weights = true;
  auto m16 = make_model({{1, 6, 6, 4}}, body, low);
  ref = run_model(m32, {x}, false);
  for (bool xnn : {false, true}) expect_close(run_model(m16, {x}, xnn), ref, 2e-3, "fp16 weights");
  auto d = analysis::delegation_report(m16, 1);
  EXPECT_EQ(d.value("builtin_nodes", -1), 0) << d.dump();
}

TEST(Layers, Rng) {
  vs::Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(a.next(), c.next());
  double s = 0;
  for (int i = 0; i < 10000; ++i) s += a.uniform();
  EXPECT_NEAR(s / 10000, 0.5, 0.02);
}

// The converted fixture models use no GATHER_ND / TRANSPOSE; with the default
// lowerings the only ops left to built-in kernels are the (cheap) GELU, SLICE
// and CONCATENATION; with the XNNPACK-only lowerings XNNPACK takes each model
// whole (one partition).
TEST(Layers, ConvertedModelsStayOnXnnpack) {
  for (std::string fam : {"vs00", "vs10", "pixelseal", "chunky"}) {
    vs::Card card = vs::load_card((vs_dir(fam) / "card.yaml").string());
    auto ck = ckpt::Checkpoint::open(vs_dir(fam) / "checkpoint.pth");
    for (bool xnn_only : {false, true}) {
      vs::ConvertOptions opt;
      if (xnn_only) {
        opt.lowering.gelu = Lowering::Gelu::erf_rational;
        opt.lowering.reflect_pad = Lowering::ReflectPad::masked_dwconv;
      }
      std::vector<std::pair<std::string, std::vector<uint8_t>>> models = {
          {"embedder", vs::build_embedder_model(ck, card, opt)}};
      if (!card.detector_is_vit()) models.push_back({"detector", vs::build_detector_model(ck, card, opt)});
      for (auto& [kind, bytes] : models) {
        const std::string what = fam + " " + kind + (xnn_only ? " (XNNPACK-only lowerings)" : "");
        auto s = vs::summarize_model(bytes);
        EXPECT_EQ(s.gather_nd, 0) << what;
        EXPECT_EQ(s.transpose, 0) << what;
        auto d = analysis::delegation_report(bytes, 2);
        EXPECT_TRUE(d.value("xnnpack_applied", false)) << what;
        if (xnn_only) {
          EXPECT_EQ(d.value("partitions", -1), 1) << what << " " << d.dump();
          EXPECT_EQ(d.value("builtin_nodes", -1), 0) << what << " " << d.dump();
        } else {
          for (auto& [op, n] : d["builtin_ops"].items())
            EXPECT_TRUE(op == "GELU" || op == "SLICE" || op == "CONCATENATION") << what << ": " << op;
        }
        auto c = vs::card_from_model(bytes);
        ASSERT_TRUE(c.has_value());
        EXPECT_EQ(c->to_json(), card.to_json());
      }
    }
  }
}

}  // namespace
}  // namespace sealite::testing
