#include "checkpoint/pickle.h"

#include <cstring>

#include "core/error.h"

namespace sealite::ckpt::pickle {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::set: return "set";
    case Kind::dict: return "dict";
    case Kind::global: return "global";
    case Kind::storage: return "storage";
    case Kind::tensor: return "tensor";
    case Kind::object: return "object";
  }
  return "?";
}

const Value* Value::dict_get(std::string_view key) const {
  if (kind != Kind::dict || !str_keys) return nullptr;
  auto it = str_keys->find(std::string(key));
  return it == str_keys->end() ? nullptr : items[2 * it->second + 1];
}

namespace {

// Opcodes (pickletools names).
enum : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', BININT = 'J', BININT1 = 'K',
  BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T',
  SHORT_BINSTRING = 'U', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd',
  EMPTY_DICT = '}', APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']',
  BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u',
  BINFLOAT = 'G', BINBYTES = 'B', SHORT_BINBYTES = 'C',
  PROTO = 0x80, NEWOBJ = 0x81, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88,
  NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92,
  STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95, BYTEARRAY8 = 0x96,
};

struct Allowed {
  const char* module;
  const char* name;
  GlobalId id;
  ScalarType dtype;
};

// The only names a checkpoint may reference. Everything here is interpreted by
// this file (never imported or called), so the list is the entire attack surface.
constexpr Allowed kWhitelist[] = {
    {"collections", "OrderedDict", GlobalId::ordered_dict, ScalarType::u8},
    {"torch._utils", "_rebuild_tensor_v2", GlobalId::rebuild_tensor_v2, ScalarType::u8},
    {"torch._utils", "_rebuild_tensor", GlobalId::rebuild_tensor, ScalarType::u8},
    {"torch._utils", "_rebuild_parameter", GlobalId::rebuild_parameter, ScalarType::u8},
    {"torch._utils", "_rebuild_parameter_with_state", GlobalId::rebuild_parameter_with_state,
     ScalarType::u8},
    {"torch", "FloatStorage", GlobalId::storage_type, ScalarType::f32},
    {"torch", "HalfStorage", GlobalId::storage_type, ScalarType::f16},
    {"torch", "BFloat16Storage", GlobalId::storage_type, ScalarType::bf16},
    {"torch", "DoubleStorage", GlobalId::storage_type, ScalarType::f64},
    {"torch", "LongStorage", GlobalId::storage_type, ScalarType::i64},
    {"torch", "IntStorage", GlobalId::storage_type, ScalarType::i32},
    {"torch", "ShortStorage", GlobalId::storage_type, ScalarType::i16},
    {"torch", "CharStorage", GlobalId::storage_type, ScalarType::i8},
    {"torch", "ByteStorage", GlobalId::storage_type, ScalarType::u8},
    {"torch", "BoolStorage", GlobalId::storage_type, ScalarType::b1},
    {"torch.storage", "UntypedStorage", GlobalId::storage_type, ScalarType::u8},
    {"torch", "UntypedStorage", GlobalId::storage_type, ScalarType::u8},
    // Inert data containers that may appear next to the state dict.
    {"builtins", "set", GlobalId::set, ScalarType::u8},
    {"__builtin__", "set", GlobalId::set, ScalarType::u8},  // protocol 2 spelling
    {"argparse", "Namespace", GlobalId::namespace_, ScalarType::u8},
};

}  // namespace

class Machine {
 public:
  Machine(std::span<const uint8_t> data, const std::string& what, const Limits& limits)
      : data_(data), what_(what), limits_(limits) {}

  Unpickled run() {
    none_ = make(Kind::none);
    true_ = make(Kind::boolean);
    true_->boolean = true;
    false_ = make(Kind::boolean);
    while (pos_ < data_.size()) {
      op_pos_ = pos_;
      const uint8_t op = data_[pos_++];
      if (op == STOP) {
        out_.root_ = pop();
        return std::move(out_);
      }
      step(op);
    }
    corrupt("truncated pickle (no STOP opcode)");
  }

 private:
  [[noreturn]] void corrupt(const std::string& msg) const {
    throw Error(what_ + ": corrupt pickle at byte " + std::to_string(op_pos_) + ": " + msg);
  }

