#include "checkpoint/builders.h"

#include <zlib.h>

#include <cstring>
#include <stdexcept>

namespace sealite::ckpt::builders {
namespace {

void put16(Bytes& b, uint32_t v) {
  b.push_back(v & 0xff);
  b.push_back((v >> 8) & 0xff);
}
void put32(Bytes& b, uint32_t v) {
  put16(b, v & 0xffff);
  put16(b, v >> 16);
}
void put64(Bytes& b, uint64_t v) {
  put32(b, static_cast<uint32_t>(v));
  put32(b, static_cast<uint32_t>(v >> 32));
}
void append(Bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

Bytes raw_deflate(const Bytes& in) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  Bytes out(deflateBound(&zs, in.size()) + 16);
  uint8_t dummy = 0;
  zs.next_in = in.empty() ? &dummy : const_cast<uint8_t*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

Bytes make_zip(const std::vector<ZipItem>& items, bool zip64) {
  Bytes out, cd;
  const uint32_t ff = 0xffffffffu;
  for (const ZipItem& it : items) {
    const Bytes payload = it.deflate ? raw_deflate(it.data) : it.data;
    const uint32_t crc = static_cast<uint32_t>(crc32(0, it.data.data(), static_cast<uInt>(it.data.size())));
    const uint16_t method = it.deflate ? 8 : 0;
    const uint64_t offset = out.size();
    // local header
    put32(out, 0x04034b50);
    put16(out, zip64 ? 45 : 20);
    put16(out, 0);
    put16(out, method);
    put16(out, 0);
    put16(out, 0x21);
    put32(out, crc);
    put32(out, zip64 ? ff : static_cast<uint32_t>(payload.size()));
    put32(out, zip64 ? ff : static_cast<uint32_t>(it.data.size()));
    put16(out, static_cast<uint32_t>(it.name.size()));
    put16(out, zip64 ? 20 : 0);
    append(out, it.name);
    if (zip64) {
      put16(out, 1);
      put16(out, 16);
      put64(out, it.data.size());
      put64(out, payload.size());
    }
    out.insert(out.end(), payload.begin(), payload.end());
    // central directory entry
    put32(cd, 0x02014b50);
    put16(cd, zip64 ? 45 : 20);
    put16(cd, zip64 ? 45 : 20);
    put16(cd, 0);
    put16(cd, method);
    put16(cd, 0);
    put16(cd, 0x21);
    put32(cd, crc);
    put32(cd, zip64 ? ff : static_cast<uint32_t>(payload.size()));
    put32(cd, zip64 ? ff : static_cast<uint32_t>(it.data.size()));
    put16(cd, static_cast<uint32_t>(it.name.size()));
    put16(cd, zip64 ? 28 : 0);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0);
    put32(cd, 0);
    put32(cd, zip64 ? ff : static_cast<uint32_t>(offset));
    append(cd, it.name);
    if (zip64) {  // uncompressed size, compressed size, local header offset
      put16(cd, 1);
      put16(cd, 24);
      put64(cd, it.data.size());
      put64(cd, payload.size());
      put64(cd, offset);
    }
  }
  const uint64_t cd_offset = out.size();
  out.insert(out.end(), cd.begin(), cd.end());
  if (zip64) {
    const uint64_t rec = out.size();
    put32(out, 0x06064b50);
    put64(out, 44);
    put16(out, 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, items.size());
    put64(out, items.size());
    put64(out, cd.size());
    put64(out, cd_offset);
    put32(out, 0x07064b50);
    put32(out, 0);
    put64(out, rec);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, zip64 ? 0xffff : static_cast<uint32_t>(items.size()));
  put16(out, zip64 ? 0xffff : static_cast<uint32_t>(items.size()));
  put32(out, zip64 ? ff : static_cast<uint32_t>(cd.size()));
  put32(out, zip64 ? ff : static_cast<uint32_t>(cd_offset));
  put16(out, 0);
  return out;
}

PickleWriter& PickleWriter::proto(int p) {
  b_.push_back(0x80);
  b_.push_back(static_cast<uint8_t>(p));
  return *this;
}
PickleWriter& PickleWriter::op(uint8_t code) {
  b_.push_back(code);
  return *this;
}
PickleWriter& PickleWriter::str(const std::string& s) {
  b_.push_back('X');
  put32(b_, static_cast<uint32_t>(s.size()));
  append(b_, s);
  return *this;
}
PickleWriter& PickleWriter::global(const std::string& module, const std::string& name) {
  b_.push_back('c');
  append(b_, module + "\n" + name + "\n");
  return *this;
}
PickleWriter& PickleWriter::int1(uint8_t v) {
  b_.push_back('K');
  b_.push_back(v);
  return *this;
}
PickleWriter& PickleWriter::int4(int32_t v) {
  b_.push_back('J');
  put32(b_, static_cast<uint32_t>(v));
  return *this;
}
PickleWriter& PickleWriter::tuple_of(const std::vector<int64_t>& v) {
  op('(');
  for (int64_t x : v) int4(static_cast<int32_t>(x));
  return op('t');
}
PickleWriter& PickleWriter::raw(const Bytes& b) {
  b_.insert(b_.end(), b.begin(), b.end());
  return *this;
}

Bytes torch_pickle(const std::vector<TensorSpec>& tensors) {
  PickleWriter w;
  w.proto(2).op('}').str("model").op('}');
  for (const TensorSpec& t : tensors) {
    w.str(t.name).global("torch._utils", "_rebuild_tensor_v2").op('(');
    w.op('(').str("storage").global("torch", t.storage_type).str(t.key).str("cpu")
        .int4(static_cast<int32_t>(t.numel)).op('t').op('Q');
    w.int4(static_cast<int32_t>(t.offset)).tuple_of(t.size).tuple_of(t.stride).op(0x89);
    w.global("collections", "OrderedDict").op(')').op('R');
    w.op('t').op('R').op('s');
  }
  w.op('s').op('.');
  return w.bytes();
}

Bytes torch_zip(const Bytes& pickle, const std::vector<std::pair<std::string, Bytes>>& storages, bool zip64) {
  std::vector<ZipItem> items{{"archive/data.pkl", pickle}};
  for (const auto& [key, data] : storages) items.push_back({"archive/data/" + key, data});
  items.push_back({"archive/version", {'3', '\n'}});
  return make_zip(items, zip64);
}

Bytes floats_le(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

}  // namespace sealite::ckpt::builders
