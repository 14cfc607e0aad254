// xnnpack-reflect-pad (opt-in): the seed graph in one XNNPACK partition.
#include "analysis/report.h"
#include "core/error.h"
#include "passes/pass.h"
#include "passes/pass_testing.h"
#include "testing/seed_graphs.h"

using namespace sealite;
using namespace sealite::testing;

TEST(XnnpackReflectPad, SeedGraphInOnePartition) {
  SeedGraphSpec spec;
  auto sg = build_seed_upsample_graph(spec);
  auto bytes = write_model(sg.graph.model());
  auto before = analysis::delegation_report(bytes, 1);
  auto o = optimize(bytes, {"+xnnpack-reflect-pad"}, 3, 1e-6);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("GATHER_ND"), 0);
  EXPECT_EQ(o.count("MIRROR_PAD"), 0);
  EXPECT_EQ(o.count("SLICE"), 0);
  EXPECT_EQ(o.count("TRANSPOSE_CONV"), 6);
  auto after = analysis::delegation_report(o.res.bytes, 1);
  EXPECT_GT(before["partitions"].get<int>(), 1);
  EXPECT_EQ(after["partitions"], 1) << after.dump(2);
  EXPECT_EQ(after["builtin_nodes"], 0) << after.dump(2);
  // reference
  std::vector<float> input(static_cast<size_t>(spec.height) * spec.width * spec.channels);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>((i * 7919) % 1000) / 1000.f;
  auto ref = seed_reference(sg, spec, input);
  auto out = run_float(o.res.bytes, input, true);
  float m = 0;
  for (size_t i = 0; i < ref.size(); ++i) m = std::max(m, std::abs(out[i] - ref[i]));
  EXPECT_LT(m, 1e-5f);
  // idempotent, and not in the default set
  auto again = optimize(o.res.bytes, {"+xnnpack-reflect-pad"}, 1);
  EXPECT_FALSE(again.res.changed);
  auto defaults = passes::default_pass_names();
  EXPECT_EQ(std::count(defaults.begin(), defaults.end(), "xnnpack-reflect-pad"), 0);
}

TEST(XnnpackReflectPad, LeavesOtherPadsToTheDefaultLowering) {
  Builder b;
  int x = b.input("x", {1, 4, 6, 2});  // H = 4 is too small for the strided edge trick
  int p = b.i32("p", {0, 0, 1, 1, 1, 1, 0, 0}, {4, 2});
  MirrorPadOptionsT mo;
  b.output(b.op(BuiltinOperator_MIRROR_PAD, {x, p}, {1, 6, 8, 2}, "y", Builder::opts(mo)));
  auto pass = passes::make_pass("xnnpack-reflect-pad");
  EXPECT_FALSE(pass->run(b.g));
  auto o = optimize(b, {"+xnnpack-reflect-pad"}, 2);
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("MIRROR_PAD"), 0);  // lower-mirror-pad took it
}

TEST(XnnpackReflectPad, PassListSyntax) {
  auto plus = passes::resolve_pass_list({"+xnnpack-reflect-pad", "-lower-mirror-pad"});
  EXPECT_EQ(std::count(plus.begin(), plus.end(), "xnnpack-reflect-pad"), 1);
  EXPECT_EQ(std::count(plus.begin(), plus.end(), "lower-mirror-pad"), 0);
  EXPECT_EQ(plus.size(), passes::default_pass_names().size());
  EXPECT_THROW(passes::resolve_pass_list({"dead-code", "+lower-gathers"}), Error);
  EXPECT_THROW(passes::resolve_pass_list({"+nope"}), Error);
}
