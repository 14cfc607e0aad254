// `sealite optimize` on the seed's ai-edge-torch upsample pattern (issue 5):
// latency of the original graph (GATHER_ND) and of the optimized one, with the
// reflection pad expressed four ways, in TensorFlow Lite with XNNPACK:
//   gather_nd      the original: RESHAPE, 3 GATHER_ND, TRANSPOSE per pad
//   mirror_pad     optimized, pad kept as MIRROR_PAD (no lower-mirror-pad pass)
//   slice_concat   optimized, the default: MIRROR_PAD -> SLICE + CONCATENATION
//   dw_mask        optimized, pad as zero PAD + depthwise 5-tap conv x mask + ADD
//                  per axis (only ops the 2.9 XNNPACK delegate takes; exact for
//                  finite values only, so not a pass: measured here to decide)
//   edge_tc        optimized with --passes +xnnpack-reflect-pad: zero PAD + ADD of the
//                  two edge rows, taken by a 2-tap depthwise conv with stride n-3 and
//                  put in place by a TRANSPOSE_CONV with stride n+1 (XNNPACK-only ops)
//   xnnpack        `sealite optimize --target xnnpack`: edge_tc plus gelu-rational,
//                  channel-mean-to-conv, rsqrt-to-div (the whole graph in one partition)
//   zero_pad       reference lower bound: PAD with zeros (not the same function)
// Also the detector tail (pad, conv, LayerNorm, GELU, mean, FC) after the blocks.
//
//   build/bench/optimize_bench                                  # everything
//   build/bench/optimize_bench --benchmark_filter=slice_concat
//   SEALITE_BENCH_SIZE=64 SEALITE_BENCH_CHANNELS=64 build/bench/optimize_bench
//
// Arguments: threads (1, 2). Input [1,S,S,C] with S = SEALITE_BENCH_SIZE
// (default 32) and C = SEALITE_BENCH_CHANNELS (default 32); 3 blocks -> 8S x 8S.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <random>

#include "analysis/report.h"
#include "passes/optimize.h"
#include "passes/pass.h"
#include "passes/pipeline.h"
#include "passes/rewrite.h"
#include "runtime/interpreter.h"
#include "testing/seed_graphs.h"
#include "tflite/model_io.h"

namespace {

using namespace sealite;

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : def;
}

testing::SeedGraphSpec spec() {
  testing::SeedGraphSpec s;
  s.height = s.width = env_int("SEALITE_BENCH_SIZE", 32);
  s.channels = env_int("SEALITE_BENCH_CHANNELS", 32);
  s.blocks = 3;
  return s;
}

std::vector<uint8_t> run_passes(std::vector<uint8_t> bytes, const std::vector<std::string>& names,
                                const std::string& target = "default") {
  auto m = tfl::read_model(bytes.data(), bytes.size());
  passes::Pipeline p(names, target);
  p.run_model(m);
  return tfl::write_model(*m);
}

std::vector<std::string> all_but(const std::string& skip) {
  std::vector<std::string> v;
  for (auto& n : passes::default_pass_names())
    if (n != skip) v.push_back(n);
  return v;
}

