// `sealite optimize --verify 5` over every model we have (tests/data/tflite,
// and ../shared/models when present): a model that loads in TensorFlow Lite
// comes out improved and verified, or unchanged with a reason; the result
// always loads; a second run changes nothing; a model that does not load is
// never written.
//
// CI time: the shared models are verified on SEALITE_OPTIMIZE_VERIFY input sets
// (default 2; the CLI default and the check is 5, which takes minutes
// on a loaded 2-core machine); the small repo copies always on 5.
#include <cstdlib>

#include "core/error.h"
#include "core/fs.h"
#include "passes/optimize.h"
#include "runtime/interpreter.h"
#include "tflite/model_files.h"
#include "tflite/model_io.h"

using namespace sealite;

namespace {

int shared_verify_runs() {
  const char* v = std::getenv("SEALITE_OPTIMIZE_VERIFY");
  return v && std::atoi(v) > 0 ? std::atoi(v) : 2;
}

void check_model(const std::filesystem::path& path, int verify) {
  SCOPED_TRACE(path.filename().string());
  auto bytes = read_file(path);
  passes::OptimizeOptions o;
  o.verify = verify;
  auto r = passes::optimize_model_bytes(bytes, path.string(), o);
  const auto& v = r.report["verify"];
  const bool loads = v.value("original_loads", false);
  if (!loads) {
    EXPECT_FALSE(r.may_write) << "a model that does not load must not be written";
    EXPECT_NE(r.refusal.find("does not load"), std::string::npos) << r.refusal;
    std::printf("  %-50s not written: %s\n", path.filename().c_str(), r.refusal.substr(0, 160).c_str());
    return;
  }
  ASSERT_TRUE(r.may_write) << r.refusal << "\n" << r.report.dump(2);
  if (r.changed) {
    EXPECT_TRUE(v.value("ok", false)) << v.dump(2);
    EXPECT_TRUE(v.contains("max_abs_diff"));
    // it loads (subgraph 0 at least) and is a valid model
    EXPECT_NO_THROW(tfl::read_model(r.bytes.data(), r.bytes.size()));
    EXPECT_NO_THROW(rt::Interpreter(r.bytes, rt::Options{1, false}));
    // optimize on its own output changes nothing
    passes::OptimizeOptions o2;
    o2.verify = 1;
    auto again = passes::optimize_model_bytes(r.bytes, "again", o2);
    EXPECT_FALSE(again.changed) << again.report["passes_applied"].dump();
    EXPECT_EQ(again.bytes, r.bytes);
  } else {
    EXPECT_EQ(r.bytes, bytes);
    EXPECT_NE(r.reason.find("unchanged"), std::string::npos);
  }
  std::string what = r.changed ? "optimized (" + r.report["passes_applied"].dump() + ", max |diff| " +
                                    std::to_string(v.value("max_abs_diff", 0.0)) + ")"
                              : r.reason;
  std::printf("  %-50s %s\n", path.filename().c_str(), what.c_str());
}

}  // namespace

TEST(AllModels, RepoCopies) {
  for (auto& p : sealite::testing::model_files(false)) check_model(p, 5);
}

TEST(AllModels, SharedModels) {
  SEALITE_REQUIRE_SHARED();
  for (auto& e : std::filesystem::directory_iterator(sealite::testing::shared_dir() / "models"))
    if (e.path().extension() == ".tflite") check_model(e.path(), shared_verify_runs());
}

TEST(AllModels, MalformedFilesNeverCrash) {
  auto dir = sealite::testing::data_dir() / "tflite/regressions";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP();
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    SCOPED_TRACE(e.path().filename().string());
    auto bytes = read_file(e.path());
    passes::OptimizeOptions o;
    o.verify = 1;
    try {
      auto r = passes::optimize_model_bytes(bytes, e.path().string(), o);
      if (r.may_write && r.changed) EXPECT_NO_THROW(rt::Interpreter(r.bytes, rt::Options{1, false}));
    } catch (const Error&) {
      // rejected with a message: fine
    }
  }
}
