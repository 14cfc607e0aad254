// The .tflite files the format tests run over: the copies in tests/data/tflite
// always, and every model in ../shared/models when it is there.
#pragma once
#include <filesystem>
#include <vector>

#include "testing/test_paths.h"

namespace sealite::testing {
inline std::vector<std::filesystem::path> model_files(bool include_shared = true) {
  std::vector<std::filesystem::path> out;
  for (auto& e : std::filesystem::directory_iterator(data_dir() / "tflite"))
    if (e.path().extension() == ".tflite") out.push_back(e.path());
  if (include_shared && !shared_dir().empty())
    for (auto& e : std::filesystem::directory_iterator(shared_dir() / "models"))
      if (e.path().extension() == ".tflite") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace sealite::testing
