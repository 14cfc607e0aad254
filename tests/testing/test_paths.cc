#include "testing/test_paths.h"

#include <unistd.h>
#include <cstdlib>

namespace sealite::testing {
namespace fs = std::filesystem;

fs::path source_dir() { return fs::path(SEALITE_SOURCE_DIR); }
fs::path binary_dir() { return fs::path(SEALITE_BINARY_DIR); }
fs::path data_dir() { return source_dir() / "tests" / "data"; }

fs::path shared_dir() {
  if (const char* env = std::getenv("SEALITE_SHARED")) {
    if (*env && fs::is_directory(env)) return fs::path(env);
    return {};
  }
  fs::path p = source_dir().parent_path() / "shared";
  if (fs::is_directory(p / "models") || fs::is_directory(p / "fixtures")) return p;
  return {};
}

fs::path temp_dir() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("sealite-test-" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

}  // namespace sealite::testing
