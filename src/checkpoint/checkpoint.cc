#include "checkpoint/checkpoint.h"

#include <cstring>
#include <unordered_map>

#include "checkpoint/byte_source.h"
#include "checkpoint/pickle.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/zip_reader.h"
#include "core/error.h"

namespace sealite::ckpt {

using u128 = unsigned __int128;

// ---------------------------------------------------------------------------
// TensorView

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated on load: cannot overflow
  return n;
}

bool TensorView::is_contiguous() const {
  int64_t expected = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 0) return true;
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t em = h & 0x7fffu;  // exponent and mantissa
  uint32_t bits;
  if (em >= 0x7c00u) {
    bits = sign | 0x7f800000u | ((em & 0x3ffu) << 13);  // inf / nan
  } else if (em >= 0x0400u) {
    bits = sign | ((em + ((127u - 15u) << 10)) << 13);  // normal: rebias the exponent
  } else {
    const float mag = static_cast<float>(em) * 5.9604644775390625e-8f;  // subnormal: em * 2^-24, exact
    std::memcpy(&bits, &mag, 4);
    bits |= sign;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // storages need not be aligned (safetensors offsets)
  return v;
}

// Visits the elements in C order; `conv` turns the bytes of one element into a float.
template <typename Conv>
void gather(const TensorView& t, float* out, Conv conv) {
  const size_t es = scalar_type_size(t.dtype);
  const uint8_t* base = t.storage.data();
  const int64_t n = t.numel();
  if (n == 0) return;
  if (t.is_contiguous()) {
    const uint8_t* p = base + static_cast<size_t>(t.storage_offset) * es;
    for (int64_t i = 0; i < n; ++i) out[i] = conv(p + static_cast<size_t>(i) * es);
    return;
  }
  const size_t nd = t.shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t off = t.storage_offset;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = conv(base + static_cast<size_t>(off) * es);
    for (size_t d = nd; d-- > 0;) {  // odometer increment, innermost dimension first
      if (++idx[d] < t.shape[d]) {
        off += t.strides[d];
        break;
      }
      off -= t.strides[d] * (t.shape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace

std::vector<float> TensorView::to_float() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  float* o = out.data();
  switch (dtype) {
    case ScalarType::f32: gather(*this, o, [](const uint8_t* p) { return load<float>(p); }); break;
    case ScalarType::f16:
      gather(*this, o, [](const uint8_t* p) { return half_to_float(load<uint16_t>(p)); });
      break;
    case ScalarType::bf16:
      gather(*this, o, [](const uint8_t* p) {  // bfloat16 is the top half of a float32
        const uint32_t bits = static_cast<uint32_t>(load<uint16_t>(p)) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
      });
      break;
    case ScalarType::f64:
      gather(*this, o, [](const uint8_t* p) { return static_cast<float>(load<double>(p)); });
      break;
    case ScalarType::i64:
      gather(*this, o, [](const uint8_t* p) { return static_cast<float>(load<int64_t>(p)); });
      break;
    case ScalarType::i32:
      gather(*this, o, [](const uint8_t* p) { return static_cast<float>(load<int32_t>(p)); });
      break;
    case ScalarType::i16:
      gather(*this, o, [](const uint8_t* p) { return static_cast<float>(load<int16_t>(p)); });
      break;
    case ScalarType::i8:
      gather(*this, o, [](const uint8_t* p) { return static_cast<float>(static_cast<int8_t>(*p)); });
      break;
    case ScalarType::u8: gather(*this, o, [](const uint8_t* p) { return static_cast<float>(*p); }); break;
    case ScalarType::b1: gather(*this, o, [](const uint8_t* p) { return *p ? 1.f : 0.f; }); break;
  }
  return out;
}

std::string format_shape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// ---------------------------------------------------------------------------
// Loading

struct Checkpoint::Impl {
  std::string path;
  Format format = Format::torch_zip;
  std::vector<std::string> keys;
  std::vector<TensorView> tensors;  // parallel to keys
  std::unordered_map<std::string, size_t> index;
};

namespace {

// Rejects views that would read outside their storage. Also rejects views with
// more elements than the storage holds (zero-stride broadcasts): a state dict
// never contains them, and refusing them bounds to_float() by the file size.
void validate_view(const TensorView& t, const std::string& what) {
  const std::string label = what + ": tensor '" + t.name + "'";
  const size_t es = scalar_type_size(t.dtype);
  const uint64_t elems = t.storage.size() / es;
  if (t.shape.size() != t.strides.size()) throw Error(label + " has mismatched shape and strides");
  u128 numel = 1;
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (t.shape[d] < 0 || t.strides[d] < 0) throw Error(label + " has a negative size or stride");
    numel *= static_cast<uint64_t>(t.shape[d]);
    if (numel > elems) numel = u128{elems} + 1;  // saturate; only the comparison matters
  }
  if (t.storage_offset < 0) throw Error(label + " has a negative storage offset");
  if (numel > elems)
    throw Error(label + " of shape " + format_shape(t.shape) + " needs more elements than its storage holds (" +
                std::to_string(elems) + ")");
  if (numel == 0) {
    if (static_cast<uint64_t>(t.storage_offset) > elems)
      throw Error(label + ": storage offset out of range");
    return;
  }
  u128 last = static_cast<uint64_t>(t.storage_offset);
  for (size_t d = 0; d < t.shape.size(); ++d)
    last += u128{static_cast<uint64_t>(t.shape[d] - 1)} * static_cast<uint64_t>(t.strides[d]);
  if (last >= elems)
    throw Error(label + " (shape " + format_shape(t.shape) + ", offset " + std::to_string(t.storage_offset) +
                ") reads past the end of its storage (" + std::to_string(elems) + " elements)");
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    s[d] = acc;
    acc *= shape[d] > 0 ? shape[d] : 1;  // sizes are validated by the caller
  }
  return s;
}

std::vector<TensorView> load_safetensors(const std::shared_ptr<const ByteSource>& src, const std::string& what) {
  std::vector<TensorView> out;
  for (auto& e : parse_safetensors(src->bytes(), what)) {
    TensorView t;
    t.name = std::move(e.name);
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    t.strides = contiguous_strides(t.shape);
    t.storage = e.bytes;
    t.owner = src;
    validate_view(t, what);
    out.push_back(std::move(t));
  }
  return out;
}

std::string list_keys(const pickle::Value& d) {
  std::string s;
  size_t shown = 0;
  for (size_t i = 0; i < d.dict_size() && shown < 8; ++i) {
    const pickle::Value* k = d.dict_key(i);
    s += (shown++ ? ", '" : "'") + (k->kind == pickle::Kind::string ? k->text : std::string("?")) + "'";
  }
  if (d.dict_size() > shown) s += ", ...";
  return s.empty() ? "none" : s;
}

std::vector<TensorView> load_torch_zip(const std::shared_ptr<const ByteSource>& src, const std::string& what,
                                       const OpenOptions& options) {
  ZipReader zip(src, what, options.verify_crc);
  if (zip.entries().empty()) throw Error(what + ": empty zip archive (not a torch.save checkpoint)");
  // torch.save puts everything under one top-level folder whose name varies ("archive", the file stem ...).
  const std::string& first = zip.entries().front().name;
  const size_t slash = first.find('/');
  if (slash == std::string::npos || slash == 0)
    throw Error(what + ": zip archive is not a torch.save checkpoint (no top-level folder)");
  const std::string prefix = first.substr(0, slash + 1);
  if (zip.find(prefix + "constants.pkl"))
    throw Error(what + ": a TorchScript archive (torch.jit.save), not a state dict; save model.state_dict() "
                       "with torch.save instead");
  const ZipEntry* pkl = zip.find(prefix + "data.pkl");
  if (!pkl) throw Error(what + ": zip archive is not a torch.save checkpoint (no " + prefix + "data.pkl)");
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    ZipData d = zip.read(*bo);
    std::string order(d.bytes.begin(), d.bytes.end());
    if (order != "little") throw Error(what + ": unsupported byte order '" + order + "' (only little-endian)");
  }

  const ZipData pkl_data = zip.read(*pkl);
  const pickle::Unpickled doc = pickle::unpickle(pkl_data.bytes, what + ": " + pkl->name);
  const pickle::Value& root = doc.root();
  if (root.kind != pickle::Kind::dict)
    throw Error(what + ": the checkpoint holds a " + pickle::kind_name(root.kind) + ", not a state dict");
  const pickle::Value* sd = &root;
  for (const char* name : {"model", "state_dict"}) {
    const pickle::Value* v = root.dict_get(name);
    if (v && v->kind == pickle::Kind::dict) {
      sd = v;
      break;
    }
  }

  std::unordered_map<std::string, ZipData> storages;  // by storage key; shared tensors read once
  std::vector<TensorView> out;
  for (size_t i = 0; i < sd->dict_size(); ++i) {
    const pickle::Value* k = sd->dict_key(i);
    const pickle::Value* v = sd->dict_value(i);
    if (v->kind != pickle::Kind::tensor) continue;
    if (k->kind != pickle::Kind::string)
      throw Error(what + ": state dict key is a " + pickle::kind_name(k->kind) + ", not a string");
    const pickle::TensorRef& tr = *v->tensor;
    const pickle::StorageRef& sr = *tr.storage->storage;
    const size_t es = scalar_type_size(sr.dtype);

    auto it = storages.find(sr.key);
    if (it == storages.end()) {
      const std::string entry = prefix + "data/" + sr.key;
      const ZipEntry* ze = zip.find(entry);
      if (!ze)
        throw Error(what + ": tensor '" + k->text + "' refers to storage '" + sr.key +
                    "', which is missing from the archive (no entry '" + entry + "')");
      ZipData d = zip.read(*ze);
      if (static_cast<uint64_t>(sr.numel) > d.bytes.size() / es || d.bytes.size() != sr.numel * es)
        throw Error(what + ": storage '" + sr.key + "' has " + std::to_string(d.bytes.size()) +
                    " bytes but should hold " + std::to_string(sr.numel) + " " + scalar_type_name(sr.dtype) +
                    " elements");
      it = storages.emplace(sr.key, std::move(d)).first;
    }
    TensorView t;
    t.name = k->text;
    t.dtype = sr.dtype;
    t.shape = tr.size;
    t.strides = tr.stride;
    t.storage_offset = tr.offset;
    t.storage = it->second.bytes;
    t.owner = it->second.owner;
    validate_view(t, what);
    out.push_back(std::move(t));
  }
  if (out.empty())
    throw Error(what + ": no tensors found in the checkpoint (top-level keys: " + list_keys(root) + ")");
  return out;
}

