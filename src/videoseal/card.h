// A VideoSeal model card: the numbers that define a model family and its
// pipeline. Built-in cards (videoseal_0.0, videoseal_1.0, pixelseal,
// chunkyseal) or a card YAML in VideoSeal's own format (`--card FILE.yaml`).
// The card travels inside converted models as JSON metadata ("sealite.card").
//
// MODEL CONTRACT of converted models (issue 3, item 4; full issue text in docs/issue3.txt), NHWC float32:
//  - embedder: inputs `image` [1,256,256,3] RGB in [0,1] and `message` [1,nbits] float32 0/1;
//    output `residual` [1,256,256,C] = the tanh output before JND and scaling (C=1 for Y-channel
//    families, 3 for RGB). RGB->Y and x*2-1 happen inside the graph.
//  - detector: input `image` [1,256,256,3] RGB in [0,1]; output `logits` [1,1+nbits] (index 0 detection).
//  - the card (nbits, scaling_w, scaling_i, attenuation, yuv, img size, chunk and step size, video
//    mode, family) stored in the model's metadata as JSON under "sealite.card" (Card::to_json), so
//    the runtime needs no side file.
//  - no GATHER_ND, no TRANSPOSE on the convolution path, no op or op version TFLite 2.9 lacks,
//    ranks <= 5; relative-position tables gathered at conversion time, not run time.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sealite::vs {

struct UNetConfig {
  std::string model;              // unet_small2, unet_small2_yuv_quant, unet_base_yuv_quant, unet_chunky, ...
  int in_channels = 3, out_channels = 3;
  int z_channels = 16;
  int num_blocks = 2;             // ResnetBlocks in the bottleneck
  std::string activation = "silu";      // silu | relu | gelu
  std::string normalization = "rms";    // rms | batch | layer | group ...
  std::vector<int> z_channels_mults = {1, 2, 4, 8};
  bool last_tanh = true;
};

struct MsgProcessorConfig {
  int nbits = 96;
  int hidden_size = 192;              // effective: int(nbits * hidden_size_multiplier) (see Card::msg_hidden())
  double hidden_size_multiplier = 2;  // VideoSeal's default when the card has none (ChunkySeal's can be 0.25)
  std::string type = "binary+concat";
};

struct VitConfig {                 // sam_* detectors (VideoSeal 0.0)
  int img_size = 256, embed_dim = 384, out_chans = 384, depth = 12, num_heads = 6, patch_size = 16;
  std::vector<int> global_attn_indexes;
  int window_size = 8;
  double mlp_ratio = 4.0;
  bool qkv_bias = true, use_rel_pos = true;
};

struct ConvNextConfig {            // convnext_* detectors (1.0, PixelSeal, ChunkySeal)
  std::vector<int> depths = {3, 3, 9, 3};
  std::vector<int> dims = {96, 192, 384, 768};  // effective (after proportional_dim scaling)
  int stem_kernel = 4, stem_stride = 4;
  bool proportional_dim = false;   // ChunkySeal: card dims scaled by sqrt(nbits/128), truncated
  std::vector<int> card_dims;      // the dims as written in the card (before scaling)
};

struct PixelDecoderConfig {
  bool pixelwise = false;
  std::vector<int> upscale_stages = {1};
  int embed_dim = 384;
  int nbits = 96;
  bool sigmoid_output = false;
  std::string upscale_type = "bilinear";
};

struct Card {
  std::string name;                // card name (built-in name or file stem)
  std::string family;              // videoseal_0.0 | videoseal_1.0 | pixelseal | chunkyseal | sealite-ss | custom
  int nbits = 96;
  int img_size = 256;
  double scaling_w = 1.0, scaling_i = 1.0;
  std::string blending_method = "additive";
  std::string attenuation;         // "" (none) or "jnd_1_1"
  // sealite extension (0 = off): the pipeline scales the attenuated residual
  // down so the full-resolution PSNR before 8-bit rounding is at least this.
  double min_psnr = 0;
  // sealite extension (0 = none): logits[0] = ln F - this, with F ~ F(nbits,
  // nbits) on unmarked images (the sealite-ss detector), which gives the
  // p-value of "no watermark".
  double detect_log_f_threshold = 0;
  bool yuv = false;                // embedder works on Y only (in_channels == 1)
  int chunk_size = 32, step_size = 4;
  std::string video_mode = "repeat";
  std::string embedder_model, extractor_model;
  UNetConfig unet;
  MsgProcessorConfig msg;
  VitConfig vit;
  ConvNextConfig convnext;
  PixelDecoderConfig pixel_decoder;

  int msg_hidden() const { return msg.hidden_size; }
  bool detector_is_vit() const { return extractor_model.rfind("sam", 0) == 0; }

  nlohmann::json to_json() const;
  static Card from_json(const nlohmann::json& j);
};

// Built-in card by name, or a YAML card file (path). Throws sealite::Error.
Card load_card(const std::string& name_or_path);
Card load_card_yaml(const std::filesystem::path& path);
// A card from YAML text in VideoSeal's format (`name` labels it and errors).
Card parse_card_yaml(const std::string& yaml_text, const std::string& name);
std::vector<std::string> builtin_card_names();
// The YAML text of a built-in card (throws for unknown names).
std::string builtin_card_yaml(const std::string& name);

}  // namespace sealite::vs
