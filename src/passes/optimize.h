// `sealite optimize` as a library: run the passes on a model, then run the
// original and the result through TensorFlow Lite on the same inputs and say
// whether the result may be written. Also the numbers of the report: op
// census before/after, GATHER_ND and TRANSPOSE counts, XNNPACK partitions,
// latency (median), max |diff|.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "passes/pipeline.h"

namespace sealite::passes {

struct OptimizeOptions {
  std::vector<std::string> passes;                 // empty: the target's set (see default_pass_names)
  std::string target = "default";                  // "default" (exact passes) or "xnnpack" (see pass.h)
  int verify = 5;                                  // input sets to compare on; 0: do not run TensorFlow Lite
  std::optional<double> atol;                      // default: 1e-5 for float outputs, 0 for integer outputs
  std::vector<std::filesystem::path> input_files;  // .npy, one per input of subgraph 0 (in order)
  float float_lo = -1.f, float_hi = 1.f;           // random float inputs
  int64_t int_lo = 0, int_hi = 32;                 // random int32/int64 inputs, [lo, hi)
  int threads = 2;
  int latency_runs = 0;                            // timed runs per model (median, XNNPACK); 0: skip
  bool delegation = false;                         // XNNPACK partitions before/after
  unsigned seed = 1;
};

struct OptimizeResult {
  std::vector<uint8_t> bytes;   // the model to write: optimized, or the input unchanged
  bool changed = false;
  std::string reason;           // one line: what happened, or why nothing did
  bool may_write = false;       // verification passed (or unchanged and loads, or verification off)
  std::string refusal;          // why not, when !may_write
  PipelineResult pipeline;
  nlohmann::json report;        // everything, for --json / --report
};

OptimizeResult optimize_model_bytes(const std::vector<uint8_t>& input, const std::string& name,
                                    const OptimizeOptions& options);

// A model with only subgraph `s` (as subgraph 0) and its signature, so the
// TensorFlow Lite C API (which runs subgraph 0) can run it.
std::vector<uint8_t> extract_subgraph(const std::vector<uint8_t>& model, int s);

// The report as text for people.
std::string render_report(const nlohmann::json& report);

}  // namespace sealite::passes
