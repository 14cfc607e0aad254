// libFuzzer target: the .tflite reader, and everything that reads what it
// returns (writer, structural compare, inspect's analysis). Any input must end
// in a model or a sealite::Error; crashes, hangs and sanitizer reports are bugs.
#include <cstdint>
#include <vector>

#include "analysis/report.h"
#include "core/error.h"
#include "tflite/appended_zip.h"
#include "tflite/compare.h"
#include "tflite/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealite;
  (void)tfl::find_appended_zip(data, size);
  std::unique_ptr<tfl::ModelT> model;
  try {
    model = tfl::read_model(data, size, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  try {
    auto bytes = tfl::write_model(*model);
    auto diffs = tfl::compare_models(data, size, bytes.data(), bytes.size());
    if (!diffs.empty()) __builtin_trap();  // a round trip must keep everything
    analysis::InspectOptions opt;
    opt.list_ops = true;
    (void)analysis::inspect_model_bytes(bytes, "fuzz", opt);
  } catch (const Error&) {
  }
  return 0;
}
