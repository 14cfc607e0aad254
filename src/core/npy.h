// NumPy .npy (format 1.0/2.0/3.0) reading and writing: little-endian, C order.
// Used for reference tensors and for float images (`--dump-float`).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sealite {

enum class DType { f32, f64, f16, i64, i32, i16, i8, u8, u16, b1 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

struct NpyArray {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // raw little-endian, C order

  int64_t numel() const;
  // Element values converted to float / int64 (any numeric dtype).
  std::vector<float> as_float() const;
  std::vector<int64_t> as_int64() const;
};

NpyArray npy_parse(const uint8_t* bytes, size_t size, const std::string& what = "npy");
NpyArray npy_load(const std::filesystem::path& path);
std::vector<uint8_t> npy_serialize(const NpyArray& a);
// Atomic write.
void npy_save(const std::filesystem::path& path, const NpyArray& a);
NpyArray npy_from_floats(std::vector<int64_t> shape, const float* values);

}  // namespace sealite
