#include "core/npy.h"

#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/fs.h"

namespace sealite {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64: case DType::i64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::f16: case DType::i16: case DType::u16: return 2;
    case DType::i8: case DType::u8: case DType::b1: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "<f4"; case DType::f64: return "<f8"; case DType::f16: return "<f2";
    case DType::i64: return "<i8"; case DType::i32: return "<i4"; case DType::i16: return "<i2";
    case DType::i8: return "|i1"; case DType::u8: return "|u1"; case DType::u16: return "<u2";
    case DType::b1: return "|b1";
  }
  return "?";
}

static bool parse_descr(const std::string& d, DType* out) {
  static const struct { const char* a; const char* b; DType t; } table[] = {
      {"<f4", "f4", DType::f32}, {"<f8", "f8", DType::f64}, {"<f2", "f2", DType::f16},
      {"<i8", "i8", DType::i64}, {"<i4", "i4", DType::i32}, {"<i2", "i2", DType::i16},
      {"|i1", "i1", DType::i8},  {"|u1", "u1", DType::u8},  {"<u2", "u2", DType::u16},
      {"|b1", "b1", DType::b1}};
  for (auto& e : table)
    if (d == e.a || d == e.b) { *out = e.t; return true; }
  return false;
}

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else {  // subnormal
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) { mant <<= 1; --exp; }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename F>
static void for_each_value(const NpyArray& a, F&& f) {
  const uint8_t* p = a.data.data();
  int64_t n = a.numel();
  for (int64_t i = 0; i < n; ++i) {
    switch (a.dtype) {
      case DType::f32: { float v; std::memcpy(&v, p + 4 * i, 4); f(double(v)); break; }
      case DType::f64: { double v; std::memcpy(&v, p + 8 * i, 8); f(v); break; }
      case DType::f16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); f(double(half_to_float(v))); break; }
      case DType::i64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); f(double(v)); break; }
      case DType::i32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); f(double(v)); break; }
      case DType::i16: { int16_t v; std::memcpy(&v, p + 2 * i, 2); f(double(v)); break; }
      case DType::u16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); f(double(v)); break; }
      case DType::i8: f(double(int8_t(p[i]))); break;
      case DType::u8: case DType::b1: f(double(p[i])); break;
    }
  }
}

std::vector<float> NpyArray::as_float() const {
  std::vector<float> out;
  out.reserve(static_cast<size_t>(numel()));
  if (dtype == DType::f32) {
    out.resize(static_cast<size_t>(numel()));
    std::memcpy(out.data(), data.data(), out.size() * 4);
    return out;
  }
  for_each_value(*this, [&](double v) { out.push_back(static_cast<float>(v)); });
  return out;
}

std::vector<int64_t> NpyArray::as_int64() const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(numel()));
  if (dtype == DType::i64) {
    out.resize(static_cast<size_t>(numel()));
    std::memcpy(out.data(), data.data(), out.size() * 8);
    return out;
  }
  for_each_value(*this, [&](double v) { out.push_back(static_cast<int64_t>(v)); });
  return out;
}

// Minimal parser for the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }
static std::string dict_value(const std::string& h, const std::string& key, const std::string& what) {
  auto k = h.find("'" + key + "'");
  if (k == std::string::npos) throw Error(what + ": npy header has no '" + key + "'");
  auto colon = h.find(':', k);
  if (colon == std::string::npos) throw Error(what + ": malformed npy header");
  size_t i = colon + 1;
  while (i < h.size() && h[i] == ' ') ++i;
  if (i >= h.size()) throw Error(what + ": malformed npy header");
  if (h[i] == '\'') {
    auto end = h.find('\'', i + 1);
    if (end == std::string::npos) throw Error(what + ": malformed npy header");
    return h.substr(i + 1, end - i - 1);
  }
  if (h[i] == '(') {
    auto end = h.find(')', i);
    if (end == std::string::npos) throw Error(what + ": malformed npy header");
    return h.substr(i + 1, end - i - 1);
  }
  auto end = h.find_first_of(",}", i);
  if (end == std::string::npos) throw Error(what + ": malformed npy header");
  return h.substr(i, end - i);
}

NpyArray npy_parse(const uint8_t* bytes, size_t size, const std::string& what) {
  if (size < 10 || std::memcmp(bytes, "\x93NUMPY", 6) != 0) throw Error(what + ": not a .npy file");
  int major = bytes[6];
  size_t hlen, hoff;
  if (major == 1) { hlen = bytes[8] | (bytes[9] << 8); hoff = 10; }
  else if (major == 2 || major == 3) {
    if (size < 12) throw Error(what + ": truncated .npy header");
    hlen = bytes[8] | (bytes[9] << 8) | (size_t(bytes[10]) << 16) | (size_t(bytes[11]) << 24);
    hoff = 12;
  } else throw Error(what + ": unsupported .npy version " + std::to_string(major));
  if (hoff + hlen > size) throw Error(what + ": truncated .npy header");
  std::string h(reinterpret_cast<const char*>(bytes + hoff), hlen);
  NpyArray a;
  std::string descr = dict_value(h, "descr", what);
  if (!parse_descr(descr, &a.dtype)) throw Error(what + ": unsupported npy dtype '" + descr + "'");
  if (dict_value(h, "fortran_order", what).find("True") != std::string::npos)
    throw Error(what + ": Fortran-order .npy is not supported");
  std::string shp = dict_value(h, "shape", what);
  int64_t n = 1;
  size_t pos = 0;
  while (pos < shp.size()) {
    while (pos < shp.size() && (shp[pos] == ' ' || shp[pos] == ',')) ++pos;
    if (pos >= shp.size()) break;
    size_t end = pos;
    while (end < shp.size() && std::isdigit(static_cast<unsigned char>(shp[end]))) ++end;
    if (end == pos) throw Error(what + ": malformed npy shape");
    if (end - pos > 15) throw Error(what + ": npy shape too large");
    int64_t d = std::stoll(shp.substr(pos, end - pos));
    if (d < 0 || (d > 0 && n > std::numeric_limits<int64_t>::max() / d / 16))
      throw Error(what + ": npy shape too large");
    a.shape.push_back(d);
    n *= d;
    pos = end;
  }
  size_t nbytes = static_cast<size_t>(n) * dtype_size(a.dtype);
  size_t off = hoff + hlen;
  if (size - off < nbytes)
    throw Error(what + ": truncated .npy data (" + std::to_string(size - off) + " of " +
                std::to_string(nbytes) + " bytes)");
  a.data.assign(bytes + off, bytes + off + nbytes);
  return a;
}

NpyArray npy_load(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  return npy_parse(bytes.data(), bytes.size(), path.string());
}

std::vector<uint8_t> npy_serialize(const NpyArray& a) {
  std::string h = std::string("{'descr': '") + dtype_name(a.dtype) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i) {
    h += std::to_string(a.shape[i]);
    if (a.shape.size() == 1 || i + 1 < a.shape.size()) h += ",";
    if (i + 1 < a.shape.size()) h += " ";
  }
  h += "), }";
  size_t total = 10 + h.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  h.append(pad, ' ');
  h += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              static_cast<uint8_t>(h.size() & 0xff), static_cast<uint8_t>(h.size() >> 8)};
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

void npy_save(const std::filesystem::path& path, const NpyArray& a) {
  write_file_atomic(path, npy_serialize(a));
}

NpyArray npy_from_floats(std::vector<int64_t> shape, const float* values) {
  NpyArray a;
  a.dtype = DType::f32;
  a.shape = std::move(shape);
  a.data.resize(static_cast<size_t>(a.numel()) * 4);
  std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

}  // namespace sealite
