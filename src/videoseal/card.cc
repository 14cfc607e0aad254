#include "videoseal/card.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/fs.h"

namespace sealite::vs {

using nlohmann::json;

// ------------------------------------------------------------ built-in cards
//
// The numbers of Meta's public model cards (facebookresearch/videoseal,
// videoseal/cards/*.yaml), in the same format as --card FILE.yaml, so built-in
// and file cards go through one parser and one set of rules.
namespace {

const char* kVideoSeal00 = R"(# VideoSeal 0.0 (videoseal/cards/videoseal_0.0.yaml)
checkpoint_path: https://huggingface.co/facebook/video_seal/resolve/main/checkpoint.pth
args:
  embedder_model: unet_small2
  extractor_model: sam_small
  nbits: 96
  img_size: 256
  img_size_extractor: 256
  attenuation: None
  blending_method: additive
  scaling_w: 1.0
  scaling_i: 1.0
  videoseal_chunk_size: 32
  videoseal_step_size: 4
embedder:
  model: unet_small2
  params:
    msg_processor:
      nbits: 16
      hidden_size: 32
      msg_processor_type: binary+concat
    unet:
      in_channels: 3
      out_channels: 3
      z_channels: 16
      num_blocks: 8
      activation: silu
      normalization: rms
      z_channels_mults: [1, 2, 4, 8]
      last_tanh: true
extractor:
  model: sam_small
  params:
    encoder:
      img_size: 256
      embed_dim: 384
      out_chans: 384
      depth: 12
      num_heads: 6
      patch_size: 16
      global_attn_indexes: [2, 5, 8, 11]
      window_size: 8
      mlp_ratio: 4
      qkv_bias: true
      use_rel_pos: true
    pixel_decoder:
      pixelwise: false
      upscale_stages: [1]
      embed_dim: 384
      nbits: 16
      sigmoid_output: false
      upscale_type: bilinear
)";

const char* kVideoSeal10 = R"(# VideoSeal 1.0 (videoseal/cards/videoseal_1.0.yaml, 256 bits)
checkpoint_path: https://dl.fbaipublicfiles.com/videoseal/y_256b_img.pth
args:
  attenuation_config: configs/attenuation.yaml
  attenuation: jnd_1_1
  nbits: 256
  hidden_size_multiplier: 1
  img_size_proc: 256
  blending_method: additive
  scaling_w: 0.2
  scaling_i: 1.0
  videowam_chunk_size: 32
  videowam_step_size: 4
embedder:
  model: unet_small2_yuv_quant
  params:
    msg_processor:
      nbits: 16
      hidden_size: 32
      msg_processor_type: binary+concat
    unet:
      in_channels: 1
      out_channels: 1
      z_channels: 16
      num_blocks: 8
      activation: relu
      normalization: batch
      z_channels_mults: [1, 2, 4, 8]
      last_tanh: true
extractor:
  model: convnext_tiny
  params:
    encoder:
      depths: [3, 3, 9, 3]
      dims: [96, 192, 384, 768]
    pixel_decoder:
      pixelwise: false
      upscale_stages: [1]
      embed_dim: 768
      nbits: 16
      sigmoid_output: false
)";

const char* kPixelSeal = R"(# PixelSeal (videoseal/cards/pixelseal.yaml)
checkpoint_path: https://dl.fbaipublicfiles.com/videoseal/pixelseal.pth
args:
  attenuation_config: configs/attenuation.yaml
  attenuation: jnd_1_1
  nbits: 256
  hidden_size_multiplier: 1.0
  img_size_proc: 256
  blending_method: additive
  scaling_w: 0.2
  scaling_i: 1.0
  videowam_chunk_size: 32
  videowam_step_size: 8
embedder:
  model: unet_base_yuv_quant
  params:
    msg_processor:
      nbits: 16
      hidden_size: 32
      msg_processor_type: binary+concat
    unet:
      in_channels: 1
      out_channels: 1
      z_channels: 16
      num_blocks: 8
      activation: relu
      normalization: batch
      z_channels_mults: [2, 4, 8, 16]
      last_tanh: true
