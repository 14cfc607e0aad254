// The immutable bytes of one checkpoint: a read-only memory mapping of the file
// (the normal case, so tensor storages can be views without copies) or an owned
// buffer (from_memory, fuzzing). Shared by every view that points into it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

namespace sealite::ckpt {

class ByteSource {
 public:
  // Maps `path` read-only (PROT_READ, MAP_PRIVATE); the file is never modified.
  // Throws sealite::Error if it cannot be opened or mapped. As with any
  // mapping, truncating the file while it is mapped makes reads fault (SIGBUS).
  static std::shared_ptr<const ByteSource> map_file(const std::filesystem::path& path);
  static std::shared_ptr<const ByteSource> from_vector(std::vector<uint8_t> bytes);

  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  ByteSource() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;          // non-null when mmapped
  std::vector<uint8_t> owned_;   // used by from_vector
};

}  // namespace sealite::ckpt
