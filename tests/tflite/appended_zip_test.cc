#include "tflite/appended_zip.h"

#include <gtest/gtest.h>

#include "core/fs.h"
#include "testing/test_paths.h"
#include "tflite/model_io.h"

using namespace sealite;

namespace {
void put32(std::vector<uint8_t>& v, uint32_t x) { for (int i = 0; i < 4; ++i) v.push_back(uint8_t(x >> (8 * i))); }
void put16(std::vector<uint8_t>& v, uint16_t x) { v.push_back(uint8_t(x)); v.push_back(uint8_t(x >> 8)); }

// `prefix` followed by a one-entry stored zip whose offsets count from the file start.
std::vector<uint8_t> with_zip(std::vector<uint8_t> f, const std::string& name, const std::string& body) {
  uint32_t local = static_cast<uint32_t>(f.size());
  put32(f, 0x04034b50); put16(f, 20); put16(f, 0); put16(f, 0); put16(f, 0); put16(f, 0);
  put32(f, 0); put32(f, uint32_t(body.size())); put32(f, uint32_t(body.size()));
  put16(f, uint16_t(name.size())); put16(f, 0);
  f.insert(f.end(), name.begin(), name.end());
  f.insert(f.end(), body.begin(), body.end());
  uint32_t cd = static_cast<uint32_t>(f.size());
  put32(f, 0x02014b50); put16(f, 20); put16(f, 20); put16(f, 0); put16(f, 0); put16(f, 0); put16(f, 0);
  put32(f, 0); put32(f, uint32_t(body.size())); put32(f, uint32_t(body.size()));
  put16(f, uint16_t(name.size())); put16(f, 0); put16(f, 0); put16(f, 0); put16(f, 0); put32(f, 0);
  put32(f, local);
  f.insert(f.end(), name.begin(), name.end());
  uint32_t cd_size = static_cast<uint32_t>(f.size()) - cd;
  put32(f, 0x06054b50); put16(f, 0); put16(f, 0); put16(f, 1); put16(f, 1); put32(f, cd_size); put32(f, cd); put16(f, 0);
  return f;
}
}  // namespace

TEST(AppendedZip, FoundRelocatedAndReadableAgain) {
  auto model = read_file(sealite::testing::data_dir() / "tflite/litert_simple_mirror_pad_reflect_op.tflite");
  auto file = with_zip(model, "labels.txt", "cat\ndog\n");
  auto z = tfl::find_appended_zip(file.data(), file.size());
  ASSERT_TRUE(z);
  EXPECT_EQ(z->start, model.size());
  EXPECT_EQ(z->names, std::vector<std::string>{"labels.txt"});
  // The model still reads (the FlatBuffer ignores trailing bytes).
  EXPECT_NO_THROW(tfl::read_model(file.data(), file.size()));
  // Put it after a model of another size: offsets move with it.
  std::vector<uint8_t> other(model.begin(), model.end());
  other.resize(other.size() + 100, 0);
  auto moved = tfl::append_zip(other, *z);
  auto z2 = tfl::find_appended_zip(moved.data(), moved.size());
  ASSERT_TRUE(z2);
  EXPECT_EQ(z2->start, other.size());
  EXPECT_EQ(z2->names, z->names);
  std::string body(moved.begin() + z2->start + 30 + 10, moved.begin() + z2->start + 30 + 10 + 8);
  EXPECT_EQ(body, "cat\ndog\n");
}

TEST(AppendedZip, PlainModelHasNone) {
  auto model = read_file(sealite::testing::data_dir() / "tflite/aet_lora_test_model.tflite");
  EXPECT_FALSE(tfl::find_appended_zip(model.data(), model.size()));
}
