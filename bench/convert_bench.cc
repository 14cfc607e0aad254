// The four full-size VideoSeal model families as `sealite convert --random-init`
// builds them (fp32 math; ChunkySeal's weights are stored fp16 because its
// fp32 weights exceed the 2 GiB .tflite limit), run in TensorFlow Lite 2.9
// with XNNPACK at 1 and 2 threads. Each benchmark is one invoke, repeated
// (default 10 times, SEALITE_BENCH_REPS to change); read the `median` rows.
//
//   build/bench/convert_bench                                   # everything
//   build/bench/convert_bench --benchmark_filter='videoseal_1.0' # one family
//   SEALITE_BENCH_MODEL_DIR=models build/bench/convert_bench    # use <dir>/<card>/{embedder,detector}.tflite
//
// Models are built lazily (only for the benchmarks the filter selects) with
// seed 1. Full-size ChunkySeal needs ~10 GB of RAM to build and minutes to run.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "core/error.h"
#include "core/fs.h"
#include "runtime/interpreter.h"
#include "videoseal/card.h"
#include "videoseal/convert.h"

namespace {

using namespace sealite;
namespace fs = std::filesystem;

// A model variant: the default lowerings, or one alternative (lowering benchmarks).
struct Variant {
  std::string name = "default";
  vs::Lowering lowering;
};

std::vector<uint8_t> model(const std::string& card_name, bool embedder, const Variant& v) {
  if (const char* dir = std::getenv("SEALITE_BENCH_MODEL_DIR"); dir && v.name == "default") {
    fs::path p = fs::path(dir) / card_name / (embedder ? "embedder.tflite" : "detector.tflite");
    if (fs::exists(p)) return read_file(p);
  }
  vs::Card card = vs::load_card(card_name);
  auto ck = vs::random_checkpoint(card, 1, embedder, !embedder);
  vs::ConvertOptions opt;
  opt.lowering = v.lowering;
  return embedder ? vs::build_embedder_model(ck, card, opt) : vs::build_detector_model(ck, card, opt);
}

// One interpreter at a time, kept across the repetitions of a benchmark.
rt::Interpreter& interpreter(const std::string& card_name, bool embedder, const Variant& var, int threads,
                             size_t* model_bytes) {
  static std::string current, current_model;
  static std::unique_ptr<rt::Interpreter> it;
  static std::vector<uint8_t> bytes;
  static size_t bytes_size = 0;
  const std::string mkey = card_name + (embedder ? "/e/" : "/d/") + var.name;
  const std::string key = mkey + "/" + std::to_string(threads);
  if (key != current) {
    it.reset();
    current.clear();
    if (mkey != current_model) {
      bytes.clear();
      bytes.shrink_to_fit();
      current_model.clear();
      bytes = model(card_name, embedder, var);
      current_model = mkey;
    }
    bytes_size = bytes.size();
    rt::Options o;
    o.threads = threads;
    o.xnnpack = true;
    it = std::make_unique<rt::Interpreter>(bytes, o);
    // Deterministic inputs: an image in [0,1] and a 0/1 message.
    vs::Rng rng(123);
    for (int i = 0; i < it->input_count(); ++i) {
      auto info = it->input_info(i);
      std::vector<float> v(info.bytes / sizeof(float));
      for (auto& x : v) x = info.name == "message" ? static_cast<float>(rng.next() & 1) : rng.uniform(0.f, 1.f);
      it->set_input(i, v);
    }
    it->invoke();  // warm-up (XNNPACK packs weights on the first run)
    current = key;
  }
  *model_bytes = bytes_size;
  return *it;
}

void run(benchmark::State& state, const std::string& card_name, bool embedder, const Variant& var, int threads) {
  size_t bytes = 0;
  rt::Interpreter* it = nullptr;
  try {
    it = &interpreter(card_name, embedder, var, threads, &bytes);
  } catch (const sealite::Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  if (!it->delegation().xnnpack_applied && rt::Interpreter::xnnpack_available()) {
    state.SkipWithError("XNNPACK was not applied");
    return;
  }
  for (auto _ : state) it->invoke();
  state.counters["MiB"] = static_cast<double>(bytes) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 10;
  if (const char* r = std::getenv("SEALITE_BENCH_REPS")) reps = std::max(1, std::atoi(r));
  auto add = [&](const std::string& name, const std::string& c, bool emb, const Variant& v, int threads) {
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { run(s, c, emb, v, threads); })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(reps)
        ->ReportAggregatesOnly(true)
        ->UseRealTime();
  };
  std::vector<std::string> cards = {"videoseal_0.0", "videoseal_1.0", "pixelseal", "chunkyseal"};
  for (const auto& c : cards)
    for (bool emb : {true, false})
      for (int threads : {1, 2})
        add(c + (emb ? "/embedder" : "/detector") + "/xnnpack/threads:" + std::to_string(threads), c, emb, {}, threads);
  // The alternatives behind the default lowerings (layers.h), on full-size models.
  std::vector<std::tuple<std::string, std::string, bool, Variant>> alts;
  {
    Variant v;
    v.name = "reflect_pad=masked_dwconv";  // the XNNPACK-only form (one partition)
    v.lowering.reflect_pad = vs::Lowering::ReflectPad::masked_dwconv;
    for (const char* c : {"videoseal_0.0", "videoseal_1.0", "pixelseal"}) alts.push_back({c, "embedder", true, v});
    alts.push_back({"videoseal_1.0", "detector", false, v});
    v.name = "reflect_pad=mirror_pad";
    v.lowering.reflect_pad = vs::Lowering::ReflectPad::mirror_pad;
    alts.push_back({"videoseal_1.0", "embedder", true, v});
  }
  {
    Variant v;
    v.name = "gelu=erf_rational";
    v.lowering.gelu = vs::Lowering::Gelu::erf_rational;
    alts.push_back({"videoseal_1.0", "detector", false, v});
  }
  {
    Variant v;
    v.name = "channel_reduce=reduce_op";
    v.lowering.channel_reduce = vs::Lowering::ChannelReduce::reduce_op;
    alts.push_back({"videoseal_0.0", "embedder", true, v});
    alts.push_back({"videoseal_1.0", "detector", false, v});
  }
  {
    Variant v;
    v.name = "fold_message=false";
    v.lowering.fold_message = false;
    alts.push_back({"videoseal_1.0", "embedder", true, v});
  }
  {
    Variant v;
    v.name = "tanh=builtin";
    v.lowering.tanh = vs::Lowering::Tanh::builtin;
    alts.push_back({"videoseal_1.0", "embedder", true, v});
  }
  {
    Variant v;  // every op on XNNPACK: one partition
    v.name = "xnnpack_only";
    v.lowering.gelu = vs::Lowering::Gelu::erf_rational;
    v.lowering.reflect_pad = vs::Lowering::ReflectPad::masked_dwconv;
    alts.push_back({"videoseal_1.0", "detector", false, v});
  }
  for (const auto& [c, part, emb, v] : alts)
    for (int threads : {1, 2})
      add("lowering/" + c + "/" + part + "/" + v.name + "/threads:" + std::to_string(threads), c, emb, v, threads);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const sealite::Error& e) {
    std::fprintf(stderr, "convert_bench: %s\n", e.what());
    return 2;
  }
  benchmark::Shutdown();
  return 0;
}
