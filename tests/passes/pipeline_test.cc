// The whole pipeline: the seed's ai-edge-torch upsample pattern (+ the detector
// tail) comes out without GATHER_ND and needless TRANSPOSEs, equal to the plain
// C++ reference, and a second run changes nothing.
#include <random>

#include "analysis/report.h"
#include "core/error.h"
#include "core/fs.h"
#include "passes/pass.h"
#include "passes/pass_testing.h"
#include "passes/pipeline.h"
#include "testing/seed_graphs.h"
#include "testing/test_paths.h"

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

}  // namespace

TEST(Pipeline, SeedGraphLosesEveryGatherNdAndTranspose) {
  SeedGraphSpec spec;
  auto sg = build_seed_upsample_graph(spec);
  auto bytes = write_model(sg.graph.model());
  auto o = optimize(bytes, {}, 5, 1e-6);
  ASSERT_TRUE(o.res.changed);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("GATHER_ND"), 0);
  EXPECT_EQ(o.count("TRANSPOSE"), 0);
  EXPECT_EQ(o.count("RESHAPE"), 0);
  EXPECT_EQ(o.count("ABS"), 0);
  EXPECT_EQ(o.count("CONV_2D"), 3);
  EXPECT_EQ(o.count("RESIZE_BILINEAR"), 3);
  // Equal to the plain C++ reference, with and without XNNPACK.
  auto input = random_image(static_cast<size_t>(spec.height) * spec.width * spec.channels, 11);
  auto ref = seed_reference(sg, spec, input);
  for (bool xnn : {false, true}) {
    EXPECT_LT(max_abs(run_float(o.res.bytes, input, xnn), ref), 1e-5f) << "xnnpack=" << xnn;
    EXPECT_LE(max_abs(run_float(o.res.bytes, input, xnn), run_float(bytes, input, xnn)), 1e-6f) << "xnnpack=" << xnn;
  }
}

TEST(Pipeline, SeedGraphWithDetectorTail) {
  SeedGraphSpec spec;
  DetectorTailSpec tail;
  auto st = build_seed_graph_with_detector_tail(spec, tail);
  auto bytes = write_model(st.seed.graph.model());
  auto input = random_image(static_cast<size_t>(spec.height) * spec.width * spec.channels, 5);
  auto ref = seed_tail_reference(st, spec, tail, input);
  EXPECT_LT(max_abs(run_float(bytes, input, false), ref), 1e-4f);  // the test graph itself is right
  auto o = optimize(bytes, {}, 5, 1e-6);
  ASSERT_TRUE(o.res.changed);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("GATHER_ND"), 0);
  EXPECT_EQ(o.count("TRANSPOSE"), 0);  // the NCHW island of the LayerNorm/GELU/MEAN runs in NHWC now
  EXPECT_EQ(o.count("GELU"), 1);
  EXPECT_EQ(o.count("FULLY_CONNECTED"), 1);
  for (bool xnn : {false, true})
    EXPECT_LE(max_abs(run_float(o.res.bytes, input, xnn), run_float(bytes, input, xnn)), 1e-6f) << "xnnpack=" << xnn;
}

TEST(Pipeline, IdempotentOnItsOwnOutput) {
  auto st = build_seed_graph_with_detector_tail({}, {});
  auto first = optimize(write_model(st.seed.graph.model()), {}, 2);
  ASSERT_TRUE(first.res.changed);
  auto second = optimize(first.res.bytes, {}, 2);
  EXPECT_FALSE(second.res.changed) << second.res.report["passes_applied"].dump();
  EXPECT_EQ(second.res.bytes, first.res.bytes);
  EXPECT_NE(second.res.reason.find("unchanged"), std::string::npos);
}

TEST(Pipeline, PassSubsetAndUnknownPass) {
  auto sg = build_seed_upsample_graph({});
  auto o = optimize(write_model(sg.graph.model()), {"lower-gathers"}, 2);
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("GATHER_ND"), 0);
  EXPECT_GT(o.count("TRANSPOSE"), 0);  // transpose passes not selected
  EXPECT_THROW(passes::Pipeline({"no-such-pass"}), Error);
  // priorities: a lower pass only runs when higher ones are done
  auto all = passes::all_passes();
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i - 1]->priority(), all[i]->priority());
}

TEST(Pipeline, SubgraphsWithDynamicShapesOrControlFlowAreLeftAlone) {
  Builder b;
  int x = b.input("x", {1, 4});
  b.g.tensor(x).shape_signature = {-1, 4};
  int t = b.transpose(b.unary(BuiltinOperator_RELU, x, "r"), {1, 0}, "t");
  b.output(b.transpose(t, {1, 0}, "back"));
  auto o = optimize(b.bytes(), {}, 0);
  EXPECT_FALSE(o.res.changed);
  EXPECT_NE(o.res.reason.find("dynamic"), std::string::npos) << o.res.reason;

  Builder c;
  int y = c.input("x", {2});
  c.g.add_op(BuiltinOperator_CALL_ONCE, {}, {});
  c.output(c.unary(BuiltinOperator_RELU, y, "r"));
  EXPECT_NE(passes::model_blocker(c.g.model()).find("CALL_ONCE"), std::string::npos);
}

TEST(Pipeline, KvCacheGatherNdWithDynamicIndicesStays) {
  SEALITE_REQUIRE_SHARED();
  auto bytes = read_file(shared_dir() / "models/aeq_toy_model_with_kv_cache_multi_signature.tflite");
  auto o = optimize(bytes, {}, 3);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.res.report["gather_nd"]["after"], 2);
  bool noted = false;
  for (auto& n : o.res.report["notes"]) noted |= n.dump().find("dynamic") != std::string::npos;
  EXPECT_TRUE(noted) << o.res.report["notes"].dump();
}
