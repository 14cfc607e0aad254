// lower-gathers: every index-map kind becomes the op it is, verified in TensorFlow Lite.
#include "passes/pass.h"
#include "passes/pass_testing.h"
#include "testing/seed_graphs.h"

using namespace sealite;
using namespace sealite::testing;

namespace {

// x [2,5,3] -> RELU -> GATHER(axis 1, idx) -> out
Builder gather_axis1(const std::vector<int32_t>& idx, std::vector<int32_t> idx_shape = {}) {
  Builder b;
  int x = b.input("x", {2, 5, 3});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  if (idx_shape.empty()) idx_shape = {static_cast<int32_t>(idx.size())};
  int it = b.g.add_constant_i32("idx", idx_shape, idx);
  std::vector<int32_t> out = {2};
  out.insert(out.end(), idx_shape.begin(), idx_shape.end());
  out.push_back(3);
  GatherOptionsT go;
  go.axis = 1;
  b.output(b.op(BuiltinOperator_GATHER, {r, it}, out, "y", Builder::opts(go)));
  return b;
}

struct Case {
  std::vector<int32_t> idx;
  std::string op;  // what the gather must become ("" = nothing but the RELU)
};

}  // namespace

TEST(LowerGathers, EveryAxisMapKind) {
  const std::vector<Case> cases = {
      {{0, 1, 2, 3, 4}, ""},                       // identity
      {{1, 2, 3}, "SLICE"},                        // slice
      {{0, 2, 4}, "STRIDED_SLICE"},                // strided slice
      {{4, 3, 2, 1, 0}, "REVERSE_V2"},             // reverse
      {{1, 0, 1, 2, 3, 4, 3}, "MIRROR_PAD"},       // reflect pad (1,1)
      {{1, 0, 0, 1, 2, 3, 4, 4}, "MIRROR_PAD"},    // symmetric pad (2,1)
      {{0, 0, 0, 1, 2, 3, 4, 4}, "CONCATENATION"}, // edge pad (2,1)
      {{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, "RESIZE_NEAREST_NEIGHBOR"},  // nearest repeat x2
  };
  for (const auto& c : cases) {
    auto r = optimize(gather_axis1(c.idx), with_dce({"lower-gathers"}));
    SCOPED_TRACE(c.op);
    EXPECT_TRUE(r.res.changed);
    EXPECT_TRUE(r.verified()) << r.res.report.dump(2);
    EXPECT_EQ(r.max_diff(), 0.0);
    EXPECT_EQ(r.count("GATHER"), 0);
    if (!c.op.empty()) EXPECT_GE(r.count(c.op), 1);
    else EXPECT_EQ(r.graph->num_ops(), 1);
  }
}

TEST(LowerGathers, ScalarAndMultiDimensionalIndices) {
  {
    Builder b;
    int x = b.input("x", {2, 5, 3});
    int r = b.unary(BuiltinOperator_RELU, x, "relu");
    int it = b.g.add_constant_i32("idx", {}, std::vector<int32_t>{3});
    GatherOptionsT go;
    go.axis = 1;
    b.output(b.op(BuiltinOperator_GATHER, {r, it}, {2, 3}, "y", Builder::opts(go)));
    auto o = optimize(b, with_dce({"lower-gathers"}));
    EXPECT_TRUE(o.verified());
    EXPECT_EQ(o.count("GATHER"), 0);
    EXPECT_EQ(o.count("SLICE"), 1);
  }
  auto o = optimize(gather_axis1({1, 2, 3, 4}, {2, 2}), with_dce({"lower-gathers"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("GATHER"), 0);
}

TEST(LowerGathers, GatherNdPermutationAndReshape) {
  // out[i][j] = in[j][i]: a transpose.
  Builder b;
  int x = b.input("x", {3, 4, 2});
  int r = b.unary(BuiltinOperator_RELU, x, "relu");
  std::vector<int32_t> idx;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) { idx.push_back(j); idx.push_back(i); }
  int it = b.g.add_constant_i32("idx", {4, 3, 2}, idx);
  b.output(b.op(BuiltinOperator_GATHER_ND, {r, it}, {4, 3, 2}, "y", Builder::opts(GatherNdOptionsT{})));
  auto o = optimize(b, with_dce({"lower-gathers"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("GATHER_ND"), 0);
  EXPECT_EQ(o.count("TRANSPOSE"), 1);

  // Every element in order, as a [12,1,2] gather of a [3,4,2] tensor: a reshape.
  Builder c;
  int x2 = c.input("x", {3, 4, 2});
  int r2 = c.unary(BuiltinOperator_RELU, x2, "relu");
  std::vector<int32_t> seq;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) { seq.push_back(i); seq.push_back(j); }
  int st = c.g.add_constant_i32("idx", {12, 2}, seq);
  c.output(c.op(BuiltinOperator_GATHER_ND, {r2, st}, {12, 2}, "y", Builder::opts(GatherNdOptionsT{})));
  auto o2 = optimize(c, with_dce({"lower-gathers"}));
  EXPECT_TRUE(o2.verified());
  EXPECT_EQ(o2.count("GATHER_ND"), 0);
  EXPECT_EQ(o2.count("RESHAPE"), 1);
}

TEST(LowerGathers, LeavesGeneralDynamicAndRequantizingGathersAlone) {
  // general index map
  auto g = optimize(gather_axis1({2, 0, 3, 1}), with_dce({"lower-gathers"}));
  EXPECT_FALSE(g.res.changed);
  EXPECT_EQ(g.count("GATHER"), 1);
  // dynamic indices (from an input)
  Builder b;
  int x = b.input("x", {5, 3});
  int idx = b.input("idx", {4, 1}, TensorType_INT32);
  b.output(b.op(BuiltinOperator_GATHER_ND, {x, idx}, {4, 3}, "y", Builder::opts(GatherNdOptionsT{})));
  auto p = passes::make_pass("lower-gathers");
  EXPECT_FALSE(p->run(b.g));
  ASSERT_FALSE(p->notes().empty());
  EXPECT_NE(p->notes()[0].find("dynamic"), std::string::npos) << p->notes()[0];
  // quantized, output scale differs from the input's: a raw copy would change values
  Builder q;
  int xq = q.input("x", {2, 5, 3}, TensorType_INT8);
  q.quantize(xq, 0.5f, 0);
  int it = q.g.add_constant_i32("idx", {3}, std::vector<int32_t>{1, 2, 3});
  GatherOptionsT go;
  go.axis = 1;
  int y = q.op(BuiltinOperator_GATHER, {xq, it}, {2, 3, 3}, "y", Builder::opts(go), TensorType_INT8, 2);
  q.quantize(y, 0.25f, 0);
  q.output(y);
  auto pq = passes::make_pass("lower-gathers");
  EXPECT_FALSE(pq->run(q.g));
}

TEST(LowerGathers, QuantizedGatherKeepsQuantization) {
  Builder q;
  int x = q.input("x", {2, 5, 3}, TensorType_INT8);
  q.quantize(x, 0.5f, -3);
  int it = q.g.add_constant_i32("idx", {7}, std::vector<int32_t>{1, 0, 1, 2, 3, 4, 3});
  GatherOptionsT go;
  go.axis = 1;
  int y = q.op(BuiltinOperator_GATHER, {x, it}, {2, 7, 3}, "y", Builder::opts(go), TensorType_INT8, 2);
  q.quantize(y, 0.5f, -3);
  q.output(y);
  auto o = optimize(q, with_dce({"lower-gathers"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("MIRROR_PAD"), 1);
  const auto& out = o.graph->tensor(o.graph->subgraph().outputs[0]);
  ASSERT_TRUE(out.quantization);
  EXPECT_EQ(out.quantization->scale, std::vector<float>{0.5f});
  EXPECT_EQ(out.quantization->zero_point, std::vector<int64_t>{-3});
}

TEST(LowerGathers, SeedGraphHasNoGatherNdLeft) {
  auto sg = build_seed_upsample_graph({});
  auto o = optimize(write_model(sg.graph.model()), with_dce({"fold-constants", "lower-gathers"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("GATHER_ND"), 0);
  EXPECT_EQ(o.count("MIRROR_PAD"), 6);
  EXPECT_EQ(o.count("ABS"), 0);
}

TEST(LowerGathers, IdentityFromGraphInputToGraphOutput) {
  Builder b;
  int x = b.input("x", {4, 3});
  int it = b.i32("idx", {0, 1, 2, 3});
  GatherOptionsT go;
  b.output(b.op(BuiltinOperator_GATHER, {x, it}, {4, 3}, "y", Builder::opts(go)));
  auto o = optimize(b, {});
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("GATHER"), 0);
  EXPECT_EQ(o.graph->num_ops(), 1);
  EXPECT_FALSE(optimize(o.res.bytes, {}, 1).res.changed);
}
