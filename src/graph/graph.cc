#include "graph/graph.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "tflite/model_io.h"
#include "tflite/op_names.h"

namespace sealite::graph {

Graph::Graph(std::unique_ptr<tfl::ModelT> model, int subgraph) : model_(std::move(model)), sg_(subgraph) {
  check(model_ != nullptr, "null model");
  check(subgraph >= 0 && subgraph < static_cast<int>(model_->subgraphs.size()),
        "subgraph " + std::to_string(subgraph) + " does not exist");
}

Graph::Graph() : model_(std::make_unique<tfl::ModelT>()) {
  model_->version = 3;
  model_->buffers.push_back(std::make_unique<tfl::BufferT>());
  model_->subgraphs.push_back(std::make_unique<tfl::SubGraphT>());
  model_->subgraphs.back()->name = "main";
}

bool Graph::is_constant(int t) const { return data(t) != nullptr; }

const std::vector<uint8_t>* Graph::data(int t) const {
  const auto& tt = tensor(t);
  if (tt.buffer == 0 || tt.buffer >= model_->buffers.size()) return nullptr;
  const auto& b = model_->buffers[tt.buffer];
  if (!b || b->data.empty()) return nullptr;
  return &b->data;
}

int Graph::add_tensor(const std::string& name, TensorType type, std::vector<int32_t> shape) {
  auto t = std::make_unique<tfl::TensorT>();
  t->name = name;
  t->type = type;
  t->shape = std::move(shape);
  t->buffer = 0;
  subgraph().tensors.push_back(std::move(t));
  return num_tensors() - 1;
}

int Graph::add_constant(const std::string& name, TensorType type, std::vector<int32_t> shape,
                        std::span<const uint8_t> bytes) {
  int t = add_tensor(name, type, std::move(shape));
  auto b = std::make_unique<tfl::BufferT>();
  b->data.assign(bytes.begin(), bytes.end());
  model_->buffers.push_back(std::move(b));
  tensor(t).buffer = static_cast<uint32_t>(model_->buffers.size() - 1);
  return t;
}

int Graph::add_constant_f32(const std::string& name, std::vector<int32_t> shape, std::span<const float> v) {
  return add_constant(name, tfl::TensorType_FLOAT32, std::move(shape),
                      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4));
}

int Graph::add_constant_i32(const std::string& name, std::vector<int32_t> shape, std::span<const int32_t> v) {
  return add_constant(name, tfl::TensorType_INT32, std::move(shape),
                      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4));
}

int64_t Graph::num_elements(int t) const {
  int64_t n = 1;
  for (int d : tensor(t).shape) n *= d;
  return n;
}

BuiltinOperator Graph::op_code(int o) const {
  return tfl::builtin_code(*model_->operator_codes.at(op(o).opcode_index));
}

int Graph::op_version(int o) const { return model_->operator_codes.at(op(o).opcode_index)->version; }

std::string Graph::op_name(int o) const {
  const auto& oc = *model_->operator_codes.at(op(o).opcode_index);
  auto code = tfl::builtin_code(oc);
  if (code == tfl::BuiltinOperator_CUSTOM) return "CUSTOM:" + oc.custom_code;
  return tfl::op_name(code);
}

uint32_t Graph::opcode_index(BuiltinOperator code, int version, const std::string& custom) {
  auto& codes = model_->operator_codes;
  for (size_t i = 0; i < codes.size(); ++i)
    if (tfl::builtin_code(*codes[i]) == code && codes[i]->version == version && codes[i]->custom_code == custom)
      return static_cast<uint32_t>(i);
  codes.push_back(tfl::make_operator_code(code, version, custom));
  return static_cast<uint32_t>(codes.size() - 1);
}

int Graph::add_op(BuiltinOperator code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
                  tfl::BuiltinOptionsUnion options, int version, int pos) {
  auto o = std::make_unique<tfl::OperatorT>();
  o->opcode_index = opcode_index(code, version);
  o->inputs = std::move(inputs);
  o->outputs = std::move(outputs);
  o->builtin_options = std::move(options);
  auto& ops = subgraph().operators;
  if (pos < 0 || pos > static_cast<int>(ops.size())) pos = static_cast<int>(ops.size());
  ops.insert(ops.begin() + pos, std::move(o));
  return pos;
}

void Graph::remove_ops(std::vector<int> idx) {
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  auto& ops = subgraph().operators;
  for (auto it = idx.rbegin(); it != idx.rend(); ++it) ops.erase(ops.begin() + *it);
}

void Graph::replace_uses(int from, int to) {
  for (auto& o : subgraph().operators)
    for (auto& t : o->inputs)
      if (t == from) t = to;
  for (auto& t : subgraph().outputs)
    if (t == from) t = to;
}

