#include "passes/pipeline.h"

#include <algorithm>

#include "core/error.h"
#include "passes/rewrite.h"
#include "tflite/model_io.h"
#include "tflite/op_names.h"

namespace sealite::passes {

Pipeline::Pipeline(const std::vector<std::string>& names, const std::string& target) {
  {
    for (auto& n : resolve_pass_list(names.empty() ? default_pass_names(target) : names, target))
      passes_.push_back(make_pass(n));
    std::stable_sort(passes_.begin(), passes_.end(),
                     [](const auto& a, const auto& b) { return a->priority() > b->priority(); });
  }
}

std::map<std::string, int> Pipeline::run(graph::Graph& g, int* sweeps) {
  std::map<std::string, int> applied;
  int n = 0;
  for (;;) {
    if (++n > max_sweeps)
      throw Error("internal error: the passes did not reach a fixed point after " + std::to_string(max_sweeps) +
                  " rounds");
    bool changed = false;
    for (auto& p : passes_) {
      if (p->run(g)) {
        ++applied[p->name()];
        changed = true;
        break;  // start again from the highest priority
      }
    }
    if (!changed) break;
  }
  if (sweeps) *sweeps += n;
  return applied;
}

std::string model_blocker(const tfl::ModelT& m) {
  for (size_t s = 0; s < m.subgraphs.size(); ++s)
    for (auto& o : m.subgraphs[s]->operators) {
      if (o->opcode_index >= m.operator_codes.size()) return "an operator has an invalid opcode index";
      auto code = tfl::builtin_code(*m.operator_codes[o->opcode_index]);
      switch (code) {
        case tfl::BuiltinOperator_CALL: case tfl::BuiltinOperator_WHILE: case tfl::BuiltinOperator_IF:
        case tfl::BuiltinOperator_CALL_ONCE: case tfl::BuiltinOperator_STABLEHLO_COMPOSITE:
        case tfl::BuiltinOperator_STABLEHLO_WHILE: case tfl::BuiltinOperator_STABLEHLO_CASE:
        case tfl::BuiltinOperator_STABLEHLO_REDUCE: case tfl::BuiltinOperator_STABLEHLO_SORT:
        case tfl::BuiltinOperator_STABLEHLO_SCATTER: case tfl::BuiltinOperator_STABLEHLO_REDUCE_WINDOW:
          return "subgraph " + std::to_string(s) + " calls other subgraphs (" + tfl::op_name(code) +
                 "): a callee cannot be run on its own by the TensorFlow Lite 2.9 C API, so a rewrite could not be "
                 "verified";
        default:
          break;
      }
    }
  return "";
}

std::string subgraph_blocker(const graph::Graph& g) {
  if (g.num_ops() == 0) return "no ops";
  std::string why;
  if (has_dynamic_shapes(g, &why)) return "dynamic shapes: " + why + "; rewrites would fix the default shape";
  for (int t = 0; t < g.num_tensors(); ++t)
    if (g.tensor(t).sparsity) return "sparse tensor '" + g.tensor(t).name + "'";
  return "";
}

PipelineResult Pipeline::run_model(std::unique_ptr<tfl::ModelT>& model) {
  PipelineResult r;
  r.model_skipped = model_blocker(*model);
  const int n = static_cast<int>(model->subgraphs.size());
  if (n == 0) r.model_skipped = "no subgraphs";
  for (auto& p : passes_) p->clear_notes();
  for (int s = 0; s < n; ++s) {
    SubgraphResult sr;
    sr.index = s;
    sr.name = model->subgraphs[s]->name;
    if (!r.model_skipped.empty()) {
      sr.skipped = r.model_skipped;
      r.subgraphs.push_back(sr);
      continue;
    }
    graph::Graph g(std::move(model), s);
    sr.skipped = subgraph_blocker(g);
    if (sr.skipped.empty()) {
      sr.optimized = true;
      try {
        sr.applied = run(g, &r.sweeps);
      } catch (...) {
        model = g.release();
        throw;
      }
      if (!sr.applied.empty()) r.changed = true;
    }
    model = g.release();
    r.subgraphs.push_back(sr);
  }
  for (auto& p : passes_)
    for (auto& note : p->notes()) r.notes.push_back(p->name() + ": " + note);
  return r;
}

}  // namespace sealite::passes
