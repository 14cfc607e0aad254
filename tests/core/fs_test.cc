#include "core/fs.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "testing/test_paths.h"

using namespace sealite;
namespace fs = std::filesystem;

TEST(Fs, AtomicWriteReplacesAndLeavesNoTemp) {
  fs::path dir = sealite::testing::temp_dir() / "atomic";
  fs::create_directories(dir);
  fs::path p = dir / "out.bin";
  write_file_atomic(p, std::string("first"));
  write_file_atomic(p, std::string("second"));
  EXPECT_EQ(read_text_file(p), "second");
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) { (void)e; ++n; }
  EXPECT_EQ(n, 1);
}

TEST(Fs, FailedProducerLeavesNothing) {
  fs::path dir = sealite::testing::temp_dir() / "failed";
  fs::create_directories(dir);
  fs::path p = dir / "out.bin";
  EXPECT_THROW(write_via_temp(p, [](const fs::path& tmp) {
                 write_file_atomic(tmp, std::string("partial"));
                 throw Error("encoder failed");
               }),
               Error);
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(Fs, MissingFileIsAnError) {
  EXPECT_THROW(read_file("/nonexistent/dir/file"), Error);
  EXPECT_THROW(read_file(sealite::testing::temp_dir()), Error);
}