Checkpoint::Format detect_format(std::span<const uint8_t> b, const std::string& what) {
  if (ZipReader::looks_like_zip(b)) return Checkpoint::Format::torch_zip;
  if (looks_like_safetensors(b)) return Checkpoint::Format::safetensors;
  if (b.empty()) throw Error(what + ": empty file");
  // The pre-1.6 torch.save format starts with a pickled magic number: PROTO 2, LONG1 of 10 bytes.
  static const uint8_t legacy[] = {0x80, 0x02, 0x8a, 0x0a};
  if (b.size() >= 4 && std::memcmp(b.data(), legacy, 4) == 0)
    throw Error(what + ": legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with "
                       "torch.save from torch >= 1.6");
  throw Error(what + ": not a checkpoint (expected a torch.save zip archive or a .safetensors file)");
}

}  // namespace

Checkpoint Checkpoint::open(const std::filesystem::path& path, const OpenOptions& options) {
  return load(ByteSource::map_file(path), path.string(), options);
}

Checkpoint Checkpoint::from_memory(std::vector<uint8_t> bytes, const std::string& name, const OpenOptions& options) {
  return load(ByteSource::from_vector(std::move(bytes)), name, options);
}

Checkpoint Checkpoint::load(std::shared_ptr<const ByteSource> src, std::string what, const OpenOptions& options) {
  auto impl = std::make_shared<Impl>();
  impl->format = detect_format(src->bytes(), what);
  impl->tensors = impl->format == Checkpoint::Format::torch_zip ? load_torch_zip(src, what, options)
                                                                : load_safetensors(src, what);
  impl->keys.reserve(impl->tensors.size());
  for (size_t i = 0; i < impl->tensors.size(); ++i) {
    impl->keys.push_back(impl->tensors[i].name);
    impl->index.emplace(impl->tensors[i].name, i);
  }
  impl->path = std::move(what);
  return Checkpoint(std::move(impl));
}

Checkpoint::Format Checkpoint::format() const { return impl_->format; }
const std::vector<std::string>& Checkpoint::keys() const { return impl_->keys; }
bool Checkpoint::has(const std::string& key) const { return impl_->index.count(key) != 0; }
std::string Checkpoint::path() const { return impl_->path; }

const TensorView& Checkpoint::at(const std::string& key) const {
  auto it = impl_->index.find(key);
  if (it == impl_->index.end())
    throw Error(impl_->path + ": checkpoint has no key '" + key + "' (" + std::to_string(impl_->keys.size()) +
                " keys)");
  return impl_->tensors[it->second];
}

std::vector<float> Checkpoint::get(const std::string& key, const std::vector<int64_t>& expected_shape) const {
  const TensorView& t = at(key);
  if (t.shape != expected_shape)
    throw Error("checkpoint key '" + key + "': shape " + format_shape(t.shape) + " but the model needs " +
                format_shape(expected_shape));
  return t.to_float();
}

}  // namespace sealite::ckpt
