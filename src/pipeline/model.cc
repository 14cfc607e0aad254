#include "pipeline/model.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <flatbuffers/flatbuffers.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "runtime/interpreter.h"
#include "spread_spectrum/ss_convert.h"
#include "tflite/schema.h"

namespace sealite::pipeline {

namespace fs = std::filesystem;

const char* role_name(ModelRole r) {
  switch (r) {
    case ModelRole::embedder: return "embedder";
    case ModelRole::detector: return "detector";
    default: return "unknown model";
  }
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool name_has(const std::string& name, const char* what) { return lower(name).find(what) != std::string::npos; }

std::string shape_str(const std::vector<int>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ',';
    r += std::to_string(s[i]);
  }
  return r + "]";
}

}  // namespace

ModelHeader read_model_header(const uint8_t* data, size_t size, const std::string& what) {
  check(data != nullptr && size >= 8, what + ": not a TensorFlow Lite model (file too small)");
  check(tfl::ModelBufferHasIdentifier(data), what + ": not a TensorFlow Lite model (no TFL3 identifier)");
  flatbuffers::Verifier verifier(data, size, flatbuffers::Verifier::Options{});
  check(tfl::VerifyModelBuffer(verifier), what + ": corrupt TensorFlow Lite model (flatbuffer verification failed)");
  const tfl::Model* model = tfl::GetModel(data);
  ModelHeader h;
  check(model->subgraphs() && model->subgraphs()->size() > 0, what + ": the model has no subgraph");
  const tfl::SubGraph* sg = model->subgraphs()->Get(0);
  auto tensor_name = [&](int32_t t) -> std::string {
    if (!sg->tensors() || t < 0 || static_cast<uint32_t>(t) >= sg->tensors()->size()) return "";
    auto* n = sg->tensors()->Get(static_cast<uint32_t>(t))->name();
    return n ? n->str() : "";
  };
  if (sg->inputs())
    for (int32_t t : *sg->inputs()) h.inputs.push_back(tensor_name(t));
  if (sg->outputs())
    for (int32_t t : *sg->outputs()) h.outputs.push_back(tensor_name(t));

  // Role from the tensor names of the model contract, else from the input count.
  bool has_message = std::any_of(h.inputs.begin(), h.inputs.end(), [](auto& n) { return name_has(n, "message"); });
  bool has_residual = std::any_of(h.outputs.begin(), h.outputs.end(), [](auto& n) { return name_has(n, "residual"); });
  bool has_logits = std::any_of(h.outputs.begin(), h.outputs.end(), [](auto& n) { return name_has(n, "logits"); });
  if (has_message || has_residual || h.inputs.size() == 2) h.role = ModelRole::embedder;
  else if (has_logits || h.inputs.size() == 1) h.role = ModelRole::detector;

  // The card metadata.
  if (model->metadata()) {
    for (const tfl::Metadata* md : *model->metadata()) {
      if (!md->name() || md->name()->str() != kCardMetadata) continue;
      check(model->buffers() && md->buffer() < model->buffers()->size(),
            what + ": metadata '" + kCardMetadata + "' points at a missing buffer");
      const tfl::Buffer* buf = model->buffers()->Get(md->buffer());
      std::string text;
      if (buf->data()) {
        text.assign(reinterpret_cast<const char*>(buf->data()->data()), buf->data()->size());
      } else if (buf->offset() > 1 && buf->size() > 0) {
        check(buf->offset() <= size && buf->size() <= size - buf->offset(),
              what + ": metadata '" + kCardMetadata + "' lies outside the file");
        text.assign(reinterpret_cast<const char*>(data + buf->offset()), buf->size());
      }
      while (!text.empty() && text.back() == '\0') text.pop_back();
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      check(!j.is_discarded() && j.is_object(), what + ": metadata '" + kCardMetadata + "' is not a JSON object");
      if (j.contains("card") && j["card"].is_object()) j = j["card"];
      try {
        h.card = vs::Card::from_json(j);
      } catch (const Error& e) {
        throw Error(what + ": " + e.what());
      }
      check(h.card->nbits > 0 && h.card->nbits <= 65536, what + ": the card's nbits is out of range");
      break;
    }
  }
  return h;
}

