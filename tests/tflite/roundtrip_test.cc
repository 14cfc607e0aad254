// Reading and writing keep everything: structural identity of every field, and
// TensorFlow Lite gives bit-identical outputs on the original and the rewrite.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/error.h"
#include "core/fs.h"
#include "runtime/interpreter.h"
#include "tflite/compare.h"
#include "tflite/model_io.h"
#include "tflite/model_files.h"

using namespace sealite;

namespace {

// Deterministic inputs by type: floats in [-1,1), ints in a small range, bools.
void fill_inputs(rt::Interpreter& in, unsigned seed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < in.input_count(); ++i) {
    auto info = in.input_info(i);
    std::vector<uint8_t> buf(info.bytes);
    switch (info.type) {
      case rt::ElemType::f32: {
        std::uniform_real_distribution<float> d(-1.f, 1.f);
        for (size_t k = 0; k < buf.size() / 4; ++k) { float v = d(rng); std::memcpy(&buf[4 * k], &v, 4); }
        break;
      }
      case rt::ElemType::i32: {
        std::uniform_int_distribution<int32_t> d(0, 3);
        for (size_t k = 0; k < buf.size() / 4; ++k) { int32_t v = d(rng); std::memcpy(&buf[4 * k], &v, 4); }
        break;
      }
      case rt::ElemType::i64: {
        std::uniform_int_distribution<int64_t> d(0, 3);
        for (size_t k = 0; k < buf.size() / 8; ++k) { int64_t v = d(rng); std::memcpy(&buf[8 * k], &v, 8); }
        break;
      }
      case rt::ElemType::boolean: for (auto& b : buf) b = rng() & 1; break;
      default: for (auto& b : buf) b = static_cast<uint8_t>(rng()); break;
    }
    in.set_input(i, buf.data(), buf.size());
  }
}

}  // namespace

class RoundTrip : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(RoundTrip, StructurallyIdenticalAndSameOutputs) {
  const auto path = GetParam();
  auto bytes = read_file(path);
  auto model = tfl::read_model(bytes.data(), bytes.size(), path.string());
  auto written = tfl::write_model(*model);
  auto diffs = tfl::compare_models(bytes.data(), bytes.size(), written.data(), written.size());
  EXPECT_TRUE(diffs.empty()) << path << ": " << (diffs.empty() ? "" : diffs[0]);
  // Reading the rewrite gives the same object tree again (a second, independent check).
  auto again = tfl::read_model(written.data(), written.size(), "rewritten");
  EXPECT_TRUE(*model == *again) << path;
  // The comparison itself must notice a change.
  if (!model->subgraphs.empty() && !model->subgraphs[0]->tensors.empty()) {
    model->subgraphs[0]->tensors[0]->name += "_changed";
    auto changed = tfl::write_model(*model);
    EXPECT_FALSE(tfl::compare_models(bytes.data(), bytes.size(), changed.data(), changed.size()).empty());
  }
  // Runtime: wherever TFLite 2.9 loads the original, the rewrite loads and matches bit for bit.
  std::unique_ptr<rt::Interpreter> a;
  try {
    a = std::make_unique<rt::Interpreter>(bytes, rt::Options{1, false});
  } catch (const Error& e) {
    EXPECT_THROW(rt::Interpreter(written, rt::Options{1, false}), Error);
    GTEST_SKIP() << "TensorFlow Lite 2.9 does not load the original: " << e.what();
  }
  rt::Interpreter b(written, rt::Options{1, false});
  ASSERT_EQ(a->output_count(), b.output_count());
  for (unsigned seed : {1u, 2u}) {
    fill_inputs(*a, seed);
    fill_inputs(b, seed);
    a->invoke();
    b.invoke();
    for (int o = 0; o < a->output_count(); ++o) EXPECT_EQ(a->output_bytes(o), b.output_bytes(o)) << "output " << o;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, RoundTrip, ::testing::ValuesIn(sealite::testing::model_files()),
                         [](const auto& info) {
                           std::string n = info.param.stem().string() +
                                           (info.param.parent_path().filename() == "models" ? "_shared" : "_local");
                           for (auto& c : n) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(RoundTrip, SharedModelsPresentOrSkipped) {
  SEALITE_REQUIRE_SHARED();
  EXPECT_GE(sealite::testing::model_files().size(), 20u);
}

// Inputs the fuzzer once found problems with: each either reads and round-trips
// to an identical structure, or is refused with an error.
TEST(RoundTrip, FuzzRegressions) {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(sealite::testing::data_dir() / "tflite/regressions")) {
    ++n;
    auto bytes = read_file(e.path());
    std::unique_ptr<tfl::ModelT> m;
    try {
      m = tfl::read_model(bytes.data(), bytes.size(), e.path().string());
    } catch (const Error&) {
      continue;
    }
    auto written = tfl::write_model(*m);
    auto diffs = tfl::compare_models(bytes.data(), bytes.size(), written.data(), written.size());
    EXPECT_TRUE(diffs.empty()) << e.path() << ": " << diffs[0];
  }
  EXPECT_GT(n, 0);
}