extractor:
  model: convnext_tiny
  params:
    encoder:
      depths: [3, 3, 9, 3]
      dims: [96, 192, 384, 768]
    pixel_decoder:
      pixelwise: false
      upscale_stages: [1]
      embed_dim: 768
      nbits: 16
      sigmoid_output: false
)";

const char* kChunkySeal = R"(# ChunkySeal (videoseal/cards/chunkyseal.yaml)
checkpoint_path: chunkyseal/checkpoint.pth
args:
  attenuation_config: configs/attenuation.yaml
  attenuation: jnd_1_1
  nbits: 1024
  hidden_size_multiplier: 2.0
  img_size_proc: 256
  blending_method: additive
  scaling_w: 0.2
  scaling_i: 1.0
  videowam_chunk_size: 32
  videowam_step_size: 8
embedder:
  model: unet_chunky
  params:
    msg_processor:
      msg_processor_type: binary+concat
    unet:
      in_channels: 3
      out_channels: 3
      z_channels: 16
      num_blocks: 8
      activation: relu
      normalization: batch
      z_channels_mults: [4, 8, 16, 32]
      last_tanh: true
extractor:
  model: convnext_chunky
  params:
    proportional_dim: true
    encoder:
      stem_stride: 2
      depths: [3, 3, 27, 3]
      dims: [128, 256, 512, 1024]
    pixel_decoder:
      pixelwise: false
      upscale_stages: [1]
      sigmoid_output: false
)";

const std::map<std::string, const char*>& builtins() {
  static const std::map<std::string, const char*> m = {
      {"videoseal_0.0", kVideoSeal00},
      {"videoseal_1.0", kVideoSeal10},
      {"pixelseal", kPixelSeal},
      {"chunkyseal", kChunkySeal},
  };
  return m;
}

// Aliases people use for the same cards.
std::string canonical_name(const std::string& n) {
  if (n == "videoseal" || n == "videoseal0.0" || n == "vs00" || n == "0.0") return "videoseal_0.0";
  if (n == "videoseal1.0" || n == "vs10" || n == "1.0") return "videoseal_1.0";
  if (n == "chunky") return "chunkyseal";
  return n;
}

// ------------------------------------------------------------ YAML helpers

struct Ctx {
  std::string card;
  [[noreturn]] void fail(const std::string& msg) const { throw Error("card " + card + ": " + msg); }
};

YAML::Node child(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap()) return YAML::Node();
  return n[key];
}

bool present(const YAML::Node& n) { return n && !n.IsNull(); }

template <typename V>
V as(const Ctx& c, const YAML::Node& n, const std::string& what) {
  try {
    return n.as<V>();
  } catch (const YAML::Exception&) {
    c.fail(what + ": cannot read '" + YAML::Dump(n) + "'");
  }
}

int get_int(const Ctx& c, const YAML::Node& parent, const char* key, int def, const std::string& where) {
  YAML::Node n = child(parent, key);
  if (!present(n)) return def;
  // accept 4 and 4.0
  double d = as<double>(c, n, where + key);
  if (d != std::floor(d)) c.fail(where + key + " must be an integer, got " + YAML::Dump(n));
  return static_cast<int>(d);
}

double get_double(const Ctx& c, const YAML::Node& parent, const char* key, double def, const std::string& where) {
  YAML::Node n = child(parent, key);
  if (!present(n)) return def;
  return as<double>(c, n, where + key);
}

bool get_bool(const Ctx& c, const YAML::Node& parent, const char* key, bool def, const std::string& where) {
  YAML::Node n = child(parent, key);
  if (!present(n)) return def;
  return as<bool>(c, n, where + key);
}

std::string get_str(const Ctx& c, const YAML::Node& parent, const char* key, const std::string& def,
                    const std::string& where) {
  YAML::Node n = child(parent, key);
  if (!present(n)) return def;
  return as<std::string>(c, n, where + key);
}

