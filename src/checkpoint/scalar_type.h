// Element types of checkpoint tensors, shared by the .pth and .safetensors readers.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sealite::ckpt {

enum class ScalarType { f32, f16, bf16, f64, i64, i32, i16, i8, u8, b1 };

inline size_t scalar_type_size(ScalarType t) {
  switch (t) {
    case ScalarType::f64: case ScalarType::i64: return 8;
    case ScalarType::f32: case ScalarType::i32: return 4;
    case ScalarType::f16: case ScalarType::bf16: case ScalarType::i16: return 2;
    case ScalarType::i8: case ScalarType::u8: case ScalarType::b1: return 1;
  }
  return 1;
}

// PyTorch spelling without the "torch." prefix ("float32", "bfloat16", "bool" ...).
inline const char* scalar_type_name(ScalarType t) {
  switch (t) {
    case ScalarType::f32: return "float32";
    case ScalarType::f16: return "float16";
    case ScalarType::bf16: return "bfloat16";
    case ScalarType::f64: return "float64";
    case ScalarType::i64: return "int64";
    case ScalarType::i32: return "int32";
    case ScalarType::i16: return "int16";
    case ScalarType::i8: return "int8";
    case ScalarType::u8: return "uint8";
    case ScalarType::b1: return "bool";
  }
  return "?";
}

}  // namespace sealite::ckpt
