// fold-constants: index arithmetic on constants becomes constant buffers of the right type.
#include <cstring>

#include "analysis/const_eval.h"
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

namespace {
std::vector<double> values(const graph::Graph& g, int t) {
  auto v = analysis::constant_value(g, t);
  return v ? v->v : std::vector<double>{};
}
}  // namespace

TEST(FoldConstants, ReflectIndicesComputedWithAbsSubCast) {
  // ai-edge-torch's reflect-pad indices: (n-1) - |(n-1) - |i||, in float, then CAST to int32.
  Builder b;
  const int n = 4;
  int x = b.input("x", {n, 3});
  int ar = b.f32("arange", {-1, 0, 1, 2, 3, 4});
  int nm1 = b.f32("n_minus_1", {float(n - 1)}, {1});
  int a1 = b.unary(BuiltinOperator_ABS, ar, "abs1");
  int s1 = b.op(BuiltinOperator_SUB, {nm1, a1}, {n + 2}, "sub1", Builder::opts(SubOptionsT{}));
  int a2 = b.unary(BuiltinOperator_ABS, s1, "abs2");
  int s2 = b.op(BuiltinOperator_SUB, {nm1, a2}, {n + 2}, "sub2", Builder::opts(SubOptionsT{}));
  CastOptionsT co;
  co.in_data_type = TensorType_FLOAT32;
  co.out_data_type = TensorType_INT32;
  int ci = b.op(BuiltinOperator_CAST, {s2}, {n + 2}, "idx", Builder::opts(co), TensorType_INT32);
  GatherOptionsT go;
  go.axis = 0;
  int y = b.op(BuiltinOperator_GATHER, {x, ci}, {n + 2, 3}, "y", Builder::opts(go));
  b.output(y);
  auto r = optimize(b, with_dce({"fold-constants"}));
  EXPECT_TRUE(r.res.changed);
  EXPECT_TRUE(r.verified()) << r.res.report.dump(2);
  ASSERT_EQ(r.graph->num_ops(), 1);
  EXPECT_EQ(r.count("GATHER"), 1);
  int idx = r.graph->op(0).inputs[1];
  EXPECT_TRUE(r.graph->is_constant(idx));
  EXPECT_EQ(r.graph->tensor(idx).type, TensorType_INT32);
  EXPECT_EQ(values(*r.graph, idx), (std::vector<double>{1, 0, 1, 2, 3, 2}));
}

TEST(FoldConstants, IntegerRangeAndMul) {
  Builder b;
  int x = b.input("x", {8});
  int s = b.g.add_constant_i32("start", {}, std::vector<int32_t>{0});  // scalars
  int l = b.g.add_constant_i32("limit", {}, std::vector<int32_t>{4});
  int d = b.g.add_constant_i32("delta", {}, std::vector<int32_t>{1});
  int r0 = b.op(BuiltinOperator_RANGE, {s, l, d}, {4}, "range", {}, TensorType_INT32);
  int two = b.i32("two", {2}, {1});
  int m = b.op(BuiltinOperator_MUL, {r0, two}, {4}, "even", Builder::opts(MulOptionsT{}), TensorType_INT32);
  GatherOptionsT go;
  int y = b.op(BuiltinOperator_GATHER, {x, m}, {4}, "y", Builder::opts(go));
  b.output(y);
  auto r = optimize(b, with_dce({"fold-constants"}));
  EXPECT_TRUE(r.verified());
  ASSERT_EQ(r.graph->num_ops(), 1);
  EXPECT_EQ(values(*r.graph, r.graph->op(0).inputs[1]), (std::vector<double>{0, 2, 4, 6}));
}

TEST(FoldConstants, LeavesFloatRangeQuantizedAndDynamicAlone) {
  Builder b;
  int x = b.input("x", {3});
  int s = b.g.add_constant_f32("start", {}, std::vector<float>{0.1f});
  int l = b.g.add_constant_f32("limit", {}, std::vector<float>{0.4f});
  int d = b.g.add_constant_f32("delta", {}, std::vector<float>{0.1f});
  int fr = b.op(BuiltinOperator_RANGE, {s, l, d}, {3}, "frange");  // float RANGE: not bit-exact in double
  int y = b.op(BuiltinOperator_ADD, {x, fr}, {3}, "y", Builder::opts(AddOptionsT{}));
  b.output(y);
  auto p = passes::make_pass("fold-constants");
  EXPECT_FALSE(p->run(b.g));
  ASSERT_FALSE(p->notes().empty());
  EXPECT_NE(p->notes()[0].find("not bit-exact"), std::string::npos);
}

TEST(FoldConstants, ShapeOfStaticTensor) {
  Builder b;
  int x = b.input("x", {2, 3, 4});
  int r = b.unary(BuiltinOperator_RELU, x, "r");
  ShapeOptionsT so;
  so.out_type = TensorType_INT32;
  int sh = b.op(BuiltinOperator_SHAPE, {r}, {3}, "shape", Builder::opts(so), TensorType_INT32);
  ReshapeOptionsT ro;
  int y = b.op(BuiltinOperator_RESHAPE, {r, sh}, {2, 3, 4}, "y", Builder::opts(ro));
  b.output(y);
  auto o = optimize(b, with_dce({"fold-constants"}));
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.count("SHAPE"), 0);
  EXPECT_TRUE(o.graph->is_constant(o.graph->op(1).inputs[1]));
}
