#include "analysis/gathers.h"

#include <gtest/gtest.h>

#include <random>

#include "analysis/report.h"
#include "core/fs.h"
#include "runtime/interpreter.h"
#include "testing/seed_graphs.h"
#include "testing/test_paths.h"
#include "tflite/model_io.h"

using namespace sealite;
using namespace sealite::analysis;

TEST(AxisMap, RecognisesEachKind) {
  EXPECT_EQ(classify_axis_map({0, 1, 2, 3}, 4).kind, "identity");
  auto s = classify_axis_map({1, 2}, 4);
  EXPECT_EQ(s.kind, "slice");
  EXPECT_EQ(s.start, 1);
  EXPECT_EQ(classify_axis_map({0, 2, 4}, 6).kind, "strided_slice");
  EXPECT_EQ(classify_axis_map({3, 2, 1, 0}, 4).kind, "reverse");
  auto r = classify_axis_map({0, 0, 1, 1, 2, 2}, 3);
  EXPECT_EQ(r.kind, "repeat");
  EXPECT_EQ(r.factor, 2);
  auto rp = classify_axis_map({1, 0, 1, 2, 3, 2}, 4);
  EXPECT_EQ(rp.kind, "reflect_pad");
  EXPECT_EQ(rp.before, 1);
  EXPECT_EQ(rp.after, 1);
  auto sp = classify_axis_map({0, 0, 1, 2, 3, 3, 2}, 4);
  EXPECT_EQ(sp.kind, "symmetric_pad");
  EXPECT_EQ(sp.before, 1);
  EXPECT_EQ(sp.after, 2);
  auto ep = classify_axis_map({0, 0, 0, 1, 2, 2}, 3);
  EXPECT_EQ(ep.kind, "edge_pad");
  EXPECT_EQ(ep.before, 2);
  EXPECT_EQ(classify_axis_map({2, 0, 3, 1}, 4).kind, "general");
}

TEST(GatherNdPattern, PermutationAndPadAxes) {
  // indices [3,2,2] over params [2,3,...]: out[i][j] = in[j][i] -> permutation
  Value idx;
  idx.type = tfl::TensorType_INT32;
  idx.shape = {3, 2, 2};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) { idx.v.push_back(j); idx.v.push_back(i); }
  auto p = classify_gather_nd({2, 3, 5}, idx);
  EXPECT_EQ(p.kind, "permutation");
  EXPECT_EQ(p.perm, (std::vector<int>{1, 0}));
  // reflect pad on axis 1 expressed as a 2-d gather
  Value r;
  r.shape = {2, 4, 2};
  int refl[4] = {1, 0, 1, 0};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) { r.v.push_back(i); r.v.push_back(refl[j]); }
  auto q = classify_gather_nd({2, 2, 3}, r);
  EXPECT_EQ(q.kind, "reflect_pad");
  ASSERT_TRUE(q.axis.has_value());
  EXPECT_EQ(*q.axis, 1);
}

// The seed's upsample-block pattern, built with sealite's graph code: three
// blocks, nine GATHER_ND; indices computed with ABS/SUB in blocks 0 and 2,
// constant in block 1.
class SeedGraphTest : public ::testing::Test {
 protected:
  sealite::testing::SeedGraphSpec spec;
  std::vector<uint8_t> bytes;
  sealite::testing::SeedGraph sg = sealite::testing::build_seed_upsample_graph(spec);
  void SetUp() override {
    auto copy = tfl::write_model(sg.graph.model());
    bytes = copy;
  }
};

