// Model cards: built-in numbers, VideoSeal's YAML rules, JSON round trip,
// errors; the parameter lists the builders read match the fixture checkpoints.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "core/error.h"
#include "testing/test_paths.h"
#include "videoseal/card.h"
#include "videoseal/convert.h"
#include "videoseal/convert_test_util.h"
#include "videoseal/embedder.h"

namespace sealite::testing {
namespace {

using vs::Card;

TEST(Card, BuiltinNames) {
  auto n = vs::builtin_card_names();
  std::set<std::string> s(n.begin(), n.end());
  EXPECT_EQ(s, (std::set<std::string>{"videoseal_0.0", "videoseal_1.0", "pixelseal", "chunkyseal"}));
}

TEST(Card, VideoSeal00) {
  Card c = vs::load_card("videoseal_0.0");
  EXPECT_EQ(c.family, "videoseal_0.0");
  EXPECT_EQ(c.nbits, 96);
  EXPECT_EQ(c.msg_hidden(), 192);  // no multiplier in the card: 2
  EXPECT_FALSE(c.yuv);
  EXPECT_EQ(c.unet.in_channels, 3);
  EXPECT_EQ(c.unet.normalization, "rms");
  EXPECT_EQ(c.unet.activation, "silu");
  EXPECT_EQ(c.unet.z_channels, 16);
  EXPECT_EQ(c.unet.num_blocks, 8);
  EXPECT_TRUE(c.detector_is_vit());
  EXPECT_EQ(c.vit.embed_dim, 384);
  EXPECT_EQ(c.vit.depth, 12);
  EXPECT_EQ(c.vit.num_heads, 6);
  EXPECT_EQ(c.vit.global_attn_indexes, (std::vector<int>{2, 5, 8, 11}));
  EXPECT_TRUE(c.vit.use_rel_pos);
  EXPECT_EQ(c.pixel_decoder.nbits, 96);
  EXPECT_EQ(c.attenuation, "");
  EXPECT_DOUBLE_EQ(c.scaling_w, 1.0);
  EXPECT_EQ(c.step_size, 4);
  EXPECT_EQ(c.chunk_size, 32);
}

TEST(Card, VideoSeal10) {
  Card c = vs::load_card("videoseal_1.0");
  EXPECT_EQ(c.family, "videoseal_1.0");
  EXPECT_EQ(c.nbits, 256);
  EXPECT_EQ(c.msg_hidden(), 256);
  EXPECT_TRUE(c.yuv);
  EXPECT_EQ(c.unet.in_channels, 1);
  EXPECT_EQ(c.unet.normalization, "batch");
  EXPECT_EQ(c.unet.activation, "relu");
  EXPECT_EQ(c.convnext.dims, (std::vector<int>{96, 192, 384, 768}));
  EXPECT_EQ(c.convnext.depths, (std::vector<int>{3, 3, 9, 3}));
  EXPECT_EQ(c.convnext.stem_stride, 4);
  EXPECT_EQ(c.pixel_decoder.embed_dim, 768);
  EXPECT_EQ(c.pixel_decoder.nbits, 256);
  EXPECT_EQ(c.attenuation, "jnd_1_1");
  EXPECT_DOUBLE_EQ(c.scaling_w, 0.2);
  EXPECT_EQ(c.step_size, 4);
}

TEST(Card, PixelSeal) {
  Card c = vs::load_card("pixelseal");
  EXPECT_EQ(c.family, "pixelseal");
  EXPECT_EQ(c.nbits, 256);
  EXPECT_EQ(c.msg_hidden(), 256);
  EXPECT_EQ(c.unet.z_channels_mults, (std::vector<int>{2, 4, 8, 16}));
  EXPECT_EQ(c.step_size, 8);
  EXPECT_TRUE(c.yuv);
}

TEST(Card, ChunkySealProportionalDims) {
  Card c = vs::load_card("chunkyseal");
  EXPECT_EQ(c.family, "chunkyseal");
  EXPECT_EQ(c.nbits, 1024);
  EXPECT_EQ(c.msg_hidden(), 2048);
  EXPECT_FALSE(c.yuv);
  EXPECT_TRUE(c.convnext.proportional_dim);
  // [128,256,512,1024] x sqrt(1024/128), truncated
  EXPECT_EQ(c.convnext.dims, (std::vector<int>{362, 724, 1448, 2896}));
  EXPECT_EQ(c.convnext.card_dims, (std::vector<int>{128, 256, 512, 1024}));
  EXPECT_EQ(c.convnext.stem_stride, 2);
  EXPECT_EQ(c.pixel_decoder.embed_dim, 2896);
  EXPECT_EQ(c.pixel_decoder.nbits, 1024);
}

TEST(Card, FixtureCardsFollowVideoSealRules) {
  struct E {
    const char* fam;
    int nbits, hidden;
    std::string family;
    bool yuv;
  };
  for (const E& e : {E{"vs00", 16, 32, "videoseal_0.0", false}, E{"vs10", 32, 32, "videoseal_1.0", true},
                     E{"pixelseal", 24, 24, "pixelseal", true}, E{"chunky", 64, 16, "chunkyseal", false}}) {
    Card c = vs::load_card((vs_dir(e.fam) / "card.yaml").string());
    EXPECT_EQ(c.nbits, e.nbits) << e.fam;
    EXPECT_EQ(c.msg_hidden(), e.hidden) << e.fam << ": hidden = nbits x multiplier, not the card's hidden_size";
    EXPECT_EQ(c.family, e.family) << e.fam;
    EXPECT_EQ(c.yuv, e.yuv) << e.fam;
    EXPECT_EQ(c.pixel_decoder.nbits, e.nbits) << e.fam;
  }
  Card ch = vs::load_card((vs_dir("chunky") / "card.yaml").string());
  EXPECT_EQ(ch.convnext.dims, (std::vector<int>{5, 11, 22, 45}));
  EXPECT_EQ(ch.pixel_decoder.embed_dim, 45);
  EXPECT_EQ(ch.step_size, 8);  // legacy videowam_step_size
  Card v0 = vs::load_card((vs_dir("vs00") / "card.yaml").string());
  EXPECT_EQ(v0.attenuation, "");  // "None"
  EXPECT_EQ(v0.vit.global_attn_indexes, (std::vector<int>{1, 3}));
  Card v1 = vs::load_card((vs_dir("vs10") / "card.yaml").string());
  EXPECT_EQ(v1.attenuation, "jnd_1_1");
}

TEST(Card, JsonRoundTrip) {
  for (const auto& n : vs::builtin_card_names()) {
    Card c = vs::load_card(n);
    auto j = c.to_json();
    Card d = Card::from_json(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(d.to_json(), j) << n;
    EXPECT_EQ(d.msg_hidden(), c.msg_hidden());
    EXPECT_EQ(d.detector_is_vit(), c.detector_is_vit());
  }
  auto j = vs::load_card("pixelseal").to_json();
  for (const char* k : {"nbits", "scaling_w", "scaling_i", "attenuation", "yuv", "img_size", "chunk_size",
                        "step_size", "video_mode", "family"})
    EXPECT_TRUE(j.contains(k)) << k;
}

std::string err_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Card, Errors) {
  EXPECT_NE(err_of([] { vs::load_card("no_such_card"); }).find("unknown card 'no_such_card'"), std::string::npos);
  std::string base = vs::builtin_card_yaml("videoseal_1.0");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    auto p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    s.replace(p, from.size(), to);
    return s;
  };
  EXPECT_NE(err_of([&] { vs::parse_card_yaml(with("binary+concat", "gaussian+concat"), "x"); }).find("msg_processor_type"),
            std::string::npos);
  EXPECT_NE(err_of([&] { vs::parse_card_yaml(with("nbits: 256", "nbitz: 256"), "x"); }).find("args.nbits"),
            std::string::npos);
  EXPECT_NE(err_of([&] { vs::parse_card_yaml(with("activation: relu", "activation: mish"), "x"); }).find("mish"),
            std::string::npos);
  EXPECT_NE(err_of([&] { vs::parse_card_yaml("a: [1, 2", "x"); }).find("not valid YAML"), std::string::npos);
  EXPECT_NE(err_of([&] { vs::parse_card_yaml("- 1\n- 2\n", "x"); }).find("not a VideoSeal card"), std::string::npos);
}

// The (key, shape) lists the builders read are exactly the fixture state dicts.
TEST(Card, ParamShapesMatchFixtureCheckpoints) {
  for (std::string fam : {"vs00", "vs10", "pixelseal", "chunky"}) {
    Card c = vs::load_card((vs_dir(fam) / "card.yaml").string());
    auto ck = ckpt::Checkpoint::open(vs_dir(fam) / "checkpoint.pth");
    auto shapes = vs::model_param_shapes(c, true, true);
    std::set<std::string> listed;
    for (const auto& [k, s] : shapes) {
      listed.insert(k);
      ASSERT_TRUE(ck.has(k)) << fam << ": " << k;
      EXPECT_EQ(ck.at(k).shape, s) << fam << ": " << k;
    }
    for (const auto& k : ck.keys()) {
      if (k.rfind("embedder.", 0) != 0 && k.rfind("detector.", 0) != 0) continue;  // rgb2yuv, attenuation
      EXPECT_TRUE(listed.count(k)) << fam << ": checkpoint key not read by the builders: " << k;
    }
  }
}

TEST(Card, RandomCheckpointIsDeterministic) {
  Card c = vs::load_card((vs_dir("vs10") / "card.yaml").string());
  auto a = vs::random_checkpoint(c, 7), b = vs::random_checkpoint(c, 7), d = vs::random_checkpoint(c, 8);
  const std::string k = "detector.convnext.stages.0.0.pwconv1.weight";
  auto s = std::vector<int64_t>{32, 8};
  EXPECT_EQ(a.get(k, s), b.get(k, s));
  EXPECT_NE(a.get(k, s), d.get(k, s));
  EXPECT_EQ(a.keys().size(), b.keys().size());
}

}  // namespace
}  // namespace sealite::testing
