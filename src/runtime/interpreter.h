// A thin, safe wrapper over the TensorFlow Lite C API (2.9 or any later
// TFLite/LiteRT C library): model + interpreter + optional XNNPACK delegate,
// with TFLite's own log captured and a delegation probe that reports what the
// XNNPACK delegate took (see docs/architecture.md, "How delegation is measured").
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sealite::rt {

enum class ElemType { f32, i32, i64, u8, i8, i16, boolean, f16, other };

struct TensorInfo {
  std::string name;
  ElemType type = ElemType::other;
  std::string type_name;  // TFLite's name for the type
  std::vector<int> shape;
  size_t bytes = 0;
  float scale = 0.f;      // per-tensor quantization, 0 when none
  int32_t zero_point = 0;
};

struct Options {
  int threads = 2;
  bool xnnpack = true;       // add the XNNPACK delegate (falls back to built-in kernels if it is refused)
  bool xnnpack_quantized = true;  // let XNNPACK take QS8/QU8 ops as well
  bool probe_delegation = false;  // add the probe delegate after XNNPACK and fill delegation()
};

struct DelegationReport {
  bool xnnpack_requested = false;
  bool xnnpack_applied = false;   // false when the library has no XNNPACK or the delegate was refused
  int nodes_before = 0;           // nodes in the execution plan before delegation (= ops of subgraph 0)
  int delegated_nodes = 0;        // original nodes now inside XNNPACK partitions
  int partitions = 0;             // XNNPACK delegate kernels in the final plan
  int builtin_nodes = 0;          // nodes still on built-in kernels
  std::map<std::string, int> builtin_ops;  // op name -> count, for nodes still on built-in kernels
};

class Interpreter {
 public:
  // `model_bytes` must outlive nothing: it is copied. Throws sealite::Error
  // with TFLite's own log when the model does not load or allocate.
  Interpreter(std::vector<uint8_t> model_bytes, const Options& options = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  int input_count() const;
  int output_count() const;
  TensorInfo input_info(int i) const;
  TensorInfo output_info(int i) const;
  int input_index(const std::string& name) const;   // -1 when absent
  int output_index(const std::string& name) const;

  void set_input(int i, const void* data, size_t bytes);
  void set_input(int i, const std::vector<float>& values);
  void invoke();
  void get_output(int i, void* data, size_t bytes) const;
  std::vector<float> output_float(int i) const;
  std::vector<uint8_t> output_bytes(int i) const;

  const DelegationReport& delegation() const { return delegation_; }
  const std::string& log() const { return log_; }
  static std::string library_version();
  static bool xnnpack_available();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DelegationReport delegation_;
  std::string log_;
};

const char* elem_type_name(ElemType t);

}  // namespace sealite::rt
