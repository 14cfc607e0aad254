#include "core/npy.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "testing/test_paths.h"

using namespace sealite;

TEST(Npy, RoundTripFloat) {
  std::vector<float> v = {0.f, 1.5f, -2.25f, 3.f, 4.f, 5.f};
  auto a = npy_from_floats({2, 3}, v.data());
  auto bytes = npy_serialize(a);
  EXPECT_EQ(bytes.size() % 64, 24u);  // header padded to 64, then 24 data bytes
  auto b = npy_parse(bytes.data(), bytes.size());
  EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(b.as_float(), v);
}

TEST(Npy, ScalarAndOneDimShapes) {
  float x = 7.f;
  auto a = npy_from_floats({1}, &x);
  auto bytes = npy_serialize(a);
  std::string header(bytes.begin() + 10, bytes.begin() + 128);
  EXPECT_NE(header.find("(1,)"), std::string::npos);
  EXPECT_EQ(npy_parse(bytes.data(), bytes.size()).shape, (std::vector<int64_t>{1}));
}

TEST(Npy, RejectsGarbageAndTruncation) {
  std::vector<uint8_t> junk = {1, 2, 3};
  EXPECT_THROW(npy_parse(junk.data(), junk.size()), Error);
  std::vector<float> v(100, 1.f);
  auto bytes = npy_serialize(npy_from_floats({100}, v.data()));
  for (size_t cut = 0; cut < bytes.size(); cut += 7)
    EXPECT_THROW(npy_parse(bytes.data(), cut), Error) << "cut at " << cut;
}

TEST(Npy, ReadsFixtureInt64) {
  SEALITE_REQUIRE_SHARED();
  auto a = npy_load(sealite::testing::shared_dir() / "fixtures/videoseal/vs00/in_msg.npy");
  EXPECT_EQ(a.dtype, DType::i64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 16}));
  for (auto b : a.as_int64()) EXPECT_TRUE(b == 0 || b == 1);
}

TEST(Npy, AbsurdShapeIsAnErrorNotACrash) {
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999, 2), }";
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, uint8_t(h.size()), 0};
  b.insert(b.end(), h.begin(), h.end());
  EXPECT_THROW(npy_parse(b.data(), b.size()), Error);
}
