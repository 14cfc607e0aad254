#include "spread_spectrum/ss_convert.h"

#include "core/error.h"
#include "tflite/model_io.h"

namespace sealite::ss {

vs::Card card(const SsParams& p) {
  vs::Card c;
  c.name = kCardName;
  c.family = kCardName;
  c.nbits = p.nbits;
  c.img_size = 4 * p.grid;
  c.scaling_w = p.scaling_w;
  c.scaling_i = 1.0;
  c.attenuation = "jnd_1_1";
  c.yuv = true;
  c.chunk_size = 32;
  c.step_size = 1;  // content-independent residual: every frame carries the same code
  c.video_mode = "repeat";
  c.embedder_model = "sealite_ss";
  c.extractor_model = "sealite_ss";
  c.unet.in_channels = c.unet.out_channels = 1;
  c.msg.nbits = p.nbits;
  c.pixel_decoder.nbits = p.nbits;
  return c;
}

static std::vector<uint8_t> with_card(std::unique_ptr<tfl::ModelT> m, const SsParams& p) {
  auto j = card(p).to_json();
  j["sealite_ss"] = {{"grid", p.grid}, {"seed", p.seed}, {"amplitude", p.amplitude}, {"threshold", p.threshold},
                     {"description", "classical spread-spectrum watermark (not VideoSeal); logits[1+k] are "
                                     "z-scores, sum of squares ~ chi-square(nbits) without the mark"}};
  std::string s = j.dump();
  tfl::set_metadata(*m, "sealite.card", std::vector<uint8_t>(s.begin(), s.end()));
  m->description = "sealite-ss: classical spread-spectrum watermark built by sealite";
  return tfl::write_model(*m);
}

std::vector<uint8_t> embedder_bytes(const SsParams& p) { return with_card(build_embedder(p), p); }
std::vector<uint8_t> detector_bytes(const SsParams& p) { return with_card(build_detector(p), p); }

void write_models(const std::filesystem::path& outdir, const SsParams& p) {
  auto e = embedder_bytes(p);
  auto d = detector_bytes(p);
  std::error_code ec;
  std::filesystem::create_directories(outdir, ec);
  if (ec) throw Error(outdir.string() + ": cannot create directory (" + ec.message() + ")");
  tfl::write_model_file(outdir / "embedder.tflite", *tfl::read_model(e.data(), e.size()));
  tfl::write_model_file(outdir / "detector.tflite", *tfl::read_model(d.data(), d.size()));
}

}  // namespace sealite::ss
