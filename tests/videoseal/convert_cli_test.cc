// `sealite convert` end to end: outputs, summary, JSON, card metadata,
// --only, --random-init determinism, and the error cases (wrong card, hostile
// pickle, truncated zip, usage): one-line errors, exit != 0, nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "checkpoint/builders.h"
#include "cli/cli_runner.h"
#include "core/fs.h"
#include "runtime/interpreter.h"
#include "testing/test_paths.h"
#include "videoseal/convert.h"
#include "videoseal/convert_test_util.h"

namespace sealite::testing {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

fs::path fresh(const std::string& name) {
  fs::path d = temp_dir() / name;
  fs::remove_all(d);
  return d;
}

bool empty_or_absent(const fs::path& d) { return !fs::exists(d) || fs::is_empty(d); }

TEST(ConvertCli, ConvertsAFixtureCheckpoint) {
  const fs::path f = vs_dir("vs10"), out = fresh("cli_vs10");
  auto r = run_sealite("convert " + q(f / "checkpoint.pth") + " --card " + q(f / "card.yaml") + " -o " + q(out));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "embedder.tflite"));
  EXPECT_TRUE(fs::exists(out / "detector.tflite"));
  EXPECT_NE(r.out.find("0 GATHER_ND"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MACs"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("building the embedder"), std::string::npos) << r.err;  // progress on stderr
  // The converted detector gives the fixture's logits.
  auto bytes = read_file(out / "detector.tflite");
  auto card = vs::card_from_model(bytes);
  ASSERT_TRUE(card.has_value());
  EXPECT_EQ(card->nbits, 32);
  EXPECT_EQ(card->attenuation, "jnd_1_1");
  rt::Interpreter it(bytes);
  it.set_input(0, load_nhwc(f / "in_img256.npy").v);
  it.invoke();
  EXPECT_LE(max_diff(it.output_float(0), load(f / "det_out.npy").v), 1e-5);
}

TEST(ConvertCli, JsonSummaryAndOnly) {
  const fs::path f = vs_dir("chunky"), out = fresh("cli_chunky");
  auto r = run_sealite("convert " + q(f / "checkpoint.pth") + " -c " + q(f / "card.yaml") + " -o " + q(out) +
                       " --only detector --json --delegation");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out / "embedder.tflite"));
  ASSERT_TRUE(fs::exists(out / "detector.tflite"));
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["models"].size(), 1u);
  const auto& m = j["models"][0];
  EXPECT_EQ(m["kind"], "detector");
  EXPECT_EQ(m["gather_nd"], 0);
  EXPECT_EQ(m["transpose"], 0);
  EXPECT_GT(m["ops"].get<int>(), 0);
  EXPECT_GT(m["macs"].get<int64_t>(), 0);
  EXPECT_EQ(m["bytes"].get<size_t>(), fs::file_size(out / "detector.tflite"));
  EXPECT_TRUE(m["delegation"]["xnnpack_applied"].get<bool>());
  EXPECT_EQ(j["card"]["family"], "chunkyseal");
}

TEST(ConvertCli, RandomInitIsDeterministic) {
  const fs::path card = vs_dir("pixelseal") / "card.yaml", a = fresh("rand_a"), b = fresh("rand_b"), c = fresh("rand_c");
  ASSERT_EQ(run_sealite("convert --card " + q(card) + " --random-init --seed 5 -o " + q(a)).code, 0);
  ASSERT_EQ(run_sealite("convert --card " + q(card) + " --random-init --seed 5 -o " + q(b)).code, 0);
  ASSERT_EQ(run_sealite("convert --card " + q(card) + " --random-init --seed 6 -o " + q(c)).code, 0);
  for (const char* m : {"embedder.tflite", "detector.tflite"}) {
    EXPECT_EQ(read_file(a / m), read_file(b / m)) << m;
    EXPECT_NE(read_file(a / m), read_file(c / m)) << m;
  }
}

