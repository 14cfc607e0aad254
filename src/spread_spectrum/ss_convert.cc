#include "spread_spectrum/ss_convert.h"

#include "core/error.h"
#include "tflite/model_io.h"

namespace sealite::ss {

vs::Card card(const SsParams& p) {
  vs::Card c;
  c.name = kCardName;
  c.family = kCardName;
  c.nbits = p.nbits;
  c.img_size = 256;
  c.scaling_w = 1.0;  // the embedder plans its own strength (plan_psnr); min_psnr caps it
  c.min_psnr = p.min_psnr;
  c.detect_log_f_threshold = log_f_threshold(p);
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
  j["sealite_ss"] = {{"seed", p.seed},
                     {"pool", p.pool},
                     {"norm_radius", p.norm_radius},
                     {"norm_floor", p.norm_floor},
                     {"margin", p.margin},
                     {"iterations", p.iterations},
                     {"plan_psnr", p.plan_psnr},
                     {"p_detect", p.p_detect},
                     {"log_f_threshold", log_f_threshold(p)},
                     {"description", "classical informed spread-spectrum watermark (not VideoSeal); logits[1+k] "
                                     "are z-scores, logits[0] = ln F - ln F_crit with F = mean(z^2)/mean(z_null^2) "
                                     "~ F(nbits, nbits) without the mark"}};
  std::string s = j.dump();
  tfl::set_metadata(*m, "sealite.card", std::vector<uint8_t>(s.begin(), s.end()));
  m->description = "sealite-ss: classical informed spread-spectrum watermark built by sealite (not VideoSeal)";
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
