#include "checkpoint/safetensors.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sealite::ckpt {
namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

uint64_t header_length(std::span<const uint8_t> file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  return n;
}

bool dtype_from_name(const std::string& s, ScalarType* t) {
  static const struct { const char* name; ScalarType type; } table[] = {
      {"F32", ScalarType::f32}, {"F16", ScalarType::f16}, {"BF16", ScalarType::bf16},
      {"F64", ScalarType::f64}, {"I64", ScalarType::i64}, {"I32", ScalarType::i32},
      {"I16", ScalarType::i16}, {"I8", ScalarType::i8},   {"U8", ScalarType::u8},
      {"BOOL", ScalarType::b1}};
  for (const auto& e : table)
    if (s == e.name) { *t = e.type; return true; }
  return false;
}

[[noreturn]] void fail(const std::string& what, const std::string& msg) {
  throw Error(what + ": " + msg);
}

}  // namespace

bool looks_like_safetensors(std::span<const uint8_t> file) {
  if (file.size() < 9) return false;
  const uint64_t n = header_length(file);
  return n >= 2 && n <= file.size() - 8 && file[8] == '{';
}

std::vector<SafetensorsEntry> parse_safetensors(std::span<const uint8_t> file, const std::string& what) {
  if (file.size() < 8) fail(what, "truncated safetensors file (no header length)");
  const uint64_t n = header_length(file);
  if (n > file.size() - 8) fail(what, "truncated safetensors file (header length " + std::to_string(n) +
                                " exceeds the file)");
  if (n > kMaxHeader) fail(what, "safetensors header too large (" + std::to_string(n) + " bytes)");
  const char* hdr = reinterpret_cast<const char*>(file.data() + 8);
  const std::span<const uint8_t> buffer = file.subspan(8 + n);

  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(hdr, hdr + n);
  } catch (const nlohmann::json::exception&) {
    fail(what, "bad safetensors header (invalid JSON)");
  }
  if (!j.is_object()) fail(what, "bad safetensors header (not a JSON object)");

  std::vector<SafetensorsEntry> out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") continue;
    const auto& t = it.value();
    const std::string label = "tensor '" + name + "'";
    if (!t.is_object()) fail(what, "bad safetensors header (" + label + " is not an object)");
    auto dt = t.find("dtype");
    auto sh = t.find("shape");
    auto off = t.find("data_offsets");
    if (dt == t.end() || sh == t.end() || off == t.end() || !dt->is_string() || !sh->is_array() ||
        !off->is_array() || off->size() != 2)
      fail(what, "bad safetensors header (" + label + " needs dtype, shape and data_offsets)");

    SafetensorsEntry e;
    e.name = name;
    if (!dtype_from_name(dt->get<std::string>(), &e.dtype))
      fail(what, label + " has unsupported dtype '" + dt->get<std::string>() + "'");
    if (sh->size() > 64) fail(what, label + " has too many dimensions");
    // Byte size, saturating at 2^64 so hostile shapes cannot wrap around.
    using u128 = unsigned __int128;
    const u128 cap = u128{1} << 64;
    u128 nbytes = scalar_type_size(e.dtype);
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(what, label + " has a bad shape");
      const uint64_t dim = d.get<uint64_t>();
      e.shape.push_back(static_cast<int64_t>(dim));
      nbytes = std::min(nbytes * dim, cap);
    }
    const auto& b = (*off)[0];
    const auto& en = (*off)[1];
    if (!b.is_number_unsigned() || !en.is_number_unsigned())
      fail(what, "bad safetensors header (" + label + " data_offsets are not unsigned integers)");
    const uint64_t begin = b.get<uint64_t>(), end = en.get<uint64_t>();
    if (begin > end || end > buffer.size())
      fail(what, label + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
           "] out of range (buffer has " + std::to_string(buffer.size()) + " bytes)");
    if (end - begin != nbytes)
      fail(what, label + " occupies " + std::to_string(end - begin) +
           " bytes but its dtype and shape need " +
           (nbytes == cap ? std::string("more") : std::to_string(static_cast<uint64_t>(nbytes))));
    e.bytes = buffer.subspan(begin, end - begin);
    ranges.emplace_back(begin, end);
    out.push_back(std::move(e));
  }

  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail(what, "bad safetensors header (overlapping tensors)");
  return out;
}

}  // namespace sealite::ckpt
