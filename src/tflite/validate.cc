#include "tflite/validate.h"

#include <vector>

#include "core/error.h"

namespace sealite::tfl {

void validate(const ModelT& m, const std::string& what) {
  auto fail = [&](const std::string& msg) { throw Error(what + ": invalid model: " + msg); };
  const size_t nbuf = m.buffers.size();
  const size_t ncodes = m.operator_codes.size();
  for (size_t i = 0; i < ncodes; ++i)
    if (!m.operator_codes[i]) fail("operator code " + std::to_string(i) + " is null");
  for (size_t si = 0; si < m.subgraphs.size(); ++si) {
    const SubGraphT* sg = m.subgraphs[si].get();
    const std::string where = "subgraph " + std::to_string(si);
    if (!sg) fail(where + " is null");
    const int nt = static_cast<int>(sg->tensors.size());
    auto check_tensor = [&](int t, const std::string& ctx, bool optional) {
      if (optional && t == -1) return;
      if (t < 0 || t >= nt)
        fail(where + ": " + ctx + " refers to tensor " + std::to_string(t) + " (only " + std::to_string(nt) + ")");
    };
    for (int t = 0; t < nt; ++t) {
      const TensorT* tt = sg->tensors[t].get();
      if (!tt) fail(where + ": tensor " + std::to_string(t) + " is null");
      // A union whose type is set but whose table is missing cannot be written back.
      if (tt->quantization && tt->quantization->details.type != QuantizationDetails_NONE &&
          !tt->quantization->details.value)
        fail(where + ": tensor " + std::to_string(t) + " has quantization details without data");
      if (tt->sparsity)
        for (auto& dm : tt->sparsity->dim_metadata)
          if (!dm || (dm->array_segments.type != SparseIndexVector_NONE && !dm->array_segments.value) ||
              (dm->array_indices.type != SparseIndexVector_NONE && !dm->array_indices.value))
            fail(where + ": tensor " + std::to_string(t) + " has malformed sparsity metadata");
      if (tt->buffer >= nbuf && !(nbuf == 0 && tt->buffer == 0))
        fail(where + ": tensor " + std::to_string(t) + " refers to buffer " + std::to_string(tt->buffer) +
             " (only " + std::to_string(nbuf) + ")");
      for (int d : tt->shape)
        if (d < -1) fail(where + ": tensor " + std::to_string(t) + " has a negative dimension");
    }
    for (int t : sg->inputs) check_tensor(t, "input", false);
    for (int t : sg->outputs) check_tensor(t, "output", false);
    const int nops = static_cast<int>(sg->operators.size());
    // producer of each tensor, for the cycle check
    std::vector<int> producer(nt, -1);
    for (int o = 0; o < nops; ++o) {
      const OperatorT* op = sg->operators[o].get();
      const std::string ctx = "op " + std::to_string(o);
      if (!op) fail(where + ": " + ctx + " is null");
      if ((op->builtin_options.type != BuiltinOptions_NONE && !op->builtin_options.value) ||
          (op->builtin_options_2.type != BuiltinOptions2_NONE && !op->builtin_options_2.value))
        fail(where + ": " + ctx + " names an options type but has no options table");
      if (op->opcode_index >= ncodes)
        fail(where + ": " + ctx + " uses operator code " + std::to_string(op->opcode_index) + " (only " +
             std::to_string(ncodes) + ")");
      for (int t : op->inputs) check_tensor(t, ctx + " input", true);
      for (int t : op->intermediates) check_tensor(t, ctx + " intermediate", true);
      for (int t : op->outputs) {
        check_tensor(t, ctx + " output", true);
        if (t >= 0) producer[t] = o;
      }
    }
    // Kahn's algorithm over op -> op edges (through tensors): a leftover op means a cycle.
    std::vector<std::vector<int>> succ(nops);
    std::vector<int> indeg(nops, 0);
    for (int o = 0; o < nops; ++o)
      for (int t : sg->operators[o]->inputs)
        if (t >= 0 && producer[t] >= 0 && producer[t] != o) {
          succ[producer[t]].push_back(o);
          ++indeg[o];
        } else if (t >= 0 && producer[t] == o) {
          fail(where + ": op " + std::to_string(o) + " reads its own output (cycle)");
        }
    std::vector<int> ready;
    for (int o = 0; o < nops; ++o)
      if (indeg[o] == 0) ready.push_back(o);
    int seen = 0;
    while (!ready.empty()) {
      int o = ready.back();
      ready.pop_back();
      ++seen;
      for (int s : succ[o])
        if (--indeg[s] == 0) ready.push_back(s);
    }
    if (seen != nops) fail(where + ": the ops form a cycle (" + std::to_string(nops - seen) + " ops on it)");
  }
  for (size_t i = 0; i < m.metadata.size(); ++i)
    if (m.metadata[i] && m.metadata[i]->buffer >= nbuf)
      fail("metadata '" + m.metadata[i]->name + "' refers to buffer " + std::to_string(m.metadata[i]->buffer));
  for (int b : m.metadata_buffer)
    if (b < 0 || static_cast<size_t>(b) >= nbuf) fail("metadata_buffer refers to buffer " + std::to_string(b));
  for (size_t i = 0; i < m.signature_defs.size(); ++i) {
    const SignatureDefT* s = m.signature_defs[i].get();
    if (!s) fail("signature " + std::to_string(i) + " is null");
    if (s->subgraph_index >= m.subgraphs.size())
      fail("signature '" + s->signature_key + "' refers to subgraph " + std::to_string(s->subgraph_index));
    const size_t nt = m.subgraphs[s->subgraph_index]->tensors.size();
    for (auto* list : {&s->inputs, &s->outputs})
      for (auto& tm : *list)
        if (!tm || tm->tensor_index >= nt)
          fail("signature '" + s->signature_key + "' refers to a tensor out of range");
  }
}

}  // namespace sealite::tfl
