#include "tflite/model_io.h"

#include <cstring>

#include "core/error.h"
#include "core/fs.h"
#include "tflite/validate.h"

namespace sealite::tfl {

std::unique_ptr<ModelT> read_model(const uint8_t* data, size_t size, const std::string& what) {
  if (size < 8) throw Error(what + ": not a TensorFlow Lite model (" + std::to_string(size) + " bytes)");
  if (!ModelBufferHasIdentifier(data)) {
    char id[5] = {0};
    for (int i = 0; i < 4; ++i) {
      char c = static_cast<char>(data[4 + i]);
      id[i] = (c >= 32 && c < 127) ? c : '?';
    }
    throw Error(what + ": not a TensorFlow Lite model (file identifier '" + id + "', expected 'TFL3')");
  }
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE)
    throw Error(what + ": models over 2 GiB are not supported");
  // Depth/table limits sized for real models (thousands of ops and tensors).
  flatbuffers::Verifier::Options vopt;
  vopt.max_depth = 128;
  vopt.max_tables = 100000000;
  flatbuffers::Verifier verifier(data, size, vopt);
  if (!VerifyModelBuffer(verifier))
    throw Error(what + ": corrupt TensorFlow Lite model (FlatBuffers verification failed: truncated or "
                       "offsets out of range)");
  auto model = UnPackModel(data);
  if (!model) throw Error(what + ": cannot decode model");
  // Buffers stored after the FlatBuffer (offset/size, the >2 GiB layout) are
  // pulled inline so that the in-memory model is self-contained.
  for (auto& b : model->buffers) {
    if (b && b->offset > 1) {
      if (b->offset > size || b->size > size - b->offset)
        throw Error(what + ": buffer data outside the file (offset " + std::to_string(b->offset) + ")");
      b->data.assign(data + b->offset, data + b->offset + b->size);
      b->offset = 0;
      b->size = 0;
    }
  }
  // Same for custom options stored outside the FlatBuffer.
  for (auto& sg : model->subgraphs)
    for (auto& op : sg->operators)
      if (op && op->large_custom_options_offset > 1) {
        uint64_t off = op->large_custom_options_offset, n = op->large_custom_options_size;
        if (off > size || n > size - off)
          throw Error(what + ": custom options outside the file (offset " + std::to_string(off) + ")");
        op->custom_options.assign(data + off, data + off + n);
        op->large_custom_options_offset = 0;
        op->large_custom_options_size = 0;
      }
  validate(*model, what);
  return model;
}

std::unique_ptr<ModelT> read_model_file(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  return read_model(bytes.data(), bytes.size(), path.string());
}

std::vector<uint8_t> write_model(const ModelT& model) {
  flatbuffers::FlatBufferBuilder fbb(1 << 20);
  auto root = Model::Pack(fbb, &model);
  FinishModelBuffer(fbb, root);
  std::vector<uint8_t> out(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  flatbuffers::Verifier::Options vopt;
  vopt.max_depth = 128;
  vopt.max_tables = 100000000;
  flatbuffers::Verifier verifier(out.data(), out.size(), vopt);
  if (!VerifyModelBuffer(verifier)) throw Error("internal error: the written model does not verify");
  return out;
}

void write_model_file(const std::filesystem::path& path, const ModelT& model) {
  write_file_atomic(path, write_model(model));
}

BuiltinOperator builtin_code(const OperatorCodeT& oc) {
  // Old files only set the 8-bit field; new ones set 127 there
  // (PLACEHOLDER_FOR_GREATER_OP_CODES) and the real code in the 32-bit one.
  return static_cast<BuiltinOperator>(std::max<int32_t>(oc.deprecated_builtin_code, oc.builtin_code));
}

std::unique_ptr<OperatorCodeT> make_operator_code(BuiltinOperator op, int version, const std::string& custom) {
  auto oc = std::make_unique<OperatorCodeT>();
  oc->builtin_code = op;
  oc->deprecated_builtin_code = static_cast<int8_t>(std::min<int32_t>(op, 127));
  oc->version = version;
  oc->custom_code = custom;
  return oc;
}

const std::vector<uint8_t>* find_metadata(const ModelT& model, const std::string& name) {
  for (auto& md : model.metadata)
    if (md && md->name == name && md->buffer < model.buffers.size() && model.buffers[md->buffer])
      return &model.buffers[md->buffer]->data;
  return nullptr;
}

void set_metadata(ModelT& model, const std::string& name, const std::vector<uint8_t>& bytes) {
  if (model.buffers.empty()) model.buffers.push_back(std::make_unique<BufferT>());  // buffer 0 stays empty
  for (auto& md : model.metadata)
    if (md && md->name == name) {
      model.buffers[md->buffer]->data = bytes;
      return;
    }
  auto buf = std::make_unique<BufferT>();
  buf->data = bytes;
  model.buffers.push_back(std::move(buf));
  auto md = std::make_unique<MetadataT>();
  md->name = name;
  md->buffer = static_cast<uint32_t>(model.buffers.size() - 1);
  model.metadata.push_back(std::move(md));
}

}  // namespace sealite::tfl
