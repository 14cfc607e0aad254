// Reading model weights from PyTorch checkpoints without Python or libtorch.
//
// Checkpoint::open() maps the file once (read-only) and recognises it by its
// magic bytes: a torch.save zip archive (.pth/.pt, the format since torch 1.6)
// or a .safetensors file. For .pth files only a restricted unpickler runs (see
// pickle.h): it never executes code and refuses unknown globals. The tensors
// of the state dict are views into the mapping (zero copy, unless the archive
// entry was deflated); get() converts to float32 and checks the shape.
//
// Which dictionary is the state dict: the value of the top-level key 'model'
// (VideoSeal's {'model': state_dict, 'args': ...}) or else 'state_dict', if that
// is a dict; otherwise the top-level dict itself. Entries that are not tensors
// are ignored, and nothing outside the state dict (optimizer state ...) is read
// from the archive.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/scalar_type.h"

namespace sealite::ckpt {

class ByteSource;

// A tensor inside a loaded checkpoint (no copy). Validated on load: shape,
// strides and offset stay inside `storage`.
struct TensorView {
  std::string name;
  ScalarType dtype = ScalarType::f32;
  std::vector<int64_t> shape, strides;  // strides in elements
  int64_t storage_offset = 0;           // in elements
  std::span<const uint8_t> storage;     // the whole storage bytes (little-endian)
  std::shared_ptr<const void> owner;    // keeps `storage` alive (the mapping or an inflated copy)

  int64_t numel() const;
  bool is_contiguous() const;  // C order, no gaps
  // Any float/int/bool dtype -> float32, honouring strides/offset; C order out.
  std::vector<float> to_float() const;
};

struct OpenOptions {
  // Check the CRC-32 of every archive entry that is read (data.pkl and the
  // storages of the state dict). Off only for fuzzing.
  bool verify_crc = true;
};

class Checkpoint {
 public:
  // Opens a .pth (torch.save zip) or .safetensors file, by magic bytes.
  // Throws sealite::Error with a one-line message on anything unreadable.
  static Checkpoint open(const std::filesystem::path& path, const OpenOptions& options = {});
  // The same from bytes in memory (tests, fuzzing); `name` labels error messages.
  static Checkpoint from_memory(std::vector<uint8_t> bytes, const std::string& name = "<memory>",
                                const OpenOptions& options = {});

  enum class Format { torch_zip, safetensors };
  Format format() const;

  // State dict keys in file order.
  const std::vector<std::string>& keys() const;
  bool has(const std::string& key) const;
  // Error naming the key (and the file) if missing.
  const TensorView& at(const std::string& key) const;
  // float32 copy after checking the shape; on mismatch: Error
  // "checkpoint key 'x.weight': shape [3,4] but the model needs [4,3]".
  std::vector<float> get(const std::string& key, const std::vector<int64_t>& expected_shape) const;
  std::string path() const;

 private:
  struct Impl;
  static Checkpoint load(std::shared_ptr<const ByteSource> source, std::string what, const OpenOptions& options);
  explicit Checkpoint(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// "[3,4]"; "[]" for a scalar.
std::string format_shape(const std::vector<int64_t>& shape);

}  // namespace sealite::ckpt
