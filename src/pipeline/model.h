// Loading converted VideoSeal models (what `sealite convert` writes) for the
// image pipeline: a model directory holds embedder.tflite and detector.tflite,
// each carrying its card as JSON metadata "sealite.card" (see
// videoseal/card.h for the model contract).
//
// Loading checks, with one-line sealite::Error messages:
//   * the file is a valid .tflite flatbuffer;
//   * it carries "sealite.card" metadata (models from other converters do not:
//     "convert the checkpoint with `sealite convert`");
//   * its role: an embedder has inputs `image` [1,S,S,3] and `message`
//     [1,nbits] and output `residual` [1,S,S,C]; a detector has input `image`
//     and output `logits` [1,1+nbits]. A detector given where an embedder is
//     expected (or the reverse) is refused by name;
//   * the tensor shapes agree with the card (nbits, img_size, C = 1 for
//     Y-channel cards, else 3).
//
// Thread safety: EmbedderModel / DetectorModel::run may be called from any
// number of threads. They keep a small pool of TFLite interpreters
// (RuntimeOptions::interpreters, default 1: one shared interpreter behind a
// mutex); a call waits for a free one.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/message.h"
#include "videoseal/card.h"

namespace sealite::rt {
class Interpreter;
}

namespace sealite::pipeline {

enum class ModelRole { embedder, detector, unknown };
const char* role_name(ModelRole r);

// The metadata entry holding the card JSON.
inline constexpr const char* kCardMetadata = "sealite.card";

// What a .tflite file is, from its flatbuffer alone (no interpreter).
struct ModelHeader {
  ModelRole role = ModelRole::unknown;
  std::optional<vs::Card> card;  // empty when the model has no "sealite.card" metadata
  std::vector<std::string> inputs, outputs;  // tensor names of subgraph 0
};
// Throws sealite::Error for anything that is not a readable .tflite model.
ModelHeader read_model_header(const uint8_t* data, size_t size, const std::string& what);

// Default model directory: $SEALITE_MODEL_DIR if set and non-empty, else
// $XDG_DATA_HOME/sealite/models/default, else ~/.local/share/sealite/models/default.
std::filesystem::path default_model_dir();

// The model directory to use: `given` (--model) or default_model_dir(). When
// nothing is there, throws an Error that says how to get a model
// (`sealite convert CHECKPOINT --card NAME -o DIR`).
std::filesystem::path resolve_model_dir(const std::optional<std::string>& given);

// The file for a role inside a model location: DIR/embedder.tflite or
// DIR/detector.tflite; a path to a .tflite file is used as is.
std::filesystem::path model_file(const std::filesystem::path& location, ModelRole role);

struct RuntimeOptions {
  int threads = 2;        // TFLite intra-op threads (and XNNPACK's)
  bool xnnpack = true;
  int interpreters = 1;   // interpreter pool size (>1 trades memory for concurrency in batches)
};

class ModelRunner;  // the interpreter pool (model.cc)

class EmbedderModel {
 public:
  // `location`: a model directory or an embedder .tflite file.
  static std::shared_ptr<EmbedderModel> load(const std::filesystem::path& location, const RuntimeOptions& opt = {});
  // From bytes (tests). `what` names the model in messages.
  static std::shared_ptr<EmbedderModel> from_bytes(std::vector<uint8_t> bytes, const std::string& what,
                                                   const RuntimeOptions& opt = {});
  ~EmbedderModel();

  const vs::Card& card() const { return card_; }
  const std::filesystem::path& path() const { return path_; }
  int nbits() const { return card_.nbits; }
  int size() const { return size_; }                    // model input side (256)
  int residual_channels() const { return channels_; }  // 1 (Y) or 3 (RGB)

  // image: size x size x 3 (HWC) floats in [0,1]; message: nbits bits.
  // residual: size x size x residual_channels (HWC), written by the call.
  void run(const float* image_hwc, const Message& message, float* residual_hwc) const;

 private:
  EmbedderModel() = default;
  vs::Card card_;
  std::filesystem::path path_;
  int size_ = 256, channels_ = 1;
  int in_image_ = 0, in_message_ = 1, out_residual_ = 0;
  std::unique_ptr<ModelRunner> runner_;
};

class DetectorModel {
 public:
  static std::shared_ptr<DetectorModel> load(const std::filesystem::path& location, const RuntimeOptions& opt = {});
  static std::shared_ptr<DetectorModel> from_bytes(std::vector<uint8_t> bytes, const std::string& what,
                                                   const RuntimeOptions& opt = {});
  ~DetectorModel();

  const vs::Card& card() const { return card_; }
  const std::filesystem::path& path() const { return path_; }
  int nbits() const { return card_.nbits; }
  int size() const { return size_; }

  // image: size x size x 3 (HWC) floats in [0,1]. Returns 1+nbits logits.
  std::vector<float> run(const float* image_hwc) const;

 private:
  DetectorModel() = default;
  vs::Card card_;
  std::filesystem::path path_;
  int size_ = 256;
  int in_image_ = 0, out_logits_ = 0;
  std::unique_ptr<ModelRunner> runner_;
};

}  // namespace sealite::pipeline
