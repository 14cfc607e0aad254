// The restricted unpickler on pickles written by CPython's own pickler.
#include "checkpoint/pickle.h"

#include <gtest/gtest.h>

#include "checkpoint/builders.h"
#include "core/error.h"

using namespace sealite;
using namespace sealite::ckpt;
using namespace sealite::ckpt::pickle;

namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// obj = {'a': [1, -2, 300, 70000, -(2**40), 2.5, 'xé', <b'y'>, None, True, False],
//        'b': (1, 2, 3), 'c': (), 'd': {'n': {4, 5}}}
// pickle.dumps(obj, protocol=p).hex() with CPython 3.11; protocol 2 without b'y'
// (protocol 2 pickles bytes through _codecs.encode, which is refused).
const char* kProto2 =
    "80027d71002858010000006171015d7102284b014afeffffff4d2c014a701101008a060000000000ff474004000000000000580300"
    "000078c3a971034e88896558010000006271044b014b024b0387710558010000006371062958010000006471077d710858010000"
    "006e7109635f5f6275696c74696e5f5f0a7365740a710a5d710b284b044b056585710c52710d73752e";
const char* kProto4 =
    "8004955e000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101008a060000000000ff4740040000000000"
    "008c0378c3a994430179944e8889658c0162944b014b024b0387948c016394298c0164947d948c016e948f94284b044b05907375"
    "2e";
const char* kProto5 =
    "8005955e000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101008a060000000000ff4740040000000000"
    "008c0378c3a994430179944e8889658c0162944b014b024b0387948c016394298c0164947d948c016e948f94284b044b05907375"
    "2e";

void check_reference_object(const Value& root, bool with_bytes) {
  ASSERT_EQ(root.kind, Kind::dict);
  ASSERT_EQ(root.dict_size(), 4u);
  const Value* a = root.dict_get("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->kind, Kind::list);
  const auto& it = a->items;
  ASSERT_EQ(it.size(), with_bytes ? 11u : 10u);
  EXPECT_EQ(it[0]->integer, 1);
  EXPECT_EQ(it[1]->integer, -2);
  EXPECT_EQ(it[2]->integer, 300);
  EXPECT_EQ(it[3]->integer, 70000);
  EXPECT_EQ(it[4]->integer, -(int64_t{1} << 40));
  EXPECT_EQ(it[5]->kind, Kind::floating);
  EXPECT_EQ(it[5]->floating, 2.5);
  EXPECT_EQ(it[6]->text, "x\xc3\xa9");
  size_t k = 7;
  if (with_bytes) {
    EXPECT_EQ(it[k]->kind, Kind::bytes);
    EXPECT_EQ(it[k++]->text, "y");
  }
  EXPECT_EQ(it[k++]->kind, Kind::none);
  EXPECT_TRUE(it[k]->kind == Kind::boolean && it[k++]->boolean);
  EXPECT_TRUE(it[k]->kind == Kind::boolean && !it[k++]->boolean);
  const Value* b = root.dict_get("b");
  ASSERT_EQ(b->kind, Kind::tuple);
  ASSERT_EQ(b->items.size(), 3u);
  EXPECT_EQ(b->items[2]->integer, 3);
  EXPECT_EQ(root.dict_get("c")->kind, Kind::tuple);
  EXPECT_TRUE(root.dict_get("c")->items.empty());
  const Value* n = root.dict_get("d")->dict_get("n");
  ASSERT_EQ(n->kind, Kind::set);
  EXPECT_EQ(n->items.size(), 2u);
  EXPECT_EQ(root.dict_get("missing"), nullptr);
}

}  // namespace

TEST(Pickle, CPythonProtocol2) {
  auto bytes = from_hex(kProto2);
  auto doc = unpickle(bytes, "p2");
  check_reference_object(doc.root(), false);
}

TEST(Pickle, CPythonProtocol4And5) {
  for (const char* hex : {kProto4, kProto5}) {
    auto bytes = from_hex(hex);
    auto doc = unpickle(bytes, "p45");
    check_reference_object(doc.root(), true);
  }
}

