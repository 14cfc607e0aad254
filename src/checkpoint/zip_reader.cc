#include "checkpoint/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace sealite::ckpt {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEocdSize = 22, kZip64LocatorSize = 20, kZip64EocdSize = 56;
constexpr size_t kCentralSize = 46, kLocalSize = 30;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const uint8_t* p) { return le32(p) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

// [off, off+len) lies inside [0, limit), without overflowing.
bool in_range(uint64_t off, uint64_t len, uint64_t limit) {
  return off <= limit && len <= limit - off;
}

uint32_t crc32_of(std::span<const uint8_t> bytes) {
  // crc32_z takes size_t lengths, so multi-GB entries need no chunking.
  return static_cast<uint32_t>(::crc32_z(0L, bytes.data(), bytes.size()));
}

}  // namespace

ZipReader::ZipReader(std::shared_ptr<const ByteSource> source, std::string what, bool verify_crc)
    : source_(std::move(source)), what_(std::move(what)), verify_crc_(verify_crc) {
  parse();
}

void ZipReader::fail(const std::string& msg) const { throw Error(what_ + ": " + msg); }

bool ZipReader::looks_like_zip(std::span<const uint8_t> b) {
  return b.size() >= 4 && (le32(b.data()) == kLocalSig || le32(b.data()) == kEocdSig);
}

void ZipReader::parse() {
  const auto bytes = source_->bytes();
  const uint8_t* base = bytes.data();
  const uint64_t size = bytes.size();
  if (size < kEocdSize) fail("truncated zip archive (too short for an end-of-central-directory record)");

  // The EOCD record sits at the end, followed only by a comment of up to 64 KiB.
  uint64_t eocd = std::numeric_limits<uint64_t>::max();
  const uint64_t lowest = size - kEocdSize > 0xffff ? size - kEocdSize - 0xffff : 0;
  for (uint64_t pos = size - kEocdSize + 1; pos-- > lowest;) {
    if (base[pos] == 'P' && le32(base + pos) == kEocdSig && pos + kEocdSize + le16(base + pos + 20) <= size) {
      eocd = pos;
      break;
    }
  }
  if (eocd == std::numeric_limits<uint64_t>::max())
    fail("truncated zip archive (no end-of-central-directory record)");

  const uint8_t* e = base + eocd;
  uint64_t disk = le16(e + 4), cd_disk = le16(e + 6), count_disk = le16(e + 8);
  uint64_t count = le16(e + 10), cd_size = le32(e + 12), cd_offset = le32(e + 16);
  uint64_t cd_limit = eocd;  // the central directory ends before this

  const bool saturated = count == 0xffff || count_disk == 0xffff || cd_size == 0xffffffffu ||
                         cd_offset == 0xffffffffu;
  if (eocd >= kZip64LocatorSize && le32(e - kZip64LocatorSize) == kZip64LocatorSig) {
    const uint8_t* loc = e - kZip64LocatorSize;
    const uint64_t z64 = le64(loc + 8);
    if (le32(loc + 16) > 1) fail("multi-disk zip archives are not supported");
    if (!in_range(z64, kZip64EocdSize, eocd - kZip64LocatorSize))
      fail("truncated zip archive (ZIP64 end-of-central-directory record out of range)");
    const uint8_t* r = base + z64;
    if (le32(r) != kZip64EocdSig) fail("corrupt zip archive (bad ZIP64 end-of-central-directory signature)");
    disk = le32(r + 16);
    cd_disk = le32(r + 20);
    count_disk = le64(r + 24);
    count = le64(r + 32);
    cd_size = le64(r + 40);
    cd_offset = le64(r + 48);
    cd_limit = z64;
  } else if (saturated) {
    fail("corrupt zip archive (ZIP64 sizes without a ZIP64 locator)");
  }
  if (disk != 0 || cd_disk != 0 || count_disk != count)
    fail("multi-disk zip archives are not supported");
  if (!in_range(cd_offset, cd_size, cd_limit))
    fail("truncated zip archive (central directory out of range)");
  if (count > cd_size / kCentralSize)
    fail("corrupt zip archive (central directory too small for " + std::to_string(count) + " entries)");
  cd_offset_ = cd_offset;

  entries_.reserve(count);
  by_name_.reserve(count);
  uint64_t p = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (!in_range(p, kCentralSize, cd_end) || le32(base + p) != kCentralSig)
      fail("corrupt zip archive (bad central directory entry " + std::to_string(i) + ")");
    const uint8_t* c = base + p;
    const uint64_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
    if (!in_range(p + kCentralSize, name_len + extra_len + comment_len, cd_end))
      fail("truncated zip archive (central directory entry " + std::to_string(i) + " out of range)");
    ZipEntry ent;
    ent.flags = le16(c + 8);
    ent.method = le16(c + 10);
    ent.crc32 = le32(c + 16);
    ent.compressed_size = le32(c + 20);
    ent.size = le32(c + 24);
    ent.local_header_offset = le32(c + 42);
    ent.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);

    // ZIP64 extra field: 64-bit values for exactly the fields saturated above, in this order.
    const bool need_size = ent.size == 0xffffffffu, need_csize = ent.compressed_size == 0xffffffffu,
               need_off = ent.local_header_offset == 0xffffffffu;
    if (need_size || need_csize || need_off) {
      const uint8_t* x = c + kCentralSize + name_len;
      const uint8_t* x_end = x + extra_len;
      bool found = false;
      while (x_end - x >= 4) {
        const uint16_t id = le16(x), len = le16(x + 2);
        if (len > x_end - x - 4) break;
        if (id == 0x0001) {
          const uint8_t* f = x + 4;
          const uint8_t* f_end = f + len;
          auto take = [&](uint64_t* v) {
            if (f_end - f < 8) fail("corrupt zip archive (short ZIP64 extra field for '" + ent.name + "')");
            *v = le64(f);
            f += 8;
          };
          if (need_size) take(&ent.size);
          if (need_csize) take(&ent.compressed_size);
          if (need_off) take(&ent.local_header_offset);
          found = true;
          break;
        }
        x += 4 + len;
      }
      if (!found) fail("corrupt zip archive (missing ZIP64 extra field for '" + ent.name + "')");
    }
    if (!by_name_.emplace(ent.name, entries_.size()).second)
      fail("corrupt zip archive (duplicate entry '" + ent.name + "')");
    entries_.push_back(std::move(ent));
    p += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

