// The .safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
// "__metadata__": {...}}, then the byte buffer the offsets index into. Tensors
// are contiguous, little-endian, C order.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/scalar_type.h"

namespace sealite::ckpt {

struct SafetensorsEntry {
  std::string name;
  ScalarType dtype = ScalarType::f32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;  // view into `file`
};

// True when `file` starts with a plausible safetensors header (length + '{').
bool looks_like_safetensors(std::span<const uint8_t> file);

// Parses and validates the header (dtype, shape, offsets within the buffer,
// size == numel * element size, no overlaps), in header order.
// `what` prefixes error messages.
std::vector<SafetensorsEntry> parse_safetensors(std::span<const uint8_t> file, const std::string& what);

}  // namespace sealite::ckpt
