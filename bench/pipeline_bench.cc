// The full-resolution image pipeline of `sealite embed` / `sealite detect`
// (issue 4) at 1920x1080 with full-size random-init VideoSeal 0.0 and 1.0
// models, 2 threads (TFLite/XNNPACK and the image math). Every run is a whole
// file: PNG decode -> float -> resize to 256 -> model -> residual resized back
// -> JND -> blend -> PNG encode (detect: decode -> resize -> model). Each
// benchmark is repeated (default 7 times, SEALITE_BENCH_REPS to change) after
// one warm-up run; the table printed at the end gives the median of every
// stage and of the wall time.
//
//   build/bench/pipeline_bench                                    # everything
//   build/bench/pipeline_bench --benchmark_filter=videoseal_1.0   # one family
//   SEALITE_BENCH_MODEL_DIR=models build/bench/pipeline_bench     # use <dir>/<card>/{embedder,detector}.tflite
//   SEALITE_BENCH_IMAGE=photo.jpg build/bench/pipeline_bench      # source of the 1920x1080 input
//
// Without SEALITE_BENCH_MODEL_DIR the models are converted once with
// `--random-init --seed 1` into $TMPDIR/sealite-bench-models/<card>. The
// input is ../shared/fixtures/videoseal/_inputs/1.jpg (VideoSeal's own test
// photo, 1904x1080) resized to 1920x1080 when present, else a synthetic image.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <sys/resource.h>

#include "checkpoint/checkpoint.h"
#include "core/error.h"
#include "media/image.h"
#include "pipeline/model.h"
#include "pipeline/pipeline.h"
#include "videoseal/blend.h"
#include "videoseal/card.h"
#include "videoseal/convert.h"
#include "videoseal/jnd.h"
#include "videoseal/resize.h"

#ifndef SEALITE_SOURCE_DIR
#define SEALITE_SOURCE_DIR "."
#endif

namespace {

using namespace sealite;
namespace fs = std::filesystem;
namespace pl = sealite::pipeline;
namespace vm = sealite::videoseal;

constexpr int kThreads = 2;
constexpr int kW = 1920, kH = 1080;

int reps() {
  if (const char* r = std::getenv("SEALITE_BENCH_REPS"); r && std::atoi(r) > 0) return std::atoi(r);
  return 7;
}

fs::path work_dir() {
  static fs::path d = [] {
    fs::path p = fs::temp_directory_path() / "sealite-pipeline-bench";
    fs::create_directories(p);
    return p;
  }();
  return d;
}

fs::path model_dir(const std::string& card_name) {
  if (const char* dir = std::getenv("SEALITE_BENCH_MODEL_DIR")) {
    fs::path p = fs::path(dir) / card_name;
    if (fs::exists(p / "embedder.tflite") && fs::exists(p / "detector.tflite")) return p;
  }
  fs::path p = fs::temp_directory_path() / "sealite-bench-models" / card_name;
  if (fs::exists(p / "embedder.tflite") && fs::exists(p / "detector.tflite")) return p;
  std::fprintf(stderr, "converting %s (random init, seed 1) into %s ...\n", card_name.c_str(), p.c_str());
  vs::Card card = vs::load_card(card_name);
  auto ck = vs::random_checkpoint(card, 1);
  fs::create_directories(p);
  vs::convert_checkpoint(ck, card, p);
  return p;
}

// The 1920x1080 8-bit RGB PNG every benchmark reads.
fs::path input_png() {
  static fs::path path = [] {
    fs::path out = work_dir() / "input_1920x1080.png";
    media::Image src;
    fs::path photo;
    if (const char* e = std::getenv("SEALITE_BENCH_IMAGE")) photo = e;
    else photo = fs::path(SEALITE_SOURCE_DIR).parent_path() / "shared" / "fixtures" / "videoseal" / "_inputs" / "1.jpg";
    media::Image img;
    img.width = kW;
    img.height = kH;
    img.rgb.resize(static_cast<size_t>(kW) * kH * 3);
    if (fs::exists(photo)) {
      src = media::read_image(photo);
      std::vector<float> chw(3 * src.pixels()), big(static_cast<size_t>(3) * kW * kH);
      vm::hwc_to_chw(src.rgb.data(), src.height, src.width, 3, chw.data());
      vm::resize_bilinear_aa(chw.data(), 3, src.height, src.width, kH, kW, big.data(), true);
      vm::chw_to_hwc(big.data(), 3, kH, kW, img.rgb.data());
      std::fprintf(stderr, "input: %s resized to %dx%d\n", photo.c_str(), kW, kH);
    } else {
      uint32_t s = 12345;
      for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x)
          for (int c = 0; c < 3; ++c) {
            s = s * 1664525u + 1013904223u;
            float noise = static_cast<float>(s >> 8) * 0x1p-24f * 0.1f;
            float v = 0.45f + 0.35f * std::sin(x * 0.01f * (c + 1)) * std::cos(y * 0.013f) + noise - 0.05f;
            img.rgb[(static_cast<size_t>(y) * kW + x) * 3 + c] = std::min(1.f, std::max(0.f, v));
          }
      std::fprintf(stderr, "input: synthetic %dx%d (no photo at %s)\n", kW, kH, photo.c_str());
    }
    for (auto& v : img.rgb) v = media::to_u8(v) / 255.0f;
    media::write_image(out, img);
    return out;
  }();
  return path;
}