TEST(Pickle, Protocol2BytesNeedCodecsAndAreRefused) {
  // pickle.dumps(b'y', protocol=2)
  auto bytes = from_hex("8002635f636f646563730a656e636f64650a7100580100000079710158060000006c6174696e31"
                        "71028671035271042e");
  try {
    unpickle(bytes, "p");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "p: refusing pickle global '_codecs.encode' (not a tensor/state_dict type)");
  }
}

TEST(Pickle, TorchRebuildAndStorageTypes) {
  const std::pair<const char*, ScalarType> types[] = {
      {"FloatStorage", ScalarType::f32}, {"HalfStorage", ScalarType::f16}, {"BFloat16Storage", ScalarType::bf16},
      {"DoubleStorage", ScalarType::f64}, {"LongStorage", ScalarType::i64}, {"IntStorage", ScalarType::i32},
      {"ShortStorage", ScalarType::i16}, {"CharStorage", ScalarType::i8}, {"ByteStorage", ScalarType::u8},
      {"BoolStorage", ScalarType::b1}};
  for (auto [name, type] : types) {
    builders::TensorSpec t;
    t.storage_type = name;
    t.key = "k9";
    t.offset = 2;
    auto doc = unpickle(builders::torch_pickle({t}), "t");
    const Value* v = doc.root().dict_get("model")->dict_get("w");
    ASSERT_NE(v, nullptr);
    ASSERT_EQ(v->kind, Kind::tensor);
    const StorageRef& s = *v->tensor->storage->storage;
    EXPECT_EQ(s.dtype, type) << name;
    EXPECT_EQ(s.key, "k9");
    EXPECT_EQ(s.location, "cpu");
    EXPECT_EQ(s.numel, 12);
    EXPECT_EQ(v->tensor->offset, 2);
    EXPECT_EQ(v->tensor->size, (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(v->tensor->stride, (std::vector<int64_t>{4, 1}));
  }
}

TEST(Pickle, ParameterUnwrapsToItsTensor) {
  // torch._utils._rebuild_parameter(<tensor>, True, OrderedDict())
  builders::PickleWriter w;
  w.proto(2).global("torch._utils", "_rebuild_parameter").op('(');
  w.global("torch._utils", "_rebuild_tensor_v2").op('(');
  w.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(4).op('t').op('Q');
  w.int1(0).tuple_of({4}).tuple_of({1}).op(0x88).global("collections", "OrderedDict").op(')').op('R');
  w.op('t').op('R');  // the tensor
  w.op(0x88).global("collections", "OrderedDict").op(')').op('R').op('t').op('R').op('.');
  auto doc = unpickle(w.bytes(), "p");
  EXPECT_EQ(doc.root().kind, Kind::tensor);
  EXPECT_EQ(doc.root().tensor->size, (std::vector<int64_t>{4}));
}

TEST(Pickle, NamespaceAndRepeatedKeys) {
  // argparse.Namespace via NEWOBJ + BUILD; {'k': 1, 'k': 2} keeps one entry.
  builders::PickleWriter w;
  w.proto(2).op('}').str("args").global("argparse", "Namespace").op(')').op(0x81);
  w.op('}').str("lr").int1(3).op('s').op('b').op('s');
  w.str("k").int1(1).op('s').str("k").int1(2).op('s').op('.');
  auto doc = unpickle(w.bytes(), "p");
  EXPECT_EQ(doc.root().dict_get("args")->kind, Kind::object);
  EXPECT_EQ(doc.root().dict_get("args")->text, "argparse.Namespace");
  EXPECT_EQ(doc.root().dict_size(), 2u);
  EXPECT_EQ(doc.root().dict_get("k")->integer, 2);
}

TEST(Pickle, LimitsAreConfigurable) {
  Limits tight;
  tight.max_memo = 2;
  std::vector<uint8_t> p = {0x80, 4, 'N', 0x94, 0x94, 0x94, '.'};
  EXPECT_THROW(unpickle(p, "p", tight), Error);
  tight = Limits{};
  tight.max_stack = 3;
  std::vector<uint8_t> q = {0x80, 2, 'N', 'N', 'N', 'N', '.'};
  EXPECT_THROW(unpickle(q, "p", tight), Error);
  EXPECT_NO_THROW(unpickle(q, "p"));
}
