// Test helpers that write archives and pickles byte by byte, so hostile and
// corner-case inputs can be produced without Python.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sealite::ckpt::builders {

using Bytes = std::vector<uint8_t>;

struct ZipItem {
  std::string name;
  Bytes data;
  bool deflate = false;
};

// A ZIP archive of `items`. zip64 = write every size/offset through the ZIP64
// extra fields and end records, as a writer does for > 4 GiB archives.
Bytes make_zip(const std::vector<ZipItem>& items, bool zip64 = false);

// Appends pickle opcodes.
class PickleWriter {
 public:
  PickleWriter& proto(int p);
  PickleWriter& op(uint8_t code);
  PickleWriter& str(const std::string& s);                // BINUNICODE
  PickleWriter& global(const std::string& module, const std::string& name);  // GLOBAL
  PickleWriter& int1(uint8_t v);                          // BININT1
  PickleWriter& int4(int32_t v);                          // BININT
  PickleWriter& tuple_of(const std::vector<int64_t>& v);  // MARK ints TUPLE
  PickleWriter& raw(const Bytes& b);
  Bytes bytes() const { return b_; }

 private:
  Bytes b_;
};

struct TensorSpec {
  std::string name = "w";
  std::string storage_type = "FloatStorage";
  std::string key = "0";
  int64_t numel = 12;
  int64_t offset = 0;
  std::vector<int64_t> size = {3, 4}, stride = {4, 1};
};

// data.pkl as torch.save writes it for {'model': {<name>: tensor, ...}} (protocol 2).
Bytes torch_pickle(const std::vector<TensorSpec>& tensors);

// A whole torch.save-style archive: archive/data.pkl + archive/data/<key> entries.
Bytes torch_zip(const Bytes& pickle, const std::vector<std::pair<std::string, Bytes>>& storages,
                bool zip64 = false);

Bytes floats_le(const std::vector<float>& v);

}  // namespace sealite::ckpt::builders
