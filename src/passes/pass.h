// Graph rewrites for `sealite optimize`. Each pass is a small class in its own
// file: it rewrites one subgraph (graph::Graph) and says whether it changed
// anything. Passes only make rewrites they can prove exact from the graph
// itself (constant indices, static shapes, identical quantization); anything
// else is left alone, and the pass records a note saying what and why.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace sealite::passes {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;          // e.g. "fold-constants"
  virtual std::string description() const = 0;   // one line, for --list-passes
  // Higher runs first. The pipeline runs a pass only when every pass of higher
  // priority has nothing left to do, so low priorities are "lowering" steps.
  virtual int priority() const = 0;
  // Part of the default set? (Opt-in passes trade something away; see their description.)
  virtual bool default_on() const { return true; }
  // The runtime an opt-in pass is for: "" (none), or "xnnpack": rewrites that
  // only pay off when the TensorFlow Lite 2.9 XNNPACK delegate runs the model
  // (they turn ops it rejects into ops it takes, so the graph stays in one
  // partition) and that are exact only up to rounding or for finite values.
  // `--target xnnpack` adds every pass of that target to the default set.
  virtual std::string target() const { return ""; }
  // Rewrites `g` (one subgraph of its model); true when anything changed.
  virtual bool run(graph::Graph& g) = 0;

  // What the pass saw and deliberately left alone, with why (deduplicated).
  const std::vector<std::string>& notes() const { return notes_; }
  void clear_notes() { notes_.clear(); }

 protected:
  void note(const std::string& text);

 private:
  std::vector<std::string> notes_;
};

// A pass made of one local rewrite: run() offers every live op whose code
// matches() to rewrite() and starts over after each change (op indices move),
// until no op changes.
class OpRewritePass : public Pass {
 public:
  bool run(graph::Graph& g) final;

 protected:
  virtual bool matches(tfl::BuiltinOperator code) const = 0;
  // Rewrites op `op` and returns true, or returns false with the graph untouched.
  virtual bool rewrite(graph::Graph& g, const graph::Uses& u, int op) = 0;
};

// Every pass, highest priority first.
std::vector<std::unique_ptr<Pass>> all_passes();
// Optimization targets: "default" (the exact passes) and "xnnpack" (plus every
// pass whose target() is "xnnpack").
std::vector<std::string> target_names();
// Throws sealite::Error naming the known targets when `target` is not one.
void check_target(const std::string& target);
// The names run when --passes is not given: every pass with default_on(), plus
// the passes of `target`.
std::vector<std::string> default_pass_names(const std::string& target = "default");
// --passes syntax: "a,b" runs exactly a and b; "+a,-b" is the target's set plus a, minus b.
std::vector<std::string> resolve_pass_list(const std::vector<std::string>& spec,
                                           const std::string& target = "default");
// A pass by name; throws sealite::Error listing the known names.
std::unique_ptr<Pass> make_pass(const std::string& name);

// Factories, one per file.
std::unique_ptr<Pass> make_dead_code();
std::unique_ptr<Pass> make_fold_constants();
std::unique_ptr<Pass> make_lower_gathers();
std::unique_ptr<Pass> make_transpose_chains();
std::unique_ptr<Pass> make_reshape_chains();
std::unique_ptr<Pass> make_push_transposes();
std::unique_ptr<Pass> make_merge_pads();
std::unique_ptr<Pass> make_lower_mirror_pad();
std::unique_ptr<Pass> make_xnnpack_reflect_pad();
std::unique_ptr<Pass> make_gelu_rational();
std::unique_ptr<Pass> make_channel_mean_to_conv();
std::unique_ptr<Pass> make_rsqrt_to_div();

}  // namespace sealite::passes
