// Hostile, truncated and corrupt inputs: every one must end in sealite::Error
// with a clear one-line message, never a crash, hang or out-of-bounds read.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "checkpoint/builders.h"
#include "checkpoint/checkpoint.h"
#include "core/error.h"
#include "core/fs.h"
#include "testing/test_paths.h"

using namespace sealite;
using namespace sealite::ckpt;
using builders::Bytes;
using builders::PickleWriter;
using builders::TensorSpec;

namespace {

Bytes fixture_bytes() {
  return read_file(sealite::testing::data_dir() / "checkpoint" / "chunky_checkpoint.pth");
}

// The Error message of `fn`, or "" (with a test failure) if it did not throw one.
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << "multi-line message: " << m;
    return m;
  }
  ADD_FAILURE() << "no sealite::Error thrown";
  return "";
}

std::string open_error(const Bytes& bytes, const std::string& name = "ckpt.pth") {
  return error_of([&] { Checkpoint::from_memory(bytes, name); });
}

Bytes pickle_zip(const Bytes& pickle) { return builders::torch_zip(pickle, {}); }

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "message: " << (haystack)

}  // namespace

// --- code execution attempts -------------------------------------------------

TEST(CheckpointHostile, RefusesOsSystemGlobal) {
  // The classic payload: os.system('echo pwned') via GLOBAL + REDUCE.
  auto pkl = PickleWriter().proto(2).global("os", "system").str("echo pwned").op(0x85).op('R').op('.').bytes();
  auto msg = open_error(pickle_zip(pkl), "evil.pth");
  EXPECT_HAS(msg, "evil.pth");
  EXPECT_HAS(msg, "refusing pickle global 'os.system' (not a tensor/state_dict type)");
}

TEST(CheckpointHostile, RefusesStackGlobalAndNearMisses) {
  // STACK_GLOBAL spelling of builtins.eval (protocol 4).
  auto pkl = PickleWriter().proto(4).op(0x8c).raw({8}).raw({'b', 'u', 'i', 'l', 't', 'i', 'n', 's'})
                 .op(0x8c).raw({4, 'e', 'v', 'a', 'l'}).op(0x93).op('.').bytes();
  EXPECT_HAS(open_error(pickle_zip(pkl)), "refusing pickle global 'builtins.eval'");
  // Whole pickled modules, codecs tricks, look-alike names.
  for (auto [mod, name] : std::vector<std::pair<std::string, std::string>>{
           {"torch.nn.modules.conv", "Conv2d"}, {"_codecs", "encode"}, {"torch._utils", "_rebuild_tensor_v3"},
           {"torch", "load"}, {"collections", "defaultdict"}, {"subprocess", "Popen"}}) {
    auto p = PickleWriter().proto(2).global(mod, name).op('.').bytes();
    EXPECT_HAS(open_error(pickle_zip(p)), "refusing pickle global '" + mod + "." + name + "'");
  }
}

TEST(CheckpointHostile, WhitelistedNamesAreNotCallableArbitrarily) {
  // A storage class is whitelisted as a persistent-id tag, not as a callable.
  auto pkl = PickleWriter().proto(2).global("torch", "FloatStorage").op(')').op('R').op('.').bytes();
  EXPECT_HAS(open_error(pickle_zip(pkl)), "cannot call torch.FloatStorage");
  // REDUCE on something that is not a global.
  auto p2 = PickleWriter().proto(2).str("os").op(')').op('R').op('.').bytes();
  EXPECT_HAS(open_error(pickle_zip(p2)), "REDUCE on a str");
  // Persistent ids other than torch storages.
  auto p3 = PickleWriter().proto(2).str("file:///etc/passwd").op('Q').op('.').bytes();
  EXPECT_HAS(open_error(pickle_zip(p3)), "unsupported persistent id");
}

// --- structural abuse of the pickle machine ----------------------------------