std::vector<int> get_ints(const Ctx& c, const YAML::Node& parent, const char* key, std::vector<int> def,
                          const std::string& where) {
  YAML::Node n = child(parent, key);
  if (!present(n)) return def;
  if (!n.IsSequence()) c.fail(where + key + " must be a list");
  std::vector<int> r;
  for (const auto& e : n) {
    double d = as<double>(c, e, where + key);
    if (d != std::floor(d)) c.fail(where + key + " must hold integers");
    r.push_back(static_cast<int>(d));
  }
  return r;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

std::string guess_family(const Card& c) {
  if (c.detector_is_vit()) return "videoseal_0.0";
  if (c.embedder_model == "unet_chunky" || c.extractor_model == "convnext_chunky") return "chunkyseal";
  if (c.embedder_model == "unet_base_yuv_quant") return "pixelseal";
  if (c.embedder_model == "unet_small2_yuv_quant" && c.extractor_model.rfind("convnext", 0) == 0)
    return "videoseal_1.0";
  return "custom";
}

}  // namespace

std::vector<std::string> builtin_card_names() {
  std::vector<std::string> r;
  for (const auto& [k, v] : builtins()) r.push_back(k);
  return r;
}

std::string builtin_card_yaml(const std::string& name) {
  auto it = builtins().find(canonical_name(name));
  if (it == builtins().end()) {
    std::string names;
    for (const auto& n : builtin_card_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown card '" + name + "' (built-in cards: " + names + "; or give a card .yaml file)");
  }
  return it->second;
}

Card parse_card_yaml(const std::string& text, const std::string& name) {
  Ctx c{name};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    c.fail(std::string("not valid YAML: ") + e.what());
  }
  if (!root.IsMap()) c.fail("not a VideoSeal card (expected a mapping with args, embedder, extractor)");
  YAML::Node args = root["args"], emb = root["embedder"], ext = root["extractor"];
  if (!args || !args.IsMap()) c.fail("missing the 'args' section");
  if (!emb || !emb.IsMap()) c.fail("missing the 'embedder' section");
  if (!ext || !ext.IsMap()) c.fail("missing the 'extractor' section");

  Card card;
  card.name = name;
  // --- args
  if (!present(child(args, "nbits"))) c.fail("args.nbits is missing");
  card.nbits = get_int(c, args, "nbits", 0, "args.");
  if (card.nbits <= 0 || card.nbits > 65536) c.fail("args.nbits must be in 1..65536");
  // image size: img_size_proc (1.0 cards), else img_size_extractor / img_size (0.0 cards)
  if (present(child(args, "img_size_proc"))) card.img_size = get_int(c, args, "img_size_proc", 256, "args.");
  else if (present(child(args, "img_size_extractor"))) card.img_size = get_int(c, args, "img_size_extractor", 256, "args.");
  else card.img_size = get_int(c, args, "img_size", 256, "args.");
  if (card.img_size < 16 || card.img_size % 8 != 0) c.fail("image size must be a multiple of 8 (>= 16)");
  card.scaling_w = get_double(c, args, "scaling_w", 1.0, "args.");
  card.scaling_i = get_double(c, args, "scaling_i", 1.0, "args.");
  card.blending_method = get_str(c, args, "blending_method", "additive", "args.");
  {
    std::string att = get_str(c, args, "attenuation", "", "args.");
    if (lower(att) == "none" || lower(att) == "null") att.clear();
    card.attenuation = att;
  }
  // chunk / step: videoseal_* (0.0 cards) or the legacy videowam_* keys
  for (const char* k : {"videoseal_chunk_size", "videowam_chunk_size"})
    if (present(child(args, k))) card.chunk_size = get_int(c, args, k, 32, "args.");
  for (const char* k : {"videoseal_step_size", "videowam_step_size"})
    if (present(child(args, k))) card.step_size = get_int(c, args, k, 4, "args.");
  for (const char* k : {"videoseal_mode", "video_mode"})
    if (present(child(args, k))) card.video_mode = get_str(c, args, k, "repeat", "args.");
  if (card.chunk_size <= 0 || card.step_size <= 0) c.fail("chunk and step size must be positive");

  // --- embedder
  card.embedder_model = get_str(c, emb, "model", get_str(c, args, "embedder_model", "", "args."), "embedder.");
  if (card.embedder_model.empty()) c.fail("embedder.model is missing");
  if (card.embedder_model.rfind("unet", 0) != 0)
    c.fail("embedder '" + card.embedder_model + "' is not supported (only UNet embedders: unet_*)");
  YAML::Node ep = child(emb, "params");
  YAML::Node un = child(ep, "unet"), mp = child(ep, "msg_processor");
  if (!present(un)) c.fail("embedder.params.unet is missing");
  UNetConfig& u = card.unet;
  u.model = card.embedder_model;
  u.in_channels = get_int(c, un, "in_channels", 3, "unet.");
  u.out_channels = get_int(c, un, "out_channels", 3, "unet.");
  u.z_channels = get_int(c, un, "z_channels", 16, "unet.");
  u.num_blocks = get_int(c, un, "num_blocks", 2, "unet.");
  u.activation = get_str(c, un, "activation", "relu", "unet.");
  u.normalization = get_str(c, un, "normalization", "batch", "unet.");
  u.z_channels_mults = get_ints(c, un, "z_channels_mults", {1, 2, 4, 8}, "unet.");
  u.last_tanh = get_bool(c, un, "last_tanh", true, "unet.");
  for (const char* k : {"upsampling_type", "downsampling_type"}) {
    std::string t = get_str(c, un, k, "bilinear", "unet.");
    if (t != "bilinear") c.fail(std::string("unet.") + k + " '" + t + "' is not supported (bilinear only)");
  }
  if (get_str(c, un, "conv_layer", "conv2d", "unet.") != "conv2d") c.fail("unet.conv_layer must be conv2d");
  if (present(child(un, "time_pooling"))) c.fail("unet.time_pooling is not supported");
  if (u.activation != "relu" && u.activation != "silu" && u.activation != "gelu")
    c.fail("unet.activation '" + u.activation + "' is not supported (relu, silu, gelu)");
  {
    std::string n = lower(u.normalization);
    if (n.rfind("batch", 0) != 0 && n.rfind("rms", 0) != 0 && n.rfind("layer", 0) != 0)
      c.fail("unet.normalization '" + u.normalization + "' is not supported (batch, rms, layer)");
  }
  if (u.z_channels_mults.size() < 2) c.fail("unet.z_channels_mults needs at least 2 entries");
  if (u.in_channels != 1 && u.in_channels != 3) c.fail("unet.in_channels must be 1 (Y) or 3 (RGB)");
  if (u.out_channels != 1 && u.out_channels != 3) c.fail("unet.out_channels must be 1 or 3");
  card.yuv = card.embedder_model.find("yuv") != std::string::npos;
  if (card.yuv && u.in_channels != 1) c.fail("a *yuv* embedder must have in_channels 1");
  if (!card.yuv && u.in_channels != 3) c.fail("an RGB embedder must have in_channels 3");
  // VideoSeal's rule: the message processor's nbits and hidden size come from
  // args (nbits x hidden_size_multiplier, 2 when absent), whatever the card's
  // msg_processor section says.
  MsgProcessorConfig& m = card.msg;
  m.nbits = card.nbits;
  m.hidden_size_multiplier = get_double(c, args, "hidden_size_multiplier", 2.0, "args.");
  {
    double h = card.nbits * m.hidden_size_multiplier;
    m.hidden_size = static_cast<int>(h);  // Python int(): truncation
    if (m.hidden_size <= 0) c.fail("nbits x hidden_size_multiplier must be >= 1");
  }
  m.type = get_str(c, mp, "msg_processor_type", "binary+concat", "msg_processor.");
  if (m.type != "binary+concat")
    c.fail("msg_processor_type '" + m.type + "' is not supported (binary+concat)");
  if (get_double(c, mp, "msg_mult", 1.0, "msg_processor.") != 1.0) c.fail("msg_processor.msg_mult must be 1");

  // --- extractor
  card.extractor_model = get_str(c, ext, "model", get_str(c, args, "extractor_model", "", "args."), "extractor.");
  if (card.extractor_model.empty()) c.fail("extractor.model is missing");
  YAML::Node xp = child(ext, "params");
  YAML::Node enc = child(xp, "encoder"), pd = child(xp, "pixel_decoder");
  int last_dim = 0;
  if (card.detector_is_vit()) {
    VitConfig& v = card.vit;
    v.img_size = get_int(c, enc, "img_size", card.img_size, "encoder.");
    v.embed_dim = get_int(c, enc, "embed_dim", 384, "encoder.");
    v.out_chans = get_int(c, enc, "out_chans", 256, "encoder.");
    v.depth = get_int(c, enc, "depth", 12, "encoder.");
    v.num_heads = get_int(c, enc, "num_heads", 6, "encoder.");
    v.patch_size = get_int(c, enc, "patch_size", 16, "encoder.");
    v.global_attn_indexes = get_ints(c, enc, "global_attn_indexes", {}, "encoder.");
    v.window_size = get_int(c, enc, "window_size", 0, "encoder.");
    v.mlp_ratio = get_double(c, enc, "mlp_ratio", 4.0, "encoder.");
    v.qkv_bias = get_bool(c, enc, "qkv_bias", true, "encoder.");
    v.use_rel_pos = get_bool(c, enc, "use_rel_pos", false, "encoder.");
    if (v.embed_dim <= 0 || v.num_heads <= 0 || v.embed_dim % v.num_heads != 0)
      c.fail("encoder.embed_dim must be a positive multiple of num_heads");
    last_dim = v.out_chans;
  } else if (card.extractor_model.rfind("convnext", 0) == 0) {
    ConvNextConfig& x = card.convnext;
    x.depths = get_ints(c, enc, "depths", {3, 3, 9, 3}, "encoder.");
    x.card_dims = get_ints(c, enc, "dims", {96, 192, 384, 768}, "encoder.");
    x.stem_kernel = get_int(c, enc, "stem_kernel", 4, "encoder.");
    x.stem_stride = get_int(c, enc, "stem_stride", 4, "encoder.");
    x.proportional_dim = get_bool(c, xp, "proportional_dim", false, "extractor.params.");
    if (x.depths.size() != 4 || x.card_dims.size() != 4) c.fail("encoder.depths and dims need 4 entries");
    x.dims = x.card_dims;
    if (x.proportional_dim) {
      // ChunkySeal: dims scaled by sqrt(nbits/128), truncated like Python int().
      const double f = std::sqrt(card.nbits / 128.0);
      for (auto& d : x.dims) d = static_cast<int>(d * f);
    }
    for (int d : x.dims)
      if (d <= 0) c.fail("ConvNeXt dims must be positive");
    if (get_bool(c, enc, "temporal_convs", false, "encoder.") || get_bool(c, enc, "temporal_attention", false, "encoder."))
      c.fail("temporal ConvNeXt variants are not supported");
    last_dim = x.dims.back();
  } else {
    c.fail("extractor '" + card.extractor_model + "' is not supported (sam_* or convnext_*)");
  }
  PixelDecoderConfig& p = card.pixel_decoder;
  p.pixelwise = get_bool(c, pd, "pixelwise", false, "pixel_decoder.");
  p.upscale_stages = get_ints(c, pd, "upscale_stages", {1}, "pixel_decoder.");
  p.sigmoid_output = get_bool(c, pd, "sigmoid_output", false, "pixel_decoder.");
  p.upscale_type = get_str(c, pd, "upscale_type", "bilinear", "pixel_decoder.");
  // The builder sets the decoder's nbits from args; ChunkySeal's (proportional)
  // decoder takes its width from the encoder.
  p.nbits = card.nbits;
  p.embed_dim = (card.convnext.proportional_dim && !card.detector_is_vit())
                    ? last_dim
                    : get_int(c, pd, "embed_dim", last_dim, "pixel_decoder.");
  if (p.embed_dim != last_dim)
    c.fail("pixel_decoder.embed_dim " + std::to_string(p.embed_dim) + " differs from the encoder's output width " +
           std::to_string(last_dim));
  if (p.pixelwise) c.fail("pixel_decoder.pixelwise detectors are not supported");
  if (p.upscale_type != "bilinear") c.fail("pixel_decoder.upscale_type must be bilinear");
  for (int f : p.upscale_stages)
    if (f <= 0) c.fail("pixel_decoder.upscale_stages must be positive");

  card.family = guess_family(card);
  return card;
}

