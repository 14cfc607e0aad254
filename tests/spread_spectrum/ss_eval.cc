#include "spread_spectrum/ss_eval.h"

#include <cmath>
#include <random>

#include "pipeline/pipeline.h"
#include "videoseal/blend.h"
#include "videoseal/resize.h"

namespace sealite::testing {
namespace {

media::Image make(int w, int h, const std::function<void(int, int, float*)>& f) {
  media::Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) f(x, y, &img.rgb[(static_cast<size_t>(y) * w + x) * 3]);
  return img;
}

std::vector<float> to_chw(const media::Image& img) {
  std::vector<float> chw(img.rgb.size());
  videoseal::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, chw.data());
  return chw;
}

// 8-bit round trip through an encoder (PNG or JPEG), back to CHW float.
std::vector<float> through(const std::vector<float>& chw, int w, int h, int jpeg_quality) {
  media::Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(chw.size());
  videoseal::chw_to_hwc(chw.data(), 3, h, w, img.rgb.data());
  auto bytes = jpeg_quality > 0 ? media::encode_jpeg(img, jpeg_quality) : media::encode_png(img);
  return to_chw(media::read_image_from_memory(bytes.data(), bytes.size(), "roundtrip"));
}

double accuracy(const pipeline::Detection& d, const pipeline::Message& m) {
  return pipeline::verify(d.message, m).bit_accuracy;
}

}  // namespace

std::vector<std::pair<std::string, media::Image>> generated_images() {
  std::vector<std::pair<std::string, media::Image>> out;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  out.push_back({"gradient_640x480", make(640, 480, [](int x, int y, float* p) {
                   p[0] = x / 639.f; p[1] = y / 479.f; p[2] = 0.5f * (x + y) / 1118.f + 0.25f; })});
  out.push_back({"flat_grey_512x512", make(512, 512, [](int, int, float* p) { p[0] = p[1] = p[2] = 0.5f; })});
  out.push_back({"flat_colour_300x700", make(300, 700, [](int, int, float* p) { p[0] = 0.8f; p[1] = 0.3f; p[2] = 0.1f; })});
  out.push_back({"noise_800x600", make(800, 600, [&](int, int, float* p) { p[0] = u(rng); p[1] = u(rng); p[2] = u(rng); })});
  out.push_back({"text_1024x768", make(1024, 768, [](int x, int y, float* p) {
                   // dark "glyph" strokes on paper: rows of short bars
                   bool ink = (y % 24) < 14 && (y % 24) > 3 && ((x * 7 + (y / 24) * 13) % 23) < 3;
                   p[0] = p[1] = p[2] = ink ? 0.1f : 0.95f; })});
  out.push_back({"checker_720x720", make(720, 720, [](int x, int y, float* p) {
                   float v = ((x / 45 + y / 45) % 2) ? 0.85f : 0.2f; p[0] = v; p[1] = v * 0.9f; p[2] = v * 0.8f; })});
  out.push_back({"blobs_1280x720", make(1280, 720, [](int x, int y, float* p) {
                   float a = std::sin(x * 0.013f) * std::cos(y * 0.021f), b = std::sin((x + y) * 0.007f);
                   p[0] = 0.5f + 0.4f * a; p[1] = 0.5f + 0.3f * b; p[2] = 0.4f + 0.2f * a * b; })});
  return out;
}

media::Image load_image(const std::string& path) { return media::read_image(path); }

SsEvalResult evaluate_ss(const std::string& model_dir, const std::string& name, const media::Image& img,
                         unsigned seed) {
  static auto emb = pipeline::EmbedderModel::load(model_dir);
  static auto det = pipeline::DetectorModel::load(model_dir);
  SsEvalResult r;
  r.name = name;
  r.width = img.width;
  r.height = img.height;
  const int w = img.width, h = img.height;
  auto msg = pipeline::parse_message("random:" + std::to_string(seed), emb->nbits());
  auto x = to_chw(img);
  auto out = pipeline::embed_image(*emb, x.data(), h, w, msg);
  auto png = through(out.image, w, h, 0);
  r.psnr = pipeline::psnr(x.data(), png.data(), png.size());
  auto dp = pipeline::detect_image(*det, png.data(), h, w);
  r.acc_png = accuracy(dp, msg);
  r.score_marked_png = dp.detection_logit();
  auto jp = through(out.image, w, h, 75);
  auto dj = pipeline::detect_image(*det, jp.data(), h, w);
  r.acc_jpeg75 = accuracy(dj, msg);
  r.score_marked_jpeg = dj.detection_logit();
  int hw = std::max(1, w / 2), hh = std::max(1, h / 2);
  std::vector<float> half(3 * static_cast<size_t>(hw) * hh);
  videoseal::resize_bilinear_aa(png.data(), 3, h, w, hh, hw, half.data(), true);
  auto half8 = through(half, hw, hh, 0);
  r.acc_half = accuracy(pipeline::detect_image(*det, half8.data(), hh, hw), msg);
  auto clean = through(x, w, h, 0);
  r.score_clean = pipeline::detect_image(*det, clean.data(), h, w).detection_logit();
  auto cleanj = through(x, w, h, 75);
  r.score_clean_jpeg = pipeline::detect_image(*det, cleanj.data(), h, w).detection_logit();
  return r;
}

}  // namespace sealite::testing