fs::path default_model_dir() {
  if (const char* d = std::getenv("SEALITE_MODEL_DIR"); d && *d) return fs::path(d);
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "sealite" / "models" / "default";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".local" / "share" / "sealite" / "models" / "default";
  return fs::path(".local") / "share" / "sealite" / "models" / "default";
}

fs::path resolve_model_dir(const std::optional<std::string>& given) {
  std::error_code ec;
  if (given) {
    fs::path p(*given);
    check(fs::exists(p, ec), "model '" + p.string() + "' does not exist (a directory written by `sealite convert`, "
                             "or a .tflite file)");
    return p;
  }
  fs::path p = default_model_dir();
  bool empty = !fs::is_directory(p, ec) || fs::is_empty(p, ec);
  if (empty) {
    // First use: the built-in classical default (sealite-ss), so embed/detect
    // work with nothing downloaded. A converted VideoSeal model replaces it.
    const char* env = std::getenv("SEALITE_MODEL_DIR");
    try {
      ss::write_models(p);
    } catch (const Error& e) {
      throw Error(std::string("no model: pass --model DIR, or put one in the default location ") + p.string() +
                  (env && *env ? " ($SEALITE_MODEL_DIR)" : " (or set $SEALITE_MODEL_DIR)") +
                  "; make one with `sealite convert CHECKPOINT.pth --card videoseal_1.0 -o " + p.string() +
                  "` (writing the built-in default there failed: " + e.what() + ")");
    }
    std::fprintf(stderr,
                 "sealite: no model in %s; wrote the built-in default there (sealite-ss, a classical spread-spectrum "
                 "watermark, not VideoSeal). Replace it with `sealite convert CHECKPOINT.pth --card videoseal_1.0 "
                 "-o %s`, or pass --model DIR.\n",
                 p.string().c_str(), p.string().c_str());
  }
  return p;
}

fs::path model_file(const fs::path& location, ModelRole role) {
  std::error_code ec;
  if (fs::is_directory(location, ec)) {
    fs::path f = location / (std::string(role_name(role)) + ".tflite");
    check(fs::is_regular_file(f, ec), "model directory " + location.string() + " has no " + f.filename().string() +
                                          " (write one with `sealite convert CHECKPOINT --card NAME -o " +
                                          location.string() + "`)");
    return f;
  }
  return location;
}

// ---------------------------------------------------------------- runner

class ModelRunner {
 public:
  ModelRunner(std::vector<uint8_t> bytes, const RuntimeOptions& opt, const std::string& what)
      : bytes_(std::move(bytes)), what_(what), max_(std::max(1, opt.interpreters)) {
    rt_.threads = std::max(1, opt.threads);
    rt_.xnnpack = opt.xnnpack;
    all_.push_back(make());
    free_.push_back(all_.back().get());
  }

  rt::Interpreter& first() { return *all_.front(); }

  // Borrow an interpreter for one call.
  class Lease {
   public:
    Lease(ModelRunner& r) : r_(r) { it_ = r_.acquire(); }
    ~Lease() { r_.release(it_); }
    rt::Interpreter* operator->() { return it_; }
   private:
    ModelRunner& r_;
    rt::Interpreter* it_;
  };

 private:
  std::unique_ptr<rt::Interpreter> make() {
    try {
      return std::make_unique<rt::Interpreter>(bytes_, rt_);
    } catch (const Error& e) {
      throw Error(what_ + ": TensorFlow Lite cannot load it: " + e.what());
    }
  }
  rt::Interpreter* acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!free_.empty()) {
        rt::Interpreter* it = free_.back();
        free_.pop_back();
        return it;
      }
      if (static_cast<int>(all_.size()) + creating_ < max_) {
        ++creating_;
        lock.unlock();
        std::unique_ptr<rt::Interpreter> fresh;
        try {
          fresh = make();
        } catch (...) {
          lock.lock();
          --creating_;
          max_ = static_cast<int>(all_.size());  // out of memory or similar: make do with what we have
          cv_.notify_all();
          if (all_.empty()) throw;
          continue;
        }
        lock.lock();
        --creating_;
        all_.push_back(std::move(fresh));
        return all_.back().get();
      }
      cv_.wait(lock);
    }
  }
  void release(rt::Interpreter* it) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(it);
    cv_.notify_one();
  }

  std::vector<uint8_t> bytes_;
  std::string what_;
  rt::Options rt_;
  int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<rt::Interpreter>> all_;
  std::vector<rt::Interpreter*> free_;
  int creating_ = 0;
};