Card load_card_yaml(const std::filesystem::path& path) {
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const Error& e) {
    throw Error("card " + path.string() + ": " + e.what());
  }
  // "<dir>/card.yaml" (as in the fixtures) is named after its directory.
  std::string name = path.stem().string();
  if (name == "card" && path.has_parent_path() && !path.parent_path().filename().empty())
    name = path.parent_path().filename().string();
  return parse_card_yaml(text, name);
}

Card load_card(const std::string& name_or_path) {
  auto it = builtins().find(canonical_name(name_or_path));
  if (it != builtins().end()) return parse_card_yaml(it->second, it->first);
  std::filesystem::path p(name_or_path);
  std::error_code ec;
  if (std::filesystem::is_regular_file(p, ec)) return load_card_yaml(p);
  const std::string ext = p.extension().string();
  if (ext == ".yaml" || ext == ".yml" || name_or_path.find('/') != std::string::npos)
    throw Error("card file " + name_or_path + " does not exist");
  (void)builtin_card_yaml(name_or_path);  // throws the "unknown card" message
  throw Error("unknown card '" + name_or_path + "'");
}

// ------------------------------------------------------------ JSON

json Card::to_json() const {
  json j;
  j["format"] = "sealite.card/1";
  j["name"] = name;
  j["family"] = family;
  j["nbits"] = nbits;
  j["img_size"] = img_size;
  j["scaling_w"] = scaling_w;
  j["scaling_i"] = scaling_i;
  j["blending_method"] = blending_method;
  j["attenuation"] = attenuation.empty() ? json(nullptr) : json(attenuation);
  j["yuv"] = yuv;
  if (min_psnr > 0) j["min_psnr"] = min_psnr;
  if (detect_log_f_threshold > 0) j["detect_log_f_threshold"] = detect_log_f_threshold;
  j["chunk_size"] = chunk_size;
  j["step_size"] = step_size;
  j["video_mode"] = video_mode;
  j["embedder_model"] = embedder_model;
  j["extractor_model"] = extractor_model;
  j["unet"] = {{"model", unet.model},
               {"in_channels", unet.in_channels},
               {"out_channels", unet.out_channels},
               {"z_channels", unet.z_channels},
               {"num_blocks", unet.num_blocks},
               {"activation", unet.activation},
               {"normalization", unet.normalization},
               {"z_channels_mults", unet.z_channels_mults},
               {"last_tanh", unet.last_tanh}};
  j["msg_processor"] = {{"nbits", msg.nbits},
                        {"hidden_size", msg.hidden_size},
                        {"hidden_size_multiplier", msg.hidden_size_multiplier},
                        {"type", msg.type}};
  if (detector_is_vit()) {
    j["vit"] = {{"img_size", vit.img_size},
                {"embed_dim", vit.embed_dim},
                {"out_chans", vit.out_chans},
                {"depth", vit.depth},
                {"num_heads", vit.num_heads},
                {"patch_size", vit.patch_size},
                {"global_attn_indexes", vit.global_attn_indexes},
                {"window_size", vit.window_size},
                {"mlp_ratio", vit.mlp_ratio},
                {"qkv_bias", vit.qkv_bias},
                {"use_rel_pos", vit.use_rel_pos}};
  } else {
    j["convnext"] = {{"depths", convnext.depths},
                     {"dims", convnext.dims},
                     {"card_dims", convnext.card_dims},
                     {"stem_kernel", convnext.stem_kernel},
                     {"stem_stride", convnext.stem_stride},
                     {"proportional_dim", convnext.proportional_dim}};
  }
  j["pixel_decoder"] = {{"pixelwise", pixel_decoder.pixelwise},
                        {"upscale_stages", pixel_decoder.upscale_stages},
                        {"embed_dim", pixel_decoder.embed_dim},
                        {"nbits", pixel_decoder.nbits},
                        {"sigmoid_output", pixel_decoder.sigmoid_output},
                        {"upscale_type", pixel_decoder.upscale_type}};
  return j;
}