Uses Graph::uses() const {
  Uses u;
  u.producer.assign(num_tensors(), -1);
  u.consumers.assign(num_tensors(), {});
  for (int o = 0; o < num_ops(); ++o) {
    for (int t : op(o).outputs)
      if (t >= 0) u.producer[t] = o;
    for (int t : op(o).inputs)
      if (t >= 0 && (u.consumers[t].empty() || u.consumers[t].back() != o)) u.consumers[t].push_back(o);
  }
  return u;
}

std::vector<int> Graph::topological_order() const {
  Uses u = uses();
  int n = num_ops();
  std::vector<int> indeg(n, 0);
  for (int o = 0; o < n; ++o)
    for (int t : op(o).inputs)
      if (t >= 0 && u.producer[t] >= 0 && u.producer[t] != o) ++indeg[o];
  // Stable: among ready ops, keep the original order (min-index first).
  std::vector<int> order;
  std::vector<int> ready;
  for (int o = 0; o < n; ++o)
    if (indeg[o] == 0) ready.push_back(o);
  std::make_heap(ready.begin(), ready.end(), std::greater<>());
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), std::greater<>());
    int o = ready.back();
    ready.pop_back();
    order.push_back(o);
    for (int t : op(o).outputs) {
      if (t < 0) continue;
      for (int c : u.consumers[t]) {
        // an op may read the same tensor twice; count each input edge once
        for (int in : op(c).inputs)
          if (in == t && --indeg[c] == 0) {
            ready.push_back(c);
            std::push_heap(ready.begin(), ready.end(), std::greater<>());
          }
      }
    }
  }
  if (static_cast<int>(order.size()) != n) throw Error("graph has a cycle");
  return order;
}

void Graph::sort_topologically() {
  auto order = topological_order();
  auto& ops = subgraph().operators;
  std::vector<std::unique_ptr<tfl::OperatorT>> sorted;
  sorted.reserve(ops.size());
  for (int o : order) sorted.push_back(std::move(ops[o]));
  ops = std::move(sorted);
}

bool Graph::is_graph_input(int t) const {
  const auto& in = subgraph().inputs;
  return std::find(in.begin(), in.end(), t) != in.end();
}

bool Graph::is_graph_output(int t) const {
  const auto& out = subgraph().outputs;
  return std::find(out.begin(), out.end(), t) != out.end();
}

// ---------------------------------------------------------------- compact

namespace {

// Ops that must stay even when nobody reads their outputs.
bool has_side_effects(tfl::BuiltinOperator code, const tfl::OperatorT& op) {
  switch (code) {
    case tfl::BuiltinOperator_CUSTOM:
    case tfl::BuiltinOperator_CALL:
    case tfl::BuiltinOperator_WHILE:
    case tfl::BuiltinOperator_IF:
    case tfl::BuiltinOperator_CALL_ONCE:
    case tfl::BuiltinOperator_ASSIGN_VARIABLE:
    case tfl::BuiltinOperator_VAR_HANDLE:
    case tfl::BuiltinOperator_READ_VARIABLE:
    case tfl::BuiltinOperator_HASHTABLE:
    case tfl::BuiltinOperator_HASHTABLE_IMPORT:
    case tfl::BuiltinOperator_STABLEHLO_COMPOSITE:
      return true;
    default:
      return !op.mutating_variable_inputs.empty() &&
             std::any_of(op.mutating_variable_inputs.begin(), op.mutating_variable_inputs.end(),
                         [](bool b) { return b; });
  }
}

}  // namespace

