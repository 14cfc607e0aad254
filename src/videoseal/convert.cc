#include "videoseal/convert.h"

#include <cstring>

#include "analysis/census.h"
#include "analysis/report.h"
#include "core/error.h"
#include "core/fs.h"
#include "graph/graph.h"
#include "tflite/model_io.h"
#include "videoseal/detector_convnext.h"
#include "videoseal/embedder.h"

#if __has_include("videoseal/detector_vit.h")
#include "videoseal/detector_vit.h"
#define SEALITE_HAVE_VIT 1
#else
#define SEALITE_HAVE_VIT 0
#endif

namespace sealite::vs {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// FlatBuffers cannot address more than 2 GiB; leave room for the graph itself.
constexpr int64_t kMaxFlatbufferBytes = (int64_t{1} << 31) - (int64_t{64} << 20);

std::string shape_str(const std::vector<int32_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

void say(const ConvertOptions& opt, const std::string& line) {
  if (opt.progress) opt.progress(line);
}

int64_t param_bytes_fp32(const Card& card, bool embedder, bool detector) {
  int64_t n = 0;
  for (const auto& [k, s] : model_param_shapes(card, embedder, detector)) {
    int64_t e = 1;
    for (int64_t d : s) e *= d;
    n += e;
  }
  return n * 4;
}

// fp16 when asked, or when "auto" and the float32 weights would not fit.
bool use_fp16(const Card& card, bool embedder, const ConvertOptions& opt) {
  if (opt.weights == "fp16") return true;
  if (opt.weights == "fp32") return false;
  check(opt.weights == "auto", "unknown weight storage '" + opt.weights + "' (fp32, fp16 or auto)");
  return param_bytes_fp32(card, embedder, !embedder) > kMaxFlatbufferBytes;
}

struct Built {
  std::vector<uint8_t> bytes;
  ModelSummary summary;
};

ModelSummary summarize_graph(const graph::Graph& g) {
  ModelSummary s;
  auto c = analysis::census(g);
  s.ops = c.ops;
  s.macs = c.macs_total;
  for (const auto& [name, st] : c.by_op) s.op_counts[name] = st.count;
  s.gather_nd = s.op_counts.count("GATHER_ND") ? s.op_counts["GATHER_ND"] : 0;
  s.transpose = s.op_counts.count("TRANSPOSE") ? s.op_counts["TRANSPOSE"] : 0;
  bool f16 = false;
  for (int t = 0; t < g.num_tensors(); ++t) {
    const auto* d = g.data(t);
    if (!d) continue;
    if (g.tensor(t).type == tfl::TensorType_FLOAT32) s.params += static_cast<int64_t>(d->size() / 4);
    if (g.tensor(t).type == tfl::TensorType_FLOAT16) {
      s.params += static_cast<int64_t>(d->size() / 2);
      f16 = true;
    }
  }
  s.weights = f16 ? "fp16" : "fp32";
  for (int t : g.subgraph().inputs) s.inputs.push_back(g.tensor(t).name + shape_str(g.tensor(t).shape));
  for (int t : g.subgraph().outputs) s.outputs.push_back(g.tensor(t).name + shape_str(g.tensor(t).shape));
  return s;
}

Built finish(graph::Graph& g, const Card& card, const std::string& kind, const ConvertOptions& opt) {
  g.model().description = "sealite " + kind + " (" + card.family + ", card " + card.name + ")";
  auto cj = card.to_json().dump();
  tfl::set_metadata(g.model(), kCardMetadataName, std::vector<uint8_t>(cj.begin(), cj.end()));
  graph::compact(g.model());
  int64_t total = 0;
  for (const auto& b : g.model().buffers)
    if (b) total += static_cast<int64_t>(b->data.size());
  if (total > kMaxFlatbufferBytes)
    throw Error(kind + " of card " + card.name + ": " + std::to_string(total >> 20) +
                " MiB of weights do not fit one .tflite (TensorFlow Lite 2.9 has a 2 GiB FlatBuffer limit and no "
                "external buffers)" + (opt.weights == "fp16" ? "" : "; try --weights fp16"));
  Built b;
  b.summary = summarize_graph(g);
  b.summary.kind = kind;
  b.bytes = tfl::write_model(g.model());
  b.summary.bytes = b.bytes.size();
  return b;
}

Built build_embedder_built(const ckpt::Checkpoint& ck, const Card& card, const ConvertOptions& opt) {
  graph::Graph g;
  Lowering low = opt.lowering;
  low.fp16_weights = use_fp16(card, true, opt);
  Layers L(g, low);
  const int S = card.img_size;
  Tensor image = L.input("image", {1, S, S, 3});
  Tensor message = L.input("message", {1, card.nbits});
  Tensor r = build_embedder(L, ck, "embedder.", card, image, message);
  L.output(r, "residual");
  return finish(g, card, "embedder", opt);
}

Built build_detector_built(const ckpt::Checkpoint& ck, const Card& card, const ConvertOptions& opt) {
  graph::Graph g;
  Lowering low = opt.lowering;
  low.fp16_weights = use_fp16(card, false, opt);
  Layers L(g, low);
  const int S = card.img_size;
  Tensor image = L.input("image", {1, S, S, 3});
  Tensor logits;
  if (card.detector_is_vit()) {
#if SEALITE_HAVE_VIT
    logits = build_vit_detector(L, ck, "detector.", card, image);
#else
    throw Error("card " + card.name + ": the ViT detector (" + card.extractor_model +
                ", VideoSeal 0.0) is not available in this build; use --only embedder");
#endif
  } else {
    logits = build_convnext_detector(L, ck, "detector.", card, image);
  }
  L.output(logits, "logits");
  return finish(g, card, "detector", opt);
}

// ------------------------------------------------------------ random init

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

// PyTorch-like initial values, so random models compute sane activations.
void fill_random(const std::string& key, const std::vector<int64_t>& shape, uint64_t seed, float* out, int64_t n) {
  Rng rng(seed ^ fnv1a(key));
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  const bool vec = shape.size() <= 1 || (shape.size() == 4 && shape[0] == 1 && shape[1] == 1 && shape[2] == 1) ||
                   (shape.size() == 3 && shape[1] == 1 && shape[2] == 1);
  auto uni = [&](float a, float b) {
    for (int64_t i = 0; i < n; ++i) out[i] = rng.uniform(a, b);
  };
  if (ends_with(key, "running_var")) return uni(0.5f, 1.5f);
  if (ends_with(key, "running_mean")) return uni(-0.1f, 0.1f);
  if (ends_with(key, "msg_embeddings.weight")) {
    for (int64_t i = 0; i < n; ++i) out[i] = rng.normal();
    return;
  }
  if (key.find("rel_pos") != std::string::npos || ends_with(key, "pos_embed")) {
    for (int64_t i = 0; i < n; ++i) out[i] = 0.02f * rng.normal();
    return;
  }
  if (ends_with(key, ".gamma") && shape.size() == 3) return uni(0.8f, 1.2f);  // ChanRMSNorm
  if (ends_with(key, "grn.gamma") || ends_with(key, "grn.beta")) return uni(-0.1f, 0.1f);
  if (vec) {
    if (ends_with(key, "bias") || ends_with(key, "beta")) return uni(-0.05f, 0.05f);
    return uni(0.8f, 1.2f);  // norm weights
  }
  const float bound = 1.f / std::sqrt(static_cast<float>(std::max<int64_t>(fan_in, 1)));
  uni(-bound, bound);
}

}  // namespace

json ModelSummary::to_json() const {
  json j;
  j["kind"] = kind;
  j["path"] = path.string();
  j["bytes"] = bytes;
  j["ops"] = ops;
  j["gather_nd"] = gather_nd;
  j["transpose"] = transpose;
  j["macs"] = macs;
  j["params"] = params;
  j["weights"] = weights;
  j["op_counts"] = op_counts;
  j["inputs"] = inputs;
  j["outputs"] = outputs;
  if (!delegation.is_null()) j["delegation"] = delegation;
  return j;
}

std::vector<uint8_t> build_embedder_model(const ckpt::Checkpoint& ck, const Card& card, const ConvertOptions& opt) {
  return build_embedder_built(ck, card, opt).bytes;
}

std::vector<uint8_t> build_detector_model(const ckpt::Checkpoint& ck, const Card& card, const ConvertOptions& opt) {
  return build_detector_built(ck, card, opt).bytes;
}

ModelSummary summarize_model(const std::vector<uint8_t>& bytes, const ConvertOptions& opt) {
  graph::Graph g(tfl::read_model(bytes.data(), bytes.size()));
  ModelSummary s = summarize_graph(g);
  s.bytes = bytes.size();
  if (opt.delegation) s.delegation = analysis::delegation_report(bytes, opt.threads);
  return s;
}

std::vector<ModelSummary> convert_checkpoint(const ckpt::Checkpoint& ck, const Card& card, const fs::path& outdir,
                                             const ConvertOptions& opt) {
  check(opt.embedder || opt.detector, "nothing to convert");
  std::vector<Built> built;
  // A checkpoint that does not fit the card: say so, with the key and shapes.
  auto guarded = [&](auto&& fn) {
    try {
      return fn();
    } catch (const Error& e) {
      std::string m = e.what();
      if (m.rfind("checkpoint key", 0) == 0 || m.find("has no key") != std::string::npos ||
          m.find("missing") != std::string::npos)
        throw Error("the checkpoint does not fit card '" + card.name + "' (" + card.family + "): " + m);
      throw;
    }
  };
  int step = 0, steps = (opt.embedder ? 1 : 0) + (opt.detector ? 1 : 0);
  if (opt.embedder) {
    say(opt, "[" + std::to_string(++step) + "/" + std::to_string(steps) + "] building the embedder (" +
                 card.embedder_model + ", " + std::to_string(card.nbits) + " bits)");
    built.push_back(guarded([&] { return build_embedder_built(ck, card, opt); }));
  }
  if (opt.detector) {
    say(opt, "[" + std::to_string(++step) + "/" + std::to_string(steps) + "] building the detector (" +
                 card.extractor_model + ")");
    built.push_back(guarded([&] { return build_detector_built(ck, card, opt); }));
  }
  // Everything built: now write (each file atomically).
  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec) throw Error("cannot create output directory " + outdir.string() + ": " + ec.message());
  std::vector<ModelSummary> out;
  for (auto& b : built) {
    fs::path p = outdir / (b.summary.kind + ".tflite");
    say(opt, "writing " + p.string() + " (" + std::to_string(b.bytes.size() >> 20) + " MiB)");
    write_file_atomic(p, b.bytes);
    b.summary.path = p;
    if (opt.delegation) {
      say(opt, "loading " + p.filename().string() + " in TensorFlow Lite + XNNPACK (delegation report)");
      b.summary.delegation = analysis::delegation_report(b.bytes, opt.threads);
    }
    out.push_back(b.summary);
    b.bytes.clear();
    b.bytes.shrink_to_fit();
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> model_param_shapes(const Card& card, bool embedder,
                                                                             bool detector) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> s;
  if (embedder) {
    auto e = embedder_param_shapes(card, "embedder.");
    s.insert(s.end(), e.begin(), e.end());
  }
  if (detector) {
    if (card.detector_is_vit()) {
#if SEALITE_HAVE_VIT
      auto d = vit_detector_param_shapes(card, "detector.");
      s.insert(s.end(), d.begin(), d.end());
#else
      throw Error("card " + card.name + ": the ViT detector is not available in this build");
#endif
    } else {
      auto d = convnext_detector_param_shapes(card, "detector.");
      s.insert(s.end(), d.begin(), d.end());
    }
  }
  return s;
}

ckpt::Checkpoint random_checkpoint(const Card& card, uint64_t seed, bool embedder, bool detector) {
  auto shapes = model_param_shapes(card, embedder, detector);
  json header = json::object();
  int64_t off = 0;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::vector<size_t> keep;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const auto& [k, s] = shapes[i];
    if (s.empty() || header.contains(k)) continue;  // scalars (num_batches_tracked), duplicates
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    header[k] = {{"dtype", "F32"}, {"shape", s}, {"data_offsets", {off, off + n * 4}}};
    ranges.push_back({off, n});
    keep.push_back(i);
    off += n * 4;
  }
  header["__metadata__"] = {{"format", "pt"}, {"sealite.random_init_seed", std::to_string(seed)}};
  std::string h = header.dump();
  while ((8 + h.size()) % 8) h += ' ';
  std::vector<uint8_t> bytes(8 + h.size() + static_cast<size_t>(off));
  uint64_t hl = h.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(hl >> (8 * i));
  std::memcpy(bytes.data() + 8, h.data(), h.size());
  float* data = reinterpret_cast<float*>(bytes.data() + 8 + h.size());  // 8-aligned
  for (size_t j = 0; j < keep.size(); ++j) {
    const auto& [k, s] = shapes[keep[j]];
    fill_random(k, s, seed, data + ranges[j].first / 4, ranges[j].second);
  }
  return ckpt::Checkpoint::from_memory(std::move(bytes), "random-init(" + card.name + ", seed " +
                                                             std::to_string(seed) + ")");
}

std::optional<Card> card_from_model(const std::vector<uint8_t>& model_bytes) {
  auto m = tfl::read_model(model_bytes.data(), model_bytes.size());
  const auto* md = tfl::find_metadata(*m, kCardMetadataName);
  if (!md) return std::nullopt;
  try {
    return Card::from_json(json::parse(md->begin(), md->end()));
  } catch (const json::exception& e) {
    throw Error(std::string("model metadata '") + kCardMetadataName + "' is not valid JSON: " + e.what());
  }
}

}  // namespace sealite::vs
