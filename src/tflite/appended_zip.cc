#include "tflite/appended_zip.h"

#include <cstring>
#include <limits>

namespace sealite::tfl {
namespace {

uint32_t rd32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }
uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
void wr32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i)); }

struct Eocd { size_t pos; uint32_t cd_size, cd_offset; uint16_t entries; };

std::optional<Eocd> find_eocd(const uint8_t* d, size_t n) {
  if (n < 22) return std::nullopt;
  size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
  for (size_t p = n - 22 + 1; p-- > lo;) {
    if (rd32(d + p) != 0x06054b50) continue;
    if (p + 22 + rd16(d + p + 20) != n) continue;  // comment must end the file
    return Eocd{p, rd32(d + p + 12), rd32(d + p + 16), rd16(d + p + 10)};
  }
  return std::nullopt;
}

}  // namespace

std::optional<AppendedZip> find_appended_zip(const uint8_t* d, size_t n) {
  auto e = find_eocd(d, n);
  if (!e || e->entries == 0 || e->cd_size == 0xffffffffu || e->cd_offset == 0xffffffffu) return std::nullopt;
  if (static_cast<size_t>(e->cd_size) > e->pos) return std::nullopt;
  size_t cd_pos = e->pos - e->cd_size;
  if (cd_pos < e->cd_offset) return std::nullopt;
  size_t concat = cd_pos - e->cd_offset;  // bytes before the archive its offsets do not count
  AppendedZip z;
  z.absolute_offsets = concat == 0;
  size_t first_local = std::numeric_limits<size_t>::max();
  size_t p = cd_pos;
  for (int i = 0; i < e->entries; ++i) {
    if (p + 46 > e->pos || rd32(d + p) != 0x02014b50) return std::nullopt;
    size_t name_len = rd16(d + p + 28), extra = rd16(d + p + 30), comment = rd16(d + p + 32);
    uint32_t local = rd32(d + p + 42);
    if (local == 0xffffffffu) return std::nullopt;  // zip64: leave alone
    if (p + 46 + name_len > e->pos) return std::nullopt;
    z.names.emplace_back(reinterpret_cast<const char*>(d + p + 46), name_len);
    first_local = std::min(first_local, concat + local);
    p += 46 + name_len + extra + comment;
  }
  if (first_local < 8 || first_local >= cd_pos || rd32(d + first_local) != 0x04034b50) return std::nullopt;
  z.start = first_local;
  z.bytes.assign(d + first_local, d + n);
  return z;
}

std::vector<uint8_t> append_zip(std::vector<uint8_t> model, const AppendedZip& z) {
  // Keep the archive 4-byte aligned, like the FlatBuffer before it.
  while (model.size() % 4) model.push_back(0);
  const size_t new_start = model.size();
  std::vector<uint8_t> zip = z.bytes;
  if (z.absolute_offsets && new_start != z.start) {
    const int64_t delta = static_cast<int64_t>(new_start) - static_cast<int64_t>(z.start);
    auto e = find_eocd(zip.data(), zip.size());
    if (e) {
      size_t cd_pos = e->cd_offset - z.start;
      size_t p = cd_pos;
      for (int i = 0; i < e->entries && p + 46 <= zip.size(); ++i) {
        wr32(zip.data() + p + 42, static_cast<uint32_t>(rd32(zip.data() + p + 42) + delta));
        p += 46 + rd16(zip.data() + p + 28) + rd16(zip.data() + p + 30) + rd16(zip.data() + p + 32);
      }
      wr32(zip.data() + e->pos + 16, static_cast<uint32_t>(e->cd_offset + delta));
    }
  }
  model.insert(model.end(), zip.begin(), zip.end());
  return model;
}

}  // namespace sealite::tfl