CompactStats compact(tfl::ModelT& m) {
  CompactStats st;
  // 1. dead ops, per subgraph (iterate: removing one op can make its producers dead)
  for (auto& sgp : m.subgraphs) {
    auto& sg = *sgp;
    bool changed = true;
    while (changed) {
      changed = false;
      std::vector<int> readers(sg.tensors.size(), 0);
      for (auto& o : sg.operators)
        for (int t : o->inputs)
          if (t >= 0) ++readers[t];
      for (int t : sg.outputs) ++readers[t];
      for (int i = static_cast<int>(sg.operators.size()) - 1; i >= 0; --i) {
        auto& o = *sg.operators[i];
        auto code = tfl::builtin_code(*m.operator_codes[o.opcode_index]);
        bool used = has_side_effects(code, o);
        for (int t : o.outputs)
          if (t >= 0 && (readers[t] > 0 || sg.tensors[t]->is_variable)) used = true;
        if (!used) {
          for (int t : o.inputs)
            if (t >= 0) --readers[t];
          sg.operators.erase(sg.operators.begin() + i);
          ++st.ops_removed;
          changed = true;
        }
      }
    }
  }
  // 2. unused tensors, per subgraph; signature defs refer to tensors by index
  for (size_t si = 0; si < m.subgraphs.size(); ++si) {
    auto& sg = *m.subgraphs[si];
    std::vector<char> used(sg.tensors.size(), 0);
    for (int t : sg.inputs) used[t] = 1;
    for (int t : sg.outputs) used[t] = 1;
    for (auto& o : sg.operators) {
      for (int t : o->inputs) if (t >= 0) used[t] = 1;
      for (int t : o->outputs) if (t >= 0) used[t] = 1;
      for (int t : o->intermediates) if (t >= 0) used[t] = 1;
    }
    for (auto& s : m.signature_defs)
      if (s->subgraph_index == si) {
        for (auto& tm : s->inputs) used[tm->tensor_index] = 1;
        for (auto& tm : s->outputs) used[tm->tensor_index] = 1;
      }
    for (size_t t = 0; t < sg.tensors.size(); ++t)
      if (sg.tensors[t]->is_variable) used[t] = 1;
    std::vector<int> remap(sg.tensors.size(), -1);
    std::vector<std::unique_ptr<tfl::TensorT>> kept;
    for (size_t t = 0; t < sg.tensors.size(); ++t)
      if (used[t]) {
        remap[t] = static_cast<int>(kept.size());
        kept.push_back(std::move(sg.tensors[t]));
      } else {
        ++st.tensors_removed;
      }
    sg.tensors = std::move(kept);
    auto fix = [&](std::vector<int32_t>& v) { for (auto& t : v) if (t >= 0) t = remap[t]; };
    fix(sg.inputs);
    fix(sg.outputs);
    for (auto& o : sg.operators) { fix(o->inputs); fix(o->outputs); fix(o->intermediates); }
    for (auto& s : m.signature_defs)
      if (s->subgraph_index == si) {
        for (auto& tm : s->inputs) tm->tensor_index = remap[tm->tensor_index];
        for (auto& tm : s->outputs) tm->tensor_index = remap[tm->tensor_index];
      }
  }
  // 3. buffers: keep buffer 0 (empty by convention), used ones, metadata ones;
  //    merge identical constant data.
  const size_t nb = m.buffers.size();
  std::vector<int> refs(nb, 0);
  for (auto& sg : m.subgraphs)
    for (auto& t : sg->tensors) if (t->buffer < nb) ++refs[t->buffer];
  std::vector<char> pinned(nb, 0);
  if (nb) pinned[0] = 1;
  for (auto& md : m.metadata) if (md->buffer < nb) pinned[md->buffer] = 1;
  for (int b : m.metadata_buffer) if (b >= 0 && static_cast<size_t>(b) < nb) pinned[b] = 1;
  std::vector<int> remap(nb, -1);
  std::vector<std::unique_ptr<tfl::BufferT>> kept;
  // dedupe by content (hash -> candidates)
  std::unordered_multimap<size_t, int> by_hash;
  for (size_t b = 0; b < nb; ++b) {
    if (!pinned[b] && refs[b] == 0) { ++st.buffers_removed; continue; }
    auto& buf = m.buffers[b];
    if (!pinned[b] && buf && !buf->data.empty()) {
      size_t h = std::hash<std::string_view>{}(
          std::string_view(reinterpret_cast<const char*>(buf->data.data()), buf->data.size()));
      int found = -1;
      auto range = by_hash.equal_range(h);
      for (auto it = range.first; it != range.second; ++it)
        if (kept[it->second]->data == buf->data) { found = it->second; break; }
      if (found >= 0) { remap[b] = found; ++st.buffers_deduplicated; continue; }
      remap[b] = static_cast<int>(kept.size());
      by_hash.emplace(h, remap[b]);
    } else {
      remap[b] = static_cast<int>(kept.size());
    }
    kept.push_back(std::move(buf));
  }
  m.buffers = std::move(kept);
  for (auto& sg : m.subgraphs)
    for (auto& t : sg->tensors) t->buffer = t->buffer < nb && remap[t->buffer] >= 0 ? remap[t->buffer] : 0;
  for (auto& md : m.metadata) md->buffer = remap[md->buffer];
  for (auto& b : m.metadata_buffer) b = remap[b];
  // 4. operator codes nobody uses
  std::vector<char> code_used(m.operator_codes.size(), 0);
  for (auto& sg : m.subgraphs)
    for (auto& o : sg->operators) code_used[o->opcode_index] = 1;
  std::vector<uint32_t> code_remap(m.operator_codes.size(), 0);
  std::vector<std::unique_ptr<tfl::OperatorCodeT>> codes;
  for (size_t i = 0; i < m.operator_codes.size(); ++i)
    if (code_used[i]) { code_remap[i] = static_cast<uint32_t>(codes.size()); codes.push_back(std::move(m.operator_codes[i])); }
    else ++st.opcodes_removed;
  m.operator_codes = std::move(codes);
  for (auto& sg : m.subgraphs)
    for (auto& o : sg->operators) o->opcode_index = code_remap[o->opcode_index];
  return st;
}

}  // namespace sealite::graph
