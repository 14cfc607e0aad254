// The sealite binary as a user meets it: help, exit codes, one-line errors,
// atomic outputs, inputs never touched.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/fs.h"

using sealite::testing::run_sealite;
namespace fs = std::filesystem;

namespace {
fs::path data(const std::string& f) { return sealite::testing::data_dir() / "tflite" / f; }
}

TEST(Cli, TopLevelHelpListsCommands) {
  auto r = run_sealite("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* c : {"inspect", "rewrite"}) EXPECT_NE(r.out.find(c), std::string::npos) << c;
  EXPECT_EQ(run_sealite("").code, 2);
  auto u = run_sealite("frobnicate");
  EXPECT_EQ(u.code, 2);
  EXPECT_EQ(sealite::testing::count_lines(u.err), 1);
}

TEST(Cli, EverySubcommandHasCompleteHelp) {
  for (const char* c : {"inspect", "rewrite"}) {
    auto r = run_sealite(std::string(c) + " --help");
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_NE(r.out.find("Usage: sealite"), std::string::npos) << c;
    EXPECT_NE(r.out.find("Examples:"), std::string::npos) << c;
  }
}

TEST(Cli, InspectJsonHasStableKeys) {
  auto r = run_sealite("inspect " + data("litert_simple_mirror_pad_reflect_op.tflite").string() + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ops_total"], 1);
  EXPECT_EQ(j["gather_nd_total"], 0);
  ASSERT_EQ(j["subgraphs"].size(), 1u);
  EXPECT_EQ(j["subgraphs"][0]["op_census"]["MIRROR_PAD"], 1);
  EXPECT_TRUE(j["subgraphs"][0]["gather_nd"].is_array());
  for (const char* k : {"name", "ops", "op_census", "gather_nd"}) EXPECT_TRUE(j["subgraphs"][0].contains(k)) << k;
}

TEST(Cli, InspectDelegationAndDot) {
  auto r = run_sealite("inspect " + data("litert_attn_vec_einsum.tflite").string() + " --delegation");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("XNNPACK took 2 of 2 nodes in 1 partition(s)"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // TFLite's own INFO lines are captured, not printed
  auto d = run_sealite("inspect " + data("litert_attn_vec_einsum.tflite").string() + " --format dot");
  EXPECT_EQ(d.code, 0);
  EXPECT_EQ(d.out.rfind("digraph", 0), 0u);
}

TEST(Cli, BadModelIsOneLineExit2) {
  auto bad = sealite::testing::temp_dir() / "bad.tflite";
  sealite::write_file_atomic(bad, std::string("definitely not a model"));
  for (const char* cmd : {"inspect ", "rewrite -o /tmp/never_written.tflite "}) {
    auto r = run_sealite(std::string(cmd) + bad.string());
    EXPECT_EQ(r.code, 2) << cmd;
    EXPECT_EQ(sealite::testing::count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("not a TensorFlow Lite model"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists("/tmp/never_written.tflite"));
  auto missing = run_sealite("inspect /nonexistent/model.tflite");
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(sealite::testing::count_lines(missing.err), 1);
}

TEST(Cli, RewriteNeverOverwritesItsInputAndIsAtomic) {
  auto dir = sealite::testing::temp_dir() / "rw";
  fs::create_directories(dir);
  auto in = dir / "m.tflite";
  fs::copy_file(data("aet_lora_test_model.tflite"), in, fs::copy_options::overwrite_existing);
  auto before = sealite::read_file(in);
  auto same = run_sealite("rewrite " + in.string() + " -o " + in.string());
  EXPECT_EQ(same.code, 2);
  EXPECT_NE(same.err.find("is the input"), std::string::npos);
  EXPECT_EQ(sealite::read_file(in), before);
  auto ok = run_sealite("rewrite " + in.string() + " -o " + (dir / "out.tflite").string() + " --json");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["output_bytes"], fs::file_size(dir / "out.tflite"));
  EXPECT_EQ(sealite::read_file(in), before);
  auto nodir = run_sealite("rewrite " + in.string() + " -o " + (dir / "no/such/dir/out.tflite").string());
  EXPECT_EQ(nodir.code, 2);
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir)) { (void)e; ++files; }
  EXPECT_EQ(files, 2u);  // m.tflite and out.tflite, no temporaries
}
