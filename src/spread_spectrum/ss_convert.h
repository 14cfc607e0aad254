// Writing the sealite-ss models (embedder.tflite + detector.tflite, with their
// card in the "sealite.card" metadata) like `sealite convert` writes VideoSeal
// ones, so the same pipeline loads them.
#pragma once
#include <filesystem>
#include <vector>

#include "spread_spectrum/ss_model.h"
#include "videoseal/card.h"

namespace sealite::ss {

inline constexpr const char* kCardName = "sealite-ss";

// The card of the classical default: 64 bits, JND attenuation, Y-channel residual.
vs::Card card(const SsParams& p = {});
// Builds both models (in memory) with the card attached.
std::vector<uint8_t> embedder_bytes(const SsParams& p = {});
std::vector<uint8_t> detector_bytes(const SsParams& p = {});
// OUTDIR/embedder.tflite and OUTDIR/detector.tflite, each written atomically.
void write_models(const std::filesystem::path& outdir, const SsParams& p = {});

}  // namespace sealite::ss