  Value* make(Kind k) {
    Value& v = out_.arena_->emplace_back();
    v.kind = k;
    return &v;
  }

  // --- input ------------------------------------------------------------
  const uint8_t* take(uint64_t n) {
    if (n > data_.size() - pos_) corrupt("truncated pickle (argument runs past the end)");
    const uint8_t* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t read_le(int n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string read_line() {
    const uint8_t* start = data_.data() + pos_;
    const void* nl = std::memchr(start, '\n', data_.size() - pos_);
    if (!nl) corrupt("truncated pickle (unterminated GLOBAL name)");
    size_t n = static_cast<const uint8_t*>(nl) - start;
    pos_ += n + 1;
    return std::string(reinterpret_cast<const char*>(start), n);
  }

  // --- stack ------------------------------------------------------------
  size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Value* v) {
    if (stack_.size() >= limits_.max_stack) corrupt("pickle stack too large");
    stack_.push_back(v);
  }
  Value* pop() {
    if (stack_.size() <= fence()) corrupt("stack underflow");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= fence()) corrupt("stack underflow");
    return stack_.back();
  }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) corrupt("MARK missing");
    const size_t k = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(k), stack_.end());
    stack_.resize(k);
    return items;
  }

  // --- containers -------------------------------------------------------
  void deepen(Value* container, const Value* child) {
    if (child->depth + 1 > container->depth) container->depth = child->depth + 1;
    if (container->depth > limits_.max_depth)
      corrupt("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
  }
  Value* make_seq(Kind k, std::vector<Value*> items) {
    Value* v = make(k);
    for (Value* c : items) deepen(v, c);
    v->items = std::move(items);
    return v;
  }
  void dict_set(Value* d, Value* key, Value* value) {
    deepen(d, key);
    deepen(d, value);
    if (key->kind == Kind::string) {
      if (!d->str_keys) d->str_keys = std::make_unique<std::unordered_map<std::string, size_t>>();
      auto [it, inserted] = d->str_keys->emplace(key->text, d->dict_size());
      if (!inserted) {  // Python semantics: a repeated key replaces the value in place
        d->items[2 * it->second + 1] = value;
        return;
      }
    }
    d->items.push_back(key);
    d->items.push_back(value);
  }
  Value* expect_container(Kind k, const char* op) {
    Value* c = top();
    if (c->kind != k)
      corrupt(std::string(op) + " on a " + kind_name(c->kind) + " (expected " + kind_name(k) + ")");
    return c;
  }

  // --- memo -------------------------------------------------------------
  void memo_put(uint64_t idx) {
    Value* v = top();
    auto it = memo_.find(idx);
    if (it != memo_.end()) {
      it->second = v;
      return;
    }
    if (memo_.size() >= limits_.max_memo) corrupt("memo too large");
    memo_.emplace(idx, v);
  }
  void memo_get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) corrupt("memo key " + std::to_string(idx) + " missing");
    push(it->second);
  }

  // --- values -----------------------------------------------------------
  void push_int(int64_t i) {
    Value* v = make(Kind::integer);
    v->integer = i;
    push(v);
  }
  // LONG1/LONG4: little-endian two's complement of n bytes.
  void push_long(uint64_t n) {
    if (n > 8) corrupt("integer wider than 64 bits");
    const uint8_t* p = take(n);
    uint64_t u = 0;
    for (uint64_t i = n; i-- > 0;) u = (u << 8) | p[i];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(u));
  }
  void push_text(Kind k, uint64_t n) {
    const uint8_t* p = take(n);
    Value* v = make(k);
    v->text.assign(reinterpret_cast<const char*>(p), n);
    push(v);
  }

  void push_global(const std::string& module, const std::string& name) {
    for (const Allowed& a : kWhitelist) {
      if (module == a.module && name == a.name) {
        Value* v = make(Kind::global);
        v->text = module + "." + name;
        v->global = a.id;
        v->storage_dtype = a.dtype;
        push(v);
        return;
      }
    }
    throw Error(what_ + ": refusing pickle global '" + module + "." + name +
                "' (not a tensor/state_dict type)");
  }

  static bool is_int(const Value* v) { return v->kind == Kind::integer; }
  static bool is_seq(const Value* v) { return v->kind == Kind::tuple || v->kind == Kind::list; }

  std::vector<int64_t> int_list(const Value* v, const char* what) {
    if (!is_seq(v)) corrupt(std::string("tensor ") + what + " is a " + kind_name(v->kind));
    if (v->items.size() > 64) corrupt(std::string("tensor ") + what + " has too many dimensions");
    std::vector<int64_t> out;
    out.reserve(v->items.size());
    for (const Value* x : v->items) {
      if (!is_int(x) || x->integer < 0)
        corrupt(std::string("tensor ") + what + " entries must be non-negative integers");
      out.push_back(x->integer);
    }
    return out;
  }

  // _rebuild_tensor(storage, offset, size, stride) and _v2 (+ requires_grad, hooks[, metadata]).
  Value* rebuild_tensor(const std::vector<Value*>& a, bool v2) {
    const size_t n = a.size();
    if (v2 ? (n != 6 && n != 7) : n != 4) corrupt("bad arguments to tensor rebuild");
    if (a[0]->kind != Kind::storage) corrupt("tensor rebuild without a storage");
    if (!is_int(a[1]) || a[1]->integer < 0) corrupt("bad tensor storage offset");
    auto t = std::make_unique<TensorRef>();
    t->storage = a[0];
    t->offset = a[1]->integer;
    t->size = int_list(a[2], "size");
    t->stride = int_list(a[3], "stride");
    if (t->size.size() != t->stride.size()) corrupt("tensor size and stride differ in length");
    Value* v = make(Kind::tensor);
    v->tensor = std::move(t);
    return v;
  }

  // Applies a whitelisted callable (REDUCE) to a tuple of arguments.
  Value* call(Value* fn, Value* args) {
    if (fn->kind != Kind::global) corrupt(std::string("REDUCE on a ") + kind_name(fn->kind));
    if (args->kind != Kind::tuple) corrupt("REDUCE arguments are not a tuple");
    const auto& a = args->items;
    switch (fn->global) {
      case GlobalId::ordered_dict: {
        Value* d = make(Kind::dict);
        if (a.empty()) return d;
        if (a.size() == 1 && is_seq(a[0])) {
          for (Value* pair : a[0]->items) {
            if (!is_seq(pair) || pair->items.size() != 2) corrupt("OrderedDict item is not a pair");
            dict_set(d, pair->items[0], pair->items[1]);
          }
          return d;
        }
        corrupt("bad arguments to OrderedDict");
      }
      case GlobalId::rebuild_tensor_v2: return rebuild_tensor(a, true);
      case GlobalId::rebuild_tensor: return rebuild_tensor(a, false);
      case GlobalId::rebuild_parameter:
      case GlobalId::rebuild_parameter_with_state:
        // A Parameter is its data tensor; requires_grad, hooks and state do not matter here.
        if (a.size() != (fn->global == GlobalId::rebuild_parameter ? 3u : 4u) ||
            a[0]->kind != Kind::tensor)
          corrupt("bad arguments to " + fn->text);
        return a[0];
      case GlobalId::set: {
        if (a.empty()) return make(Kind::set);
        if (a.size() == 1 && (is_seq(a[0]) || a[0]->kind == Kind::set))
          return make_seq(Kind::set, a[0]->items);
        corrupt("bad arguments to set");
      }
      case GlobalId::namespace_: return instantiate(fn);
      case GlobalId::storage_type: break;
    }
    corrupt("cannot call " + fn->text);
  }

  // NEWOBJ / NEWOBJ_EX: cls.__new__(cls, ...) for the data-only classes.
  Value* instantiate(Value* cls) {
    if (cls->kind != Kind::global) corrupt(std::string("NEWOBJ on a ") + kind_name(cls->kind));
    switch (cls->global) {
      case GlobalId::ordered_dict: return make(Kind::dict);
      case GlobalId::set: return make(Kind::set);
      case GlobalId::namespace_: {
        Value* o = make(Kind::object);
        o->text = cls->text;
        return o;
      }
      default: corrupt("cannot instantiate " + cls->text);
    }
  }

  // torch's persistent id: ('storage', storage_type, key, location, numel).
  Value* persistent_load(Value* pid) {
    const auto& a = pid->items;
    if (pid->kind != Kind::tuple || a.size() != 5 || a[0]->kind != Kind::string ||
        a[0]->text != "storage")
      corrupt("unsupported persistent id (expected a torch storage tuple)");
    if (a[1]->kind != Kind::global || a[1]->global != GlobalId::storage_type)
      corrupt("persistent id without a storage type");
    if (a[2]->kind != Kind::string) corrupt("storage key is not a string");
    if (a[3]->kind != Kind::string) corrupt("storage location is not a string");
    if (!is_int(a[4]) || a[4]->integer < 0) corrupt("bad storage size");
    auto s = std::make_unique<StorageRef>();
    s->dtype = a[1]->storage_dtype;
    s->key = a[2]->text;
    s->location = a[3]->text;
    s->numel = a[4]->integer;
    Value* v = make(Kind::storage);
    v->storage = std::move(s);
    return v;
  }

  void step(uint8_t op) {
    switch (op) {
      case PROTO: {
        const uint64_t proto = read_le(1);
        if (proto > 5) corrupt("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case FRAME: {
        // Frames only help buffered readers; the whole pickle is in memory.
        const uint64_t len = read_le(8);
        if (len > data_.size() - pos_) corrupt("truncated pickle (frame runs past the end)");
        break;
      }
      case MARK:
        if (marks_.size() >= limits_.max_marks)
          corrupt("nesting deeper than " + std::to_string(limits_.max_marks) + " MARKs");
        marks_.push_back(stack_.size());
        break;
      case POP:
        if (stack_.size() > fence()) stack_.pop_back();
        else pop_mark();  // Python pops the mark when nothing is above it
        break;
      case POP_MARK: pop_mark(); break;
      case DUP: push(top()); break;

      case NONE: push(none_); break;
      case NEWTRUE: push(true_); break;
      case NEWFALSE: push(false_); break;
      case BININT: push_int(static_cast<int32_t>(read_le(4))); break;
      case BININT1: push_int(static_cast<int64_t>(read_le(1))); break;
      case BININT2: push_int(static_cast<int64_t>(read_le(2))); break;
      case LONG1: push_long(read_le(1)); break;
      case LONG4: {
        const int32_t n = static_cast<int32_t>(read_le(4));
        if (n < 0) corrupt("negative LONG4 length");
        push_long(static_cast<uint64_t>(n));
        break;
      }
      case BINFLOAT: {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
        Value* v = make(Kind::floating);
        std::memcpy(&v->floating, &bits, 8);
        push(v);
        break;
      }
      case BINUNICODE: push_text(Kind::string, read_le(4)); break;
      case SHORT_BINUNICODE: push_text(Kind::string, read_le(1)); break;
      case BINUNICODE8: push_text(Kind::string, read_le(8)); break;
      case BINSTRING: {
        const int32_t n = static_cast<int32_t>(read_le(4));
        if (n < 0) corrupt("negative BINSTRING length");
        push_text(Kind::string, static_cast<uint64_t>(n));
        break;
      }
      case SHORT_BINSTRING: push_text(Kind::string, read_le(1)); break;
      case BINBYTES: push_text(Kind::bytes, read_le(4)); break;
      case SHORT_BINBYTES: push_text(Kind::bytes, read_le(1)); break;
      case BINBYTES8: case BYTEARRAY8: push_text(Kind::bytes, read_le(8)); break;

      case EMPTY_TUPLE: push(make(Kind::tuple)); break;
      case TUPLE: push(make_seq(Kind::tuple, pop_mark())); break;
      case TUPLE1: case TUPLE2: case TUPLE3: {
        const size_t n = op - TUPLE1 + 1;
        std::vector<Value*> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop();
        push(make_seq(Kind::tuple, std::move(items)));
        break;
      }
      case EMPTY_LIST: push(make(Kind::list)); break;
      case LIST: push(make_seq(Kind::list, pop_mark())); break;
      case APPEND: {
        Value* x = pop();
        Value* l = expect_container(Kind::list, "APPEND");
        deepen(l, x);
        l->items.push_back(x);
        break;
      }
      case APPENDS: {
        auto xs = pop_mark();
        Value* l = expect_container(Kind::list, "APPENDS");
        for (Value* x : xs) deepen(l, x);
        l->items.insert(l->items.end(), xs.begin(), xs.end());
        break;
      }
      case EMPTY_SET: push(make(Kind::set)); break;
      case FROZENSET: push(make_seq(Kind::set, pop_mark())); break;
      case ADDITEMS: {
        auto xs = pop_mark();
        Value* s = expect_container(Kind::set, "ADDITEMS");
        for (Value* x : xs) deepen(s, x);
        s->items.insert(s->items.end(), xs.begin(), xs.end());
        break;
      }
      case EMPTY_DICT: push(make(Kind::dict)); break;
      case DICT: {
        auto kv = pop_mark();
        if (kv.size() % 2) corrupt("odd number of items for DICT");
        Value* d = make(Kind::dict);
        for (size_t i = 0; i < kv.size(); i += 2) dict_set(d, kv[i], kv[i + 1]);
        push(d);
        break;
      }
      case SETITEM: {
        Value* value = pop();
        Value* key = pop();
        dict_set(expect_container(Kind::dict, "SETITEM"), key, value);
        break;
      }
      case SETITEMS: {
        auto kv = pop_mark();
        if (kv.size() % 2) corrupt("odd number of items for SETITEMS");
        Value* d = expect_container(Kind::dict, "SETITEMS");
        for (size_t i = 0; i < kv.size(); i += 2) dict_set(d, kv[i], kv[i + 1]);
        break;
      }

      case BINPUT: memo_put(read_le(1)); break;
      case LONG_BINPUT: memo_put(read_le(4)); break;
      case MEMOIZE: memo_put(memo_.size()); break;
      case BINGET: memo_get(read_le(1)); break;
      case LONG_BINGET: memo_get(read_le(4)); break;

      case GLOBAL: {
        std::string module = read_line();
        std::string name = read_line();
        push_global(module, name);
        break;
      }
      case STACK_GLOBAL: {
        Value* name = pop();
        Value* module = pop();
        if (module->kind != Kind::string || name->kind != Kind::string)
          corrupt("STACK_GLOBAL needs two strings");
        push_global(module->text, name->text);
        break;
      }
      case REDUCE: {
        Value* args = pop();
        Value* fn = pop();
        push(call(fn, args));
        break;
      }
      case NEWOBJ: {
        Value* args = pop();
        Value* cls = pop();
        if (args->kind != Kind::tuple) corrupt("NEWOBJ arguments are not a tuple");
        push(instantiate(cls));
        break;
      }
      case NEWOBJ_EX: {
        Value* kwargs = pop();
        Value* args = pop();
        Value* cls = pop();
        if (args->kind != Kind::tuple || kwargs->kind != Kind::dict)
          corrupt("bad NEWOBJ_EX arguments");
        push(instantiate(cls));
        break;
      }
      case BUILD: {
        // __setstate__: only attribute state of inert objects (OrderedDict._metadata,
        // Namespace fields), which a state dict reader does not need.
        Value* state = pop();
        Value* obj = top();
        if (obj->kind != Kind::dict && obj->kind != Kind::object && obj->kind != Kind::tensor &&
            obj->kind != Kind::set)
          corrupt(std::string("BUILD on a ") + kind_name(obj->kind));
        deepen(obj, state);
        break;
      }
      case BINPERSID: push(persistent_load(pop())); break;

      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "0x%02x", op);
        corrupt(std::string("unsupported pickle opcode ") + buf);
      }
    }
  }

  std::span<const uint8_t> data_;
  const std::string& what_;
  const Limits& limits_;
  size_t pos_ = 0, op_pos_ = 0;
  Unpickled out_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  Value *none_ = nullptr, *true_ = nullptr, *false_ = nullptr;
};

Unpickled unpickle(std::span<const uint8_t> data, const std::string& what, const Limits& limits) {
  return Machine(data, what, limits).run();
}

}  // namespace sealite::ckpt::pickle