namespace {

int find_io(const rt::Interpreter& it, bool input, const char* name, int fallback) {
  int n = input ? it.input_count() : it.output_count();
  for (int i = 0; i < n; ++i) {
    auto info = input ? it.input_info(i) : it.output_info(i);
    if (name_has(info.name, name)) return i;
  }
  return fallback < n ? fallback : -1;
}

struct Loaded {
  std::vector<uint8_t> bytes;
  ModelHeader header;
  std::string what;
  fs::path path;
};

Loaded load_checked(std::vector<uint8_t> bytes, const std::string& what, const fs::path& path, ModelRole want) {
  Loaded l;
  l.header = read_model_header(bytes.data(), bytes.size(), what);
  l.bytes = std::move(bytes);
  l.what = what;
  l.path = path;
  if (l.header.role != want)
    throw Error(what + " is not a VideoSeal " + role_name(want) + " (its inputs/outputs do not match the model contract)");
  if (!l.header.card)
    throw Error(what + " has no '" + std::string(kCardMetadata) +
                "' metadata (model card); convert the checkpoint with `sealite convert CHECKPOINT --card NAME -o DIR`");
  return l;
}

void check_image_input(const rt::TensorInfo& info, int size, const std::string& what) {
  check(info.type == rt::ElemType::f32, what + ": input 'image' is " + info.type_name + ", expected float32");
  check(info.shape == std::vector<int>({1, size, size, 3}),
        what + ": input 'image' has shape " + shape_str(info.shape) + ", expected [1," + std::to_string(size) + "," +
            std::to_string(size) + ",3] for the card's img_size");
}

}  // namespace

// ---------------------------------------------------------------- embedder

std::shared_ptr<EmbedderModel> EmbedderModel::load(const fs::path& location, const RuntimeOptions& opt) {
  fs::path file = model_file(location, ModelRole::embedder);
  return from_bytes(read_file(file), file.string(), opt);
}

std::shared_ptr<EmbedderModel> EmbedderModel::from_bytes(std::vector<uint8_t> bytes, const std::string& what,
                                                         const RuntimeOptions& opt) {
  // The error message for a detector given as embedder reads "X is a detector, not an embedder".
  Loaded l = [&] {
    ModelHeader h = read_model_header(bytes.data(), bytes.size(), what);
    if (h.role == ModelRole::detector)
      throw Error(what + " is a detector, not an embedder (sealite embed needs the embedder.tflite of a model directory)");
    return load_checked(std::move(bytes), what, what, ModelRole::embedder);
  }();
  std::shared_ptr<EmbedderModel> m(new EmbedderModel());
  m->card_ = *l.header.card;
  m->path_ = l.path;
  m->size_ = m->card_.img_size > 0 ? m->card_.img_size : 256;
  m->runner_ = std::make_unique<ModelRunner>(std::move(l.bytes), opt, what);
  rt::Interpreter& it = m->runner_->first();
  check(it.input_count() == 2 && it.output_count() >= 1,
        what + ": an embedder needs inputs 'image' and 'message' and output 'residual'");
  m->in_message_ = find_io(it, true, "message", 1);
  m->in_image_ = m->in_message_ == 0 ? 1 : 0;
  m->out_residual_ = find_io(it, false, "residual", 0);
  check_image_input(it.input_info(m->in_image_), m->size_, what);
  auto msg = it.input_info(m->in_message_);
  check(msg.type == rt::ElemType::f32, what + ": input 'message' is " + msg.type_name + ", expected float32");
  check(msg.shape == std::vector<int>({1, m->card_.nbits}),
        what + ": input 'message' has shape " + shape_str(msg.shape) + " but the card says nbits = " +
            std::to_string(m->card_.nbits));
  auto res = it.output_info(m->out_residual_);
  check(res.type == rt::ElemType::f32, what + ": output 'residual' is " + res.type_name + ", expected float32");
  check(res.shape.size() == 4 && res.shape[0] == 1 && res.shape[1] == m->size_ && res.shape[2] == m->size_ &&
            (res.shape[3] == 1 || res.shape[3] == 3),
        what + ": output 'residual' has shape " + shape_str(res.shape) + ", expected [1," + std::to_string(m->size_) +
            "," + std::to_string(m->size_) + ",1 or 3]");
  m->channels_ = res.shape[3];
  check((m->channels_ == 1) == m->card_.yuv || m->card_.family == "custom",
        what + ": the residual has " + std::to_string(m->channels_) + " channel(s) but the card says yuv = " +
            (m->card_.yuv ? "true" : "false"));
  return m;
}

