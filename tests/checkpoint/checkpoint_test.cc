// Reading real checkpoints: the VideoSeal fixtures and the small files made by
// tests/data/checkpoint/make_test_checkpoints.py (float16, bfloat16, protocol 4,
// deflated, safetensors).
#include "checkpoint/checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "checkpoint/builders.h"
#include "core/error.h"
#include "core/fs.h"
#include "testing/test_paths.h"

namespace fs = std::filesystem;
using namespace sealite;
using namespace sealite::ckpt;

namespace {

fs::path data(const std::string& name) { return sealite::testing::data_dir() / "checkpoint" / name; }

// The generator's value formula: ((i + seed) % 17 - 8) / 4 for C-order index i.
std::vector<float> pattern(int64_t n, int seed) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>((i + seed) % 17 - 8) / 4.f;
  return v;
}

struct KeyLine {
  std::string key, dtype;
  std::vector<int64_t> shape;
};

// state_dict_keys.txt: "key<TAB>(4, 3, 3, 3)<TAB>torch.float32"; "()" for scalars, "(4,)" for 1-D.
std::vector<KeyLine> read_keys_file(const fs::path& path) {
  std::vector<KeyLine> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream ls(line);
    KeyLine k;
    std::string shape;
    std::getline(ls, k.key, '\t');
    std::getline(ls, shape, '\t');
    std::getline(ls, k.dtype, '\t');
    std::string digits;
    for (char c : shape) {
      if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
      else if (!digits.empty()) {
        k.shape.push_back(std::stoll(digits));
        digits.clear();
      }
    }
    out.push_back(k);
  }
  return out;
}

void expect_matches_keys_file(const Checkpoint& ck, const fs::path& keys_file) {
  auto lines = read_keys_file(keys_file);
  ASSERT_FALSE(lines.empty()) << keys_file;
  ASSERT_EQ(ck.keys().size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i].key);
    EXPECT_EQ(ck.keys()[i], lines[i].key);  // same order as the state dict
    const TensorView& t = ck.at(lines[i].key);
    EXPECT_EQ(t.shape, lines[i].shape);
    EXPECT_EQ(std::string("torch.") + scalar_type_name(t.dtype), lines[i].dtype);
    EXPECT_EQ(t.name, lines[i].key);
    EXPECT_EQ(t.to_float().size(), static_cast<size_t>(t.numel()));
  }
}

// Fixed constants of VideoSeal models (fixture README).
void expect_videoseal_constants(const Checkpoint& ck) {
  ASSERT_TRUE(ck.has("rgb2yuv.M"));
  auto m = ck.get("rgb2yuv.M", {3, 3});
  EXPECT_EQ(m[0], 0.299f);
  EXPECT_EQ(m[1], 0.587f);
  EXPECT_EQ(m[2], 0.114f);
  if (!ck.has("attenuation.conv_x.weight")) return;
  EXPECT_EQ(ck.get("attenuation.conv_x.weight", {1, 1, 3, 3}),
            (std::vector<float>{-1, 0, 1, -2, 0, 2, -1, 0, 1}));
  EXPECT_EQ(ck.get("attenuation.conv_y.weight", {1, 1, 3, 3}),
            (std::vector<float>{1, 2, 1, 0, 0, 0, -1, -2, -1}));
  EXPECT_EQ(ck.get("attenuation.conv_lum.weight", {1, 1, 5, 5}),
            (std::vector<float>{1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 2, 0, 2, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1}));
}

}  // namespace

// --- the fixture copied into tests/data --------------------------------------

TEST(CheckpointFixture, ChunkyKeysShapesDtypes) {
  auto ck = Checkpoint::open(data("chunky_checkpoint.pth"));
  EXPECT_EQ(ck.format(), Checkpoint::Format::torch_zip);
  EXPECT_EQ(ck.path(), data("chunky_checkpoint.pth").string());
  expect_matches_keys_file(ck, data("chunky_state_dict_keys.txt"));
  EXPECT_FALSE(ck.has("args"));  // the other top-level key is not a tensor of the state dict
}

TEST(CheckpointFixture, ChunkyValuesMatchTorchChecksums) {
  auto ck = Checkpoint::open(data("chunky_checkpoint.pth"));
  std::ifstream in(data("chunky_checksums.txt"));
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    double sum = 0, abs_sum = 0;
    std::getline(ls, key, '\t');
    ls >> sum >> abs_sum;
    double s = 0, a = 0;
    for (float x : ck.at(key).to_float()) {
      s += x;
      a += std::fabs(x);
    }
    const double tol = 1e-9 * (abs_sum + 1.0);
    EXPECT_NEAR(s, sum, tol) << key;
    EXPECT_NEAR(a, abs_sum, tol) << key;
    ++n;
  }
  EXPECT_EQ(n, ck.keys().size());
}

