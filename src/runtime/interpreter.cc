#include "runtime/interpreter.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "tensorflow/lite/c/c_api.h"
#include "tensorflow/lite/c/common.h"
#include "tflite/op_names.h"
#include "tflite/schema.h"

namespace sealite::rt {
namespace {

// The 2.9 package ships no XNNPACK header; its options struct is
// {int32 num_threads; uint32 flags}. Later versions append fields. We pass a
// zeroed, generously sized block so any version reads defaults past `flags`,
// and resolve the functions at run time so libraries without XNNPACK work.
struct XnnOptionsBlock {
  int32_t num_threads;
  uint32_t flags;
  uint8_t reserved[248];
};
using XnnCreateFn = TfLiteDelegate* (*)(const void* options);
using XnnDeleteFn = void (*)(TfLiteDelegate*);

struct XnnApi {
  XnnCreateFn create = nullptr;
  XnnDeleteFn destroy = nullptr;
};

const XnnApi& xnn_api() {
  static XnnApi api = [] {
    XnnApi a;
    a.create = reinterpret_cast<XnnCreateFn>(dlsym(RTLD_DEFAULT, "TfLiteXNNPackDelegateCreate"));
    a.destroy = reinterpret_cast<XnnDeleteFn>(dlsym(RTLD_DEFAULT, "TfLiteXNNPackDelegateDelete"));
    if (!a.create || !a.destroy) a = XnnApi{};
    return a;
  }();
  return api;
}

void capture_log(void* user, const char* fmt, va_list args) {
  char buf[2048];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  auto* log = static_cast<std::string*>(user);
  *log += buf;
  *log += '\n';
}

ElemType to_elem(TfLiteType t) {
  switch (t) {
    case kTfLiteFloat32: return ElemType::f32;
    case kTfLiteInt32: return ElemType::i32;
    case kTfLiteInt64: return ElemType::i64;
    case kTfLiteUInt8: return ElemType::u8;
    case kTfLiteInt8: return ElemType::i8;
    case kTfLiteInt16: return ElemType::i16;
    case kTfLiteBool: return ElemType::boolean;
    case kTfLiteFloat16: return ElemType::f16;
    default: return ElemType::other;
  }
}

TensorInfo info_of(const TfLiteTensor* t) {
  TensorInfo info;
  if (!t) return info;
  const char* n = TfLiteTensorName(t);
  info.name = n ? n : "";
  info.type = to_elem(TfLiteTensorType(t));
  info.type_name = TfLiteTypeGetName(TfLiteTensorType(t));
  for (int d = 0; d < TfLiteTensorNumDims(t); ++d) info.shape.push_back(TfLiteTensorDim(t, d));
  info.bytes = TfLiteTensorByteSize(t);
  auto q = TfLiteTensorQuantizationParams(t);
  info.scale = q.scale;
  info.zero_point = q.zero_point;
  return info;
}

// TFLite prints some messages (e.g. "INFO: Created TensorFlow Lite XNNPACK
// delegate") straight to stderr, bypassing the error reporter. While an
// interpreter is created we point fd 2 at a temp file and fold it into the log.
class StderrCapture {
 public:
  explicit StderrCapture(std::string* log) : log_(log) {
    std::fflush(stderr);
    tmp_ = std::tmpfile();
    saved_ = tmp_ ? dup(2) : -1;
    if (saved_ >= 0) dup2(fileno(tmp_), 2);
  }
  ~StderrCapture() {
    if (saved_ < 0) { if (tmp_) std::fclose(tmp_); return; }
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    std::rewind(tmp_);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, tmp_)) > 0) log_->append(buf, n);
    std::fclose(tmp_);
  }
 private:
  std::string* log_;
  std::FILE* tmp_ = nullptr;
  int saved_ = -1;
};

// The probe delegate: claims nothing; its Prepare runs after XNNPACK's and
// reads the execution plan, where each XNNPACK partition is one delegate
// kernel whose TfLiteDelegateParams list the original nodes it replaced.
struct Probe {
  TfLiteDelegate delegate;
  DelegationReport* report;
};

