// sealite embed / detect for videos: decode -> model -> encode in a streaming
// pipeline with bounded queues (a decode thread, the model on the calling
// thread, an encode thread), so memory does not grow with the video length.
#include "cli/video_cmd.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "core/error.h"
#include "core/npy.h"
#include "media/video.h"
#include "pipeline/model.h"
#include "pipeline/pipeline.h"
#include "pipeline/report.h"
#include "pipeline/video.h"
#include "videoseal/blend.h"
#include "videoseal/resize.h"

namespace sealite::cli {

namespace fs = std::filesystem;
namespace pl = sealite::pipeline;
namespace vm = sealite::videoseal;

namespace {

// ---- .npy frame stacks

// Shape from a .npy header (without reading the data); empty when not a .npy.
std::vector<int64_t> npy_shape(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return {};
  char buf[4096] = {0};
  f.read(buf, sizeof buf - 1);
  std::string h(buf, static_cast<size_t>(f.gcount()));
  if (h.size() < 10 || h.compare(0, 6, "\x93NUMPY") != 0) return {};
  auto s = h.find("'shape'");
  if (s == std::string::npos) return {};
  auto b = h.find('(', s), e = h.find(')', s);
  if (b == std::string::npos || e == std::string::npos) return {};
  std::vector<int64_t> shape;
  std::string inner = h.substr(b + 1, e - b - 1);
  size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && !std::isdigit(static_cast<unsigned char>(inner[i]))) ++i;
    if (i >= inner.size()) break;
    int64_t v = 0;
    while (i < inner.size() && std::isdigit(static_cast<unsigned char>(inner[i]))) v = v * 10 + (inner[i++] - '0');
    shape.push_back(v);
  }
  return shape;
}

bool is_npy(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ".npy";
}

struct FrameStack {
  int t = 0, h = 0, w = 0;
  std::vector<pl::FrameF> frames;
};

FrameStack load_npy_frames(const fs::path& p) {
  NpyArray a = npy_load(p);
  check(a.shape.size() == 4, p.string() + ": a video .npy must be T x 3 x H x W or T x H x W x 3 (got " +
                                 std::to_string(a.shape.size()) + " dimensions)");
  const bool chw = a.shape[1] == 3;
  check(chw || a.shape[3] == 3, p.string() + ": a video .npy must be T x 3 x H x W or T x H x W x 3");
  FrameStack s;
  s.t = static_cast<int>(a.shape[0]);
  s.h = static_cast<int>(chw ? a.shape[2] : a.shape[1]);
  s.w = static_cast<int>(chw ? a.shape[3] : a.shape[2]);
  check(s.t >= 1, p.string() + ": no frames");
  std::vector<float> all = a.as_float();
  const size_t fsz = static_cast<size_t>(3) * s.h * s.w;
  for (int i = 0; i < s.t; ++i) {
    const float* src = all.data() + i * fsz;
    for (size_t k = 0; k < fsz; ++k)
      check(std::isfinite(src[k]) && src[k] >= 0.0f && src[k] <= 1.0f,
            p.string() + ": frame " + std::to_string(i) + " has values outside [0,1]");
    pl::FrameF f(fsz);
    if (chw) std::copy(src, src + fsz, f.begin());
    else vm::hwc_to_chw(src, s.h, s.w, 3, f.data());
    s.frames.push_back(std::move(f));
  }
  return s;
}

void save_npy_frames(const fs::path& p, const std::vector<pl::FrameF>& frames, int h, int w) {
  std::vector<float> all;
  all.reserve(frames.size() * 3 * h * w);
  for (const auto& f : frames) all.insert(all.end(), f.begin(), f.end());
  npy_save(p, npy_from_floats({static_cast<int64_t>(frames.size()), 3, h, w}, all.data()));
}

// ---- a bounded queue closing on error

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t cap) : cap_(cap) {}
  bool push(T v) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return q_.size() < cap_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(v));
    not_empty_.notify_one();
    return true;
  }
  std::optional<T> pop() {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return v;
  }
  void close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  size_t cap_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;
  bool closed_ = false;
};

