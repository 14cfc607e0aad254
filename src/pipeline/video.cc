#include "pipeline/video.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "videoseal/blend.h"
#include "videoseal/jnd.h"
#include "videoseal/resize.h"

namespace sealite::pipeline {

namespace vm = sealite::videoseal;

VideoMode parse_video_mode(const std::string& s) {
  if (s == "repeat") return VideoMode::repeat;
  if (s == "alternate") return VideoMode::alternate;
  if (s == "interpolate") return VideoMode::interpolate;
  throw Error("unknown video mode '" + s + "' (expected repeat, alternate or interpolate)");
}

const char* video_mode_name(VideoMode m) {
  switch (m) {
    case VideoMode::repeat: return "repeat";
    case VideoMode::alternate: return "alternate";
    case VideoMode::interpolate: return "interpolate";
  }
  return "?";
}

Aggregation parse_aggregation(const std::string& s) {
  if (s == "avg") return Aggregation::avg;
  if (s == "squared_avg") return Aggregation::squared_avg;
  if (s == "l1norm_avg") return Aggregation::l1norm_avg;
  if (s == "l2norm_avg") return Aggregation::l2norm_avg;
  throw Error("unknown aggregation '" + s + "' (expected avg, squared_avg, l1norm_avg or l2norm_avg)");
}

const char* aggregation_name(Aggregation a) {
  switch (a) {
    case Aggregation::avg: return "avg";
    case Aggregation::squared_avg: return "squared_avg";
    case Aggregation::l1norm_avg: return "l1norm_avg";
    case Aggregation::l2norm_avg: return "l2norm_avg";
  }
  return "?";
}

namespace {

// torch.linspace(0, 1, steps) in float32 (torch's CPU kernel: the first half
// counts up from start, the second half down from end).
std::vector<float> torch_linspace01(int steps) {
  std::vector<float> v(static_cast<size_t>(steps));
  if (steps == 1) {
    v[0] = 0.0f;
    return v;
  }
  const float start = 0.0f, end = 1.0f;
  const float step = (end - start) / static_cast<float>(steps - 1);
  const int halfway = steps / 2;
  for (int i = 0; i < steps; ++i)
    v[static_cast<size_t>(i)] = i < halfway ? start + step * static_cast<float>(i)
                                           : end - step * static_cast<float>(steps - i - 1);
  return v;
}

void multiply_by_map(float* planes, int channels, const float* hmap, int64_t n) {
  vm::parallel_for(n, 65536, [&](int64_t b, int64_t e) {
    for (int c = 0; c < channels; ++c) {
      float* p = planes + c * n;
      for (int64_t i = b; i < e; ++i) p[i] = hmap[i] * p[i];
    }
  });
}

}  // namespace

// ---------------------------------------------------------------- embedding

VideoEmbedder::VideoEmbedder(const EmbedderModel& model, const Message& message, int height, int width,
                             const VideoEmbedOptions& opt, int64_t total_frames)
    : model_(model), message_(message), h_(height), w_(width), total_(total_frames) {
  check_image_size(height, width, "video embed");
  check(message.nbits() == model.nbits(), "message has " + std::to_string(message.nbits()) +
                                              " bits but the model embeds " + std::to_string(model.nbits()));
  check(std::isfinite(opt.strength) && opt.strength >= 0, "--strength must be a finite number >= 0");
  const vs::Card& card = model.card();
  check(card.attenuation.empty() || card.attenuation == "jnd_1_1" || card.attenuation == "none",
        "the model's card asks for attenuation '" + card.attenuation + "', which sealite does not implement (jnd_1_1)");
  S_ = model.size();
  C_ = model.residual_channels();
  step_ = opt.step_size > 0 ? opt.step_size : card.step_size;
  chunk_ = opt.chunk_size > 0 ? opt.chunk_size : card.chunk_size;
  check(step_ >= 1, "video step size must be >= 1 (card has " + std::to_string(card.step_size) + ")");
  check(chunk_ >= 1, "video chunk size must be >= 1 (card has " + std::to_string(card.chunk_size) + ")");
  mode_ = parse_video_mode(opt.video_mode.empty() ? (card.video_mode.empty() ? "repeat" : card.video_mode)
                                                  : opt.video_mode);
  jnd_ = card.attenuation == "jnd_1_1";
  lowres_ = opt.lowres_attenuation;
  same_size_ = h_ == S_ && w_ == S_;
  scaling_i_ = static_cast<float>(card.scaling_i);
  scaling_w_ = static_cast<float>(card.scaling_w * opt.strength);
}

int VideoEmbedder::jnd_batch_size(int64_t index) const {
  const int64_t frames_per_chunk = int64_t{chunk_} * step_;
  const int64_t start = (index / frames_per_chunk) * frames_per_chunk;
  int64_t n = frames_per_chunk;
  if (total_ > 0) n = std::min(n, total_ - start);
  n = std::max(n, index - start + 1);
  return static_cast<int>(n);
}

void VideoEmbedder::compute_key(const Pending& p, FrameF& residual_s) {
  Stopwatch sw;
  const int64_t ns = int64_t{S_} * S_;
  const float* x_s = same_size_ ? p.frame.data() : p.small.data();
  std::vector<float> hwc(static_cast<size_t>(3 * ns));
  vm::chw_to_hwc(x_s, 3, S_, S_, hwc.data());
  timings_.resize += sw.lap();
  std::vector<float> r_hwc(static_cast<size_t>(C_ * ns));
  model_.run(hwc.data(), message_, r_hwc.data());
  timings_.model += sw.lap();
  residual_s.resize(static_cast<size_t>(C_ * ns));
  vm::hwc_to_chw(r_hwc.data(), S_, S_, C_, residual_s.data());
  timings_.resize += sw.lap();
  ++keys_done_;
}

void VideoEmbedder::emit(Pending& p, const float* delta_s, bool zero, std::vector<FrameF>& ready) {
  Stopwatch sw;
  const int64_t n = int64_t{h_} * w_, ns = int64_t{S_} * S_;
  const int64_t frames_per_chunk = int64_t{chunk_} * step_;
  const int batch_index = static_cast<int>(p.index % frames_per_chunk);
  const int batch_size = jnd_batch_size(p.index);
  std::vector<float> preds_own;
  const float* preds = nullptr;
  if (zero) {
    preds_own.assign(static_cast<size_t>(C_ * n), 0.0f);
    preds = preds_own.data();
  } else if (jnd_ && lowres_) {
    const float* x_s = same_size_ ? p.frame.data() : p.small.data();
    std::vector<float> hmap_s(static_cast<size_t>(ns));
    vm::jnd_heatmap(x_s, S_, S_, hmap_s.data(), batch_index, batch_size);
    std::vector<float> prod(delta_s, delta_s + C_ * ns);
    multiply_by_map(prod.data(), C_, hmap_s.data(), ns);
    timings_.jnd += sw.lap();
    if (same_size_) {
      preds_own = std::move(prod);
    } else {
      preds_own.resize(static_cast<size_t>(C_ * n));
      vm::resize_bilinear_aa(prod.data(), C_, S_, S_, h_, w_, preds_own.data(), true);
    }
    preds = preds_own.data();
    timings_.resize += sw.lap();
  } else {
    // residual at full resolution: cached per key residual (repeat / alternate).
    const float* full = nullptr;
    std::vector<float> full_own;
    if (same_size_) {
      full = delta_s;
    } else if (delta_s == key_res_.data() && key_res_index_ >= 0 && !key_res_full_.empty()) {
      full = key_res_full_.data();
    } else {
      full_own.resize(static_cast<size_t>(C_ * n));
      vm::resize_bilinear_aa(delta_s, C_, S_, S_, h_, w_, full_own.data(), true);
      if (delta_s == key_res_.data() && key_res_index_ >= 0 && mode_ == VideoMode::repeat) {
        key_res_full_ = std::move(full_own);
        full = key_res_full_.data();
      } else {
        full = full_own.data();
      }
    }
    timings_.resize += sw.lap();
    if (jnd_) {
      std::vector<float> hmap(static_cast<size_t>(n));
      vm::jnd_heatmap(p.frame.data(), h_, w_, hmap.data(), batch_index, batch_size);
      preds_own.assign(full, full + C_ * n);
      multiply_by_map(preds_own.data(), C_, hmap.data(), n);
      preds = preds_own.data();
      timings_.jnd += sw.lap();
    } else {
      preds = full;
    }
  }
  vm::blend_additive(p.frame.data(), 3, h_, w_, preds, C_, scaling_i_, scaling_w_, p.frame.data(), true);
  timings_.blend += sw.lap();
  ready.push_back(std::move(p.frame));
}

void VideoEmbedder::flush_interpolate(const FrameF* next_key, std::vector<FrameF>& ready) {
  if (pending_.empty()) return;
  const std::vector<float> lin = torch_linspace01(step_);
  const size_t m = key_res_.size();
  std::vector<float> delta(m);
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    if (next_key == nullptr) {
      emit(p, key_res_.data(), false, ready);
      continue;
    }
    const int j = static_cast<int>(p.index % step_);
    const float alpha = 1.0f - lin[static_cast<size_t>(j)];
    const float beta = 1.0f - alpha;
    const float* a = key_res_.data();
    const float* b = next_key->data();
    for (size_t i = 0; i < m; ++i) {
      const float x = alpha * a[i];
      const float y = beta * b[i];
      delta[i] = x + y;
    }
    emit(p, delta.data(), false, ready);
  }
}

