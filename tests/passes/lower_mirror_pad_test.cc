// lower-mirror-pad: MIRROR_PAD -> SLICE + CONCATENATION, bit-exact.
#include "passes/pass.h"
#include "passes/pass_testing.h"
#include "testing/test_paths.h"
#include "core/fs.h"

using namespace sealite;
using namespace sealite::testing;

namespace {
Builder mirror_graph(std::vector<int32_t> shape, std::vector<int32_t> pads, MirrorPadMode mode,
                     TensorType type = TensorType_FLOAT32) {
  Builder b;
  int x = b.input("x", shape, type);
  if (type == TensorType_INT8) b.quantize(x, 0.1f, 3);
  std::vector<int32_t> out = shape;
  for (size_t d = 0; d < shape.size(); ++d) out[d] += pads[2 * d] + pads[2 * d + 1];
  int p = b.i32("pads", pads, {static_cast<int32_t>(shape.size()), 2});
  MirrorPadOptionsT mo;
  mo.mode = mode;
  int y = b.op(BuiltinOperator_MIRROR_PAD, {x, p}, out, "y", Builder::opts(mo), type);
  if (type == TensorType_INT8) b.quantize(y, 0.1f, 3);
  b.output(y);
  return b;
}
}  // namespace

TEST(LowerMirrorPad, ReflectAndSymmetricAnyWidth) {
  struct C { std::vector<int32_t> shape, pads; MirrorPadMode mode; };
  const std::vector<C> cases = {
      {{1, 5, 6, 3}, {0, 0, 1, 1, 1, 1, 0, 0}, MirrorPadMode_REFLECT},
      {{1, 5, 6, 3}, {0, 0, 2, 1, 0, 3, 0, 0}, MirrorPadMode_SYMMETRIC},
      {{9, 7}, {6, 5, 0, 2}, MirrorPadMode_REFLECT},      // wide: SLICE + REVERSE_V2
      {{9, 7}, {7, 9, 1, 0}, MirrorPadMode_SYMMETRIC},
  };
  for (auto& c : cases) {
    auto o = optimize(mirror_graph(c.shape, c.pads, c.mode), with_dce({"lower-mirror-pad"}));
    EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
    EXPECT_EQ(o.max_diff(), 0.0);
    EXPECT_EQ(o.count("MIRROR_PAD"), 0);
    EXPECT_GE(o.count("CONCATENATION"), 1);
  }
}

TEST(LowerMirrorPad, QuantizedKeepsQuantization) {
  auto o = optimize(mirror_graph({1, 4, 4, 2}, {0, 0, 1, 1, 1, 1, 0, 0}, MirrorPadMode_REFLECT, TensorType_INT8),
                    with_dce({"lower-mirror-pad"}));
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.count("MIRROR_PAD"), 0);
  for (int t = 0; t < o.graph->num_tensors(); ++t)
    if (o.graph->tensor(t).type == TensorType_INT8) {
      ASSERT_TRUE(o.graph->tensor(t).quantization) << o.graph->tensor(t).name;
      EXPECT_EQ(o.graph->tensor(t).quantization->scale, std::vector<float>{0.1f});
    }
}

TEST(LowerMirrorPad, RealMirrorPadModel) {
  auto bytes = read_file(data_dir() / "tflite/litert_simple_mirror_pad_reflect_op.tflite");
  auto o = optimize(bytes, {}, 5);
  EXPECT_TRUE(o.res.changed);
  EXPECT_TRUE(o.verified());
  EXPECT_EQ(o.max_diff(), 0.0);
  EXPECT_EQ(o.count("MIRROR_PAD"), 0);
}
