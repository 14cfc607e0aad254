// Bad .tflite input: a one-line sealite::Error, never a crash or a hang.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "core/fs.h"
#include "graph/graph.h"
#include "tflite/model_io.h"
#include "testing/test_paths.h"

using namespace sealite;

namespace {
std::vector<uint8_t> small_model() {
  return read_file(sealite::testing::data_dir() / "tflite" / "litert_simple_mirror_pad_reflect_op.tflite");
}
std::string error_of(const std::vector<uint8_t>& b) {
  try {
    tfl::read_model(b.data(), b.size(), "m.tflite");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(BadInput, NotAFlatbuffer) {
  std::string text = "hello, this is not a model at all";
  auto msg = error_of(std::vector<uint8_t>(text.begin(), text.end()));
  EXPECT_NE(msg.find("not a TensorFlow Lite model"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_NE(error_of({}).find("not a TensorFlow Lite model"), std::string::npos);
}

TEST(BadInput, WrongIdentifier) {
  auto b = small_model();
  b[4] = 'X';
  EXPECT_NE(error_of(b).find("file identifier 'XFL3'"), std::string::npos) << error_of(b);
}

TEST(BadInput, TruncatedAtEveryLength) {
  auto b = small_model();
  for (size_t n = 0; n < b.size(); ++n) {
    std::vector<uint8_t> t(b.begin(), b.begin() + n);
    EXPECT_FALSE(error_of(t).empty()) << "truncated to " << n;
  }
}

TEST(BadInput, OffsetsOutOfRangeAndVectorsLargerThanFile) {
  auto b = small_model();
  // root offset pointing past the end
  auto c = b;
  c[0] = 0xff; c[1] = 0xff; c[2] = 0xff; c[3] = 0x7f;
  EXPECT_NE(error_of(c).find("corrupt"), std::string::npos);
  // every 4-byte word set to a huge length in turn: each either still verifies or is rejected
  for (size_t i = 8; i + 4 <= b.size(); i += 4) {
    auto d = b;
    d[i] = 0xf0; d[i + 1] = 0xff; d[i + 2] = 0xff; d[i + 3] = 0x0f;
    (void)error_of(d);  // must not crash (ASan/UBSan builds check this)
  }
}

TEST(BadInput, RandomByteFlipsNeverCrash) {
  auto b = small_model();
  std::mt19937 rng(7);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    auto d = b;
    for (int k = 0; k < 3; ++k) d[rng() % d.size()] = static_cast<uint8_t>(rng());
    if (!error_of(d).empty()) ++rejected;
  }
  EXPECT_GT(rejected, 0);
}

namespace {
// A tiny valid model made with the graph IR, then broken in one place.
std::unique_ptr<tfl::ModelT> tiny() {
  graph::Graph g;
  int x = g.add_tensor("x", tfl::TensorType_FLOAT32, {1, 4});
  int y = g.add_tensor("y", tfl::TensorType_FLOAT32, {1, 4});
  int z = g.add_tensor("z", tfl::TensorType_FLOAT32, {1, 4});
  g.add_op(tfl::BuiltinOperator_RELU, {x}, {y});
  g.add_op(tfl::BuiltinOperator_RELU, {y}, {z});
  g.subgraph().inputs = {x};
  g.subgraph().outputs = {z};
  return g.release();
}
std::string error_of_model(const tfl::ModelT& m) { return error_of(tfl::write_model(m)); }
}  // namespace

TEST(BadInput, ValidTinyModelReads) { EXPECT_EQ(error_of_model(*tiny()), ""); }

TEST(BadInput, OpCodeIndexOutOfRange) {
  auto m = tiny();
  m->subgraphs[0]->operators[0]->opcode_index = 9;
  EXPECT_NE(error_of_model(*m).find("operator code 9"), std::string::npos) << error_of_model(*m);
}

TEST(BadInput, TensorIndexOutOfRange) {
  auto m = tiny();
  m->subgraphs[0]->operators[1]->inputs[0] = 42;
  EXPECT_NE(error_of_model(*m).find("tensor 42"), std::string::npos) << error_of_model(*m);
  auto m2 = tiny();
  m2->subgraphs[0]->outputs[0] = -3;
  EXPECT_FALSE(error_of_model(*m2).empty());
}

TEST(BadInput, BufferIndexOutOfRange) {
  auto m = tiny();
  m->subgraphs[0]->tensors[0]->buffer = 77;
  EXPECT_NE(error_of_model(*m).find("buffer 77"), std::string::npos) << error_of_model(*m);
}

TEST(BadInput, Cycle) {
  auto m = tiny();
  m->subgraphs[0]->operators[0]->inputs[0] = 2;  // op0 reads z, which op1 makes from op0's output
  EXPECT_NE(error_of_model(*m).find("cycle"), std::string::npos) << error_of_model(*m);
}

TEST(BadInput, MissingFile) {
  EXPECT_THROW(tfl::read_model_file("/nonexistent.tflite"), Error);
}
