// Reading and writing .tflite files. Every input is checked by the
// FlatBuffers verifier and then by validate() (index ranges, cycles) before
// anything uses it; every output is re-verified before it is written.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tflite/schema.h"

namespace sealite::tfl {

// Parses and validates; throws sealite::Error with a one-line reason.
// `what` names the input in messages (usually the path).
std::unique_ptr<ModelT> read_model(const uint8_t* data, size_t size, const std::string& what = "model");
std::unique_ptr<ModelT> read_model_file(const std::filesystem::path& path);

// Serialises (identifier "TFL3"), verifies the result, returns the bytes.
std::vector<uint8_t> write_model(const ModelT& model);
// Atomic write (temp file + rename).
void write_model_file(const std::filesystem::path& path, const ModelT& model);

// The builtin code of an operator code, whichever of the 8-bit (deprecated)
// and 32-bit fields carries it.
BuiltinOperator builtin_code(const OperatorCodeT& oc);
// Sets both fields consistently for a new operator code.
std::unique_ptr<OperatorCodeT> make_operator_code(BuiltinOperator op, int version = 1,
                                                  const std::string& custom = "");

// Metadata entry by name (nullptr when absent); add/replace one.
const std::vector<uint8_t>* find_metadata(const ModelT& model, const std::string& name);
void set_metadata(ModelT& model, const std::string& name, const std::vector<uint8_t>& bytes);

}  // namespace sealite::tfl