TEST(CheckpointHostile, PickleMachineGuards) {
  struct Case {
    Bytes pickle;
    std::string expect;
  };
  Bytes deep_marks = {0x80, 2};
  deep_marks.insert(deep_marks.end(), 100000, '(');
  Bytes deep_lists = {0x80, 2};
  deep_lists.insert(deep_lists.end(), 5000, ']');
  deep_lists.insert(deep_lists.end(), 4999, 'a');
  deep_lists.push_back('.');
  Bytes self_ref = {0x80, 2, ']', 'q', 0};  // l = []; l.append(l) 2000 times
  for (int i = 0; i < 2000; ++i) self_ref.insert(self_ref.end(), {'h', 0, 'a'});
  self_ref.push_back('.');
  const std::vector<Case> cases = {
      {{0x80, 2, 'a', '.'}, "stack underflow"},
      {{0x80, 2, '.'}, "stack underflow"},
      {{0x80, 2, '(', '.'}, "stack underflow"},  // STOP cannot pop through a MARK
      {{0x80, 2, 'N', 'N', 't', '.'}, "MARK missing"},
      {{0x80, 2, 'j', 0xff, 0xff, 0xff, 0xff, '.'}, "memo key 4294967295 missing"},
      {{0x80, 2, 'q', 0, '.'}, "stack underflow"},
      {{0x80, 2, 'N', 'N', 'a', '.'}, "APPEND on a None"},
      {{0x80, 2, '}', 'N', 's', '.'}, "stack underflow"},
      {{0x80, 2, '(', 'N', 'd', '.'}, "odd number of items"},
      {{0x80, 2, 'X', 0xff, 0xff, 0xff, 0x7f, 'a'}, "truncated pickle"},
      {{0x80, 2, 0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "truncated pickle"},
      {{0x80, 2, 0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, '.'}, "wider than 64 bits"},
      {{0x80, 2, 'c', 'o', 's'}, "unterminated GLOBAL"},
      {{0x80, 6, 'N', '.'}, "unsupported pickle protocol 6"},
      {{0x80, 2, 'N'}, "no STOP opcode"},
      {{0x80, 2, 'I', '1', '\n', '.'}, "unsupported pickle opcode 0x49"},  // protocol 0 text ints
      {{0x80, 2, 0x82, 1, '.'}, "unsupported pickle opcode 0x82"},         // EXT1 (copyreg registry)
      {{0x80, 2, 'i', 'o', 's', '\n', 's', '\n', '.'}, "unsupported pickle opcode 0x69"},  // INST
      {{0x80, 4, 0x95, 0xff, 0, 0, 0, 0, 0, 0, 0, 'N', '.'}, "frame runs past the end"},
      {deep_marks, "nesting deeper than 1000 MARKs"},
      {deep_lists, "nesting deeper than 1000 levels"},
      {self_ref, "nesting deeper than 1000 levels"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expect);
    EXPECT_HAS(open_error(pickle_zip(c.pickle)), c.expect);
  }
}

TEST(CheckpointHostile, NonDictAndEmptyStateDicts) {
  EXPECT_HAS(open_error(pickle_zip({0x80, 2, 'N', '.'})), "holds a None, not a state dict");
  auto empty = PickleWriter().proto(2).op('}').str("model").op('}').op('s').str("args").str("x").op('s')
                   .op('.').bytes();
  EXPECT_HAS(open_error(pickle_zip(empty)), "no tensors found in the checkpoint (top-level keys: 'model', 'args')");
}

// --- tensors and storages ----------------------------------------------------

TEST(CheckpointHostile, BadStorageKey) {
  TensorSpec t;
  t.key = "7";
  auto bytes = builders::torch_zip(builders::torch_pickle({t}), {{"0", builders::floats_le(std::vector<float>(12))}});
  auto msg = open_error(bytes);
  EXPECT_HAS(msg, "tensor 'w' refers to storage '7'");
  EXPECT_HAS(msg, "archive/data/7");
}

TEST(CheckpointHostile, StorageAndViewBounds) {
  const Bytes twelve = builders::floats_le(std::vector<float>(12, 1.f));
  struct Case {
    TensorSpec spec;
    Bytes storage;
    std::string expect;
  };
  std::vector<Case> cases;
  {
    TensorSpec t;  // header says 12 elements, the entry has 8 bytes
    cases.push_back({t, Bytes(8), "storage '0' has 8 bytes but should hold 12 float32 elements"});
  }
  {
    TensorSpec t;
    t.size = {4, 4};
    cases.push_back({t, twelve, "needs more elements than its storage holds"});
  }
  {
    TensorSpec t;
    t.size = {2, 4};
    t.offset = 5;
    cases.push_back({t, twelve, "reads past the end of its storage"});
  }
  {
    TensorSpec t;
    t.size = {3, 4};
    t.stride = {5, 1};
    cases.push_back({t, twelve, "reads past the end of its storage"});
  }
  {
    TensorSpec t;  // a zero-stride broadcast of one element to a huge shape
    t.size = {1 << 30, 1 << 30};
    t.stride = {0, 0};
    cases.push_back({t, twelve, "needs more elements than its storage holds"});
  }
  {
    TensorSpec t;
    t.size = {3, -4};
    cases.push_back({t, twelve, "non-negative integers"});
  }
  {
    TensorSpec t;
    t.stride = {4};
    cases.push_back({t, twelve, "size and stride differ"});
  }
  {
    TensorSpec t;
    t.numel = 0x7fffffff;  // an absurd element count must not overflow the size check
    cases.push_back({t, twelve, "should hold 2147483647 float32 elements"});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expect);
    EXPECT_HAS(open_error(builders::torch_zip(builders::torch_pickle({c.spec}), {{"0", c.storage}})), c.expect);
  }
  // A valid empty tensor at the end of its storage is fine.
  TensorSpec empty;
  empty.size = {0, 4};
  empty.offset = 12;
  auto ck = Checkpoint::from_memory(builders::torch_zip(builders::torch_pickle({empty}), {{"0", twelve}}));
  EXPECT_TRUE(ck.get("w", {0, 4}).empty());
}

