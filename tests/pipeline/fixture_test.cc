// The full-resolution pipeline against Meta's reference outputs, for every
// fixture family, with models converted from the fixture checkpoints:
//  - embed of img_270x476.png with the fixture message: float result within
//    1e-4 of pipe270x476_{fullres,lowres}_imgs_w; the PNG equals
//    round(ref*255) on >= 99.9 % of the values and is never more than 1 off;
//  - detect on the reference images (.npy) and on the original PNG: logits
//    within 1e-4 of the *_detect_* references, identical bit decisions.
// Both through the library API and through the `sealite` binary (--json,
// --dump-float), as a user would run them.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/fs.h"
#include "core/npy.h"
#include "media/image.h"
#include "pipeline/model.h"
#include "pipeline/pipeline.h"
#include "pipeline/report.h"
#include "pipeline_testing.h"
#include "videoseal/blend.h"

namespace fs = std::filesystem;
namespace pl = sealite::pipeline;
using namespace sealite::testing;

namespace {

constexpr double kTol = 1e-4;

pl::Message fixture_message(const std::string& family) {
  auto p = fixture_file(family, "in_msg.npy");
  EXPECT_FALSE(p.empty());
  auto v = sealite::npy_load(p).as_int64();
  pl::Message m;
  for (auto b : v) m.bits.push_back(static_cast<uint8_t>(b != 0));
  return m;
}

std::vector<float> png_as_chw(int* h, int* w) {
  auto img = sealite::media::read_image(input_png());
  *h = img.height;
  *w = img.width;
  std::vector<float> chw(3 * img.pixels());
  sealite::videoseal::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, chw.data());
  return chw;
}

// Every logit within tol and the same decision (> 0) for every index.
void expect_logits_match(const std::vector<float>& got, const std::vector<float>& ref, const std::string& what,
                         double* max_out = nullptr) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  double m = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    m = std::max(m, std::fabs(static_cast<double>(got[i]) - ref[i]));
    EXPECT_EQ(got[i] > 0, ref[i] > 0) << what << ": decision of logit " << i << " differs (" << got[i] << " vs "
                                      << ref[i] << ")";
  }
  EXPECT_LE(m, kTol) << what;
  if (max_out) *max_out = m;
}

struct RoundStats {
  size_t equal = 0, total = 0;
  int max_off = 0;
};
RoundStats compare_u8(const sealite::media::Image& img, const std::vector<float>& ref_chw) {
  RoundStats s;
  const int h = img.height, w = img.width;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        // The PNG decodes to u8/255 exactly; recover u8.
        int got = static_cast<int>(std::lround(img.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] * 255.0f));
        float r = ref_chw[(static_cast<size_t>(c) * h + y) * w + x];
        int want = static_cast<int>(std::nearbyint(std::min(1.0f, std::max(0.0f, r)) * 255.0f));
        s.equal += got == want;
        s.max_off = std::max(s.max_off, std::abs(got - want));
        s.total++;
      }
  return s;
}

class Family : public ::testing::TestWithParam<std::string> {};

// ------------------------------------------------------------- library API

TEST_P(Family, EmbedMatchesReferenceAtFullResolution) {
  const std::string family = GetParam();
  SEALITE_REQUIRE_FAMILY_MODEL(dir, family);
  auto model = pl::EmbedderModel::load(dir);
  int h, w;
  auto chw = png_as_chw(&h, &w);
  const pl::Message msg = fixture_message(family);
  for (bool lowres : {false, true}) {
    const std::string mode = lowres ? "lowres" : "fullres";
    pl::EmbedOptions opt;
    opt.lowres_attenuation = lowres;
    opt.keep_preds = true;
    pl::Timings t;
    auto out = pl::embed_image(*model, chw.data(), h, w, msg, opt, &t);
    EXPECT_GT(t.model, 0);
    auto ref_path = fixture_file(family, "pipe270x476_" + mode + "_imgs_w.npy");
    if (ref_path.empty()) {
      std::printf("[%s %s] reference image not in tests/data and ../shared absent: not compared\n", family.c_str(),
                  mode.c_str());
      continue;
    }
    auto d = max_diff(out.image, load_floats(ref_path));
    std::printf("[%s %s] imgs_w max|diff| = %.3g\n", family.c_str(), mode.c_str(), d.max_abs);
    EXPECT_LE(d.max_abs, kTol) << family << " " << mode;
    if (auto pp = fixture_file(family, "pipe270x476_" + mode + "_preds_w.npy"); !pp.empty()) {
      auto dp = max_diff(out.preds, load_floats(pp));
      std::printf("[%s %s] preds_w max|diff| = %.3g\n", family.c_str(), mode.c_str(), dp.max_abs);
      EXPECT_LE(dp.max_abs, kTol) << family << " " << mode << " preds_w";
    }
  }
}

TEST_P(Family, DetectMatchesReferences) {
  const std::string family = GetParam();
  SEALITE_REQUIRE_FAMILY_MODEL(dir, family);
  auto model = pl::DetectorModel::load(dir);
  // The original image, from the PNG.
  {
    auto r = pl::detect_file(*model, input_png());
    auto ref = load_floats(fixture_file(family, "pipe270x476_detect_orig.npy"));
    double m;
    expect_logits_match(r.detection.logits, ref, family + " original PNG", &m);
    std::printf("[%s] detect original PNG max|diff| = %.3g\n", family.c_str(), m);
  }
  for (std::string mode : {"fullres", "lowres", "256"}) {
    auto img = fixture_file(family, mode == "256" ? "pipe256_imgs_w.npy" : "pipe270x476_" + mode + "_imgs_w.npy");
    auto ref = fixture_file(family, mode == "256" ? "pipe256_detect_w.npy" : "pipe270x476_" + mode + "_detect_w.npy");
    if (img.empty()) continue;
    ASSERT_FALSE(ref.empty());
    auto r = pl::detect_file(*model, img);  // 1x3xHxW float32 .npy
    double m;
    expect_logits_match(r.detection.logits, load_floats(ref), family + " " + mode, &m);
    std::printf("[%s] detect %s imgs_w max|diff| = %.3g\n", family.c_str(), mode.c_str(), m);
  }
}