struct FirstError {
  std::mutex mu;
  std::exception_ptr e;
  void set(std::exception_ptr p) {
    std::lock_guard<std::mutex> l(mu);
    if (!e) e = p;
  }
  void rethrow() {
    if (e) std::rethrow_exception(e);
  }
};

// ---- progress

class Progress {
 public:
  Progress(bool enabled, int64_t total) : on_(enabled), total_(total), t0_(std::chrono::steady_clock::now()) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // A run that fails after drawing the bar ends its line, so that the error
  // message gets a line of its own.
  ~Progress() { done(); }
  void update(int64_t done) {
    if (!on_) return;
    drawn_ = true;
    auto now = std::chrono::steady_clock::now();
    if (done != total_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double s = std::chrono::duration<double>(now - t0_).count();
    const double fps = s > 0 ? done / s : 0;
    char eta[32] = "?";
    if (total_ > 0 && fps > 0) std::snprintf(eta, sizeof eta, "%.0fs", (total_ - done) / fps);
    const int width = 30;
    const int filled = total_ > 0 ? static_cast<int>(width * std::min<double>(1.0, double(done) / total_)) : 0;
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(static_cast<size_t>(width), ' ');
    if (total_ > 0)
      std::fprintf(stderr, "\r[%s] %lld/%lld frames  %.1f fps  ETA %s ", bar.c_str(), static_cast<long long>(done),
                   static_cast<long long>(total_), fps, eta);
    else
      std::fprintf(stderr, "\r%lld frames  %.1f fps ", static_cast<long long>(done), fps);
    std::fflush(stderr);
  }
  void done() {
    if (on_ && drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  bool on_, drawn_ = false;
  int64_t total_;
  std::chrono::steady_clock::time_point t0_, last_{};
};

int int_in(const Args& a, const std::string& cmd, const std::string& name, int lo, int hi) {
  int v = a.get_int(name);
  if (v < lo || v > hi)
    throw Error(cmd + ": --" + name + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

double frame_sse(const float* a, const uint8_t* b_hwc, int h, int w) {
  // a: CHW float, b: HWC u8 -> SSE on the [0,1] scale
  double s = 0;
  const int64_t n = int64_t{h} * w;
  for (int c = 0; c < 3; ++c)
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(a[c * n + i]) - b_hwc[i * 3 + c] / 255.0;
      s += d * d;
    }
  return s;
}

}  // namespace

bool args_name_video_input(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s == "--") {
      if (i + 1 < argv.size()) return args_name_video_input({argv[i + 1]});
      return false;
    }
    if (s.size() > 1 && s[0] == '-') {
      // options with a value as the next argument (flags are skipped harmlessly)
      if (s.find('=') == std::string::npos &&
          (s == "-o" || s == "--output" || s == "--dump-float" || s == "-m" || s == "--model" || s == "--message" ||
           s == "--output-dir" || s == "-d" || s == "--expect" || s == "--suffix" || s == "--quality" ||
           s == "--threads" || s == "--jobs" || s == "-j" || s == "--interpreters" || s == "--strength" ||
           s == "--codec" || s == "--crf" || s == "--preset" || s == "--pix-fmt" || s == "--video-mode" ||
           s == "--every" || s == "--aggregation" || s == "--step-size" || s == "--chunk-size"))
        ++i;
      continue;
    }
    fs::path p(s);
    if (media::is_video_path(p)) return true;
    if (is_npy(p)) {
      auto shape = npy_shape(p);
      return shape.size() == 4 && shape[0] > 1;
    }
    return false;  // the first positional decides
  }
  return false;
}

// ---------------------------------------------------------------- embed

int embed_video_main(const std::vector<std::string>& argv) {
  Args a("embed", "watermark a video (or a float .npy frame stack) with VideoSeal's key-frame rule");
  a.positional("IN", "input video (any container/codec FFmpeg reads) or float32 .npy T x 3 x H x W / T x H x W x 3")
      .option("output", "OUT", "output video (the extension picks the container) or .npy (float32 T x 3 x H x W, "
              "not rounded) for .npy input", std::nullopt, 'o')
      .option("model", "DIR", "model directory written by `sealite convert`", std::nullopt, 'm')
      .option("message", "MSG", "hex:..., bits:..., text:..., random, random:SEED", "random")
      .flag("fullres-attenuation", "JND heatmap of the full-resolution frames (Meta's library default) instead of "
            "the 256x256 ones (the video default, as Meta's scripts)")
      .flag("lowres-attenuation", "JND on the 256x256 frames (the default for video; accepted for symmetry)")
      .option("strength", "S", "multiplies the card's scaling_w", "1")
      .option("video-mode", "MODE", "repeat | alternate | interpolate (default: the card's)")
      .option("step-size", "N", "key frame every N frames (default: the card's step_size)")
      .option("chunk-size", "N", "key frames per chunk (default: the card's chunk_size)")
      .option("codec", "NAME", "video encoder (default libx264 if available, else the container's default); "
              "ffv1 is lossless")
      .option("crf", "N", "constant rate factor for encoders that have one (x264/x265 default here: 18)")
      .option("preset", "NAME", "encoder preset (x264/x265: ultrafast .. veryslow)")
      .option("pix-fmt", "FMT", "encoder pixel format (default: the source's if the encoder takes it)")
      .option("dump-float", "FILE.npy", "also write the float frames before rounding (T x 3 x H x W; whole video in memory)")
      .flag("json", "print a JSON summary on standard output")
      .flag("quiet", "no text summary", 'q')
      .option("threads", "N", "threads for the model and the frame math", "2")
      .flag("no-xnnpack", "run the model on TFLite's built-in kernels only")
      .note("Math (Meta's Videoseal.embed(is_video=True)): key frames 0, step, 2*step... go through the embedder; "
            "each key frame's residual is used for the next `step` frames (repeat), only on the key frame "
            "(alternate) or blended linearly towards the next key frame (interpolate); JND per frame; "
            "clamp(scaling_i*x + scaling_w*residual, 0, 1) per frame. Frame rate, timestamps, rotation and frame "
            "count are kept; audio and other streams are copied without re-encoding. The output is written to a "
            "temporary file and renamed at the end.\n"
            "Frames are watermarked in their stored orientation (as the reference, which does not autorotate); the "
            "rotation (display matrix or `rotate` tag) is carried over to the output. Variable frame rate input is "
            "refused (frame gaps that differ by more than timestamp rounding): convert it to a constant rate first, "
            "e.g. ffmpeg -i IN -fps_mode cfr OUT.")
      .example("sealite embed in.mp4 -o out.mp4 --model models/vs10 --message text:hi", "H.264 output")
      .example("sealite embed in.mkv -o out.mkv --codec ffv1 --dump-float out.npy", "lossless, float frames too");
  if (!a.parse(argv)) return 0;
  check(a.positionals().size() == 1, "embed: video input takes exactly one input file");
  check(a.has("output"), "embed: no output: give -o OUT");
  const fs::path in(a.positionals()[0]), out(a.get("output"));
  pl::check_not_same_path(in, out);
  std::optional<fs::path> dump;
  if (a.has("dump-float")) {
    dump = fs::path(a.get("dump-float"));
    pl::check_not_same_path(in, *dump);
    check(!(*dump == out), "embed: --dump-float and the output are the same file");
  }
  const bool json_out = a.flag_set("json"), quiet = a.flag_set("quiet");
  check(!(a.flag_set("fullres-attenuation") && a.flag_set("lowres-attenuation")),
        "embed: give --fullres-attenuation or --lowres-attenuation, not both");
  pl::VideoEmbedOptions vo;
  vo.lowres_attenuation = !a.flag_set("fullres-attenuation");
  vo.strength = a.get_double("strength");
  check(std::isfinite(vo.strength) && vo.strength >= 0 && vo.strength <= 100, "embed: --strength must be in 0..100");
  if (a.has("video-mode")) vo.video_mode = pl::video_mode_name(pl::parse_video_mode(a.get("video-mode")));
  if (a.has("step-size")) vo.step_size = int_in(a, "embed", "step-size", 1, 100000);
  if (a.has("chunk-size")) vo.chunk_size = int_in(a, "embed", "chunk-size", 1, 100000);
  media::VideoEncodeOptions eo;
  if (a.has("codec")) eo.codec = a.get("codec");
  if (a.has("crf")) eo.crf = int_in(a, "embed", "crf", 0, 63);
  if (a.has("preset")) eo.preset = a.get("preset");
  if (a.has("pix-fmt")) eo.pix_fmt = a.get("pix-fmt");
  const int threads = int_in(a, "embed", "threads", 1, 256);

  pl::RuntimeOptions ro;
  ro.threads = threads;
  ro.xnnpack = !a.flag_set("no-xnnpack");
  vm::set_vsmath_threads(threads);
  fs::path location = pl::resolve_model_dir(a.has("model") ? std::optional<std::string>(a.get("model")) : std::nullopt);
  auto model = pl::EmbedderModel::load(location, ro);
  const pl::Message message = pl::parse_message(a.get("message"), model->nbits());
  pl::Stopwatch total_sw;

  nlohmann::json j;
  j["input"] = in.string();
  j["output"] = out.string();
  j["message"] = pl::message_spec(message);
  j["hex"] = message.to_hex();
  j["bits"] = message.to_bits();
  j["attenuation"] = model->card().attenuation.empty() ? "none"
                                                       : (vo.lowres_attenuation ? "lowres" : "fullres");
  j["strength"] = vo.strength;

  if (is_npy(in)) {
    check(is_npy(out), "embed: a .npy frame stack is written to a .npy output (float32 T x 3 x H x W)");
    FrameStack s = load_npy_frames(in);
    pl::VideoEmbedder e(*model, message, s.h, s.w, vo, s.t);
    std::vector<pl::FrameF> res;
    for (auto& f : s.frames) e.push(f, res);
    e.finish(res);
    save_npy_frames(out, res, s.h, s.w);
    if (dump) save_npy_frames(*dump, res, s.h, s.w);
    j["frames"] = s.t;
    j["width"] = s.w;
    j["height"] = s.h;
    j["key_frames"] = e.key_frames();
    j["step_size"] = e.step();
    j["video_mode"] = pl::video_mode_name(e.mode());
    j["seconds"] = total_sw.lap();
    if (json_out) std::printf("%s\n", j.dump(2).c_str());
    else if (!quiet)
      std::printf("%s -> %s  %d frames %dx%d  message %s\n", in.c_str(), out.c_str(), s.t, s.w, s.h,
                  pl::message_spec(message).c_str());
    return 0;
  }

  check(!is_npy(out), "embed: a video input is written to a video file (use --dump-float for float frames)");
  media::VideoReader reader(in);
  const media::VideoInfo info = reader.info();
  const int h = info.height, w = info.width;
  pl::check_image_size(h, w, in.string());
  media::VideoWriter writer(out, reader, eo);
  pl::VideoEmbedder emb(*model, message, h, w, vo, info.frame_count);
  const bool progress_on = !json_out && !quiet && isatty(STDERR_FILENO);
  Progress progress(progress_on, info.frame_count);

  struct InFrame {
    pl::FrameF f;
    int64_t pts;
  };
  struct OutFrame {
    media::VideoFrame v;
  };
  BoundedQueue<InFrame> qin(3);
  BoundedQueue<OutFrame> qout(3);
  FirstError err;
  std::atomic<int64_t> encoded{0};
  std::vector<pl::FrameF> dumped;
  double sse = 0;
  std::thread decoder([&] {
    try {
      media::VideoFrame vf;
      while (reader.read(vf)) {
        InFrame x;
        x.f.resize(static_cast<size_t>(3) * h * w);
        vm::u8_hwc_to_float_chw(vf.rgb.data(), h, w, 3, x.f.data());
        x.pts = vf.pts;  // (vf.rgb's buffer is reused for the next frame)
        if (!qin.push(std::move(x))) break;
      }
    } catch (...) {
      err.set(std::current_exception());
      qout.close();
    }
    qin.close();
  });
  std::thread encoder([&] {
    try {
      while (auto o = qout.pop()) {
        writer.write(o->v);
        ++encoded;
      }
    } catch (...) {
      err.set(std::current_exception());
      qin.close();
      qout.close();
    }
  });
  std::deque<InFrame> waiting;  // inputs whose output is not out yet (pts, PSNR)
  int64_t out_index = 0;
  try {
    std::vector<pl::FrameF> ready;
    auto ship = [&]() {
      for (auto& f : ready) {
        InFrame src = std::move(waiting.front());
        waiting.pop_front();
        OutFrame o;
        o.v.width = w;
        o.v.height = h;
        o.v.rgb.resize(static_cast<size_t>(3) * h * w);
        vm::float_chw_to_u8_hwc(f.data(), 3, h, w, o.v.rgb.data());
        o.v.pts = src.pts;
        o.v.index = out_index++;
        sse += frame_sse(src.f.data(), o.v.rgb.data(), h, w);
        if (dump) dumped.push_back(std::move(f));
        if (!qout.push(std::move(o))) throw Error("embed: the encoder stopped");
        progress.update(out_index);
      }
      ready.clear();
    };
    while (auto x = qin.pop()) {
      pl::FrameF f = x->f;
      waiting.push_back(std::move(*x));
      emb.push(std::move(f), ready);
      ship();
    }
    err.rethrow();
    emb.finish(ready);
    ship();
  } catch (...) {
    err.set(std::current_exception());
    qin.close();
  }
  qout.close();
  decoder.join();
  encoder.join();
  err.rethrow();
  writer.finish();
  progress.done();
  if (dump) save_npy_frames(*dump, dumped, h, w);
  const double secs = total_sw.lap();
  const double mse = out_index > 0 ? sse / (static_cast<double>(out_index) * 3 * h * w) : 0;
  j["frames"] = out_index;
  j["width"] = w;
  j["height"] = h;
  j["fps"] = info.fps_den ? static_cast<double>(info.fps_num) / info.fps_den : 0.0;
  j["codec"] = writer.encoder_name();
  j["pix_fmt"] = writer.pix_fmt_name();
  j["key_frames"] = emb.key_frames();
  j["step_size"] = emb.step();
  j["video_mode"] = pl::video_mode_name(emb.mode());
  j["audio_streams_copied"] = info.audio_streams;
  j["rotation"] = info.rotation;
  j["psnr"] = mse > 0 ? nlohmann::json(10.0 * std::log10(1.0 / mse)) : nlohmann::json(nullptr);
  j["seconds"] = secs;
  j["frames_per_second"] = secs > 0 ? out_index / secs : 0.0;
  j["timings"] = pl::timings_json(emb.timings());
  if (json_out) {
    std::printf("%s\n", j.dump(2).c_str());
  } else if (!quiet) {
    std::printf("%s -> %s  %lld frames %dx%d (%s %s)  message %s  PSNR %.2f dB  %.1f fps\n", in.c_str(), out.c_str(),
                static_cast<long long>(out_index), w, h, writer.encoder_name().c_str(), writer.pix_fmt_name().c_str(),
                pl::message_spec(message).c_str(), mse > 0 ? 10.0 * std::log10(1.0 / mse) : INFINITY,
                secs > 0 ? out_index / secs : 0.0);
  }
  return 0;
}

// ---------------------------------------------------------------- detect

int detect_video_main(const std::vector<std::string>& argv) {
  Args a("detect", "decode the VideoSeal watermark of a video (or a float .npy frame stack)");
  a.positional("IN", "video file or float32 .npy T x 3 x H x W / T x H x W x 3 (values in [0,1])")
      .option("model", "DIR", "model directory written by `sealite convert`", std::nullopt, 'm')
      .option("expect", "MSG", "the message that should be there: adds bit accuracy and p-value")
      .option("aggregation", "NAME", "avg | squared_avg | l1norm_avg | l2norm_avg", "avg")
      .option("every", "K", "look at frames 0, K, 2K, ...", "1")
      .flag("per-frame", "print one JSON line per frame ({\"frame\", \"logits\"}) as frames are decoded")
      .flag("message-only", "skip the per-frame antialiased detect pass (only the extract_message pass)")
      .flag("json", "print a JSON summary on standard output")
      .option("threads", "N", "threads for the model and the frame math", "2")
      .flag("no-xnnpack", "run the model on TFLite's built-in kernels only")
      .note("Per frame: `logits` = Videoseal.detect (frame resized to 256x256 with antialias); the message = "
            "Videoseal.extract_message: the bit logits of each frame resized WITHOUT antialias, aggregated over "
            "frames (avg: mean; squared_avg: mean of b*|b|; l1norm_avg / l2norm_avg: mean of b weighted by the "
            "frame's L1 / L2 norm), bit = aggregate > 0.\n"
            "Frames are read in their stored orientation (rotation metadata is not applied, as in the reference). "
            "Variable frame rate video is refused, as by embed.\n"
            "JSON keys: input, frames (per frame: index, logits), frame_count, aggregation, aggregated_logits, "
            "bits, hex, detection_logit (mean), detected; with --expect: expected, matching_bits, bit_accuracy, p_value.");
  if (!a.parse(argv)) return 0;
  check(a.positionals().size() == 1, "detect: video input takes exactly one input file");
  const fs::path in(a.positionals()[0]);
  const bool json_out = a.flag_set("json"), per_frame = a.flag_set("per-frame");
  pl::VideoDetectOptions dopt;
  dopt.aggregation = pl::parse_aggregation(a.get("aggregation"));
  dopt.every = int_in(a, "detect", "every", 1, 1000000);
  dopt.frame_logits = !a.flag_set("message-only");
  const int threads = int_in(a, "detect", "threads", 1, 256);
  pl::RuntimeOptions ro;
  ro.threads = threads;
  ro.xnnpack = !a.flag_set("no-xnnpack");
  vm::set_vsmath_threads(threads);
  fs::path location = pl::resolve_model_dir(a.has("model") ? std::optional<std::string>(a.get("model")) : std::nullopt);
  auto model = pl::DetectorModel::load(location, ro);
  std::optional<pl::Message> expected;
  if (a.has("expect")) {
    check(a.get("expect") != "random", "detect: --expect random has no fixed message; give random:SEED");
    expected = pl::parse_message(a.get("expect"), model->nbits());
  }
  pl::VideoDetector det(*model, dopt);
  pl::Stopwatch sw;
  int width = 0, height = 0;
  int64_t seen = 0;
  auto per_frame_line = [&](int64_t idx, const std::vector<float>& logits) {
    nlohmann::json l = {{"frame", idx}, {"logits", logits}};
    std::printf("%s\n", l.dump().c_str());
    std::fflush(stdout);
  };
  auto handle = [&](int64_t idx, const float* chw) {
    if (!det.wants(idx)) return;
    det.push(idx, chw, height, width);
    if (per_frame) {
      const pl::VideoDetection& v = det.so_far();
      per_frame_line(idx, dopt.frame_logits ? v.frame_logits.back() : v.extract_logits.back());
    }
  };
  if (is_npy(in)) {
    FrameStack s = load_npy_frames(in);
    width = s.w;
    height = s.h;
    for (int i = 0; i < s.t; ++i) handle(i, s.frames[i].data());
    seen = s.t;
  } else {
    media::VideoReadOptions ropt;
    ropt.keep_other_streams = false;  // no writer: audio packets would pile up for the whole file
    media::VideoReader reader(in, ropt);
    width = reader.info().width;
    height = reader.info().height;
    pl::check_image_size(height, width, in.string());
    BoundedQueue<std::pair<int64_t, pl::FrameF>> q(3);
    FirstError err;
    std::thread decoder([&] {
      try {
        media::VideoFrame vf;
        while (reader.read(vf)) {
          if (vf.index % dopt.every != 0) continue;
          pl::FrameF f(static_cast<size_t>(3) * height * width);
          vm::u8_hwc_to_float_chw(vf.rgb.data(), height, width, 3, f.data());
          if (!q.push({vf.index, std::move(f)})) break;
        }
      } catch (...) {
        err.set(std::current_exception());
      }
      q.close();
    });
    Progress progress(!json_out && !per_frame && isatty(STDERR_FILENO), reader.info().frame_count);
    try {
      while (auto x = q.pop()) {
        handle(x->first, x->second.data());
        seen = x->first + 1;
        progress.update(seen);
      }
    } catch (...) {
      err.set(std::current_exception());
      q.close();
    }
    decoder.join();
    err.rethrow();
    progress.done();
  }
  pl::VideoDetection d = det.finish();
  const double secs = sw.lap();
  nlohmann::json j;
  j["input"] = in.string();
  j["width"] = width;
  j["height"] = height;
  j["frame_count"] = seen;
  j["frames_analysed"] = d.frame_index.size();
  nlohmann::json frames = nlohmann::json::array();
  for (size_t i = 0; i < d.frame_index.size(); ++i) {
    nlohmann::json f = {{"index", d.frame_index[i]}};
    if (dopt.frame_logits) f["logits"] = d.frame_logits[i];
    if (dopt.extract) f["extract_logits"] = d.extract_logits[i];
    frames.push_back(std::move(f));
  }
  j["frames"] = std::move(frames);
  j["aggregation"] = pl::aggregation_name(dopt.aggregation);
  j["aggregated_logits"] = d.aggregated;
  j["bits"] = d.message.to_bits();
  j["hex"] = d.message.to_hex();
  j["message"] = pl::message_spec(d.message);
  if (auto t = d.message.to_text()) j["text"] = *t;
  j["detection_logit"] = d.mean_detection_logit;
  j["detected"] = d.mean_detection_logit > 0;
  j["nbits"] = d.message.nbits();
  if (expected) {
    pl::Verification v = pl::verify(d.message, *expected);
    j["expected"] = pl::message_spec(*expected);
    j["matching_bits"] = v.matching;
    j["bit_accuracy"] = v.bit_accuracy;
    j["p_value"] = v.p_value;
  }
  j["seconds"] = secs;
  if (json_out) {
    std::printf("%s\n", j.dump(2).c_str());
  } else if (!per_frame) {
    std::printf("%s: %s (mean detection logit %.4f over %zu frames)\n", in.c_str(),
                d.mean_detection_logit > 0 ? "detected" : "not detected", d.mean_detection_logit,
                d.frame_index.size());
    std::printf("  message %s", pl::message_spec(d.message).c_str());
    if (auto t = d.message.to_text()) std::printf("  text \"%s\"", t->c_str());
    std::printf("\n  bits    %s  (%s)\n", d.message.to_bits().c_str(), pl::aggregation_name(dopt.aggregation));
    if (expected) {
      pl::Verification v = pl::verify(d.message, *expected);
      std::printf("  expect  %s: %d/%d bits match, bit accuracy %.4f, p-value %.3g\n",
                  pl::message_spec(*expected).c_str(), v.matching, v.nbits, v.bit_accuracy, v.p_value);
    }
  }
  return 0;
}

}  // namespace sealite::cli
