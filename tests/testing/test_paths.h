// Where tests find their data. Data copied into the repo lives in tests/data;
// the large shared set (../shared next to the checkout, or $SEALITE_SHARED) is
// optional: tests that need it call SEALITE_REQUIRE_SHARED() and are skipped,
// with a message, when it is absent.
#pragma once
#include <filesystem>
#include <gtest/gtest.h>

namespace sealite::testing {
std::filesystem::path source_dir();
std::filesystem::path data_dir();     // <repo>/tests/data
std::filesystem::path shared_dir();   // empty when absent
std::filesystem::path binary_dir();   // CMake build dir
std::filesystem::path temp_dir();     // fresh per test process
}  // namespace sealite::testing

#define SEALITE_REQUIRE_SHARED()                                                          \
  do {                                                                                    \
    if (::sealite::testing::shared_dir().empty())                                         \
      GTEST_SKIP() << "../shared is absent (set SEALITE_SHARED to point at it); skipped"; \
  } while (0)
