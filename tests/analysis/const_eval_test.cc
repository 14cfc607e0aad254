#include "analysis/const_eval.h"

#include <gtest/gtest.h>

using namespace sealite;
using namespace sealite::tfl;

TEST(ConstEval, IndexArithmeticChain) {
  graph::Graph g;
  int s = g.add_constant_i32("start", {}, std::vector<int32_t>{-2});
  int l = g.add_constant_i32("limit", {}, std::vector<int32_t>{3});
  int d = g.add_constant_i32("delta", {}, std::vector<int32_t>{1});
  int r = g.add_tensor("range", TensorType_INT32, {5});
  g.add_op(BuiltinOperator_RANGE, {s, l, d}, {r});
  int a = g.add_tensor("abs", TensorType_INT32, {5});
  g.add_op(BuiltinOperator_ABS, {r}, {a});
  int c = g.add_constant_i32("c", {1}, std::vector<int32_t>{4});
  int sub = g.add_tensor("sub", TensorType_INT32, {5});
  g.add_op(BuiltinOperator_SUB, {c, a}, {sub});
  int shp = g.add_constant_i32("shape", {2}, std::vector<int32_t>{5, 1});
  int rs = g.add_tensor("rs", TensorType_INT32, {5, 1});
  g.add_op(BuiltinOperator_RESHAPE, {sub, shp}, {rs});
  int perm = g.add_constant_i32("perm", {2}, std::vector<int32_t>{1, 0});
  int tr = g.add_tensor("tr", TensorType_INT32, {1, 5});
  g.add_op(BuiltinOperator_TRANSPOSE, {rs, perm}, {tr});
  int x = g.add_tensor("x", TensorType_INT32, {1, 5});
  g.subgraph().inputs = {x};
  int dyn = g.add_tensor("dyn", TensorType_INT32, {1, 5});
  g.add_op(BuiltinOperator_ADD, {tr, x}, {dyn});

  analysis::ConstEvaluator ev(g);
  auto v = ev.evaluate(tr);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->shape, (std::vector<int32_t>{1, 5}));
  EXPECT_EQ(v->v, (std::vector<double>{2, 3, 4, 3, 2}));
  EXPECT_FALSE(ev.evaluate(dyn));
  EXPECT_TRUE(ev.depends_on_input(dyn));
  EXPECT_FALSE(ev.depends_on_input(tr));
  EXPECT_EQ(ev.dependency_ops(tr).size(), 5u);
}
