#include "pipeline/pipeline.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/fs.h"
#include "core/npy.h"
#include "media/image.h"
#include "spread_spectrum/ss_model.h"
#include "videoseal/blend.h"
#include "videoseal/jnd.h"
#include "videoseal/resize.h"

namespace sealite::pipeline {

namespace fs = std::filesystem;
namespace vm = sealite::videoseal;

Timings& Timings::operator+=(const Timings& o) {
  decode += o.decode;
  resize += o.resize;
  model += o.model;
  jnd += o.jnd;
  blend += o.blend;
  encode += o.encode;
  return *this;
}

void check_image_size(int h, int w, const std::string& what) {
  check(h >= kMinSide && w >= kMinSide, what + ": image is " + std::to_string(w) + "x" + std::to_string(h) +
                                            " pixels; at least " + std::to_string(kMinSide) + "x" +
                                            std::to_string(kMinSide) + " is needed");
  check(int64_t{h} * w <= kMaxPipelinePixels,
        what + ": image is " + std::to_string(w) + "x" + std::to_string(h) + " pixels, more than the " +
            std::to_string(kMaxPipelinePixels / 1000000) + " megapixels sealite processes");
}

namespace {

// dst[c][i] = src[c][i] * hmap[i] for every channel, threaded.
void multiply_by_map(float* planes, int channels, const float* hmap, int64_t n) {
  vm::parallel_for(n, 65536, [&](int64_t b, int64_t e) {
    for (int c = 0; c < channels; ++c) {
      float* p = planes + c * n;
      for (int64_t i = b; i < e; ++i) p[i] = hmap[i] * p[i];
    }
  });
}

void check_attenuation(const vs::Card& card) {
  check(card.attenuation.empty() || card.attenuation == "jnd_1_1" || card.attenuation == "none",
        "the model's card asks for attenuation '" + card.attenuation + "', which sealite does not implement (jnd_1_1)");
}
bool uses_jnd(const vs::Card& card) { return card.attenuation == "jnd_1_1"; }

}  // namespace

namespace {

double mean_square(const float* x, int64_t n) {
  std::mutex mu;
  double total = 0;
  vm::parallel_for(n, 1 << 16, [&](int64_t s, int64_t e) {
    double acc = 0;
    for (int64_t i = s; i < e; ++i) acc += static_cast<double>(x[i]) * x[i];
    std::lock_guard<std::mutex> lock(mu);
    total += acc;
  });
  return n > 0 ? total / static_cast<double>(n) : 0.0;
}

// Uninitialised float storage for full-resolution scratch planes: a
// std::vector would zero-fill (and page-fault) 8-24 MB per plane at 1080p on
// one thread; here the first touch happens inside the threaded kernels.
struct Plane {
  std::unique_ptr<float[]> p;
  explicit Plane(size_t n = 0) : p(n ? new float[n] : nullptr) {}
  float* data() { return p.get(); }
};

// The whole embed; `out` (3 x h x w) may alias `chw` (in-place). `preds_out`
// receives preds_w when non-null.
void embed_core(const EmbedderModel& model, const float* chw, int h, int w, const Message& message,
                const EmbedOptions& opt, float* out, std::vector<float>* preds_out, Timings* timings) {
  check_image_size(h, w, "embed");
  check(message.nbits() == model.nbits(), "message has " + std::to_string(message.nbits()) +
                                              " bits but the model embeds " + std::to_string(model.nbits()));
  check(std::isfinite(opt.strength) && opt.strength >= 0, "--strength must be a finite number >= 0");
  const vs::Card& card = model.card();
  check_attenuation(card);
  Timings t;
  Stopwatch sw;
  const int S = model.size();
  const int C = model.residual_channels();
  const int64_t n = int64_t{h} * w, ns = int64_t{S} * S;
  const bool same_size = h == S && w == S;

  // 1. resize to S x S and to the model's NHWC layout.
  std::vector<float> img_s;
  const float* x_s = chw;
  if (!same_size) {
    img_s.resize(static_cast<size_t>(3 * ns));
    vm::resize_bilinear_aa(chw, 3, h, w, S, S, img_s.data(), true);
    x_s = img_s.data();
  }
  std::vector<float> x_s_hwc(static_cast<size_t>(3 * ns));
  vm::chw_to_hwc(x_s, 3, S, S, x_s_hwc.data());
  t.resize += sw.lap();

  // 2. the embedder.
  std::vector<float> r_hwc(static_cast<size_t>(C * ns));
  model.run(x_s_hwc.data(), message, r_hwc.data());
  t.model += sw.lap();
  std::vector<float> r_s(static_cast<size_t>(C * ns));
  vm::hwc_to_chw(r_hwc.data(), S, S, C, r_s.data());
  t.resize += sw.lap();

  // 3. attenuation and the way back to H x W.
  const bool jnd = uses_jnd(card);
  if (jnd && opt.lowres_attenuation) {
    std::vector<float> hmap_s(static_cast<size_t>(ns));
    vm::jnd_heatmap(x_s, S, S, hmap_s.data());
    multiply_by_map(r_s.data(), C, hmap_s.data(), ns);
    t.jnd += sw.lap();
  }
  Plane preds_plane;
  float* preds = r_s.data();
  if (!same_size) {
    preds_plane = Plane(static_cast<size_t>(C * n));
    preds = preds_plane.data();
    vm::resize_bilinear_aa(r_s.data(), C, S, S, h, w, preds, true);
  }
  t.resize += sw.lap();
  if (jnd && !opt.lowres_attenuation) {
    Plane hmap(static_cast<size_t>(n));
    vm::jnd_heatmap(chw, h, w, hmap.data());
    multiply_by_map(preds, C, hmap.data(), n);
    t.jnd += sw.lap();
  }

  // 4. the PSNR floor, then blend (in place when out == chw).
  double sw_eff = card.scaling_w * opt.strength;
  const double min_psnr = opt.min_psnr < 0 ? card.min_psnr : opt.min_psnr;
  if (min_psnr > 0 && sw_eff > 0) {
    // MSE per channel of the unclamped delta: a 1-channel residual goes to R, G and B alike.
    const double mse = sw_eff * sw_eff * mean_square(preds, static_cast<int64_t>(C) * n);
    const double limit = std::pow(10.0, -min_psnr / 10.0);
    if (mse > limit) sw_eff *= std::sqrt(limit / mse);
  }
  const float scaling_w = static_cast<float>(sw_eff);
  const float scaling_i = static_cast<float>(card.scaling_i);
  vm::blend_additive(chw, 3, h, w, preds, C, scaling_i, scaling_w, out, true);
  t.blend += sw.lap();
  if (preds_out) preds_out->assign(preds, preds + C * n);
  if (timings) *timings += t;
}

}  // namespace

EmbedOutput embed_image(const EmbedderModel& model, const float* chw, int h, int w, const Message& message,
                        const EmbedOptions& opt, Timings* timings) {
  check_image_size(h, w, "embed");
  EmbedOutput out;
  out.height = h;
  out.width = w;
  out.image.resize(static_cast<size_t>(3) * h * w);
  embed_core(model, chw, h, w, message, opt, out.image.data(), opt.keep_preds ? &out.preds : nullptr, timings);
  if (opt.keep_preds) out.preds_channels = model.residual_channels();
  return out;
}

void embed_image_inplace(const EmbedderModel& model, float* chw, int h, int w, const Message& message,
                         const EmbedOptions& opt, Timings* timings) {
  embed_core(model, chw, h, w, message, opt, chw, nullptr, timings);
}

Detection interpret_logits(std::vector<float> logits) {
  Detection d;
  d.logits = std::move(logits);
  check(!d.logits.empty(), "detector returned no logits");
  d.detected = d.logits[0] > 0.0f;
  d.message = bits_from_logits(d.logits.data() + 1, static_cast<int>(d.logits.size()) - 1);
  return d;
}

Detection detect_image(const DetectorModel& model, const float* chw, int h, int w, Timings* timings) {
  check_image_size(h, w, "detect");
  Timings t;
  Stopwatch sw;
  const int S = model.size();
  const int64_t ns = int64_t{S} * S;
  std::vector<float> img_s;
  const float* x_s = chw;
  if (h != S || w != S) {
    img_s.resize(static_cast<size_t>(3 * ns));
    vm::resize_bilinear_aa(chw, 3, h, w, S, S, img_s.data(), true);
    x_s = img_s.data();
  }
  std::vector<float> hwc(static_cast<size_t>(3 * ns));
  vm::chw_to_hwc(x_s, 3, S, S, hwc.data());
  t.resize += sw.lap();
  std::vector<float> logits = model.run(hwc.data());
  t.model += sw.lap();
  if (timings) *timings += t;
  Detection d = interpret_logits(std::move(logits));
  const vs::Card& card = model.card();
  if (card.detect_log_f_threshold > 0) {
    const int nbits = static_cast<int>(d.logits.size()) - 1;
    d.p_value_unmarked = ss::p_value_from_logit(d.logits[0], card.detect_log_f_threshold, nbits);
  }
  return d;
}

Verification verify(const Message& decoded, const Message& expected) {
  Verification v;
  v.nbits = expected.nbits();
  v.matching = matching_bits(decoded, expected);
  v.bit_accuracy = v.nbits ? static_cast<double>(v.matching) / v.nbits : 0.0;
  v.p_value = binomial_p_value(v.matching, v.nbits);
  return v;
}

namespace {

// Sum of squared differences a[ia(i, c)] - round(b[ib(i, c)]) over pixels i and channels c, threaded.
template <class IndexA, class IndexB>
double sse_of(const float* a, const float* b, int64_t pixels, int channels, int bits, IndexA ia, IndexB ib) {
  const double peak = bits == 16 ? 65535.0 : 255.0;
  std::mutex mu;
  double sse = 0;
  vm::parallel_for(pixels, 1 << 16, [&](int64_t s, int64_t e) {
    double acc = 0;
    for (int c = 0; c < channels; ++c)
      for (int64_t i = s; i < e; ++i) {
        double y = b[ib(i, c)];
        if (bits > 0) {
          double cl = std::min(1.0, std::max(0.0, std::isnan(y) ? 0.0 : y));
          y = std::nearbyint(cl * peak) / peak;
        }
        double d = static_cast<double>(a[ia(i, c)]) - y;
        acc += d * d;
      }
    std::lock_guard<std::mutex> lock(mu);
    sse += acc;
  });
  return sse;
}

double psnr_from_sse(double sse, double count) {
  if (count <= 0) return std::numeric_limits<double>::infinity();
  double mse = sse / count;
  if (mse <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(1.0 / mse);
}

}  // namespace

double psnr(const float* a, const float* b, size_t n, int bits) {
  auto flat = [](int64_t i, int) { return i; };
  return psnr_from_sse(sse_of(a, b, static_cast<int64_t>(n), 1, bits, flat, flat), static_cast<double>(n));
}

double psnr_hwc_chw(const float* input_hwc, const float* output_chw, int h, int w, int bits) {
  const int64_t n = int64_t{h} * w;
  auto hwc = [](int64_t i, int c) { return i * 3 + c; };
  auto chw = [n](int64_t i, int c) { return c * n + i; };
  return psnr_from_sse(sse_of(input_hwc, output_chw, n, 3, bits, hwc, chw), 3.0 * static_cast<double>(n));
}

// ---------------------------------------------------------------- files

void check_not_same_path(const fs::path& input, const fs::path& output) {
  std::error_code ec;
  bool same = same_file(input, output);
  if (!same) {
    fs::path a = fs::weakly_canonical(fs::absolute(input, ec), ec);
    std::error_code ec2;
    fs::path b = fs::weakly_canonical(fs::absolute(output, ec2), ec2);
    same = !ec && !ec2 && a == b;
  }
  check(!same, output.string() + ": refusing to write the output over the input " + input.string());
}

fs::path output_path_for(const fs::path& input, const fs::path& dir, const std::string& suffix, const std::string& ext) {
  return dir / (input.stem().string() + suffix + ext);
}

namespace {

bool is_jpeg_path(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ".jpg" || e == ".jpeg";
}
bool is_npy_path(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ".npy";
}

}  // namespace

EmbedFileResult embed_file(const EmbedderModel& model, const fs::path& input, const fs::path& output,
                           const Message& message, const EmbedFileOptions& opt) {
  check_not_same_path(input, output);
  if (opt.dump_float) {
    check_not_same_path(input, *opt.dump_float);
    check(!(*opt.dump_float == output), opt.dump_float->string() + ": --dump-float and the output are the same file");
  }
  EmbedFileResult r;
  r.input = input;
  r.output = output;
  r.message = message;
  Stopwatch sw;
  media::Image img = media::read_image(input);
  r.width = img.width;
  r.height = img.height;
  check_image_size(img.height, img.width, input.string());
  const int h = img.height, w = img.width;
  const size_t n = img.pixels();
  Plane chw(3 * n);
  vm::hwc_to_chw(img.rgb.data(), h, w, 3, chw.data());
  r.timings.decode += sw.lap();

  EmbedOptions eo = opt.embed;
  eo.keep_preds = false;
  embed_image_inplace(model, chw.data(), h, w, message, eo, &r.timings);  // chw now holds the result
  sw.lap();

  // Encode: back to HWC, same metadata / alpha / depth.
  const bool npy_out = is_npy_path(output);
  const bool jpeg_out = !npy_out && (is_jpeg_path(output) || (opt.jpeg_quality >= 0 && output.extension() != ".png"));
  const int out_bits = npy_out ? 0 : (jpeg_out ? 8 : (img.bit_depth == 16 ? 16 : 8));
  r.psnr = psnr_hwc_chw(img.rgb.data(), chw.data(), h, w, out_bits);
  if (opt.dump_float) npy_save(*opt.dump_float, npy_from_floats({1, 3, h, w}, chw.data()));
  vm::chw_to_hwc(chw.data(), 3, h, w, img.rgb.data());
  chw = Plane();
  if (img.gray) {
    // A gray source stays gray only if the watermark kept R == G == B (Y-channel models do).
    const float* p = img.rgb.data();
    for (size_t i = 0; i < n && img.gray; ++i, p += 3)
      if (p[0] != p[1] || p[1] != p[2]) img.gray = false;
  }
  media::WriteOptions wo;
  wo.jpeg_quality = opt.jpeg_quality;
  media::write_image(output, img, wo);
  r.timings.encode += sw.lap();
  return r;
}

DetectFileResult detect_file(const DetectorModel& model, const fs::path& input) {
  DetectFileResult r;
  r.input = input;
  Stopwatch sw;
  media::Image img = media::read_image(input);
  r.width = img.width;
  r.height = img.height;
  check_image_size(img.height, img.width, input.string());
  Plane chw(3 * img.pixels());
  vm::hwc_to_chw(img.rgb.data(), img.height, img.width, 3, chw.data());
  std::vector<float>().swap(img.rgb);
  r.timings.decode += sw.lap();
  r.detection = detect_image(model, chw.data(), img.height, img.width, &r.timings);
  return r;
}

// ---------------------------------------------------------------- batch

size_t run_parallel(size_t n, int jobs, const std::function<void(size_t)>& work,
                    const std::function<void(size_t, const std::string* error)>& done) {
  if (n == 0) return 0;
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>(std::min<size_t>(n, 256))));
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<int> state(n, 0);  // 0 pending, 1 ok, 2 failed
  std::vector<std::string> errors(n);
  size_t reported = 0, failed = 0;
  auto report_ready = [&]() {  // under mu
    while (reported < n && state[reported] != 0) {
      const size_t i = reported++;
      if (state[i] == 2) ++failed;
      if (done) done(i, state[i] == 2 ? &errors[i] : nullptr);
    }
  };
  auto worker = [&]() {
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      std::string err;
      bool ok = true;
      try {
        work(i);
      } catch (const std::bad_alloc&) {
        ok = false;
        err = "out of memory";
      } catch (const std::exception& e) {
        ok = false;
        err = e.what();
      } catch (...) {
        ok = false;
        err = "unknown error";
      }
      std::lock_guard<std::mutex> lock(mu);
      state[i] = ok ? 1 : 2;
      errors[i] = std::move(err);
      try {
        report_ready();
      } catch (...) {
      }
    }
  };
  std::vector<std::thread> threads;
  for (int k = 1; k < jobs; ++k) {
    try {
      threads.emplace_back(worker);
    } catch (...) {
      break;
    }
  }
  worker();
  for (auto& t : threads) t.join();
  return failed;
}

}  // namespace sealite::pipeline