TEST(CheckpointHostile, ShapeMismatchAndMissingKey) {
  TensorSpec t;
  t.name = "x.weight";
  auto ck = Checkpoint::from_memory(
      builders::torch_zip(builders::torch_pickle({t}), {{"0", builders::floats_le(std::vector<float>(12))}}),
      "model.pth");
  EXPECT_EQ(error_of([&] { ck.get("x.weight", {4, 3}); }),
            "checkpoint key 'x.weight': shape [3,4] but the model needs [4,3]");
  EXPECT_EQ(error_of([&] { ck.get("x.weight", {}); }),
            "checkpoint key 'x.weight': shape [3,4] but the model needs []");
  auto msg = error_of([&] { ck.at("x.bias"); });
  EXPECT_HAS(msg, "model.pth");
  EXPECT_HAS(msg, "'x.bias'");
  EXPECT_FALSE(ck.has("x.bias"));
}

// --- zip archive -----------------------------------------------------------

TEST(CheckpointHostile, TruncatedRealCheckpointAlwaysErrors) {
  const Bytes full = fixture_bytes();
  ASSERT_GT(full.size(), 100000u);
  size_t n = 0;
  for (size_t cut = 0; cut < full.size(); cut += 97, ++n) {
    Bytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(Checkpoint::from_memory(std::move(part), "checkpoint.pth"), Error) << "cut at " << cut;
  }
  for (size_t cut = full.size() - 30; cut < full.size(); ++cut) {  // inside the end records
    Bytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(Checkpoint::from_memory(std::move(part), "checkpoint.pth"), Error) << "cut at " << cut;
  }
  EXPECT_GT(n, 9000u);
  Bytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2));
  EXPECT_HAS(open_error(part, "checkpoint.pth"), "checkpoint.pth: truncated zip archive");
}

