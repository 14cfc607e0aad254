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

namespace {
// The per-process scratch directory, removed when the test process exits
// (set SEALITE_KEEP_TEST_FILES=1 to keep it for debugging).
struct ScratchDir {
  fs::path path;
  ScratchDir() : path(fs::temp_directory_path() / ("sealite-test-" + std::to_string(getpid()))) {
    fs::create_directories(path);
  }
  ~ScratchDir() {
    const char* keep = std::getenv("SEALITE_KEEP_TEST_FILES");
    if (keep && *keep && std::string(keep) != "0") return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

fs::path temp_dir() {
  static ScratchDir dir;
  return dir.path;
}

}  // namespace sealite::testing