TfLiteStatus probe_prepare(TfLiteContext* ctx, TfLiteDelegate* d) {
  auto* probe = static_cast<Probe*>(d->data_);
  DelegationReport& r = *probe->report;
  TfLiteIntArray* plan = nullptr;
  if (ctx->GetExecutionPlan(ctx, &plan) != kTfLiteOk || !plan) return kTfLiteOk;
  r.delegated_nodes = r.partitions = r.builtin_nodes = 0;
  r.builtin_ops.clear();
  for (int i = 0; i < plan->size; ++i) {
    TfLiteNode* node = nullptr;
    TfLiteRegistration* reg = nullptr;
    if (ctx->GetNodeAndRegistration(ctx, plan->data[i], &node, &reg) != kTfLiteOk || !reg) continue;
    if (reg->builtin_code == tfl::BuiltinOperator_DELEGATE) {
      ++r.partitions;
      auto* params = static_cast<const TfLiteDelegateParams*>(node->builtin_data);
      if (params && params->nodes_to_replace) r.delegated_nodes += params->nodes_to_replace->size;
    } else {
      ++r.builtin_nodes;
      std::string name = reg->builtin_code == tfl::BuiltinOperator_CUSTOM && reg->custom_name
                             ? std::string("CUSTOM:") + reg->custom_name
                             : tfl::op_name(reg->builtin_code);
      ++r.builtin_ops[name];
    }
  }
  if (r.nodes_before == 0) r.nodes_before = r.builtin_nodes + r.delegated_nodes;
  return kTfLiteOk;
}

}  // namespace

struct Interpreter::Impl {
  std::vector<uint8_t> bytes;
  TfLiteModel* model = nullptr;
  TfLiteInterpreterOptions* options = nullptr;
  TfLiteInterpreter* interp = nullptr;
  TfLiteDelegate* xnn = nullptr;
  Probe probe{};

  ~Impl() {
    if (interp) TfLiteInterpreterDelete(interp);
    if (options) TfLiteInterpreterOptionsDelete(options);
    if (xnn) xnn_api().destroy(xnn);
    if (model) TfLiteModelDelete(model);
  }
};

std::string Interpreter::library_version() { return TfLiteVersion(); }
bool Interpreter::xnnpack_available() { return xnn_api().create != nullptr; }

static std::string first_lines(const std::string& log) {
  std::string out;
  size_t start = 0;
  int lines = 0;
  while (start < log.size() && lines < 3) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    if (end > start) {
      if (!out.empty()) out += "; ";
      out += log.substr(start, end - start);
      ++lines;
    }
    start = end + 1;
  }
  return out;
}

Interpreter::Interpreter(std::vector<uint8_t> model_bytes, const Options& opt) : impl_(new Impl) {
  Impl& m = *impl_;
  m.bytes = std::move(model_bytes);
  delegation_.xnnpack_requested = opt.xnnpack;
  m.model = TfLiteModelCreate(m.bytes.data(), m.bytes.size());
  if (!m.model) throw Error("TensorFlow Lite " + library_version() + " cannot read this model");

  auto build = [&](bool with_xnn) -> bool {
    if (m.interp) { TfLiteInterpreterDelete(m.interp); m.interp = nullptr; }
    if (m.options) { TfLiteInterpreterOptionsDelete(m.options); m.options = nullptr; }
    if (m.xnn) { xnn_api().destroy(m.xnn); m.xnn = nullptr; }
    m.options = TfLiteInterpreterOptionsCreate();
    TfLiteInterpreterOptionsSetNumThreads(m.options, opt.threads);
    TfLiteInterpreterOptionsSetErrorReporter(m.options, capture_log, &log_);
    StderrCapture cap(&log_);
    if (with_xnn) {
      XnnOptionsBlock xo{};
      xo.num_threads = opt.threads;
      // 1 = QS8, 2 = QU8: let XNNPACK take quantized ops too (later versions default to this).
      xo.flags = opt.xnnpack_quantized ? 3u : 0u;
      m.xnn = xnn_api().create(&xo);
      if (!m.xnn) return false;
      TfLiteInterpreterOptionsAddDelegate(m.options, m.xnn);
    }
    if (opt.probe_delegation) {
      m.probe.delegate = TfLiteDelegateCreate();
      m.probe.delegate.data_ = &m.probe;
      m.probe.delegate.Prepare = probe_prepare;
      // Models with dynamic shapes reject delegates that do not declare this.
      m.probe.delegate.flags = kTfLiteDelegateFlagsAllowDynamicTensors;
      m.probe.report = &delegation_;
      TfLiteInterpreterOptionsAddDelegate(m.options, &m.probe.delegate);
    }
    m.interp = TfLiteInterpreterCreate(m.model, m.options);
    return m.interp != nullptr;
  };

  bool ok = false;
  if (opt.xnnpack && xnnpack_available()) {
    ok = build(true);
    delegation_.xnnpack_applied = ok;
    if (!ok) log_.clear();  // keep only the built-in attempt's log for the error message
  }
  if (!ok) {
    ok = build(false);
    if (ok && opt.xnnpack && xnnpack_available())
      log_ += "sealite: the XNNPACK delegate refused this model; running on built-in kernels\n";
  }
  if (!ok) throw Error("TensorFlow Lite " + library_version() + " cannot load this model: " + first_lines(log_));
  if (TfLiteInterpreterAllocateTensors(m.interp) != kTfLiteOk)
    throw Error("TensorFlow Lite cannot allocate tensors: " + first_lines(log_));
}

