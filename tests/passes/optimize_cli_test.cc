// `sealite optimize` as a user meets it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/fs.h"
#include "core/npy.h"
#include "graph/graph.h"
#include "testing/seed_graphs.h"
#include "tflite/model_io.h"

using sealite::testing::run_sealite;
namespace fs = std::filesystem;

namespace {
fs::path seed_file() {
  auto p = sealite::testing::temp_dir() / "seed_tail.tflite";
  if (!fs::exists(p)) {
    auto st = sealite::testing::build_seed_graph_with_detector_tail({}, {});
    sealite::tfl::write_model_file(p, st.seed.graph.model());
  }
  return p;
}
}  // namespace

TEST(OptimizeCli, HelpAndListPasses) {
  auto h = run_sealite("optimize --help");
  EXPECT_EQ(h.code, 0);
  for (const char* s : {"Usage: sealite optimize", "Examples:", "--verify", "--atol", "--passes", "--list-passes",
                        "--report", "--inputs", "--no-verify"})
    EXPECT_NE(h.out.find(s), std::string::npos) << s;
  auto l = run_sealite("optimize --list-passes");
  EXPECT_EQ(l.code, 0);
  for (const char* s : {"lower-gathers", "push-transposes", "fold-constants", "dead-code"})
    EXPECT_NE(l.out.find(s), std::string::npos) << s;
  EXPECT_EQ(run_sealite("optimize").code, 2);
  EXPECT_EQ(run_sealite("optimize " + seed_file().string()).code, 2);  // no -o
  auto bad = run_sealite("optimize " + seed_file().string() + " -o /tmp/x.tflite --passes nope");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("unknown pass"), std::string::npos);
}

TEST(OptimizeCli, OptimizesVerifiesAndIsIdempotent) {
  auto out = sealite::testing::temp_dir() / "seed_tail.opt.tflite";
  auto r = run_sealite("optimize " + seed_file().string() + " -o " + out.string() + " --json --verify 3");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["changed"].get<bool>());
  EXPECT_TRUE(j["written"].get<bool>());
  EXPECT_EQ(j["gather_nd"]["after"], 0);
  EXPECT_TRUE(j["verify"]["ok"].get<bool>());
  ASSERT_TRUE(fs::exists(out));
  auto out2 = sealite::testing::temp_dir() / "seed_tail.opt2.tflite";
  auto again = run_sealite("optimize " + out.string() + " -o " + out2.string());
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out;
  EXPECT_EQ(sealite::read_file(out), sealite::read_file(out2));
  // never the input
  auto same = run_sealite("optimize " + out.string() + " -o " + out.string());
  EXPECT_EQ(same.code, 2);
}