ZipData ZipReader::read(const ZipEntry& ent) const {
  const auto bytes = source_->bytes();
  const uint8_t* base = bytes.data();
  const std::string label = "entry '" + ent.name + "'";
  if (ent.flags & 0x1) fail(label + " is encrypted");
  if (!in_range(ent.local_header_offset, kLocalSize, cd_offset_))
    fail("truncated zip archive (local header of " + label + " out of range)");
  const uint8_t* h = base + ent.local_header_offset;
  if (le32(h) != kLocalSig) fail("corrupt zip archive (bad local header for " + label + ")");
  const uint64_t name_len = le16(h + 26), extra_len = le16(h + 28);
  const uint64_t data_off = ent.local_header_offset + kLocalSize + name_len + extra_len;
  if (name_len != ent.name.size() ||
      !std::equal(ent.name.begin(), ent.name.end(), h + kLocalSize))
    fail("corrupt zip archive (local header name differs for " + label + ")");
  if (!in_range(data_off, ent.compressed_size, cd_offset_))
    fail("truncated zip archive (data of " + label + " out of range)");
  std::span<const uint8_t> raw(base + data_off, ent.compressed_size);

  ZipData out;
  if (ent.method == 0) {
    if (ent.compressed_size != ent.size)
      fail("corrupt zip archive (stored " + label + " has differing sizes)");
    out.bytes = raw;
    out.owner = source_;
  } else if (ent.method == 8) {
    // Deflate cannot expand by more than ~1032:1; a larger claim is corrupt
    // (and would otherwise let a tiny file request a huge allocation).
    if (ent.size / 1032 > ent.compressed_size + 1)
      fail("corrupt zip archive (implausible size for deflated " + label + ")");
    auto buf = std::make_shared<std::vector<uint8_t>>(ent.size);
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail("zlib initialisation failed");
    const uint8_t* in = raw.data();
    uint8_t sink = 0;  // zlib rejects a null output pointer even for empty output
    uint64_t in_left = raw.size(), out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      // zlib counts in 32-bit uInt; feed at most 1 GiB at a time.
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(ent.size - out_done, 1u << 30));
      zs.next_in = const_cast<Bytef*>(in);
      zs.avail_in = in_chunk;
      zs.next_out = buf->empty() ? &sink : buf->data() + out_done;
      zs.avail_out = out_chunk;
      rc = ::inflate(&zs, Z_NO_FLUSH);
      const uint64_t used = in_chunk - zs.avail_in, made = out_chunk - zs.avail_out;
      in += used;
      in_left -= used;
      out_done += made;
      if (rc == Z_OK && used == 0 && made == 0) rc = Z_BUF_ERROR;  // no progress possible
    }
    ::inflateEnd(&zs);
    if (rc != Z_STREAM_END || out_done != ent.size)
      fail("corrupt zip archive (cannot inflate " + label + ")");
    out.bytes = std::span<const uint8_t>(buf->data(), buf->size());
    out.owner = std::move(buf);
  } else {
    fail(label + " uses unsupported compression method " + std::to_string(ent.method));
  }
  if (verify_crc_ && crc32_of(out.bytes) != ent.crc32) fail("corrupt zip archive (CRC mismatch in " + label + ")");
  return out;
}

}  // namespace sealite::ckpt
