// `sealite embed` / `sealite detect` on bad inputs, bad messages, bad models
// and unsafe outputs: one-line errors, the right exit code, nothing written,
// inputs untouched, no crash. The broken images live in tests/data/pipeline
// (they also seed the image readers' fuzz corpus, see scripts/fuzz.sh).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/fs.h"
#include "pipeline/model.h"
#include "pipeline_testing.h"
#include "tflite/model_io.h"

namespace fs = std::filesystem;
using namespace sealite::testing;

namespace {

fs::path bad(const std::string& name) { return data_dir() / "pipeline" / name; }

// A fresh empty directory for outputs.
fs::path fresh_dir(const std::string& name) {
  fs::path d = temp_dir() / "errors" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

size_t count_entries(const fs::path& d) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(d)) (void)e, ++n;
  return n;
}

RunResult run_env(const std::string& env, const std::string& args) {
  auto out = temp_dir() / "env_out.txt", err = temp_dir() / "env_err.txt";
  std::string cmd = env + " " + (binary_dir() / "sealite").string() + " " + args + " >" + out.string() + " 2>" +
                    err.string() + " </dev/null";
  int st = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_all(out);
  r.err = read_all(err);
  return r;
}

#define EXPECT_ONE_LINE_ERROR(r, code_, needle)                                      \
  do {                                                                               \
    EXPECT_EQ((r).code, code_) << (r).err;                                           \
    EXPECT_EQ(count_lines((r).err), 1) << (r).err;                                   \
    EXPECT_NE((r).err.find(needle), std::string::npos) << (r).err;                   \
    EXPECT_EQ((r).err.find("internal error"), std::string::npos) << (r).err;         \
  } while (0)

}  // namespace

TEST(PipelineCli, HelpMentionsRoundingAndDefaults) {
  auto r = run_sealite("embed --help");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("ROUND"), std::string::npos);
  EXPECT_NE(r.out.find("truncate"), std::string::npos);
  EXPECT_NE(r.out.find("SEALITE_MODEL_DIR"), std::string::npos);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
  auto d = run_sealite("detect --help");
  ASSERT_EQ(d.code, 0);
  EXPECT_NE(d.out.find("p-value"), std::string::npos);
  auto top = run_sealite("--help");
  EXPECT_NE(top.out.find("embed"), std::string::npos);
  EXPECT_NE(top.out.find("detect"), std::string::npos);
}

TEST(PipelineCli, BrokenImagesAreOneLineErrorsAndWriteNothing) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  for (const char* name : {"tiny_1x1.png", "huge_header_20000x20000.png", "huge_header_20000x20000.jpg", "truncated.png",
                           "corrupt_idat.png", "truncated.jpg", "garbage.jpg", "not_an_image.png", "empty.png",
                           "does_not_exist.png"}) {
    SCOPED_TRACE(name);
    fs::path out = fresh_dir(std::string("broken_") + name);
    auto r = run_sealite("embed " + bad(name).string() + " -o " + (out / "o.png").string() + " --model " +
                         model.string() + " --message random:1");
    EXPECT_ONE_LINE_ERROR(r, 2, bad(name).filename().string());
    EXPECT_EQ(count_entries(out), 0u) << "something was written";
    auto d = run_sealite("detect " + bad(name).string() + " --model " + model.string());
    EXPECT_ONE_LINE_ERROR(d, 2, bad(name).filename().string());
  }
  auto r = run_sealite("detect " + bad("tiny_1x1.png").string() + " --model " + model.string());
  EXPECT_NE(r.err.find("1x1"), std::string::npos) << r.err;
}

TEST(PipelineCli, WrongMessageIsAClearError) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");  // 32 bits
  fs::path out = fresh_dir("msg");
  for (auto [msg, needle] : std::vector<std::pair<std::string, std::string>>{
           {"hex:abc", "needs 8 hex digits"}, {"bits:0101", "exactly 32 bits"}, {"text:toolong", "at most 4 bytes"},
           {"banana", "expected hex:"}, {"hex:zzzzzzzz", "not a hex digit"}}) {
    auto r = run_sealite("embed " + input_png().string() + " -o " + (out / "o.png").string() + " --model " +
                         model.string() + " --message " + msg);
    EXPECT_ONE_LINE_ERROR(r, 2, needle);
    EXPECT_EQ(count_entries(out), 0u);
  }
  auto d = run_sealite("detect " + input_png().string() + " --model " + model.string() + " --expect hex:12");
  EXPECT_ONE_LINE_ERROR(d, 2, "needs 8 hex digits");
}

