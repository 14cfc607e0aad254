#include "tflite/compare.h"

#include <cmath>
#include <cstring>

#include "flatbuffers/reflection.h"
#include "tflite/tflite_bfbs_generated.h"

namespace sealite::tfl {
namespace {

using reflection::BaseType;

struct File {
  const uint8_t* data;
  size_t size;
};

class Comparer {
 public:
  Comparer(const reflection::Schema& schema, size_t max_diffs, File a, File b)
      : schema_(schema), max_(max_diffs), fa_(a), fb_(b) {}
  std::vector<std::string> diffs;

  void table(const reflection::Object& obj, const flatbuffers::Table* a, const flatbuffers::Table* b,
             const std::string& path) {
    const std::string& type = obj.name()->str();
    const bool is_buffer = type == "sealite.tfl.Buffer", is_op = type == "sealite.tfl.Operator";
    for (const reflection::Field* f : *obj.fields()) {
      if (full()) return;
      const std::string name = f->name()->str();
      // Data stored after the FlatBuffer (offset/size, the >2 GiB layout) is
      // compared by content, whether it is external or inline on either side.
      if (is_buffer && (name == "offset" || name == "size")) continue;
      if (is_buffer && name == "data") {
        compare_bytes(resolve(*a, *f, obj, "offset", "size", fa_), resolve(*b, *f, obj, "offset", "size", fb_),
                      path + ".data");
        continue;
      }
      if (is_op && (name == "large_custom_options_offset" || name == "large_custom_options_size")) continue;
      if (is_op && name == "custom_options") {
        compare_bytes(resolve(*a, *f, obj, "large_custom_options_offset", "large_custom_options_size", fa_),
                      resolve(*b, *f, obj, "large_custom_options_offset", "large_custom_options_size", fb_),
                      path + ".custom_options");
        continue;
      }
      field(obj, *f, *a, *b, path.empty() ? name : path + "." + name);
    }
  }

 private:
  const reflection::Schema& schema_;
  size_t max_;
  File fa_, fb_;

  // Bytes of a [ubyte] field, or of the file range named by its offset/size siblings when offset > 1.
  std::pair<const uint8_t*, size_t> resolve(const flatbuffers::Table& t, const reflection::Field& f,
                                            const reflection::Object& obj, const char* off_name,
                                            const char* size_name, File file) {
    const reflection::Field* fo = obj.fields()->LookupByKey(off_name);
    const reflection::Field* fs = obj.fields()->LookupByKey(size_name);
    if (fo && fs) {
      uint64_t off = static_cast<uint64_t>(flatbuffers::GetAnyFieldI(t, *fo));
      uint64_t n = static_cast<uint64_t>(flatbuffers::GetAnyFieldI(t, *fs));
      if (off > 1) {
        if (off > file.size || n > file.size - off) return {nullptr, ~size_t{0}};  // out of range: differs
        return {file.data + off, n};
      }
    }
    auto* v = flatbuffers::GetFieldAnyV(t, f);
    if (!v) return {nullptr, 0};
    return {v->Data(), v->size()};
  }

  void compare_bytes(std::pair<const uint8_t*, size_t> x, std::pair<const uint8_t*, size_t> y,
                     const std::string& path) {
    if (x.second != y.second) return diff(path + ".size", std::to_string(x.second), std::to_string(y.second));
    if (x.second && std::memcmp(x.first, y.first, x.second) != 0) diff(path, "bytes", "other bytes");
  }

  bool full() const { return diffs.size() >= max_; }
  void diff(const std::string& path, const std::string& a, const std::string& b) {
    if (!full()) diffs.push_back(path + ": " + a + " != " + b);
  }

  static bool is_float(BaseType t) { return t == reflection::Float || t == reflection::Double; }
  static bool same_real(double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); }