Interpreter::~Interpreter() = default;

int Interpreter::input_count() const { return TfLiteInterpreterGetInputTensorCount(impl_->interp); }
int Interpreter::output_count() const { return TfLiteInterpreterGetOutputTensorCount(impl_->interp); }

TensorInfo Interpreter::input_info(int i) const {
  check(i >= 0 && i < input_count(), "input index out of range");
  return info_of(TfLiteInterpreterGetInputTensor(impl_->interp, i));
}
TensorInfo Interpreter::output_info(int i) const {
  check(i >= 0 && i < output_count(), "output index out of range");
  return info_of(TfLiteInterpreterGetOutputTensor(impl_->interp, i));
}

int Interpreter::input_index(const std::string& name) const {
  for (int i = 0; i < input_count(); ++i)
    if (input_info(i).name == name) return i;
  return -1;
}
int Interpreter::output_index(const std::string& name) const {
  for (int i = 0; i < output_count(); ++i)
    if (output_info(i).name == name) return i;
  return -1;
}

void Interpreter::set_input(int i, const void* data, size_t bytes) {
  check(i >= 0 && i < input_count(), "input index out of range");
  TfLiteTensor* t = TfLiteInterpreterGetInputTensor(impl_->interp, i);
  check(TfLiteTensorByteSize(t) == bytes, "input " + std::to_string(i) + ": expected " +
                                              std::to_string(TfLiteTensorByteSize(t)) + " bytes, got " +
                                              std::to_string(bytes));
  check(TfLiteTensorCopyFromBuffer(t, data, bytes) == kTfLiteOk, "cannot set input " + std::to_string(i));
}

void Interpreter::set_input(int i, const std::vector<float>& values) {
  set_input(i, values.data(), values.size() * sizeof(float));
}

void Interpreter::invoke() {
  if (TfLiteInterpreterInvoke(impl_->interp) != kTfLiteOk)
    throw Error("TensorFlow Lite invoke failed: " + first_lines(log_));
}

void Interpreter::get_output(int i, void* data, size_t bytes) const {
  check(i >= 0 && i < output_count(), "output index out of range");
  const TfLiteTensor* t = TfLiteInterpreterGetOutputTensor(impl_->interp, i);
  check(TfLiteTensorByteSize(t) == bytes, "output size mismatch");
  check(TfLiteTensorCopyToBuffer(t, data, bytes) == kTfLiteOk, "cannot read output " + std::to_string(i));
}

std::vector<float> Interpreter::output_float(int i) const {
  auto info = output_info(i);
  check(info.type == ElemType::f32, "output " + std::to_string(i) + " is " + info.type_name + ", not float32");
  std::vector<float> out(info.bytes / 4);
  get_output(i, out.data(), info.bytes);
  return out;
}

std::vector<uint8_t> Interpreter::output_bytes(int i) const {
  auto info = output_info(i);
  std::vector<uint8_t> out(info.bytes);
  if (info.bytes) get_output(i, out.data(), info.bytes);
  return out;
}

const char* elem_type_name(ElemType t) {
  switch (t) {
    case ElemType::f32: return "float32"; case ElemType::i32: return "int32";
    case ElemType::i64: return "int64"; case ElemType::u8: return "uint8";
    case ElemType::i8: return "int8"; case ElemType::i16: return "int16";
    case ElemType::boolean: return "bool"; case ElemType::f16: return "float16";
    default: return "other";
  }
}

}  // namespace sealite::rt
