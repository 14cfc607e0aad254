// sealite convert: VideoSeal checkpoint + card -> embedder.tflite / detector.tflite.
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "checkpoint/checkpoint.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "spread_spectrum/ss_convert.h"
#include "videoseal/card.h"
#include "videoseal/convert.h"

namespace sealite::cli {
namespace {

namespace fs = std::filesystem;

std::string human_bytes(double b) {
  const char* u[] = {"B", "KiB", "MiB", "GiB"};
  int i = 0;
  while (b >= 1024 && i < 3) {
    b /= 1024;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, i ? "%.1f %s" : "%.0f %s", b, u[i]);
  return buf;
}

std::string human_count(double v) {
  char buf[32];
  if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.2f G", v / 1e9);
  else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

vs::Lowering parse_lowering(const Args& a) {
  vs::Lowering l;
  const std::string g = a.get("gelu"), r = a.get("reflect-pad"), c = a.get("channel-reduce"), t = a.get("tanh");
  if (g == "erf") l.gelu = vs::Lowering::Gelu::erf_rational;
  else if (g == "builtin") l.gelu = vs::Lowering::Gelu::builtin;
  else throw Error("convert: --gelu must be erf or builtin");
  if (r == "masked") l.reflect_pad = vs::Lowering::ReflectPad::masked_dwconv;
  else if (r == "slice") l.reflect_pad = vs::Lowering::ReflectPad::slice_concat;
  else if (r == "mirror") l.reflect_pad = vs::Lowering::ReflectPad::mirror_pad;
  else throw Error("convert: --reflect-pad must be masked, slice or mirror");
  if (c == "conv") l.channel_reduce = vs::Lowering::ChannelReduce::conv1x1;
  else if (c == "reduce") l.channel_reduce = vs::Lowering::ChannelReduce::reduce_op;
  else throw Error("convert: --channel-reduce must be conv or reduce");
  if (t == "logistic") l.tanh = vs::Lowering::Tanh::logistic;
  else if (t == "builtin") l.tanh = vs::Lowering::Tanh::builtin;
  else throw Error("convert: --tanh must be logistic or builtin");
  return l;
}

// The built-in classical default: no checkpoint, deterministic graphs.
int write_sealite_ss(const Args& a) {
  if (!a.positionals().empty() || a.flag_set("random-init"))
    throw Error("convert: --card sealite-ss is built without a checkpoint (drop CHECKPOINT / --random-init)");
  const fs::path outdir = a.get("output");
  std::fprintf(stderr, "card sealite-ss: classical informed spread-spectrum watermark (not VideoSeal), 64 bits\n");
  ss::write_models(outdir);
  const fs::path files[2] = {outdir / "embedder.tflite", outdir / "detector.tflite"};
  if (a.flag_set("json")) {
    nlohmann::json j;
    j["card"] = ss::card().to_json();
    j["models"] = nlohmann::json::array();
    for (const auto& f : files) j["models"].push_back({{"path", f.string()}, {"bytes", fs::file_size(f)}});
    std::string s = j.dump(2) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
    return 0;
  }
  for (const auto& f : files) std::printf("%s (%ju bytes)\n", f.string().c_str(), static_cast<uintmax_t>(fs::file_size(f)));
  return 0;
}

int run(const std::vector<std::string>& argv) {
  Args a("convert",
         "build TensorFlow Lite models (embedder.tflite, detector.tflite) natively from a VideoSeal checkpoint");
  a.positional("CHECKPOINT", "the PyTorch checkpoint (.pth from torch.save, or .safetensors); omit with --random-init",
               false)
      .option("card", "NAME|FILE", "built-in card (videoseal_0.0, videoseal_1.0, pixelseal, chunkyseal) or a card .yaml "
              "in VideoSeal's format; `sealite-ss` builds the classical built-in default (no checkpoint)", std::nullopt,
              'c')
      .option("output", "OUTDIR", "directory for embedder.tflite / detector.tflite (created if needed)", std::nullopt, 'o')
      .option("only", "embedder|detector", "convert only one of the two models")
      .flag("random-init", "no checkpoint: full-size models with deterministic random weights (benchmarks, demos)")
      .option("seed", "N", "seed of --random-init", "0")
      .option("weights", "auto|fp32|fp16", "weight storage; auto = fp32 unless it exceeds the 2 GiB FlatBuffer limit of "
              "TensorFlow Lite 2.9 (full-size ChunkySeal), then fp16 constants + DEQUANTIZE (math stays fp32)", "auto")
      .flag("json", "print the summary as JSON on standard output")
      .flag("delegation", "also load each model in TensorFlow Lite + XNNPACK and report nodes, partitions and "
            "built-in ops")
      .option("threads", "N", "threads for --delegation", "2")
      .option("gelu", "erf|builtin", "GELU lowering: exact-erf rational form from XNNPACK ops, or the GELU op "
              "(built-in kernel only in 2.9)", "builtin")
      .option("reflect-pad", "slice|masked|mirror", "ReflectionPad2d(1): 4 SLICE + 2 CONCATENATION (built-in copies; "
              "fastest in 2.9), zero PAD + masked depthwise copies (XNNPACK only: one partition, ~10% slower), or "
              "MIRROR_PAD", "slice")
      .option("channel-reduce", "conv|reduce", "channel sums of LayerNorm / RMSNorm: 1x1 CONV_2D (XNNPACK) or "
              "MEAN/SUM (built-in)", "conv")
      .option("tanh", "logistic|builtin", "tanh as 2*LOGISTIC(2x)-1 (XNNPACK) or TANH (built-in)", "logistic")
      .note("Model contract (NHWC float32): embedder inputs `image` [1,S,S,3] RGB in [0,1] and `message` [1,nbits] "
            "0/1, output `residual` [1,S,S,C] (tanh output before JND and scaling; C = 1 for Y-channel families); "
            "detector input `image`, output `logits` [1,1+nbits] (index 0 = detection). The card is stored as JSON "
            "metadata \"sealite.card\".\n"
            "Every model is built in memory before anything is written; files are replaced atomically. A checkpoint "
            "that does not fit the card stops with the key and both shapes, and nothing is written.\n"
            "Progress goes to standard error, the summary to standard output.")
      .example("sealite convert y_256b_img.pth --card videoseal_1.0 -o models/", "VideoSeal 1.0")
      .example("sealite convert ckpt.pth --card my_card.yaml -o out/ --only detector", "a card file, detector only")
      .example("sealite convert --card pixelseal --random-init --seed 1 -o bench/", "full-size random weights")
      .example("sealite convert --card sealite-ss -o models/default", "the classical built-in default (what embed / "
               "detect use on first run when the default model location is empty)")
      .example("sealite convert ckpt.pth -c videoseal_0.0 -o out/ --json --delegation", "summary as JSON, with what "
               "XNNPACK takes");
  if (!a.parse(argv)) return 0;
  if (!a.has("card")) throw Error("convert: --card is required (a built-in name or a card .yaml)");
  if (!a.has("output")) throw Error("convert: -o OUTDIR is required");
  if (a.get("card") == ss::kCardName) return write_sealite_ss(a);
  const bool random = a.flag_set("random-init");
  if (random && !a.positionals().empty()) throw Error("convert: give either a CHECKPOINT or --random-init, not both");
  if (!random && a.positionals().empty()) throw Error("convert: CHECKPOINT is required (or --random-init)");

  vs::ConvertOptions opt;
  if (a.has("only")) {
    std::string only = a.get("only");
    if (only == "embedder") opt.detector = false;
    else if (only == "detector") opt.embedder = false;
    else throw Error("convert: --only must be embedder or detector");
  }
  opt.weights = a.get("weights");
  if (opt.weights != "auto" && opt.weights != "fp32" && opt.weights != "fp16")
    throw Error("convert: --weights must be auto, fp32 or fp16");
  opt.lowering = parse_lowering(a);
  opt.delegation = a.flag_set("delegation");
  opt.threads = a.get_int("threads");
  opt.progress = [](const std::string& s) {
    std::fprintf(stderr, "%s\n", s.c_str());
    std::fflush(stderr);
  };
  const bool json = a.flag_set("json");

  vs::Card card = vs::load_card(a.get("card"));
  opt.progress("card " + card.name + " (" + card.family + "): " + std::to_string(card.nbits) + " bits, embedder " +
               card.embedder_model + ", detector " + card.extractor_model);
  const fs::path outdir = a.get("output");
  std::vector<vs::ModelSummary> result;
  if (random) {
    const int64_t seed = std::stoll(a.get("seed"));
    check(seed >= 0, "convert: --seed must be >= 0");
    // One part at a time keeps the peak memory at one model's weights.
    for (bool emb : {true, false}) {
      if (emb ? !opt.embedder : !opt.detector) continue;
      opt.progress(std::string("generating random ") + (emb ? "embedder" : "detector") + " weights (seed " +
                   std::to_string(seed) + ")");
      auto ck = vs::random_checkpoint(card, static_cast<uint64_t>(seed), emb, !emb);
      vs::ConvertOptions o = opt;
      o.embedder = emb;
      o.detector = !emb;
      auto r = vs::convert_checkpoint(ck, card, outdir, o);
      result.insert(result.end(), r.begin(), r.end());
    }
  } else {
    const fs::path ckpt_path = a.positionals()[0];
    opt.progress("reading " + ckpt_path.string());
    auto ck = ckpt::Checkpoint::open(ckpt_path);
    result = vs::convert_checkpoint(ck, card, outdir, opt);
  }

  if (json) {
    nlohmann::json j;
    j["card"] = card.to_json();
    j["random_init"] = random;
    if (random) j["seed"] = std::stoll(a.get("seed"));
    j["models"] = nlohmann::json::array();
    for (const auto& m : result) j["models"].push_back(m.to_json());
    std::string s = j.dump(2) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
    return 0;
  }
  for (const auto& m : result) {
    std::printf("%s: %s\n", m.kind.c_str(), m.path.string().c_str());
    std::printf("  size %s (%s weights, %s parameters), %d ops, %d GATHER_ND, %d TRANSPOSE, %s MACs\n",
                human_bytes(static_cast<double>(m.bytes)).c_str(), m.weights.c_str(),
                human_count(static_cast<double>(m.params)).c_str(), m.ops, m.gather_nd, m.transpose,
                human_count(static_cast<double>(m.macs)).c_str());
    std::string ins, outs, ops;
    for (const auto& s : m.inputs) ins += (ins.empty() ? "" : ", ") + s;
    for (const auto& s : m.outputs) outs += (outs.empty() ? "" : ", ") + s;
    for (const auto& [k, v] : m.op_counts) ops += (ops.empty() ? "" : ", ") + k + " " + std::to_string(v);
    std::printf("  inputs %s -> outputs %s\n  ops: %s\n", ins.c_str(), outs.c_str(), ops.c_str());
    if (!m.delegation.is_null()) {
      const auto& d = m.delegation;
      if (d.value("loads", false)) {
        std::printf("  XNNPACK (%d threads): %d of %d nodes delegated in %d partition(s), %d on built-in kernels\n",
                    d.value("threads", 0), d.value("delegated_nodes", 0), d.value("nodes", 0),
                    d.value("partitions", 0), d.value("builtin_nodes", 0));
      } else {
        std::printf("  does not load in TensorFlow Lite: %s\n", d.value("error", std::string("?")).c_str());
      }
    }
  }
  return 0;
}

Register reg("convert", "build embedder.tflite / detector.tflite from a VideoSeal checkpoint (or random weights)", run);

}  // namespace
}  // namespace sealite::cli