// ------------------------------------------------------------- the binary

std::string bits_spec(const pl::Message& m) { return "bits:" + m.to_bits(); }

TEST_P(Family, CliEmbedWritesReferencePixels) {
  const std::string family = GetParam();
  SEALITE_REQUIRE_FAMILY_MODEL(dir, family);
  const pl::Message msg = fixture_message(family);
  for (bool lowres : {false, true}) {
    const std::string mode = lowres ? "lowres" : "fullres";
    fs::path out = temp_dir() / (family + "_" + mode + "_cli.png");
    fs::path dump = temp_dir() / (family + "_" + mode + "_cli.npy");
    auto r = run_sealite("embed " + input_png().string() + " -o " + out.string() + " --model " + dir.string() +
                         " --message " + bits_spec(msg) + " --dump-float " + dump.string() + " --json" +
                         (lowres ? " --lowres-attenuation" : ""));
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["bits"], msg.to_bits());
    EXPECT_EQ(j["message"], pl::message_spec(msg));
    EXPECT_EQ(j["width"], 476);
    EXPECT_EQ(j["height"], 270);
    EXPECT_GT(j["psnr"].get<double>(), 10.0);  // random weights: vs00 has scaling_w 1 and no JND
    for (const char* k : {"decode", "resize", "model", "jnd", "blend", "encode", "total"})
      EXPECT_TRUE(j["timings"].contains(k)) << k;
    auto dumped = sealite::npy_load(dump);
    EXPECT_EQ(dumped.shape, (std::vector<int64_t>{1, 3, 270, 476}));
    auto ref_path = fixture_file(family, "pipe270x476_" + mode + "_imgs_w.npy");
    if (ref_path.empty()) continue;
    auto ref = load_floats(ref_path);
    auto d = max_diff(dumped.as_float(), ref);
    EXPECT_LE(d.max_abs, kTol) << family << " " << mode;
    auto png = sealite::media::read_image(out);
    auto s = compare_u8(png, ref);
    std::printf("[%s %s] CLI: float max|diff| %.3g; PNG == round(ref*255) on %.4f %% (max off %d)\n", family.c_str(),
                mode.c_str(), d.max_abs, 100.0 * s.equal / s.total, s.max_off);
    EXPECT_GE(static_cast<double>(s.equal) / s.total, 0.999) << family << " " << mode;
    EXPECT_LE(s.max_off, 1) << family << " " << mode;
  }
}

TEST_P(Family, CliDetectReproducesReferenceLogits) {
  const std::string family = GetParam();
  SEALITE_REQUIRE_FAMILY_MODEL(dir, family);
  const pl::Message msg = fixture_message(family);
  // The original as a float .npy (HxWx3), like the fixture's float input.
  fs::path orig_npy = temp_dir() / (family + "_orig.npy");
  {
    auto img = sealite::media::read_image(input_png());
    sealite::npy_save(orig_npy, sealite::npy_from_floats({img.height, img.width, 3}, img.rgb.data()));
  }
  struct Case { fs::path image, ref; std::string what; };
  std::vector<Case> cases = {{input_png(), fixture_file(family, "pipe270x476_detect_orig.npy"), "orig png"},
                             {orig_npy, fixture_file(family, "pipe270x476_detect_orig.npy"), "orig npy"}};
  for (std::string mode : {"fullres", "lowres"})
    if (auto p = fixture_file(family, "pipe270x476_" + mode + "_imgs_w.npy"); !p.empty())
      cases.push_back({p, fixture_file(family, "pipe270x476_" + mode + "_detect_w.npy"), mode});
  if (auto p = fixture_file(family, "pipe256_imgs_w.npy"); !p.empty())
    cases.push_back({p, fixture_file(family, "pipe256_detect_w.npy"), "256"});
  std::string args = "detect --model " + dir.string() + " --json --expect " + bits_spec(msg);
  for (auto& c : cases) args += " " + c.image.string();
  auto r = run_sealite(args);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& o = j[i];
    auto ref = load_floats(cases[i].ref);
    auto logits = o["logits"].get<std::vector<float>>();
    double m;
    expect_logits_match(logits, ref, family + " CLI " + cases[i].what, &m);
    std::printf("[%s] CLI detect %s max|diff| = %.3g\n", family.c_str(), cases[i].what.c_str(), m);
    std::string bits;
    for (size_t k = 1; k < ref.size(); ++k) bits.push_back(ref[k] > 0 ? '1' : '0');
    EXPECT_EQ(o["bits"], bits);
    EXPECT_EQ(o["detected"], ref[0] > 0);
    EXPECT_EQ(o["input"], cases[i].image.string());
    for (const char* k : {"hex", "bit_accuracy", "p_value", "matching_bits", "expected"}) EXPECT_TRUE(o.contains(k)) << k;
    int matching = 0;
    for (size_t k = 0; k < bits.size(); ++k) matching += bits[k] == ('0' + msg.bits[k]);
    EXPECT_EQ(o["matching_bits"], matching);
    EXPECT_NEAR(o["p_value"].get<double>(), pl::binomial_p_value(matching, msg.nbits()), 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(Pipeline, Family, ::testing::ValuesIn(pipeline_families()),
                         [](const auto& info) { return info.param; });

}  // namespace