TEST(CheckpointFixture, ChunkyConstantsAndSharedStorage) {
  auto ck = Checkpoint::open(data("chunky_checkpoint.pth"));
  expect_videoseal_constants(ck);
  // The message table is saved once and referenced by two keys.
  const auto& a = ck.at("embedder.msg_processor.msg_embeddings.weight");
  const auto& b = ck.at("embedder.unet.msg_processor.msg_embeddings.weight");
  EXPECT_EQ(a.storage.data(), b.storage.data());
  EXPECT_EQ(a.to_float(), b.to_float());
}

TEST(CheckpointFixture, ChunkyInt64BuffersReadable) {
  auto ck = Checkpoint::open(data("chunky_checkpoint.pth"));
  int found = 0;
  for (const auto& k : ck.keys()) {
    if (k.find("num_batches_tracked") == std::string::npos) continue;
    const auto& t = ck.at(k);
    EXPECT_EQ(t.dtype, ScalarType::i64);
    EXPECT_TRUE(t.shape.empty());
    EXPECT_EQ(t.numel(), 1);
    EXPECT_GE(t.to_float().at(0), 0.f);
    ++found;
  }
  EXPECT_GT(found, 0);
}

TEST(CheckpointFixture, ViewsOutliveTheCheckpoint) {
  TensorView t;
  std::vector<float> expected;
  {
    auto ck = Checkpoint::open(data("chunky_checkpoint.pth"));
    t = ck.at("rgb2yuv.M");
    expected = t.to_float();
  }
  EXPECT_EQ(t.to_float(), expected);  // `owner` keeps the mapping alive
}

// --- all shared fixtures ---------------------------------------------------

TEST(CheckpointShared, AllVideoSealFixtures) {
  SEALITE_REQUIRE_SHARED();
  for (const char* name : {"vs00", "vs10", "pixelseal", "chunky"}) {
    SCOPED_TRACE(name);
    const fs::path dir = sealite::testing::shared_dir() / "fixtures/videoseal" / name;
    auto ck = Checkpoint::open(dir / "checkpoint.pth");
    expect_matches_keys_file(ck, dir / "state_dict_keys.txt");
    expect_videoseal_constants(ck);
  }
}

TEST(CheckpointShared, FromMemoryEqualsOpen) {
  SEALITE_REQUIRE_SHARED();
  const fs::path p = sealite::testing::shared_dir() / "fixtures/videoseal/vs10/checkpoint.pth";
  auto a = Checkpoint::open(p);
  auto b = Checkpoint::from_memory(sealite::read_file(p), "vs10");
  ASSERT_EQ(a.keys(), b.keys());
  for (const auto& k : a.keys()) EXPECT_EQ(a.at(k).to_float(), b.at(k).to_float()) << k;
}

// --- generated files ---------------------------------------------------------

namespace {

void expect_half_contents(const Checkpoint& ck) {
  EXPECT_EQ(ck.keys(), (std::vector<std::string>{"conv.weight", "conv.bias", "base", "base_t", "base_row1",
                                                 "bn.num_batches_tracked", "scalar"}));
  // Nothing from 'args' (an argparse.Namespace), 'optimizer' or 'epoch'.
  EXPECT_FALSE(ck.has("exp_avg"));
  EXPECT_EQ(ck.at("conv.weight").dtype, ScalarType::f16);
  EXPECT_EQ(ck.get("conv.weight", {4, 3, 2, 2}), pattern(48, 0));
  EXPECT_EQ(ck.get("conv.bias", {4}), pattern(4, 7));
  const auto base = pattern(15, 1);  // 3x5
  EXPECT_EQ(ck.get("base", {3, 5}), base);

  const auto& t = ck.at("base_t");
  EXPECT_EQ(t.strides, (std::vector<int64_t>{1, 5}));
  EXPECT_FALSE(t.is_contiguous());
  std::vector<float> transposed;
  for (int j = 0; j < 5; ++j)
    for (int i = 0; i < 3; ++i) transposed.push_back(base[i * 5 + j]);
  EXPECT_EQ(ck.get("base_t", {5, 3}), transposed);

  EXPECT_EQ(ck.at("base_row1").storage_offset, 5);
  EXPECT_EQ(ck.get("base_row1", {5}), std::vector<float>(base.begin() + 5, base.begin() + 10));

  EXPECT_EQ(ck.at("bn.num_batches_tracked").dtype, ScalarType::i64);
  EXPECT_EQ(ck.get("bn.num_batches_tracked", {}), std::vector<float>{42.f});
  EXPECT_EQ(ck.get("scalar", {}), std::vector<float>{1.5f});
}

}  // namespace