EmbedderModel::~EmbedderModel() = default;

void EmbedderModel::run(const float* image_hwc, const Message& message, float* residual_hwc) const {
  check(message.nbits() == card_.nbits, "message has " + std::to_string(message.nbits()) + " bits, the model takes " +
                                            std::to_string(card_.nbits));
  const size_t img_bytes = static_cast<size_t>(size_) * size_ * 3 * sizeof(float);
  const size_t res_bytes = static_cast<size_t>(size_) * size_ * channels_ * sizeof(float);
  std::vector<float> msg = message.as_floats();
  ModelRunner::Lease it(*runner_);
  it->set_input(in_image_, image_hwc, img_bytes);
  it->set_input(in_message_, msg.data(), msg.size() * sizeof(float));
  it->invoke();
  it->get_output(out_residual_, residual_hwc, res_bytes);
}

// ---------------------------------------------------------------- detector

std::shared_ptr<DetectorModel> DetectorModel::load(const fs::path& location, const RuntimeOptions& opt) {
  fs::path file = model_file(location, ModelRole::detector);
  return from_bytes(read_file(file), file.string(), opt);
}

std::shared_ptr<DetectorModel> DetectorModel::from_bytes(std::vector<uint8_t> bytes, const std::string& what,
                                                         const RuntimeOptions& opt) {
  Loaded l = [&] {
    ModelHeader h = read_model_header(bytes.data(), bytes.size(), what);
    if (h.role == ModelRole::embedder)
      throw Error(what + " is an embedder, not a detector (sealite detect needs the detector.tflite of a model directory)");
    return load_checked(std::move(bytes), what, what, ModelRole::detector);
  }();
  std::shared_ptr<DetectorModel> m(new DetectorModel());
  m->card_ = *l.header.card;
  m->path_ = l.path;
  m->size_ = m->card_.img_size > 0 ? m->card_.img_size : 256;
  m->runner_ = std::make_unique<ModelRunner>(std::move(l.bytes), opt, what);
  rt::Interpreter& it = m->runner_->first();
  check(it.input_count() == 1 && it.output_count() >= 1, what + ": a detector needs input 'image' and output 'logits'");
  m->in_image_ = 0;
  m->out_logits_ = find_io(it, false, "logits", 0);
  check_image_input(it.input_info(0), m->size_, what);
  auto out = it.output_info(m->out_logits_);
  check(out.type == rt::ElemType::f32, what + ": output 'logits' is " + out.type_name + ", expected float32");
  check(out.shape == std::vector<int>({1, 1 + m->card_.nbits}),
        what + ": output 'logits' has shape " + shape_str(out.shape) + " but the card says nbits = " +
            std::to_string(m->card_.nbits) + " (expected [1," + std::to_string(1 + m->card_.nbits) + "])");
  return m;
}

DetectorModel::~DetectorModel() = default;

std::vector<float> DetectorModel::run(const float* image_hwc) const {
  const size_t img_bytes = static_cast<size_t>(size_) * size_ * 3 * sizeof(float);
  std::vector<float> logits(static_cast<size_t>(1 + card_.nbits));
  ModelRunner::Lease it(*runner_);
  it->set_input(in_image_, image_hwc, img_bytes);
  it->invoke();
  it->get_output(out_logits_, logits.data(), logits.size() * sizeof(float));
  return logits;
}

}  // namespace sealite::pipeline
