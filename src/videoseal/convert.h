// `sealite convert`: a VideoSeal checkpoint + card -> embedder.tflite and
// detector.tflite (NHWC float32, the card as JSON metadata "sealite.card"),
// or full-size models with deterministic random weights.
//
// Model contract (issue 3, item 4):
//  - embedder: inputs `image` [1,S,S,3] RGB in [0,1] and `message` [1,nbits]
//    float32 0/1; output `residual` [1,S,S,C] = tanh output before JND and
//    scaling (C = 1 for Y-channel families, 3 for RGB). RGB->Y and x*2-1 inside.
//  - detector: input `image` [1,S,S,3] RGB [0,1]; output `logits` [1,1+nbits].
//  - S = card.img_size (256 for every built-in card).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "videoseal/card.h"
#include "videoseal/layers.h"

namespace sealite::vs {

inline constexpr const char* kCardMetadataName = "sealite.card";

struct ConvertOptions {
  bool embedder = true;
  bool detector = true;
  Lowering lowering;
  // Weight storage: "fp32", "fp16" (float16 constants + DEQUANTIZE), or "auto"
  // (fp32 unless the float32 model would not fit a 2 GiB .tflite).
  std::string weights = "auto";
  bool delegation = false;  // also load each model in TFLite + XNNPACK and report partitions
  int threads = 2;          // for the delegation report
  std::function<void(const std::string&)> progress;  // one line per step (no newline)
};

struct ModelSummary {
  std::string kind;                 // "embedder" | "detector"
  std::filesystem::path path;
  size_t bytes = 0;
  int ops = 0;
  int gather_nd = 0;
  int transpose = 0;
  int64_t macs = 0;
  int64_t params = 0;               // float elements in constant buffers
  std::string weights;              // fp32 | fp16
  std::map<std::string, int> op_counts;
  std::vector<std::string> inputs, outputs;  // "name[1,256,256,3]"
  nlohmann::json delegation;        // filled when ConvertOptions::delegation
  nlohmann::json to_json() const;
};

// Builds one model in memory (serialized .tflite bytes). Throws sealite::Error
// naming the checkpoint key and both shapes when the checkpoint does not fit
// the card.
std::vector<uint8_t> build_embedder_model(const ckpt::Checkpoint& ck, const Card& card, const ConvertOptions& opt = {});
std::vector<uint8_t> build_detector_model(const ckpt::Checkpoint& ck, const Card& card, const ConvertOptions& opt = {});

// Summary of serialized model bytes (kind/path left for the caller).
ModelSummary summarize_model(const std::vector<uint8_t>& bytes, const ConvertOptions& opt = {});

// Checkpoint (+ card) -> OUTDIR/embedder.tflite, OUTDIR/detector.tflite. Every
// model is built before anything is written; each file is written atomically.
std::vector<ModelSummary> convert_checkpoint(const ckpt::Checkpoint& ck, const Card& card,
                                             const std::filesystem::path& outdir, const ConvertOptions& opt = {});

// State-dict entries (key, PyTorch shape) of the parts of the model selected.
std::vector<std::pair<std::string, std::vector<int64_t>>> model_param_shapes(const Card& card, bool embedder,
                                                                             bool detector);
// An in-memory safetensors checkpoint with deterministic random weights for
// every entry of model_param_shapes (values depend only on seed and key).
ckpt::Checkpoint random_checkpoint(const Card& card, uint64_t seed, bool embedder = true, bool detector = true);

// The card stored in a converted model (nullopt when absent).
std::optional<Card> card_from_model(const std::vector<uint8_t>& model_bytes);

}  // namespace sealite::vs
