// Structural comparison of two .tflite files: every field of every table,
// walked generically through the schema's reflection data, so it covers the
// whole format (options, quantization, sparsity, signatures, metadata, ...).
// FlatBuffers semantics apply: an absent scalar equals its default, and an
// absent vector or string equals an empty one. Byte layout is not compared;
// buffer data and custom options stored after the FlatBuffer (offset/size)
// are compared by content with inline data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sealite::tfl {

// Returns human-readable differences ("subgraphs[0].operators[3].inputs[1]: 7 != 8"),
// at most `max_diffs`; empty means structurally identical. Both inputs must
// already be verified models.
std::vector<std::string> compare_models(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size,
                                        size_t max_diffs = 20);

}  // namespace sealite::tfl
