// A restricted unpickler for the data.pkl that torch.save writes (protocols 2-5).
//
// It builds an inert value graph and never executes anything: GLOBAL /
// STACK_GLOBAL resolve only a small whitelist of names (OrderedDict, torch's
// tensor/parameter rebuild functions, the typed storage classes, and a few
// data-only types); any other global aborts loading. REDUCE / NEWOBJ on a
// whitelisted name is interpreted here (e.g. _rebuild_tensor_v2 becomes a
// TensorRef); persistent ids become StorageRefs that the caller resolves
// against the archive, lazily, so storages nobody asks for are never read.
//
// Values live in an arena owned by Unpickled and refer to each other by raw
// pointer, so cycles and deep nesting cannot cause recursive destruction or
// leaks; nothing in this module recurses over the graph. Limits on the stack,
// mark depth, nesting depth and memo size turn hostile inputs into errors.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "checkpoint/scalar_type.h"

namespace sealite::ckpt::pickle {

enum class Kind : uint8_t {
  none, boolean, integer, floating, string, bytes,
  tuple, list, set, dict,
  global,   // a whitelisted callable or class (text = "module.name")
  storage,  // a persistent-id storage reference (torch)
  tensor,   // result of torch._utils._rebuild_tensor[_v2]
  object,   // an inert instance (argparse.Namespace); text = class name
};
const char* kind_name(Kind k);

enum class GlobalId : uint8_t {
  ordered_dict, rebuild_tensor_v2, rebuild_tensor, rebuild_parameter,
  rebuild_parameter_with_state, storage_type, set, namespace_,
};

struct Value;

// ('storage', <torch.XStorage>, key, location, numel) -> the zip entry <prefix>/data/<key>.
struct StorageRef {
  ScalarType dtype = ScalarType::u8;
  std::string key, location;
  int64_t numel = 0;
};

struct TensorRef {
  const Value* storage = nullptr;  // Kind::storage
  int64_t offset = 0;              // in elements
  std::vector<int64_t> size, stride;
};

struct Value {
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  std::string text;            // string/bytes payload, global or object name
  std::vector<Value*> items;   // tuple/list/set elements; dict: k0, v0, k1, v1, ...
  GlobalId global = GlobalId::ordered_dict;
  ScalarType storage_dtype = ScalarType::u8;  // for GlobalId::storage_type
  std::unique_ptr<StorageRef> storage;
  std::unique_ptr<TensorRef> tensor;
  std::unique_ptr<std::unordered_map<std::string, size_t>> str_keys;  // dict: key -> pair index
  uint32_t depth = 0;          // nesting depth as built (a guard, not exact after mutation)

  size_t dict_size() const { return items.size() / 2; }
  const Value* dict_key(size_t i) const { return items[2 * i]; }
  const Value* dict_value(size_t i) const { return items[2 * i + 1]; }
  // The value stored under a string key, or null.
  const Value* dict_get(std::string_view key) const;
};

class Unpickled {
 public:
  const Value& root() const { return *root_; }

 private:
  friend class Machine;
  std::unique_ptr<std::deque<Value>> arena_ = std::make_unique<std::deque<Value>>();
  const Value* root_ = nullptr;
};

struct Limits {
  size_t max_stack = size_t{1} << 22;   // values on the stack at once
  size_t max_marks = 1000;              // open MARKs
  uint32_t max_depth = 1000;            // container nesting
  size_t max_memo = size_t{1} << 24;    // memo entries
};

// Runs `data` up to STOP. `what` prefixes error messages (e.g. "ckpt.pth: archive/data.pkl").
Unpickled unpickle(std::span<const uint8_t> data, const std::string& what, const Limits& limits = {});

}  // namespace sealite::ckpt::pickle
