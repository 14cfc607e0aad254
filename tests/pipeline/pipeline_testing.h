// Shared helpers of the pipeline tests: fixture families, models converted
// from the fixture checkpoints (once per test process), reference arrays.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "core/npy.h"
#include "testing/test_paths.h"
#include "videoseal/card.h"
#include "videoseal/convert.h"

namespace sealite::testing {

inline const std::vector<std::string>& pipeline_families() {
  static const std::vector<std::string> f = {"vs10", "vs00", "pixelseal", "chunky"};
  return f;
}

// tests/data/videoseal/<family>/<name>, else ../shared/fixtures/videoseal/<family>/<name>, else "".
inline std::filesystem::path fixture_file(const std::string& family, const std::string& name) {
  auto local = data_dir() / "videoseal" / family / name;
  if (std::filesystem::exists(local)) return local;
  auto sh = shared_dir();
  if (!sh.empty()) {
    auto p = sh / "fixtures" / "videoseal" / family / name;
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

inline std::filesystem::path input_png() { return data_dir() / "media" / "img_270x476.png"; }

// A model directory converted from the family's fixture checkpoint with the
// library (vs::convert_checkpoint); "" when the checkpoint is absent.
inline std::filesystem::path converted_model(const std::string& family) {
  static std::mutex mu;
  static std::map<std::string, std::filesystem::path> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(family); it != cache.end()) return it->second;
  auto ck = fixture_file(family, "checkpoint.pth");
  auto card = fixture_file(family, "card.yaml");
  std::filesystem::path dir;
  if (!ck.empty() && !card.empty()) {
    dir = temp_dir() / "models" / family;
    std::filesystem::create_directories(dir);
    auto checkpoint = ckpt::Checkpoint::open(ck);
    vs::Card c = vs::load_card_yaml(card);
    vs::convert_checkpoint(checkpoint, c, dir);
  }
  cache[family] = dir;
  return dir;
}

inline std::vector<float> load_floats(const std::filesystem::path& p) { return npy_load(p).as_float(); }

struct DiffStats {
  double max_abs = 0;
  size_t count = 0;
};
inline DiffStats max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  DiffStats d;
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(a[i]) - b[i]));
    d.count++;
  }
  return d;
}

}  // namespace sealite::testing

#define SEALITE_REQUIRE_FAMILY_MODEL(dir, family)                                                      \
  auto dir = ::sealite::testing::converted_model(family);                                               \
  if (dir.empty()) {                                                                                     \
    GTEST_SKIP() << family << ": no checkpoint.pth + card.yaml in tests/data or ../shared";              \
  }                                                                                                     \
  static_assert(true)
