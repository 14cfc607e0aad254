#include "pipeline/report.h"

#include <cmath>
#include <cstdio>

namespace sealite::pipeline {

using nlohmann::json;

json timings_json(const Timings& t) {
  return json{{"decode", t.decode}, {"resize", t.resize}, {"model", t.model}, {"jnd", t.jnd},
              {"blend", t.blend},   {"encode", t.encode}, {"total", t.total()}};
}

std::string timings_text(const Timings& t) {
  std::string s;
  auto add = [&](const char* name, double v) {
    if (v <= 0) return;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.1f ms", s.empty() ? "" : ", ", name, v * 1e3);
    s += buf;
  };
  add("decode", t.decode);
  add("resize", t.resize);
  add("model", t.model);
  add("jnd", t.jnd);
  add("blend", t.blend);
  add("encode", t.encode);
  return s;
}

std::string message_spec(const Message& m) {
  return m.nbits() % 4 == 0 ? "hex:" + m.to_hex() : "bits:" + m.to_bits();
}

json embed_json(const EmbedFileResult& r, const EmbedOptions& opt) {
  json j;
  j["input"] = r.input.string();
  j["output"] = r.output.string();
  j["width"] = r.width;
  j["height"] = r.height;
  j["message"] = message_spec(r.message);
  j["hex"] = r.message.to_hex();
  j["bits"] = r.message.to_bits();
  if (auto t = r.message.to_text()) j["text"] = *t;
  j["nbits"] = r.message.nbits();
  j["psnr"] = std::isfinite(r.psnr) ? json(r.psnr) : json(nullptr);
  j["strength"] = opt.strength;
  j["lowres_attenuation"] = opt.lowres_attenuation;
  j["timings"] = timings_json(r.timings);
  return j;
}

json detect_json(const DetectFileResult& r, const std::optional<Message>& expected) {
  const Detection& d = r.detection;
  json j;
  j["input"] = r.input.string();
  j["width"] = r.width;
  j["height"] = r.height;
  j["logits"] = d.logits;
  j["detection_logit"] = d.detection_logit();
  j["detected"] = d.detected;
  if (d.p_value_unmarked) j["p_value_unmarked"] = *d.p_value_unmarked;
  j["nbits"] = d.message.nbits();
  j["bits"] = d.message.to_bits();
  j["hex"] = d.message.to_hex();
  if (auto t = d.message.to_text()) j["text"] = *t;
  if (expected) {
    Verification v = verify(d.message, *expected);
    j["expected"] = message_spec(*expected);
    j["matching_bits"] = v.matching;
    j["bit_accuracy"] = v.bit_accuracy;
    j["p_value"] = v.p_value;
  }
  j["timings"] = timings_json(r.timings);
  return j;
}

}  // namespace sealite::pipeline
