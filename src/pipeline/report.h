// JSON and text renderings of pipeline results, shared by `sealite embed`,
// `sealite detect` and the benchmark (stable keys for scripts).
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/pipeline.h"

namespace sealite::pipeline {

// {"decode","resize","model","jnd","blend","encode","total"} in seconds.
nlohmann::json timings_json(const Timings& t);
// "decode 12.3 ms, resize 4.0 ms, ..." (stages with zero time omitted).
std::string timings_text(const Timings& t);

// "hex:<digits>" when nbits is a multiple of 4, else "bits:<0101...>": a
// notation parse_message accepts back.
std::string message_spec(const Message& m);

// Embed: input, output, width, height, message ("hex:..."), hex, bits, [text],
// psnr (dB; null when identical), strength, lowres_attenuation, timings.
nlohmann::json embed_json(const EmbedFileResult& r, const EmbedOptions& opt);

// Detect: input, width, height, logits (1+nbits; [0] detection), detection_logit,
// detected, bits, hex, [text], and with `expected`: expected ("hex:..."),
// matching_bits, bit_accuracy, p_value; timings.
nlohmann::json detect_json(const DetectFileResult& r, const std::optional<Message>& expected);

}  // namespace sealite::pipeline