TEST(CheckpointGenerated, Float16WithViewsAndExtraTopLevelKeys) {
  expect_half_contents(Checkpoint::open(data("half.pth")));
}

TEST(CheckpointGenerated, DeflatedEntries) {
  expect_half_contents(Checkpoint::open(data("half_deflated.pth")));
}

TEST(CheckpointGenerated, OptimizerStorageIsNeverRead) {
  // Same checkpoint with the optimizer's storage entry removed from the archive.
  expect_half_contents(Checkpoint::open(data("half_no_optimizer_storage.pth")));
}

TEST(CheckpointGenerated, BareBfloat16StateDict) {
  auto ck = Checkpoint::open(data("bfloat16.pth"));
  EXPECT_EQ(ck.keys(), (std::vector<std::string>{"linear.weight", "linear.bias", "norm.weight"}));
  EXPECT_EQ(ck.at("linear.weight").dtype, ScalarType::bf16);
  EXPECT_EQ(ck.get("linear.weight", {6, 4}), pattern(24, 3));
  EXPECT_EQ(ck.get("linear.bias", {6}), pattern(6, 5));
  EXPECT_EQ(ck.get("norm.weight", {2, 1, 1}), pattern(2, 11));
}

TEST(CheckpointGenerated, PickleProtocol4StateDictKey) {
  auto ck = Checkpoint::open(data("proto4.pth"));
  EXPECT_EQ(ck.keys(), (std::vector<std::string>{"w", "b"}));
  EXPECT_EQ(ck.get("w", {2, 3}), pattern(6, 2));
  EXPECT_EQ(ck.get("b", {3}), pattern(3, 4));
}

TEST(CheckpointGenerated, Safetensors) {
  auto ck = Checkpoint::open(data("mixed.safetensors"));
  EXPECT_EQ(ck.format(), Checkpoint::Format::safetensors);
  EXPECT_EQ(ck.keys(), (std::vector<std::string>{"a.f32", "b.f16", "c.bf16", "d.f64", "e.i64", "f.u8", "g.bool"}));
  EXPECT_EQ(ck.get("a.f32", {2, 3}), pattern(6, 0));
  EXPECT_EQ(ck.get("b.f16", {3, 2}), pattern(6, 1));
  EXPECT_EQ(ck.get("c.bf16", {4}), pattern(4, 2));
  EXPECT_EQ(ck.get("d.f64", {2, 2}), pattern(4, 3));
  EXPECT_EQ(ck.get("e.i64", {3}), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(ck.get("f.u8", {5}), (std::vector<float>{1, 2, 3, 4, 5}));
  EXPECT_EQ(ck.get("g.bool", {2}), (std::vector<float>{1, 0}));
  EXPECT_EQ(ck.at("b.f16").dtype, ScalarType::f16);
  EXPECT_EQ(ck.at("b.f16").strides, (std::vector<int64_t>{2, 1}));
}

TEST(CheckpointGenerated, HalfPrecisionSpecialValues) {
  // float16 subnormal, max, inf, nan and -0 through a hand-built archive.
  const std::vector<uint16_t> h = {0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x8000, 0x3c00, 0x7e00};
  builders::Bytes raw(h.size() * 2);
  std::memcpy(raw.data(), h.data(), raw.size());
  builders::TensorSpec spec;
  spec.storage_type = "HalfStorage";
  spec.numel = static_cast<int64_t>(h.size());
  spec.size = {spec.numel};
  spec.stride = {1};
  auto ck = Checkpoint::from_memory(builders::torch_zip(builders::torch_pickle({spec}), {{"0", raw}}));
  auto v = ck.at("w").to_float();
  EXPECT_EQ(v[0], std::ldexp(1.f, -24));
  EXPECT_EQ(v[1], std::ldexp(1023.f, -24));
  EXPECT_EQ(v[2], std::ldexp(1.f, -14));
  EXPECT_EQ(v[3], 65504.f);
  EXPECT_EQ(v[4], INFINITY);
  EXPECT_EQ(v[5], -INFINITY);
  EXPECT_TRUE(v[6] == 0.f && std::signbit(v[6]));
  EXPECT_EQ(v[7], 1.f);
  EXPECT_TRUE(std::isnan(v[8]));
}

TEST(CheckpointGenerated, Zip64Archive) {
  builders::TensorSpec spec;
  const auto values = pattern(12, 5);
  auto bytes = builders::torch_zip(builders::torch_pickle({spec}), {{"0", builders::floats_le(values)}}, true);
  auto ck = Checkpoint::from_memory(bytes, "zip64.pth");
  EXPECT_EQ(ck.get("w", {3, 4}), values);
}