TEST(OptimizeCli, ReportShowsPartitionsLatencyAndCensus) {
  auto out = sealite::testing::temp_dir() / "seed_tail.rep.tflite";
  auto r = run_sealite("optimize " + seed_file().string() + " -o " + out.string() + " --report --runs 3 --verify 2");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s : {"GATHER_ND", "TRANSPOSE", "XNNPACK      before:", "latency", "op census", "max |diff|"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST(OptimizeCli, TargetXnnpackPutsTheSeedTailInOnePartition) {
  auto out = sealite::testing::temp_dir() / "seed_tail.xnn.tflite";
  auto r = run_sealite("optimize " + seed_file().string() + " -o " + out.string() +
                       " --target xnnpack --report --json --runs 1 --verify 3 --atol 1e-6");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["target"], "xnnpack");
  EXPECT_TRUE(j["verify"]["ok"].get<bool>());
  EXPECT_EQ(j["gather_nd"]["after"], 0);
  EXPECT_EQ(j["transpose"]["after"], 0);
  EXPECT_GT(j["delegation"]["before"]["partitions"].get<int>(), 1);
  EXPECT_EQ(j["delegation"]["after"]["partitions"], 1) << j["delegation"].dump(2);
  EXPECT_EQ(j["delegation"]["after"]["builtin_nodes"], 0) << j["delegation"].dump(2);
  for (const char* p : {"gelu-rational", "channel-mean-to-conv", "xnnpack-reflect-pad"})
    EXPECT_TRUE(j["passes_applied"].contains(p)) << p;
  // text report names the target; unknown targets are usage errors
  auto t = run_sealite("optimize " + seed_file().string() + " -o " + out.string() + ".2 --target xnnpack --verify 1");
  EXPECT_EQ(t.code, 0) << t.err;
  auto bad = run_sealite("optimize " + seed_file().string() + " -o " + out.string() + ".3 --target gpu");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("unknown target"), std::string::npos) << bad.err;
  auto l = run_sealite("optimize --list-passes");
  EXPECT_NE(l.out.find("[xnnpack]"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("gelu-rational"), std::string::npos);
  auto h = run_sealite("optimize --help");
  EXPECT_NE(h.out.find("--target"), std::string::npos);
}

TEST(OptimizeCli, ModelThatDoesNotLoadIsNotWritten) {
  // A custom op TensorFlow Lite does not know.
  sealite::testing::SeedGraphSpec spec;
  auto sg = sealite::testing::build_seed_upsample_graph(spec);
  auto& g = sg.graph;
  int x = g.subgraph().outputs[0];
  int y = g.add_tensor("custom_out", sealite::tfl::TensorType_FLOAT32, g.tensor(x).shape);
  auto& op = g.op(g.add_op(sealite::tfl::BuiltinOperator_CUSTOM, {x}, {y}));
  op.opcode_index = g.opcode_index(sealite::tfl::BuiltinOperator_CUSTOM, 1, "NoSuchOp");
  g.subgraph().outputs = {y};
  auto in = sealite::testing::temp_dir() / "custom.tflite";
  sealite::tfl::write_model_file(in, g.model());
  auto out = sealite::testing::temp_dir() / "custom.opt.tflite";
  auto r = run_sealite("optimize " + in.string() + " -o " + out.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("does not load"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  auto forced = run_sealite("optimize " + in.string() + " -o " + out.string() + " --no-verify");
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_TRUE(fs::exists(out));
}

TEST(OptimizeCli, VerifiesOnGivenNpyInputs) {
  sealite::testing::SeedGraphSpec spec;
  std::vector<float> img(static_cast<size_t>(2) * spec.height * spec.width * spec.channels);
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<float>(i % 97) / 97.f;
  auto npy = sealite::testing::temp_dir() / "two_images.npy";
  // a leading axis of 2: two input sets
  sealite::npy_save(npy, sealite::npy_from_floats({2, 1, spec.height, spec.width, spec.channels}, img.data()));
  auto out = sealite::testing::temp_dir() / "seed_npy.opt.tflite";
  auto r = run_sealite("optimize " + seed_file().string() + " -o " + out.string() + " --inputs " + npy.string() +
                       " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["verify"]["ok"].get<bool>());
  auto bad = sealite::testing::temp_dir() / "wrong.npy";
  sealite::npy_save(bad, sealite::npy_from_floats({3}, img.data()));
  auto w = run_sealite("optimize " + seed_file().string() + " -o " + out.string() + ".2 --inputs " + bad.string());
  EXPECT_EQ(w.code, 2);
  EXPECT_NE(w.err.find("takes"), std::string::npos) << w.err;
}

TEST(OptimizeCli, TfliteCrashIsARefusalNotACrash) {
  // TensorFlow Lite 2.9 aborts inside Invoke on a 5-D broadcast MUL: the
  // verification runs in a child process, so this is a clean refusal.
  sealite::graph::Graph g;
  using namespace sealite::tfl;
  int x = g.add_tensor("x", TensorType_FLOAT32, {2, 3, 4, 2, 2});
  g.subgraph().inputs.push_back(x);
  int c = g.add_constant_f32("c", {1, 1, 4, 1, 1}, std::vector<float>{1, 2, 3, 4});
  int r = g.add_tensor("r", TensorType_FLOAT32, {2, 3, 4, 2, 2});
  g.add_op(BuiltinOperator_RELU, {x}, {r});
  int y = g.add_tensor("y", TensorType_FLOAT32, {2, 3, 4, 2, 2});
  BuiltinOptionsUnion u;
  u.Set(MulOptionsT{});
  g.add_op(BuiltinOperator_MUL, {r, c}, {y}, std::move(u));
  int z = g.add_tensor("z", TensorType_FLOAT32, {2, 3, 4, 2, 2});
  int perm = g.add_constant_i32("perm", {5}, std::vector<int32_t>{0, 1, 2, 3, 4});
  BuiltinOptionsUnion tu;
  tu.Set(TransposeOptionsT{});
  g.add_op(BuiltinOperator_TRANSPOSE, {y, perm}, {z}, std::move(tu), 4);  // something to optimize
  g.subgraph().outputs.push_back(z);
  auto in = sealite::testing::temp_dir() / "abort.tflite";
  write_model_file(in, g.model());
  auto out = sealite::testing::temp_dir() / "abort.opt.tflite";
  auto res = run_sealite("optimize " + in.string() + " -o " + out.string());
  EXPECT_EQ(res.code, 1) << res.out << res.err;
  EXPECT_NE(res.err.find("crashed"), std::string::npos) << res.err;
  EXPECT_FALSE(fs::exists(out));
}
