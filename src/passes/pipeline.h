// Runs passes to a fixed point: the highest-priority pass that changes
// something runs, then the sweep starts again from the top; the pipeline stops
// when a whole sweep changes nothing.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace sealite::passes {

struct SubgraphResult {
  int index = 0;
  std::string name;
  bool optimized = false;              // passes ran on it
  std::string skipped;                 // why not, when not
  std::map<std::string, int> applied;  // pass -> runs that changed something
};

struct PipelineResult {
  bool changed = false;
  std::string model_skipped;           // why the whole model was left alone
  std::vector<SubgraphResult> subgraphs;
  std::vector<std::string> notes;      // from the passes: what they left alone and why
  int sweeps = 0;
};

class Pipeline {
 public:
  // Empty names: the target's set (see default_pass_names). Otherwise
  // resolve_pass_list() syntax ("a,b" or "+a,-b", relative to the target's set).
  explicit Pipeline(const std::vector<std::string>& names = {}, const std::string& target = "default");
  const std::vector<std::unique_ptr<Pass>>& passes() const { return passes_; }

  // One subgraph to a fixed point; returns how often each pass changed it.
  std::map<std::string, int> run(graph::Graph& g, int* sweeps = nullptr);
  // Every subgraph that is safe to rewrite (see model_blocker / subgraph_blocker).
  PipelineResult run_model(std::unique_ptr<tfl::ModelT>& model);

  int max_sweeps = 10000;

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
};

// Why a model must be left alone as a whole (empty when it may be rewritten):
// control flow between subgraphs (a callee cannot be run on its own by the
// TensorFlow Lite 2.9 C API, so a rewrite of it could not be verified).
std::string model_blocker(const tfl::ModelT& model);
// Why one subgraph must be left alone (dynamic shapes, no ops).
std::string subgraph_blocker(const graph::Graph& g);

}  // namespace sealite::passes
