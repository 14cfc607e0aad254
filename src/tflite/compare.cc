#include "tflite/compare.h"

#include <cmath>
#include <cstring>

#include "flatbuffers/reflection.h"
#include "tflite/tflite_bfbs_generated.h"

namespace sealite::tfl {
namespace {

using reflection::BaseType;

class Comparer {
 public:
  Comparer(const reflection::Schema& schema, size_t max_diffs) : schema_(schema), max_(max_diffs) {}
  std::vector<std::string> diffs;

  void table(const reflection::Object& obj, const flatbuffers::Table* a, const flatbuffers::Table* b,
             const std::string& path) {
    for (const reflection::Field* f : *obj.fields()) {
      if (full()) return;
      field(obj, *f, *a, *b, path.empty() ? f->name()->str() : path + "." + f->name()->str());
    }
  }

 private:
  const reflection::Schema& schema_;
  size_t max_;

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
        // The tag is the sibling field "<name>_type", compared on its own.
        auto* x = flatbuffers::GetFieldT(a, f);
        auto* y = flatbuffers::GetFieldT(b, f);
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

std::vector<std::string> compare_models(const uint8_t* a, size_t, const uint8_t* b, size_t, size_t max_diffs) {
  const reflection::Schema* schema = reflection::GetSchema(ModelBinarySchema::data());
  const reflection::Object& root = *schema->root_table();
  Comparer c(*schema, max_diffs);
  c.table(root, flatbuffers::GetAnyRoot(a), flatbuffers::GetAnyRoot(b), "");
  return c.diffs;
}

}  // namespace sealite::tfl
