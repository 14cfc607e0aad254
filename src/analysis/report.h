// `sealite inspect`: everything about a .tflite file as one JSON document
// (the machine-readable form), rendered as text or Markdown for people.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace sealite::analysis {

struct InspectOptions {
  bool list_ops = false;     // one line per op
  bool delegation = false;   // run TensorFlow Lite + XNNPACK and report what it took
  int threads = 2;
};

nlohmann::json inspect_model(const std::filesystem::path& path, const InspectOptions& opt);
nlohmann::json inspect_model_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                                   const InspectOptions& opt);
std::string render_text(const nlohmann::json& report);
std::string render_markdown(const nlohmann::json& report);
// Graphviz picture of subgraph 0 (GATHER_ND and their index computations highlighted).
std::string render_dot(const std::vector<uint8_t>& bytes, const std::string& name);

// The delegation part alone (used by inspect --delegation and optimize).
nlohmann::json delegation_report(const std::vector<uint8_t>& bytes, int threads);

}  // namespace sealite::analysis
