// Read-only ZIP reader over a ByteSource (the layout torch.save writes: stored
// entries, 64-byte aligned; ZIP64 for large archives). Stored entries are
// returned as views into the source; deflated ones are inflated with zlib.
// Every offset and size is checked against the archive before use, so a
// truncated or corrupt archive raises sealite::Error instead of reading out of
// bounds.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "checkpoint/byte_source.h"

namespace sealite::ckpt {

struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;    // uncompressed
  uint64_t local_header_offset = 0;
};

// The bytes of one entry; `owner` keeps them alive (the source, or the inflated copy).
struct ZipData {
  std::span<const uint8_t> bytes;
  std::shared_ptr<const void> owner;
};

class ZipReader {
 public:
  // Parses the end-of-central-directory record(s) and the central directory.
  // `what` names the archive in error messages ("checkpoint.pth: ...").
  // verify_crc = false skips the CRC-32 check in read() (fuzzing: lets mutated
  // contents reach the parsers behind the archive).
  ZipReader(std::shared_ptr<const ByteSource> source, std::string what, bool verify_crc = true);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;

  // Entry contents after checking the local header and (by default) the CRC-32.
  ZipData read(const ZipEntry& entry) const;

  // True when `bytes` starts like a ZIP archive (local header or empty archive).
  static bool looks_like_zip(std::span<const uint8_t> bytes);

 private:
  [[noreturn]] void fail(const std::string& msg) const;
  void parse();

  std::shared_ptr<const ByteSource> source_;
  std::string what_;
  bool verify_crc_ = true;
  uint64_t cd_offset_ = 0;  // entry data must lie before the central directory
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace sealite::ckpt