TEST(ConvertCli, FullSizeRandomInitLoadsAndRuns) {
  const fs::path out = fresh("rand_full");
  auto r = run_sealite("convert --card videoseal_1.0 --random-init --seed 1 --only detector -o " + q(out));
  ASSERT_EQ(r.code, 0) << r.err;
  auto bytes = read_file(out / "detector.tflite");
  rt::Interpreter it(bytes);
  ASSERT_EQ(it.output_info(0).shape, (std::vector<int>{1, 257}));
  it.set_input(0, std::vector<float>(256 * 256 * 3, 0.5f));
  it.invoke();
  for (float v : it.output_float(0)) EXPECT_TRUE(std::isfinite(v));
}

TEST(ConvertCli, WrongCardForCheckpoint) {
  const fs::path out = fresh("cli_wrong");
  auto r = run_sealite("convert " + q(vs_dir("vs10") / "checkpoint.pth") + " --card " +
                       q(vs_dir("pixelseal") / "card.yaml") + " -o " + q(out));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(count_lines(r.err.substr(r.err.find("error:"))), 1) << r.err;
  EXPECT_NE(r.err.find("does not fit card"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("embedder.unet.msg_processor.msg_embeddings.weight"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[64,32]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[48,24]"), std::string::npos) << r.err;
  EXPECT_TRUE(empty_or_absent(out));
  // A ConvNeXt checkpoint with a ViT card: the detector's first key is missing.
  auto r2 = run_sealite("convert " + q(vs_dir("vs10") / "checkpoint.pth") + " --card videoseal_0.0 -o " + q(out) +
                        " --only detector");
  EXPECT_EQ(r2.code, 2);
  EXPECT_NE(r2.err.find("detector."), std::string::npos) << r2.err;
  EXPECT_TRUE(empty_or_absent(out));
}

TEST(ConvertCli, HostileAndBrokenCheckpoints) {
  using namespace ckpt::builders;
  const fs::path dir = fresh("cli_bad_inputs");
  fs::create_directories(dir);
  auto pkl = PickleWriter().proto(2).global("os", "system").str("echo pwned").op(0x85).op('R').op('.').bytes();
  write_file_atomic(dir / "evil.pth", torch_zip(pkl, {}));
  auto good = read_file(vs_dir("vs10") / "checkpoint.pth");
  write_file_atomic(dir / "truncated.pth", std::span<const uint8_t>(good.data(), good.size() / 2));
  for (const char* name : {"evil.pth", "truncated.pth"}) {
    const fs::path out = dir / (std::string("out_") + name);
    auto r = run_sealite("convert " + q(dir / name) + " --card " + q(vs_dir("vs10") / "card.yaml") + " -o " + q(out));
    EXPECT_NE(r.code, 0) << name;
    EXPECT_EQ(count_lines(r.err.substr(r.err.find("error:"))), 1) << r.err;
    EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
    EXPECT_TRUE(empty_or_absent(out)) << name;
  }
  EXPECT_NE(run_sealite("convert " + q(dir / "evil.pth") + " --card videoseal_1.0 -o " + q(dir / "o")).err.find(
                "os.system"),
            std::string::npos);
}

TEST(ConvertCli, UsageErrors) {
  const fs::path out = fresh("cli_usage");
  EXPECT_EQ(run_sealite("convert --random-init -o " + q(out)).code, 2);                      // no card
  EXPECT_EQ(run_sealite("convert --card pixelseal --random-init").code, 2);                 // no -o
  EXPECT_EQ(run_sealite("convert --card pixelseal -o " + q(out)).code, 2);                  // no checkpoint
  EXPECT_EQ(run_sealite("convert --card nope --random-init -o " + q(out)).code, 2);         // unknown card
  EXPECT_EQ(run_sealite("convert --card pixelseal --random-init --only both -o " + q(out)).code, 2);
  EXPECT_TRUE(empty_or_absent(out));
  auto h = run_sealite("convert --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("--random-init"), std::string::npos);
}

}  // namespace
}  // namespace sealite::testing