TEST(CheckpointHostile, CorruptBytesNeverCrash) {
  const Bytes full = fixture_bytes();
  size_t errors = 0, loaded = 0;
  for (size_t pos = 0; pos < full.size(); pos += 997) {
    Bytes b = full;
    b[pos] ^= 0x5a;
    try {
      auto ck = Checkpoint::from_memory(std::move(b), "checkpoint.pth");
      for (const auto& k : ck.keys()) ck.at(k).to_float();
      ++loaded;  // e.g. a flipped byte in alignment padding
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0u);
  // Data bytes are covered by the CRC: a flip inside a tensor is detected.
  EXPECT_GT(errors, loaded);
}

TEST(CheckpointHostile, ZipStructureErrors) {
  using builders::make_zip;
  const Bytes pkl = builders::torch_pickle({TensorSpec{}});
  const Bytes good = builders::torch_zip(pkl, {{"0", builders::floats_le(std::vector<float>(12))}});
  ASSERT_NO_THROW(Checkpoint::from_memory(good));

  auto patched = [&](size_t offset, std::vector<uint8_t> with) {
    Bytes b = good;
    std::copy(with.begin(), with.end(), b.begin() + static_cast<std::ptrdiff_t>(offset));
    return b;
  };
  const size_t eocd = good.size() - 22;
  // EOCD fields: +10 entry count, +12 cd size, +16 cd offset.
  EXPECT_HAS(open_error(patched(eocd + 16, {0xf0, 0xff, 0xff, 0x7f})), "central directory out of range");
  EXPECT_HAS(open_error(patched(eocd + 8, {0xf0, 0x00, 0xf0, 0x00})), "central directory too small");
  EXPECT_HAS(open_error(patched(eocd + 10, {0xff, 0xff})), "ZIP64 sizes without a ZIP64 locator");
  EXPECT_HAS(open_error(patched(eocd + 4, {1, 0})), "multi-disk");
  // The name in the first local header (at +30) must match the central directory.
  EXPECT_HAS(open_error(patched(30, {'X'})), "local header name differs");

  // Central directory entry of archive/data.pkl: +8 flags, +10 method, +16 crc, +42 local offset.
  const size_t cd = good[eocd + 16] | (good[eocd + 17] << 8);
  ASSERT_EQ(good[cd + 2], 1);  // PK\1\2
  EXPECT_HAS(open_error(patched(cd + 8, {1, 0})), "encrypted");
  EXPECT_HAS(open_error(patched(cd + 10, {12, 0})), "unsupported compression method 12");
  EXPECT_HAS(open_error(patched(cd + 16, {0, 0, 0, 0})), "CRC mismatch in entry 'archive/data.pkl'");
  OpenOptions no_crc;
  no_crc.verify_crc = false;
  EXPECT_NO_THROW(Checkpoint::from_memory(patched(cd + 16, {0, 0, 0, 0}), "x", no_crc));
  EXPECT_HAS(open_error(patched(cd + 42, {0xff, 0xff, 0, 0})), "local header of entry 'archive/data.pkl' out of range");

  // Duplicate names.
  auto dup = make_zip({{"a/data.pkl", pkl}, {"a/data.pkl", pkl}});
  EXPECT_HAS(open_error(dup), "duplicate entry");
  // Deflate "bomb": a tiny stream claiming a huge size.
  auto bomb = make_zip({{"archive/data.pkl", Bytes(100000, 'N'), true}});
  const size_t bomb_cd = bomb.size() - 22 - (46 + 16);
  bomb[bomb_cd + 24] = 0xff;
  bomb[bomb_cd + 25] = 0xff;
  bomb[bomb_cd + 26] = 0xff;
  bomb[bomb_cd + 27] = 0x7f;
  EXPECT_HAS(open_error(bomb), "implausible size for deflated");
  // Deflated data that does not inflate to the declared size.
  auto shortd = make_zip({{"archive/data.pkl", Bytes(1000, 'N'), true}});
  shortd[shortd.size() - 22 - (46 + 16) + 24] = 0xe9;  // 1001 instead of 1000
  EXPECT_HAS(open_error(shortd), "cannot inflate");
  // Not torch archives.
  EXPECT_HAS(open_error(make_zip({})), "empty zip archive");
  EXPECT_HAS(open_error(make_zip({{"data.pkl", pkl}})), "no top-level folder");
  EXPECT_HAS(open_error(make_zip({{"m/readme.txt", {}}})), "no m/data.pkl");
  EXPECT_HAS(open_error(make_zip({{"m/data.pkl", pkl}, {"m/constants.pkl", {}}})), "TorchScript");
  EXPECT_HAS(open_error(make_zip({{"m/data.pkl", pkl}, {"m/byteorder", {'b', 'i', 'g'}}})), "byte order 'big'");
}

// --- other formats -----------------------------------------------------------

TEST(CheckpointHostile, UnknownAndLegacyFormats) {
  EXPECT_HAS(open_error({}), "empty file");
  EXPECT_HAS(open_error({'h', 'e', 'l', 'l', 'o'}), "not a checkpoint");
  // torch.save(..., _use_new_zipfile_serialization=False) starts with this magic number.
  EXPECT_HAS(open_error({0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}),
             "legacy (pre-1.6, non-zip) torch.save format is not supported");
  EXPECT_HAS(error_of([] { Checkpoint::open("/nonexistent/dir/x.pth"); }), "/nonexistent/dir/x.pth: cannot open");
  EXPECT_HAS(error_of([] { Checkpoint::open(sealite::testing::data_dir()); }), "not a regular file");
}

namespace {

Bytes safetensors(const std::string& header, size_t data_bytes) {
  Bytes b;
  b.reserve(8 + header.size() + data_bytes);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(n >> (8 * i)));
  for (char c : header) b.push_back(static_cast<uint8_t>(c));
  b.resize(b.size() + data_bytes, 0);
  return b;
}

}  // namespace