TEST(PipelineCli, ModelsWithoutCardOrInTheWrongRoleAreRefused) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  fs::path out = fresh_dir("models");
  // A converted embedder with its metadata removed.
  fs::path nocard = fresh_dir("nocard_model");
  {
    auto m = sealite::tfl::read_model_file(model / "embedder.tflite");
    m->metadata.clear();
    sealite::tfl::write_model_file(nocard / "embedder.tflite", *m);
    auto d = sealite::tfl::read_model_file(model / "detector.tflite");
    d->metadata.clear();
    sealite::tfl::write_model_file(nocard / "detector.tflite", *d);
  }
  auto r = run_sealite("embed " + input_png().string() + " -o " + (out / "o.png").string() + " --model " +
                       nocard.string() + " --message random:1");
  EXPECT_ONE_LINE_ERROR(r, 2, "no 'sealite.card' metadata");
  EXPECT_NE(r.err.find("sealite convert"), std::string::npos);
  auto rd = run_sealite("detect " + input_png().string() + " --model " + nocard.string());
  EXPECT_ONE_LINE_ERROR(rd, 2, "no 'sealite.card' metadata");

  // A detector given as embedder (file, and a directory whose embedder.tflite is a detector).
  auto r2 = run_sealite("embed " + input_png().string() + " -o " + (out / "o.png").string() + " --model " +
                        (model / "detector.tflite").string() + " --message random:1");
  EXPECT_ONE_LINE_ERROR(r2, 2, "is a detector, not an embedder");
  fs::path swapped = fresh_dir("swapped_model");
  fs::copy_file(model / "detector.tflite", swapped / "embedder.tflite");
  fs::copy_file(model / "embedder.tflite", swapped / "detector.tflite");
  auto r3 = run_sealite("embed " + input_png().string() + " -o " + (out / "o.png").string() + " --model " +
                        swapped.string() + " --message random:1");
  EXPECT_ONE_LINE_ERROR(r3, 2, "is a detector, not an embedder");
  auto r4 = run_sealite("detect " + input_png().string() + " --model " + swapped.string());
  EXPECT_ONE_LINE_ERROR(r4, 2, "is an embedder, not a detector");
  // Not a model at all; a missing model directory; a directory without models.
  auto r5 = run_sealite("detect " + input_png().string() + " --model " + input_png().string());
  EXPECT_ONE_LINE_ERROR(r5, 2, "not a TensorFlow Lite model");
  auto r6 = run_sealite("detect " + input_png().string() + " --model " + (temp_dir() / "nowhere").string());
  EXPECT_ONE_LINE_ERROR(r6, 2, "does not exist");
  auto r7 = run_sealite("detect " + input_png().string() + " --model " + fresh_dir("empty_model").string());
  EXPECT_ONE_LINE_ERROR(r7, 2, "has no detector.tflite");
  EXPECT_EQ(count_entries(out), 0u);
}

TEST(PipelineCli, DefaultModelLocation) {
  // An empty default location gets the built-in sealite-ss default on first use (one notice line).
  fs::path empty = fresh_dir("xdg_empty");
  auto r = run_env("SEALITE_MODEL_DIR= XDG_DATA_HOME=" + empty.string(), "detect " + input_png().string());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find((empty / "sealite" / "models" / "default").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sealite convert"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(empty / "sealite" / "models" / "default" / "detector.tflite"));
  // Where it cannot be written: one line that says how to get a model.
  fs::path file = fresh_dir("xdg_file") / "not_a_dir";
  { std::ofstream(file) << "x"; }
  auto r2 = run_env("SEALITE_MODEL_DIR=" + (file / "models").string(), "detect " + input_png().string());
  EXPECT_ONE_LINE_ERROR(r2, 2, "SEALITE_MODEL_DIR");
  EXPECT_NE(r2.err.find("sealite convert"), std::string::npos) << r2.err;

  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  auto ok = run_env("SEALITE_MODEL_DIR=" + model.string(), "detect " + input_png().string() + " --json");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(nlohmann::json::parse(ok.out).contains("logits"));
  // XDG layout.
  fs::path xdg = fresh_dir("xdg_full");
  fs::create_directories(xdg / "sealite" / "models");
  fs::create_directory_symlink(fs::absolute(model), xdg / "sealite" / "models" / "default");
  auto ok2 = run_env("SEALITE_MODEL_DIR= XDG_DATA_HOME=" + xdg.string(), "detect " + input_png().string() + " --json");
  EXPECT_EQ(ok2.code, 0) << ok2.err;
}

TEST(PipelineCli, NeverOverwritesAnInput) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  fs::path dir = fresh_dir("inplace");
  fs::copy_file(input_png(), dir / "a.png");
  const auto before = sealite::read_file(dir / "a.png");
  auto r = run_sealite("embed " + (dir / "a.png").string() + " -o " + (dir / "a.png").string() + " --model " +
                       model.string());
  EXPECT_ONE_LINE_ERROR(r, 2, "refusing to write the output over the input");
  auto r2 = run_sealite("embed " + (dir / "a.png").string() + " -o " + (dir / "." / "a.png").string() + " --model " +
                        model.string());
  EXPECT_ONE_LINE_ERROR(r2, 2, "refusing");
  fs::create_symlink(dir / "a.png", dir / "link.png");
  auto r3 = run_sealite("embed " + (dir / "a.png").string() + " -o " + (dir / "link.png").string() + " --model " +
                        model.string());
  EXPECT_ONE_LINE_ERROR(r3, 2, "refusing");
  // --output-dir + --suffix "" into the input's own directory.
  auto r4 = run_sealite("embed " + (dir / "a.png").string() + " --output-dir " + dir.string() +
                        " --suffix= --model " + model.string());
  EXPECT_ONE_LINE_ERROR(r4, 2, "refusing");
  auto r5 = run_sealite("embed " + (dir / "a.png").string() + " -o " + (dir / "b.png").string() + " --dump-float " +
                        (dir / "a.png").string() + " --model " + model.string());
  EXPECT_ONE_LINE_ERROR(r5, 2, "refusing");
  EXPECT_EQ(sealite::read_file(dir / "a.png"), before);
  EXPECT_EQ(count_entries(dir), 2u);  // a.png and link.png only
  // Default suffix in the same directory is fine and leaves the input alone.
  auto ok = run_sealite("embed " + (dir / "a.png").string() + " --output-dir " + dir.string() + " --model " +
                        model.string() + " --quiet");
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(fs::exists(dir / "a_wm.png"));
  EXPECT_EQ(sealite::read_file(dir / "a.png"), before);
}

