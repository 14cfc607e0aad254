#include "tflite/op_names.h"

#include "tflite/schema.h"

namespace sealite::tfl {

std::string op_name(int code) {
  if (code >= BuiltinOperator_MIN && code <= BuiltinOperator_MAX) {
    const char* n = EnumNameBuiltinOperator(static_cast<BuiltinOperator>(code));
    if (n && *n) return n;
  }
  return "UNKNOWN_" + std::to_string(code);
}

std::string tensor_type_name(int type) {
  if (type >= TensorType_MIN && type <= TensorType_MAX) {
    const char* n = EnumNameTensorType(static_cast<TensorType>(type));
    if (n && *n) return n;
  }
  return "TYPE_" + std::to_string(type);
}

size_t tensor_type_size(int type) {
  switch (static_cast<TensorType>(type)) {
    case TensorType_FLOAT32: case TensorType_INT32: case TensorType_UINT32: return 4;
    case TensorType_FLOAT16: case TensorType_INT16: case TensorType_UINT16: case TensorType_BFLOAT16: return 2;
    case TensorType_INT64: case TensorType_UINT64: case TensorType_FLOAT64: case TensorType_COMPLEX64: return 8;
    case TensorType_COMPLEX128: return 16;
    case TensorType_UINT8: case TensorType_INT8: case TensorType_BOOL: return 1;
    default: return 0;
  }
}

}  // namespace sealite::tfl