struct Models {
  std::shared_ptr<pl::EmbedderModel> embedder;
  std::shared_ptr<pl::DetectorModel> detector;
};
Models& models(const std::string& card, int interpreters = 1) {
  static std::map<std::string, Models> cache;
  const std::string key = card + "/" + std::to_string(interpreters);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() > 2) cache.clear();  // bound memory (full-size models are large)
  pl::RuntimeOptions ro;
  ro.threads = kThreads;
  ro.interpreters = interpreters;
  fs::path dir = model_dir(card);
  Models m{pl::EmbedderModel::load(dir, ro), pl::DetectorModel::load(dir, ro)};
  return cache.emplace(key, std::move(m)).first->second;
}

// Every measured run, per benchmark name, for the final table.
struct Run {
  pl::Timings t;
  double wall = 0;
  double cpu = 0;  // process CPU time (all threads) of the run
};

// Process CPU seconds (user + system, all threads). On a busy machine the wall
// times above inflate while this stays put: wall >= cpu / threads is the
// floor an idle machine would show for the parallel stages.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
std::map<std::string, std::vector<Run>>& runs() {
  static std::map<std::string, std::vector<Run>> r;
  return r;
}

void report(benchmark::State& state, const std::string& name, const pl::Timings& t, double wall, double cpu) {
  state.SetIterationTime(wall);
  runs()[name].push_back({t, wall, cpu});
  state.counters["cpu_ms"] = benchmark::Counter(cpu * 1e3, benchmark::Counter::kAvgIterations);
  state.counters["decode_ms"] = benchmark::Counter(t.decode * 1e3, benchmark::Counter::kAvgIterations);
  state.counters["resize_ms"] = benchmark::Counter(t.resize * 1e3, benchmark::Counter::kAvgIterations);
  state.counters["model_ms"] = benchmark::Counter(t.model * 1e3, benchmark::Counter::kAvgIterations);
  state.counters["jnd_ms"] = benchmark::Counter(t.jnd * 1e3, benchmark::Counter::kAvgIterations);
  state.counters["blend_ms"] = benchmark::Counter(t.blend * 1e3, benchmark::Counter::kAvgIterations);
  state.counters["encode_ms"] = benchmark::Counter(t.encode * 1e3, benchmark::Counter::kAvgIterations);
}