TEST(PipelineCli, UsageErrors) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  auto m = " --model " + model.string();
  EXPECT_ONE_LINE_ERROR(run_sealite("embed " + input_png().string() + m), 2, "no output");
  EXPECT_ONE_LINE_ERROR(run_sealite("embed " + input_png().string() + " " + input_png().string() + " -o x.png" + m), 2,
                        "--output-dir");
  EXPECT_ONE_LINE_ERROR(run_sealite("embed " + input_png().string() + " -o x.png --strength nan" + m), 2, "strength");
  EXPECT_ONE_LINE_ERROR(run_sealite("embed " + input_png().string() + " -o x.png --quality 101" + m), 2, "quality");
  EXPECT_ONE_LINE_ERROR(run_sealite("embed " + input_png().string() + " -o x.png --quality 90" + m), 2, "JPEG");
  fs::path d = fresh_dir("dupes");
  fs::create_directories(d / "a");
  fs::create_directories(d / "b");
  fs::copy_file(input_png(), d / "a" / "x.png");
  fs::copy_file(input_png(), d / "b" / "x.png");
  EXPECT_ONE_LINE_ERROR(run_sealite("embed " + (d / "a" / "x.png").string() + " " + (d / "b" / "x.png").string() +
                                    " --output-dir " + (d / "out").string() + m),
                        2, "would both be written");
  EXPECT_FALSE(fs::exists(d / "out"));
}

TEST(PipelineCli, BatchKeepsGoingAndReportsFailures) {
  SEALITE_REQUIRE_FAMILY_MODEL(model, "vs10");
  fs::path in = fresh_dir("batch_in"), out = temp_dir() / "errors" / "batch_out";
  fs::remove_all(out);
  fs::copy_file(input_png(), in / "one.png");
  fs::copy_file(bad("truncated.png"), in / "two.png");
  fs::copy_file(input_png(), in / "three.png");
  auto r = run_sealite("embed " + (in / "one.png").string() + " " + (in / "two.png").string() + " " +
                       (in / "three.png").string() + " --output-dir " + out.string() + " --model " + model.string() +
                       " --message random:3 --json --jobs 2");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("two.png"), std::string::npos);
  EXPECT_NE(r.err.find("1 of 3 inputs failed"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["input"], (in / "one.png").string());
  EXPECT_TRUE(j[1].contains("error"));
  EXPECT_EQ(j[2]["output"], (out / "three_wm.png").string());
  EXPECT_EQ(j[0]["message"], j[2]["message"]);
  EXPECT_TRUE(fs::exists(out / "one_wm.png"));
  EXPECT_TRUE(fs::exists(out / "three_wm.png"));
  EXPECT_EQ(count_entries(out), 2u);  // no output and no temporary for the failed one

  // detect on the same batch: one failure, exit 1, the others decoded with the embedded message.
  auto msg = j[0]["message"].get<std::string>();
  auto d = run_sealite("detect " + (out / "one_wm.png").string() + " " + (in / "two.png").string() + " " +
                       (out / "three_wm.png").string() + " --model " + model.string() + " --expect " + msg + " --json");
  EXPECT_EQ(d.code, 1);
  auto dj = nlohmann::json::parse(d.out);
  ASSERT_EQ(dj.size(), 3u);
  EXPECT_TRUE(dj[1].contains("error"));
  EXPECT_TRUE(dj[0].contains("p_value"));
}