void VideoEmbedder::push(FrameF frame, std::vector<FrameF>& ready) {
  check(frame.size() == static_cast<size_t>(3) * h_ * w_, "video embed: frame " + std::to_string(next_index_) +
                                                              " has the wrong size");
  Pending p;
  p.index = next_index_++;
  p.frame = std::move(frame);
  const bool key = p.index % step_ == 0;
  const bool need_small = !same_size_ && (key || (jnd_ && lowres_));
  if (need_small) {
    Stopwatch sw;
    p.small.resize(static_cast<size_t>(3) * S_ * S_);
    vm::resize_bilinear_aa(p.frame.data(), 3, h_, w_, S_, S_, p.small.data(), true);
    timings_.resize += sw.lap();
  }
  switch (mode_) {
    case VideoMode::repeat:
    case VideoMode::alternate:
      if (key) {
        compute_key(p, key_res_);
        key_res_index_ = p.index;
        key_res_full_.clear();
        emit(p, key_res_.data(), false, ready);
      } else if (mode_ == VideoMode::repeat) {
        emit(p, key_res_.data(), false, ready);
      } else {
        emit(p, nullptr, true, ready);
      }
      break;
    case VideoMode::interpolate:
      if (key) {
        FrameF res;
        compute_key(p, res);
        const int64_t frames_per_chunk = int64_t{chunk_} * step_;
        const bool same_chunk = key_res_index_ >= 0 && key_res_index_ / frames_per_chunk == p.index / frames_per_chunk;
        flush_interpolate(same_chunk ? &res : nullptr, ready);
        key_res_ = std::move(res);
        key_res_index_ = p.index;
        key_res_full_.clear();
      }
      p.small.shrink_to_fit();
      pending_.push_back(std::move(p));
      break;
  }
}

