// The built-in default through the real binary: generated into an empty
// default model location on first use, `convert --card sealite-ss`, a message
// read back after JPEG, and "no watermark" with a p-value on a clean image.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"

using namespace sealite::testing;
namespace fs = std::filesystem;

namespace {
std::string photo() { return (data_dir() / "media/photo_1904x1080.jpg").string(); }
}  // namespace

TEST(SealiteSsCli, FirstUseWritesTheDefaultAndRoundTripsThroughJpeg) {
  auto models = temp_dir() / "xdg_default_models";
  fs::remove_all(models);
  auto jpg = temp_dir() / "photo_wm.jpg";
  std::string env = "SEALITE_MODEL_DIR=" + models.string() + " ";
  // run_sealite prefixes the binary path; the environment goes through `env`.
  auto r = run_sealite_env(env, "embed " + photo() + " -o " + jpg.string() + " --quality 90 --message text:sealite --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote the built-in default"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(models / "embedder.tflite"));
  EXPECT_TRUE(fs::exists(models / "detector.tflite"));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["psnr"].get<double>(), 42.0);
  // second run: no notice, same model
  auto d = run_sealite_env(env, "detect " + jpg.string() + " --expect text:sealite --json");
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(d.err.find("wrote the built-in default"), std::string::npos);
  auto dj = nlohmann::json::parse(d.out);
  EXPECT_TRUE(dj["detected"].get<bool>());
  EXPECT_EQ(dj["text"].get<std::string>(), "sealite");
  EXPECT_EQ(dj["bit_accuracy"].get<double>(), 1.0);
  EXPECT_LT(dj["p_value_unmarked"].get<double>(), 1e-4);
}

TEST(SealiteSsCli, CleanImageIsNoWatermarkWithPValue) {
  auto models = temp_dir() / "ss_models_convert";
  auto c = run_sealite("convert --card sealite-ss -o " + models.string());
  ASSERT_EQ(c.code, 0) << c.err;
  auto d = run_sealite("detect " + photo() + " --model " + models.string());
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_NE(d.out.find("no watermark"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("p-value"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("message"), std::string::npos) << "a clean image must not print a message:\n" << d.out;
  auto dj = run_sealite("detect " + photo() + " --model " + models.string() + " --json");
  auto j = nlohmann::json::parse(dj.out);
  EXPECT_FALSE(j["detected"].get<bool>());
  EXPECT_GT(j["p_value_unmarked"].get<double>(), 1e-4);
  // a checkpoint makes no sense for the classical default
  auto bad = run_sealite("convert some.pth --card sealite-ss -o " + models.string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
}

TEST(SealiteSsCli, MinPsnrCapsTheDistortion) {
  auto models = temp_dir() / "ss_models_psnr";
  ASSERT_EQ(run_sealite("convert --card sealite-ss -o " + models.string()).code, 0);
  auto out = temp_dir() / "capped.png";
  auto strong = run_sealite("embed " + photo() + " -o " + out.string() + " --model " + models.string() +
                            " --strength 4 --json");
  ASSERT_EQ(strong.code, 0) << strong.err;
  EXPECT_GE(nlohmann::json::parse(strong.out)["psnr"].get<double>(), 42.0);  // the card's floor holds
  auto off = run_sealite("embed " + photo() + " -o " + out.string() + " --model " + models.string() +
                         " --strength 4 --min-psnr 0 --json");
  ASSERT_EQ(off.code, 0) << off.err;
  EXPECT_LT(nlohmann::json::parse(off.out)["psnr"].get<double>(), 40.0);
}
