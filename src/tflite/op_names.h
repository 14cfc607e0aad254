#pragma once
#include <string>

namespace sealite::tfl {
// "CONV_2D" for 3, ..., "UNKNOWN_<n>" for codes our schema does not name.
std::string op_name(int builtin_code);
// "FLOAT32", ... for TensorType codes.
std::string tensor_type_name(int type);
size_t tensor_type_size(int type);  // bytes per element, 0 for variable-size types
}  // namespace sealite::tfl