TEST(CheckpointHostile, SafetensorsValidation) {
  ASSERT_NO_THROW(Checkpoint::from_memory(
      safetensors(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 16)));
  struct Case {
    std::string header;
    size_t data;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,400]}})", 16,
       "tensor 'w' data_offsets [0, 400] out of range (buffer has 16 bytes)"},
      {R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[20,4]}})", 16, "out of range"},
      {R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 16,
       "occupies 12 bytes but its dtype and shape need 16"},
      {R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}})", 16,
       "need more"},
      {R"({"w":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}})", 16, "bad shape"},
      {R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,16]}})", 16, "bad shape"},
      {R"({"w":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}})", 16, "unsupported dtype 'C64'"},
      {R"({"w":{"dtype":"F32","shape":[2]}})", 16, "needs dtype, shape and data_offsets"},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", 16, "not unsigned integers"},
      {R"({"w":[1,2]})", 16, "is not an object"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       16, "overlapping tensors"},
      {R"({"w":{"dtype":"F32",)", 16, "invalid JSON"},
      {R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}  ]])", 16, "invalid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.header);
    auto msg = open_error(safetensors(c.header, c.data), "m.safetensors");
    EXPECT_HAS(msg, "m.safetensors: ");
    EXPECT_HAS(msg, c.expect);
  }
  // A header length pointing past the end is not recognised as safetensors at all.
  Bytes b = safetensors(R"({"w":{}})", 0);
  b[0] = 0xff;
  EXPECT_HAS(open_error(b), "not a checkpoint");
  // Metadata only: no tensors is fine for safetensors (an empty state dict).
  auto ck = Checkpoint::from_memory(safetensors(R"({"__metadata__":{"format":"pt"}})", 0));
  EXPECT_TRUE(ck.keys().empty());
}

TEST(CheckpointHostile, DeeplyNestedSafetensorsJson) {
  std::string h = "{\"w\":";
  h += std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_HAS(open_error(safetensors(h, 0)), "is not an object");
}