void VideoEmbedder::finish(std::vector<FrameF>& ready) { flush_interpolate(nullptr, ready); }

std::vector<FrameF> embed_video_frames(const EmbedderModel& model, const std::vector<FrameF>& frames, int height,
                                       int width, const Message& message, const VideoEmbedOptions& opt) {
  VideoEmbedder e(model, message, height, width, opt, static_cast<int64_t>(frames.size()));
  std::vector<FrameF> out;
  out.reserve(frames.size());
  for (const auto& f : frames) e.push(f, out);
  e.finish(out);
  return out;
}

// ---------------------------------------------------------------- detection

std::vector<float> aggregate_bit_logits(const std::vector<std::vector<float>>& bits, Aggregation a) {
  check(!bits.empty(), "no frames to aggregate");
  const size_t k = bits[0].size();
  std::vector<float> sum(k, 0.0f);
  for (const auto& b : bits) {
    check(b.size() == k, "frames have different numbers of bit logits");
    float weight = 1.0f;
    if (a == Aggregation::l1norm_avg) {
      float s = 0.0f;
      for (float v : b) s += std::fabs(v);
      weight = s;
    } else if (a == Aggregation::l2norm_avg) {
      float s = 0.0f;
      for (float v : b) s += v * v;
      weight = std::sqrt(s);
    }
    for (size_t i = 0; i < k; ++i) {
      float v = b[i];
      if (a == Aggregation::squared_avg) v = v * std::fabs(v);
      else if (a != Aggregation::avg) v = v * weight;
      sum[i] += v;
    }
  }
  const float n = static_cast<float>(bits.size());
  for (float& v : sum) v = v / n;
  return sum;
}