  void field(const reflection::Object& obj, const reflection::Field& f, const flatbuffers::Table& a,
             const flatbuffers::Table& b, const std::string& path) {
    BaseType t = f.type()->base_type();
    if (t <= reflection::Double) {  // scalars, bool and union type tags
      if (is_float(t)) {
        double x = flatbuffers::GetAnyFieldF(a, f), y = flatbuffers::GetAnyFieldF(b, f);
        if (!same_real(x, y)) diff(path, std::to_string(x), std::to_string(y));
      } else {
        int64_t x = flatbuffers::GetAnyFieldI(a, f), y = flatbuffers::GetAnyFieldI(b, f);
        if (t == reflection::Bool) { x = x != 0; y = y != 0; }  // any non-zero byte is true
        if (x != y) diff(path, std::to_string(x), std::to_string(y));
      }
      return;
    }
    switch (t) {
      case reflection::String: {
        auto* x = flatbuffers::GetFieldS(a, f);
        auto* y = flatbuffers::GetFieldS(b, f);
        std::string xs = x ? x->str() : "", ys = y ? y->str() : "";
        if (xs != ys) diff(path, "\"" + xs + "\"", "\"" + ys + "\"");
        return;
      }
      case reflection::Obj: {
        const reflection::Object& sub = *schema_.objects()->Get(f.type()->index());
        if (sub.is_struct()) {
          auto* x = a.GetStruct<const uint8_t*>(f.offset());
          auto* y = b.GetStruct<const uint8_t*>(f.offset());
          if ((x == nullptr) != (y == nullptr) || (x && std::memcmp(x, y, sub.bytesize()) != 0))
            diff(path, "struct", "struct");
          return;
        }
        auto* x = flatbuffers::GetFieldT(a, f);
        auto* y = flatbuffers::GetFieldT(b, f);
        if (!x && !y) return;
        if (!x || !y) return diff(path, x ? "present" : "absent", y ? "present" : "absent");
        return table(sub, x, y, path);
      }
      case reflection::Union: {
        // The tag is the sibling field "<name>_type", compared on its own. A
        // value under tag NONE is unreachable data: ignored, like readers do.
        const reflection::Field* tag = obj.fields()->LookupByKey((f.name()->str() + "_type").c_str());
        const bool none_a = tag && flatbuffers::GetAnyFieldI(a, *tag) == 0;
        const bool none_b = tag && flatbuffers::GetAnyFieldI(b, *tag) == 0;
        auto* x = none_a ? nullptr : flatbuffers::GetFieldT(a, f);
        auto* y = none_b ? nullptr : flatbuffers::GetFieldT(b, f);
        if (!x && !y) return;
        if (!x || !y) return diff(path, x ? "present" : "absent", y ? "present" : "absent");
        const reflection::Object& ua = flatbuffers::GetUnionType(schema_, obj, f, a);
        const reflection::Object& ub = flatbuffers::GetUnionType(schema_, obj, f, b);
        if (&ua != &ub) return diff(path, ua.name()->str(), ub.name()->str());
        return table(ua, x, y, path + "(" + ua.name()->str() + ")");
      }
      case reflection::Vector:
        return vector(f, a, b, path);
      default:
        diff(path, "unsupported field type", "");
    }
  }

  void vector(const reflection::Field& f, const flatbuffers::Table& a, const flatbuffers::Table& b,
              const std::string& path) {
    auto* x = flatbuffers::GetFieldAnyV(a, f);
    auto* y = flatbuffers::GetFieldAnyV(b, f);
    size_t nx = x ? x->size() : 0, ny = y ? y->size() : 0;
    if (nx != ny) return diff(path + ".size", std::to_string(nx), std::to_string(ny));
    if (nx == 0) return;
    BaseType et = f.type()->element();
    if (et <= reflection::Double) {
      size_t es = flatbuffers::GetTypeSize(et);
      if (std::memcmp(x->Data(), y->Data(), nx * es) == 0) return;
      for (size_t i = 0; i < nx && !full(); ++i) {
        if (et == reflection::Bool) {
          bool p = flatbuffers::GetAnyVectorElemI(x, et, i) != 0, q = flatbuffers::GetAnyVectorElemI(y, et, i) != 0;
          if (p != q) diff(path + "[" + std::to_string(i) + "]", std::to_string(p), std::to_string(q));
        } else if (is_float(et)) {
          double p = flatbuffers::GetAnyVectorElemF(x, et, i), q = flatbuffers::GetAnyVectorElemF(y, et, i);
          if (!same_real(p, q)) diff(path + "[" + std::to_string(i) + "]", std::to_string(p), std::to_string(q));
        } else {
          int64_t p = flatbuffers::GetAnyVectorElemI(x, et, i), q = flatbuffers::GetAnyVectorElemI(y, et, i);
          if (p != q) diff(path + "[" + std::to_string(i) + "]", std::to_string(p), std::to_string(q));
        }
      }
      return;
    }
    if (et == reflection::String) {
      auto* vx = reinterpret_cast<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>*>(x);
      auto* vy = reinterpret_cast<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>*>(y);
      for (size_t i = 0; i < nx; ++i)
        if (vx->Get(i)->str() != vy->Get(i)->str())
          diff(path + "[" + std::to_string(i) + "]", vx->Get(i)->str(), vy->Get(i)->str());
      return;
    }
    if (et == reflection::Obj) {
      const reflection::Object& sub = *schema_.objects()->Get(f.type()->index());
      if (sub.is_struct()) {
        if (std::memcmp(x->Data(), y->Data(), nx * sub.bytesize()) != 0) diff(path, "structs", "structs");
        return;
      }
      auto* vx = reinterpret_cast<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>*>(x);
      auto* vy = reinterpret_cast<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>*>(y);
      for (size_t i = 0; i < nx && !full(); ++i)
        table(sub, vx->Get(i), vy->Get(i), path + "[" + std::to_string(i) + "]");
      return;
    }
    diff(path, "unsupported vector type", "");
  }
};

}  // namespace

std::vector<std::string> compare_models(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size,
                                        size_t max_diffs) {
  const reflection::Schema* schema = reflection::GetSchema(ModelBinarySchema::data());
  const reflection::Object& root = *schema->root_table();
  Comparer c(*schema, max_diffs, File{a, a_size}, File{b, b_size});
  c.table(root, flatbuffers::GetAnyRoot(a), flatbuffers::GetAnyRoot(b), "");
  return c.diffs;
}

}  // namespace sealite::tfl
