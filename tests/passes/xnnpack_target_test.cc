// --target xnnpack on the seed's ai-edge-torch pattern: the three upsample
// blocks, and the blocks plus the detector's tail (pad, conv, LayerNorm, GELU,
// mean, fully connected). After the rewrite: no GATHER_ND, no TRANSPOSE, one
// XNNPACK partition with no node left on built-in kernels (the delegation probe
// of the optimize report), outputs within 1e-6 of the original in TensorFlow
// Lite. The default target leaves the graph in several partitions.
#include <random>

#include "analysis/report.h"
#include "core/error.h"
#include "passes/pass.h"
#include "passes/pass_testing.h"
#include "testing/seed_graphs.h"

using namespace sealite;
using namespace sealite::testing;

namespace {

std::vector<float> random_image(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

float max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// What the acceptance criterion asks of an optimized seed graph.
void check_fully_delegated(const std::vector<uint8_t>& original, const std::vector<float>& input) {
  auto before = analysis::delegation_report(original, 2);
  EXPECT_GT(before["partitions"].get<int>(), 1) << before.dump(2);
  EXPECT_GT(before["builtin_nodes"].get<int>(), 0);

  auto o = optimize(original, {}, 5, 1e-6, "xnnpack");
  ASSERT_TRUE(o.res.changed);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.res.report["target"], "xnnpack");
  EXPECT_EQ(o.count("GATHER_ND"), 0);
  EXPECT_EQ(o.count("TRANSPOSE"), 0);
  for (const char* op : {"MIRROR_PAD", "SLICE", "CONCATENATION", "GELU", "RSQRT"}) EXPECT_EQ(o.count(op), 0) << op;

  auto after = analysis::delegation_report(o.res.bytes, 2);
  EXPECT_EQ(after["partitions"], 1) << after.dump(2);
  EXPECT_EQ(after["builtin_nodes"], 0) << after.dump(2);
  EXPECT_EQ(after["delegated_nodes"], after["nodes"]);

  // Same outputs as the original in TensorFlow Lite (built-in kernels: the reference semantics).
  EXPECT_LE(max_abs(run_float(o.res.bytes, input, false), run_float(original, input, false)), 1e-6f);
  EXPECT_LE(o.max_diff(), 1e-6);

  // idempotent
  auto again = optimize(o.res.bytes, {}, 1, std::nullopt, "xnnpack");
  EXPECT_FALSE(again.res.changed) << again.res.report["passes_applied"].dump();
}

}  // namespace

TEST(XnnpackTarget, SeedGraphInOnePartition) {
  SeedGraphSpec spec;
  auto sg = build_seed_upsample_graph(spec);
  auto bytes = write_model(sg.graph.model());
  auto input = random_image(static_cast<size_t>(spec.height) * spec.width * spec.channels, 21);
  check_fully_delegated(bytes, input);
  // and equal to the plain C++ reference
  auto o = optimize(bytes, {}, 1, std::nullopt, "xnnpack");
  EXPECT_LT(max_abs(run_float(o.res.bytes, input, true), seed_reference(sg, spec, input)), 1e-5f);
}

TEST(XnnpackTarget, SeedGraphWithDetectorTailInOnePartition) {
  SeedGraphSpec spec;
  DetectorTailSpec tail;
  auto st = build_seed_graph_with_detector_tail(spec, tail);
  auto bytes = write_model(st.seed.graph.model());
  auto input = random_image(static_cast<size_t>(spec.height) * spec.width * spec.channels, 22);
  check_fully_delegated(bytes, input);
  auto o = optimize(bytes, {}, 1, std::nullopt, "xnnpack");
  EXPECT_EQ(o.count("FULLY_CONNECTED"), 1);
  EXPECT_EQ(o.count("MEAN"), 1);  // the spatial mean before the FC: XNNPACK takes it as it is
  EXPECT_LT(max_abs(run_float(o.res.bytes, input, true), seed_tail_reference(st, spec, tail, input)), 1e-4f);
}

TEST(XnnpackTarget, DefaultTargetLeavesSeveralPartitions) {
  auto st = build_seed_graph_with_detector_tail({}, {});
  auto o = optimize(write_model(st.seed.graph.model()), {}, 2);
  EXPECT_TRUE(o.verified());
  auto d = analysis::delegation_report(o.res.bytes, 2);
  EXPECT_GT(d["partitions"].get<int>(), 1) << d.dump(2);
  EXPECT_EQ(o.count("GELU"), 1);
}

TEST(XnnpackTarget, PassListsAreRelativeToTheTarget) {
  auto xnn = passes::default_pass_names("xnnpack");
  auto def = passes::default_pass_names();
  for (auto& n : def) EXPECT_EQ(std::count(xnn.begin(), xnn.end(), n), 1) << n;
  for (const char* n : {"xnnpack-reflect-pad", "gelu-rational", "channel-mean-to-conv", "rsqrt-to-div"}) {
    EXPECT_EQ(std::count(xnn.begin(), xnn.end(), n), 1) << n;
    EXPECT_EQ(std::count(def.begin(), def.end(), n), 0) << n;
  }
  auto minus = passes::resolve_pass_list({"-gelu-rational"}, "xnnpack");
  EXPECT_EQ(minus.size(), xnn.size() - 1);
  EXPECT_EQ(std::count(minus.begin(), minus.end(), "gelu-rational"), 0);
  EXPECT_THROW(passes::default_pass_names("gpu"), Error);
  EXPECT_THROW(passes::Pipeline({}, "nope"), Error);
}