// MIRROR_PAD (reflect, pad 1 on H and W of NHWC) -> PAD zeros, then per axis
// x + mask * DEPTHWISE_CONV(x, taps at -2 and +2): row 0 gets row 2 of the
// zero-padded tensor (= row 1 of x), row H+1 gets row H-1 (= row H-2 of x).
std::vector<uint8_t> mirror_pad_as_dw_mask(std::vector<uint8_t> bytes, bool zero_only) {
  graph::Graph g(tfl::read_model(bytes.data(), bytes.size()));
  for (;;) {
    int c = -1;
    for (int o = 0; o < g.num_ops(); ++o)
      if (g.op_code(o) == tfl::BuiltinOperator_MIRROR_PAD) c = o;
    if (c < 0) break;
    passes::Editor ed(g);
    const int x = g.op(c).inputs[0], y = g.op(c).outputs[0];
    const auto s = g.tensor(x).shape;
    const int H = s[1] + 2, W = s[2] + 2, C = s[3];
    int cur = ed.pad(c, x, {{0, 0}, {1, 1}, {1, 1}, {0, 0}}, -1);
    if (!zero_only) {
      for (int axis : {1, 2}) {
        std::vector<float> w(5 * C, 0.f), bias(C, 0.f);
        for (int ch = 0; ch < C; ++ch) { w[ch] = 1.f; w[4 * C + ch] = 1.f; }
        std::vector<int32_t> wshape = axis == 1 ? std::vector<int32_t>{1, 5, 1, C} : std::vector<int32_t>{1, 1, 5, C};
        int wt = g.add_constant_f32("dw_w", wshape, w);
        int bt = g.add_constant_f32("dw_b", {C}, bias);
        int e = ed.tensor_like(cur, g.tensor(cur).shape, "/edges");
        tfl::DepthwiseConv2DOptionsT o;
        o.padding = tfl::Padding_SAME;
        o.stride_h = o.stride_w = 1;
        o.depth_multiplier = 1;
        tfl::BuiltinOptionsUnion u;
        u.Set(std::move(o));
        ed.add_op(c, tfl::BuiltinOperator_DEPTHWISE_CONV_2D, {cur, wt, bt}, {e}, std::move(u));
        const int n = axis == 1 ? H : W;
        std::vector<float> mask(n, 0.f);
        mask[0] = mask[n - 1] = 1.f;
        int mt = g.add_constant_f32("mask", axis == 1 ? std::vector<int32_t>{1, n, 1, 1} : std::vector<int32_t>{1, 1, n, 1}, mask);
        int me = ed.tensor_like(cur, g.tensor(cur).shape, "/masked");
        tfl::BuiltinOptionsUnion mu;
        mu.Set(tfl::MulOptionsT{});
        ed.add_op(c, tfl::BuiltinOperator_MUL, {e, mt}, {me}, std::move(mu));
        int sum = ed.tensor_like(cur, g.tensor(cur).shape, "/reflected");
        tfl::BuiltinOptionsUnion au;
        au.Set(tfl::AddOptionsT{});
        ed.add_op(c, tfl::BuiltinOperator_ADD, {cur, me}, {sum}, std::move(au));
        cur = sum;
      }
    }
    ed.forward(y, cur);
    ed.remove(c);
    ed.commit();
  }
  graph::compact(g.model());
  return tfl::write_model(g.model());
}

const std::map<std::string, std::vector<uint8_t>>& models(bool tail) {
  static std::map<std::string, std::vector<uint8_t>> m[2];
  auto& out = m[tail];
  if (!out.empty()) return out;
  std::vector<uint8_t> orig;
  if (tail) {
    auto st = testing::build_seed_graph_with_detector_tail(spec(), {});
    orig = tfl::write_model(st.seed.graph.model());
  } else {
    orig = tfl::write_model(testing::build_seed_upsample_graph(spec()).graph.model());
  }
  out["gather_nd"] = orig;
  out["slice_concat"] = run_passes(orig, {});
  out["mirror_pad"] = run_passes(orig, all_but("lower-mirror-pad"));
  out["dw_mask"] = mirror_pad_as_dw_mask(out["mirror_pad"], false);
  out["zero_pad"] = mirror_pad_as_dw_mask(out["mirror_pad"], true);
  out["edge_tc"] = run_passes(orig, {"+xnnpack-reflect-pad"});
  out["xnnpack"] = run_passes(orig, {}, "xnnpack");
  return out;
}

void run(benchmark::State& state, const std::string& variant, bool tail) {
  const auto& bytes = models(tail).at(variant);
  const int threads = static_cast<int>(state.range(0));
  rt::Interpreter in(bytes, rt::Options{threads, true});
  auto s = spec();
  std::vector<float> x(static_cast<size_t>(s.height) * s.width * s.channels);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(0.f, 1.f);
  for (auto& v : x) v = d(rng);
  in.set_input(0, x);
  in.invoke();
  {
    rt::Interpreter ref(models(tail).at("gather_nd"), rt::Options{threads, false});
    ref.set_input(0, x);
    ref.invoke();
    auto a = ref.output_float(0), b = in.output_float(0);
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
    state.counters["max_abs_diff"] = m;
  }
  for (auto _ : state) in.invoke();
  auto dr = analysis::delegation_report(bytes, threads);
  state.counters["partitions"] = dr.value("partitions", -1);
  state.counters["builtin_nodes"] = dr.value("builtin_nodes", -1);
  state.counters["nodes"] = dr.value("nodes", -1);
}

void args(benchmark::internal::Benchmark* b) { b->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(1.0); }

}  // namespace

#define SEED_BENCH(variant)                                                                         \
  static void BM_seed_##variant(benchmark::State& s) { run(s, #variant, false); }                   \
  BENCHMARK(BM_seed_##variant)->Apply(args);                                                        \
  static void BM_seed_tail_##variant(benchmark::State& s) { run(s, #variant, true); }              \
  BENCHMARK(BM_seed_tail_##variant)->Apply(args);

SEED_BENCH(gather_nd)
SEED_BENCH(mirror_pad)
SEED_BENCH(slice_concat)
SEED_BENCH(dw_mask)
SEED_BENCH(edge_tc)
SEED_BENCH(xnnpack)
SEED_BENCH(zero_pad)

BENCHMARK_MAIN();