TEST_F(SeedGraphTest, InspectReportsNineGatherNdWithPatternsAndBlocks) {
  auto r = inspect_model_bytes(bytes, "seed_pattern.tflite", {});
  EXPECT_EQ(r["gather_nd_total"], 9);
  EXPECT_EQ(r["ops_total"], r["subgraphs"][0]["ops"]);
  const auto& g = r["subgraphs"][0]["gather_nd"];
  ASSERT_EQ(g.size(), 9u);
  for (int b = 0; b < 3; ++b) {
    const auto& pad_h = g[3 * b];
    const auto& pad_w = g[3 * b + 1];
    const auto& perm = g[3 * b + 2];
    std::string block = "upsample#" + std::to_string(b);
    for (const auto* x : {&pad_h, &pad_w, &perm}) EXPECT_EQ((*x)["block"], block);
    std::string src = b == 1 ? "constant" : "computed_from_constants";
    EXPECT_EQ(pad_h["index_source"], src);
    EXPECT_EQ(pad_w["index_source"], src);
    EXPECT_EQ(perm["index_source"], "constant");
    EXPECT_EQ(pad_h["pattern"], "reflect_pad");
    EXPECT_EQ(pad_h["axis"], 0);
    EXPECT_EQ(pad_w["pattern"], "reflect_pad");
    EXPECT_EQ(pad_w["axis"], 0);
    EXPECT_EQ(perm["pattern"], "permutation");
    EXPECT_TRUE(perm["axis"].is_null());
    if (b != 1) {
      std::set<std::string> ops;
      for (auto& o : pad_h["index_ops"]) ops.insert(o.get<std::string>());
      EXPECT_TRUE(ops.count("ABS") && ops.count("SUB")) << pad_h.dump();
    }
    // real producers/consumers by tensor
    EXPECT_EQ(pad_h["producers"][0]["type"], "RESHAPE");
    EXPECT_EQ(pad_h["consumers"][0]["type"], "TRANSPOSE");
    EXPECT_EQ(pad_w["producers"][0]["type"], "TRANSPOSE");
    EXPECT_EQ(perm["producers"][0]["type"], "GATHER_ND");
    EXPECT_EQ(perm["consumers"][0]["type"], "RESHAPE");
  }
}

TEST_F(SeedGraphTest, RunsInTfliteAndMatchesPlainReference) {
  std::vector<float> input(static_cast<size_t>(spec.height) * spec.width * spec.channels);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(0.f, 1.f);
  for (auto& v : input) v = d(rng);
  auto ref = sealite::testing::seed_reference(sg, spec, input);
  for (bool xnn : {false, true}) {
    rt::Interpreter in(bytes, rt::Options{2, xnn});
    in.set_input(0, input);
    in.invoke();
    auto out = in.output_float(0);
    ASSERT_EQ(out.size(), ref.size());
    float maxd = 0;
    for (size_t i = 0; i < out.size(); ++i) maxd = std::max(maxd, std::abs(out[i] - ref[i]));
    EXPECT_LT(maxd, 1e-5f) << "xnnpack=" << xnn;
  }
}

TEST_F(SeedGraphTest, TextAndMarkdownShowTheSeedTable) {
  auto r = inspect_model_bytes(bytes, "seed_pattern.tflite", {true, false, 2});
  auto md = render_markdown(r);
  EXPECT_NE(md.find("| Model | Total Ops | GATHER_ND Ops | Percentage |"), std::string::npos);
  auto text = render_text(r);
  EXPECT_NE(text.find("reflect_pad(1,1) on axis 0"), std::string::npos);
  EXPECT_NE(text.find("Op#0 RESIZE_BILINEAR(T#0, T#1[16,16]) -> [T#2]"), std::string::npos) << text;
  EXPECT_NE(text.find(" GATHER_ND(T#"), std::string::npos);
}

TEST(RealModels, KvCacheGatherNdIsDynamic) {
  SEALITE_REQUIRE_SHARED();
  auto r = inspect_model(sealite::testing::shared_dir() / "models/aeq_toy_model_with_kv_cache_multi_signature.tflite", {});
  EXPECT_EQ(r["gather_nd_total"], 2);
  for (auto& s : r["subgraphs"]) {
    ASSERT_EQ(s["gather_nd"].size(), 1u);
    EXPECT_EQ(s["gather_nd"][0]["index_source"], "dynamic");
    EXPECT_EQ(s["gather_nd"][0]["pattern"], "dynamic");
  }
}

TEST(RealModels, DelegationReportFromTheRuntime) {
  auto bytes = read_file(sealite::testing::data_dir() / "tflite/litert_simple_mirror_pad_reflect_op.tflite");
  auto d = delegation_report(bytes, 1);
  ASSERT_TRUE(d["loads"].get<bool>());
  // XNNPACK 2.9 does not take MIRROR_PAD: the probe sees it on the built-in kernel.
  EXPECT_EQ(d["delegated_nodes"], 0);
  EXPECT_EQ(d["builtin_ops"]["MIRROR_PAD"], 1);
  auto seed = sealite::testing::build_seed_upsample_graph({});
  auto sb = tfl::write_model(seed.graph.model());
  auto ds = delegation_report(sb, 1);
  EXPECT_GT(ds["partitions"].get<int>(), 0);
  EXPECT_EQ(ds["builtin_ops"]["GATHER_ND"], 9);
  EXPECT_EQ(ds["nodes"].get<int>(), ds["delegated_nodes"].get<int>() + ds["builtin_nodes"].get<int>());
}