std::vector<float> extract_logits(const DetectorModel& model, const float* chw, int h, int w, bool torch_channels_last) {
  check_image_size(h, w, "detect");
  const int S = model.size();
  const int64_t ns = int64_t{S} * S;
  std::vector<float> small;
  const float* x_s = chw;
  if (h != S || w != S) {
    small.resize(static_cast<size_t>(3 * ns));
    vm::resize_bilinear_aa(chw, 3, h, w, S, S, small.data(), false, torch_channels_last);
    x_s = small.data();
  }
  std::vector<float> hwc(static_cast<size_t>(3 * ns));
  vm::chw_to_hwc(x_s, 3, S, S, hwc.data());
  return model.run(hwc.data());
}

VideoDetector::VideoDetector(const DetectorModel& model, const VideoDetectOptions& opt) : model_(model), opt_(opt) {
  check(opt_.every >= 1, "--every must be >= 1");
  check(opt_.frame_logits || opt_.extract, "video detect: nothing to compute");
}

void VideoDetector::push(int64_t index, const float* chw, int h, int w) {
  if (!wants(index)) return;
  acc_.frame_index.push_back(index);
  if (opt_.frame_logits) acc_.frame_logits.push_back(detect_image(model_, chw, h, w, &timings_).logits);
  if (opt_.extract) {
    Stopwatch sw;
    acc_.extract_logits.push_back(extract_logits(model_, chw, h, w));
    timings_.model += sw.lap();
  }
}

VideoDetection VideoDetector::finish() const {
  check(!acc_.frame_index.empty(), "video detect: no frames were read");
  VideoDetection d = acc_;
  const auto& src = opt_.extract ? d.extract_logits : d.frame_logits;
  std::vector<std::vector<float>> bits;
  bits.reserve(src.size());
  double det = 0;
  for (const auto& l : src) {
    bits.emplace_back(l.begin() + 1, l.end());
  }
  for (const auto& l : (opt_.frame_logits ? d.frame_logits : d.extract_logits)) det += l[0];
  d.mean_detection_logit = det / static_cast<double>(src.size());
  d.aggregated = aggregate_bit_logits(bits, opt_.aggregation);
  d.message = bits_from_logits(d.aggregated.data(), static_cast<int>(d.aggregated.size()));
  return d;
}

VideoDetection detect_video_frames(const DetectorModel& model, const std::vector<FrameF>& frames, int height,
                                   int width, const VideoDetectOptions& opt) {
  VideoDetector d(model, opt);
  for (size_t i = 0; i < frames.size(); ++i) d.push(static_cast<int64_t>(i), frames[i].data(), height, width);
  return d.finish();
}

}  // namespace sealite::pipeline
