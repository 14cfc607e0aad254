#include "graph/graph.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tflite/model_io.h"

using namespace sealite;
using namespace sealite::tfl;

namespace {
// x -> RELU -> a -> TANH -> b (output); dead: a -> LOGISTIC -> c (unused); w, w2 identical constants.
graph::Graph sample() {
  graph::Graph g;
  int x = g.add_tensor("x", TensorType_FLOAT32, {1, 4});
  int a = g.add_tensor("a", TensorType_FLOAT32, {1, 4});
  int b = g.add_tensor("b", TensorType_FLOAT32, {1, 4});
  int c = g.add_tensor("c", TensorType_FLOAT32, {1, 4});
  std::vector<float> v = {1, 2, 3, 4};
  int w = g.add_constant_f32("w", {1, 4}, v);
  int w2 = g.add_constant_f32("w2", {1, 4}, v);
  int d = g.add_tensor("d", TensorType_FLOAT32, {1, 4});
  int e = g.add_tensor("e", TensorType_FLOAT32, {1, 4});
  g.add_op(BuiltinOperator_TANH, {a}, {b});      // op 0 (out of order on purpose)
  g.add_op(BuiltinOperator_RELU, {x}, {a});      // op 1
  g.add_op(BuiltinOperator_LOGISTIC, {a}, {c});  // op 2, dead
  g.add_op(BuiltinOperator_ADD, {b, w}, {d});    // op 3
  g.add_op(BuiltinOperator_ADD, {d, w2}, {e});   // op 4
  g.add_tensor("unused", TensorType_FLOAT32, {7});
  g.subgraph().inputs = {x};
  g.subgraph().outputs = {e};
  return g;
}
}  // namespace

TEST(Graph, ProducersAndConsumersByTensor) {
  auto g = sample();
  auto u = g.uses();
  EXPECT_EQ(u.producer[1], 1);  // a made by RELU
  EXPECT_EQ(u.consumers[1], (std::vector<int>{0, 2}));
  EXPECT_EQ(u.producer[0], -1);
}

TEST(Graph, TopologicalOrderAndSort) {
  auto g = sample();
  auto order = g.topological_order();
  EXPECT_EQ(order, (std::vector<int>{1, 0, 2, 3, 4}));
  g.sort_topologically();
  EXPECT_EQ(g.op_name(0), "RELU");
  EXPECT_EQ(g.op_name(1), "TANH");
}

TEST(Graph, CycleIsDetected) {
  auto g = sample();
  g.op(1).inputs[0] = 2;  // RELU reads TANH's output, TANH reads RELU's
  EXPECT_THROW(g.topological_order(), Error);
}

TEST(Graph, ReplaceUsesAndRemoveOps) {
  auto g = sample();
  g.replace_uses(6 /*d*/, 2 /*b*/);  // bypass the first ADD
  g.remove_ops({3});
  EXPECT_EQ(g.num_ops(), 4);
  EXPECT_EQ(g.op(3).inputs[0], 2);
}

TEST(Graph, CompactDropsDeadWeightAndSharesConstants) {
  auto g = sample();
  auto m = g.release();
  size_t tensors_before = m->subgraphs[0]->tensors.size();
  auto st = graph::compact(*m);
  EXPECT_EQ(st.ops_removed, 1);          // LOGISTIC
  EXPECT_EQ(st.tensors_removed, 2);      // c and unused
  EXPECT_EQ(st.buffers_deduplicated, 1); // w2 == w
  EXPECT_EQ(m->subgraphs[0]->tensors.size(), tensors_before - 2);
  EXPECT_EQ(st.opcodes_removed, 1);      // LOGISTIC's code
  // The result is valid and both constants point at the one buffer.
  auto bytes = tfl::write_model(*m);
  auto again = tfl::read_model(bytes.data(), bytes.size());
  graph::Graph g2(std::move(again));
  int wi = -1, w2i = -1;
  for (int t = 0; t < g2.num_tensors(); ++t) {
    if (g2.tensor(t).name == "w") wi = t;
    if (g2.tensor(t).name == "w2") w2i = t;
  }
  ASSERT_GE(wi, 0);
  ASSERT_GE(w2i, 0);
  EXPECT_EQ(g2.tensor(wi).buffer, g2.tensor(w2i).buffer);
  // Compacting again changes nothing.
  auto m2 = g2.release();
  auto st2 = graph::compact(*m2);
  EXPECT_EQ(st2.ops_removed + st2.tensors_removed + st2.buffers_removed + st2.buffers_deduplicated, 0);
}

TEST(Graph, OpcodeIndexReusesCodes) {
  graph::Graph g;
  auto a = g.opcode_index(BuiltinOperator_ADD);
  auto b = g.opcode_index(BuiltinOperator_ADD);
  auto c = g.opcode_index(BuiltinOperator_ADD, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // codes above 127 use the 32-bit field with the placeholder in the 8-bit one
  auto d = g.opcode_index(BuiltinOperator_GELU);
  EXPECT_EQ(g.model().operator_codes[d]->deprecated_builtin_code, 127);
  EXPECT_EQ(builtin_code(*g.model().operator_codes[d]), BuiltinOperator_GELU);
}