void BM_Embed(benchmark::State& state, std::string card, bool lowres, bool jpeg) {
  vm::set_vsmath_threads(kThreads);
  auto& m = models(card);
  const fs::path in = input_png(),
                 out = work_dir() / ("embed_" + card + (lowres ? "_lowres" : "") + (jpeg ? ".jpg" : ".png"));
  const pl::Message msg = pl::parse_message("random:1", m.embedder->nbits());
  pl::EmbedFileOptions fo;
  fo.embed.lowres_attenuation = lowres;
  if (jpeg) fo.jpeg_quality = 95;
  pl::embed_file(*m.embedder, in, out, msg, fo);  // warm-up (first invoke allocates / packs)
  const bool jnd = m.embedder->card().attenuation == "jnd_1_1";
  const std::string name = "embed " + card + (!jnd ? " (card: no JND)" : lowres ? " lowres JND" : " full-res JND") +
                           (lowres && !jnd ? " --lowres" : "") + (jpeg ? " -> JPEG q95" : " -> PNG");
  for (auto _ : state) {
    pl::Stopwatch sw;
    const double c0 = cpu_seconds();
    auto r = pl::embed_file(*m.embedder, in, out, msg, fo);
    const double wall = sw.lap();
    report(state, name, r.timings, wall, cpu_seconds() - c0);
  }
}

void BM_Detect(benchmark::State& state, std::string card) {
  vm::set_vsmath_threads(kThreads);
  auto& m = models(card);
  const fs::path wm = work_dir() / ("embed_" + card + ".png");
  if (!fs::exists(wm)) {
    const pl::Message msg = pl::parse_message("random:1", m.embedder->nbits());
    pl::embed_file(*m.embedder, input_png(), wm, msg);
  }
  pl::detect_file(*m.detector, wm);  // warm-up
  const std::string name = "detect " + card;
  for (auto _ : state) {
    pl::Stopwatch sw;
    const double c0 = cpu_seconds();
    auto r = pl::detect_file(*m.detector, wm);
    benchmark::DoNotOptimize(r.detection.logits.data());
    const double wall = sw.lap();
    report(state, name, r.timings, wall, cpu_seconds() - c0);
  }
}

// Batch throughput: 4 images through run_parallel with `jobs` workers and
// `interpreters` model instances; reports seconds per image.
void BM_EmbedBatch(benchmark::State& state, std::string card, int jobs, int interpreters) {
  vm::set_vsmath_threads(kThreads);
  auto& m = models(card, interpreters);
  const pl::Message msg = pl::parse_message("random:1", m.embedder->nbits());
  const int n = 4;
  std::vector<fs::path> outs;
  for (int i = 0; i < n; ++i) outs.push_back(work_dir() / ("batch_" + std::to_string(i) + ".png"));
  auto run_batch = [&] {
    pl::run_parallel(n, jobs, [&](size_t i) { pl::embed_file(*m.embedder, input_png(), outs[i], msg); }, nullptr);
  };
  run_batch();  // warm-up: creates the pooled interpreters
  const std::string name = "embed batch x4 " + card + " jobs=" + std::to_string(jobs) +
                           " interpreters=" + std::to_string(interpreters) + " (per image)";
  for (auto _ : state) {
    pl::Stopwatch sw;
    const double c0 = cpu_seconds();
    run_batch();
    double wall = sw.lap();
    state.SetIterationTime(wall / n);
    runs()[name].push_back({{}, wall / n, (cpu_seconds() - c0) / n});
  }
}