Card Card::from_json(const json& j) {
  try {
    check(j.is_object(), "not a JSON object");
    Card c;
    c.name = j.value("name", "");
    c.family = j.value("family", "custom");
    c.nbits = j.at("nbits").get<int>();
    c.img_size = j.value("img_size", 256);
    c.scaling_w = j.value("scaling_w", 1.0);
    c.scaling_i = j.value("scaling_i", 1.0);
    c.blending_method = j.value("blending_method", "additive");
    c.attenuation = j.contains("attenuation") && j["attenuation"].is_string() ? j["attenuation"].get<std::string>() : "";
    c.yuv = j.value("yuv", false);
    c.min_psnr = j.value("min_psnr", 0.0);
    c.detect_log_f_threshold = j.value("detect_log_f_threshold", 0.0);
    check(std::isfinite(c.detect_log_f_threshold) && c.detect_log_f_threshold >= 0 && c.detect_log_f_threshold < 50,
          "detect_log_f_threshold must be in 0..50");
    check(std::isfinite(c.min_psnr) && c.min_psnr >= 0 && c.min_psnr < 200, "min_psnr must be in 0..200");
    c.chunk_size = j.value("chunk_size", 32);
    c.step_size = j.value("step_size", 4);
    c.video_mode = j.value("video_mode", "repeat");
    c.embedder_model = j.value("embedder_model", "");
    c.extractor_model = j.value("extractor_model", "");
    if (j.contains("unet")) {
      const json& u = j["unet"];
      c.unet.model = u.value("model", c.embedder_model);
      c.unet.in_channels = u.value("in_channels", 3);
      c.unet.out_channels = u.value("out_channels", 3);
      c.unet.z_channels = u.value("z_channels", 16);
      c.unet.num_blocks = u.value("num_blocks", 2);
      c.unet.activation = u.value("activation", "relu");
      c.unet.normalization = u.value("normalization", "batch");
      c.unet.z_channels_mults = u.value("z_channels_mults", std::vector<int>{1, 2, 4, 8});
      c.unet.last_tanh = u.value("last_tanh", true);
    }
    if (j.contains("msg_processor")) {
      const json& m = j["msg_processor"];
      c.msg.nbits = m.value("nbits", c.nbits);
      c.msg.hidden_size = m.value("hidden_size", c.nbits * 2);
      c.msg.hidden_size_multiplier = m.value("hidden_size_multiplier", 2.0);
      c.msg.type = m.value("type", "binary+concat");
    }
    if (j.contains("vit")) {
      const json& v = j["vit"];
      c.vit.img_size = v.value("img_size", 256);
      c.vit.embed_dim = v.value("embed_dim", 384);
      c.vit.out_chans = v.value("out_chans", 384);
      c.vit.depth = v.value("depth", 12);
      c.vit.num_heads = v.value("num_heads", 6);
      c.vit.patch_size = v.value("patch_size", 16);
      c.vit.global_attn_indexes = v.value("global_attn_indexes", std::vector<int>{});
      c.vit.window_size = v.value("window_size", 8);
      c.vit.mlp_ratio = v.value("mlp_ratio", 4.0);
      c.vit.qkv_bias = v.value("qkv_bias", true);
      c.vit.use_rel_pos = v.value("use_rel_pos", true);
    }
    if (j.contains("convnext")) {
      const json& x = j["convnext"];
      c.convnext.depths = x.value("depths", std::vector<int>{3, 3, 9, 3});
      c.convnext.dims = x.value("dims", std::vector<int>{96, 192, 384, 768});
      c.convnext.card_dims = x.value("card_dims", c.convnext.dims);
      c.convnext.stem_kernel = x.value("stem_kernel", 4);
      c.convnext.stem_stride = x.value("stem_stride", 4);
      c.convnext.proportional_dim = x.value("proportional_dim", false);
    }
    if (j.contains("pixel_decoder")) {
      const json& p = j["pixel_decoder"];
      c.pixel_decoder.pixelwise = p.value("pixelwise", false);
      c.pixel_decoder.upscale_stages = p.value("upscale_stages", std::vector<int>{1});
      c.pixel_decoder.embed_dim = p.value("embed_dim", 384);
      c.pixel_decoder.nbits = p.value("nbits", c.nbits);
      c.pixel_decoder.sigmoid_output = p.value("sigmoid_output", false);
      c.pixel_decoder.upscale_type = p.value("upscale_type", "bilinear");
    }
    return c;
  } catch (const json::exception& e) {
    throw Error(std::string("card JSON: ") + e.what());
  } catch (const Error& e) {
    throw Error(std::string("card JSON: ") + e.what());
  }
}

}  // namespace sealite::vs