// The full-resolution image math alone (no model, no codec), 1920x1080.
void BM_Math(benchmark::State& state, std::string what) {
  vm::set_vsmath_threads(kThreads);
  std::vector<float> img(static_cast<size_t>(3) * kW * kH), small(3 * 256 * 256), out(img.size()), hmap(kW * kH);
  uint32_t s = 1;
  for (auto& v : img) v = static_cast<float>((s = s * 1664525u + 1013904223u) >> 8) * 0x1p-24f;
  for (size_t i = 0; i < small.size(); ++i) small[i] = img[i];
  const std::string name = "math " + what + " 1920x1080";
  for (auto _ : state) {
    pl::Stopwatch sw;
    const double c0 = cpu_seconds();
    pl::Timings t;
    if (what == "resize-down") vm::resize_bilinear_aa(img.data(), 3, kH, kW, 256, 256, small.data(), true), t.resize = sw.lap();
    else if (what == "resize-up-1ch") vm::resize_bilinear_aa(small.data(), 1, 256, 256, kH, kW, out.data(), true), t.resize = sw.lap();
    else if (what == "jnd") vm::jnd_heatmap(img.data(), kH, kW, hmap.data()), t.jnd = sw.lap();
    else if (what == "blend-1ch") vm::blend_additive(img.data(), 3, kH, kW, hmap.data(), 1, 1.f, 0.2f, out.data()), t.blend = sw.lap();
    double wall = t.total();
    state.SetIterationTime(wall);
    runs()[name].push_back({t, wall, cpu_seconds() - c0});
  }
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void print_table() {
  std::printf("\nMedians over the measured runs (ms), %d threads, input %dx%d PNG:\n", kThreads, kW, kH);
  std::printf("%-62s %4s %7s %7s %7s %7s %7s %7s %8s %8s\n", "benchmark", "runs", "decode", "resize", "model", "jnd",
              "blend", "encode", "wall", "cpu");
  for (auto& [name, rs] : runs()) {
    auto med = [&](auto f) {
      std::vector<double> v;
      for (auto& r : rs) v.push_back(f(r) * 1e3);
      return median(v);
    };
    std::printf("%-62s %4zu %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %8.1f %8.1f\n", name.c_str(), rs.size(),
                med([](const Run& r) { return r.t.decode; }), med([](const Run& r) { return r.t.resize; }),
                med([](const Run& r) { return r.t.model; }), med([](const Run& r) { return r.t.jnd; }),
                med([](const Run& r) { return r.t.blend; }), med([](const Run& r) { return r.t.encode; }),
                med([](const Run& r) { return r.wall; }), med([](const Run& r) { return r.cpu; }));
  }
  std::printf("cpu = process CPU time of the run (all threads); on a busy machine wall inflates, cpu does not.\n");
  std::printf("Reference (issue 4, Meta's PyTorch pipeline, this kind of machine, 2 threads): embed 1.0 full-res "
              "JND ~460 ms, detect ~310 ms.\n");
}

void register_all() {
  const int r = reps();
  auto common = [r](benchmark::internal::Benchmark* b) {
    b->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(r)->ReportAggregatesOnly(true);
  };
  for (std::string card : {"videoseal_1.0", "videoseal_0.0"}) {
    common(benchmark::RegisterBenchmark(("embed/" + card + "/fullres").c_str(), BM_Embed, card, false, false));
    common(benchmark::RegisterBenchmark(("embed/" + card + "/lowres").c_str(), BM_Embed, card, true, false));
    common(benchmark::RegisterBenchmark(("embed/" + card + "/fullres_jpeg").c_str(), BM_Embed, card, false, true));
    common(benchmark::RegisterBenchmark(("detect/" + card).c_str(), BM_Detect, card));
  }
  for (auto [jobs, interp] : {std::pair{1, 1}, {2, 1}, {2, 2}})
    common(benchmark::RegisterBenchmark(
        ("embed_batch/videoseal_1.0/jobs:" + std::to_string(jobs) + "/interpreters:" + std::to_string(interp)).c_str(),
        BM_EmbedBatch, std::string("videoseal_1.0"), jobs, interp));
  for (std::string w : {"resize-down", "resize-up-1ch", "jnd", "blend-1ch"})
    common(benchmark::RegisterBenchmark(("math/" + w).c_str(), BM_Math, w));
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipeline_bench: %s\n", e.what());
    return 1;
  }
  print_table();
  benchmark::Shutdown();
  return 0;
}
