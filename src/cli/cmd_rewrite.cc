// sealite rewrite: a model back through our reader and writer.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "graph/graph.h"
#include "tflite/appended_zip.h"
#include "tflite/compare.h"
#include "tflite/model_io.h"

namespace sealite::cli {
namespace {

int run(const std::vector<std::string>& argv) {
  Args a("rewrite", "read a .tflite model and write it back through sealite's reader and writer");
  a.positional("IN.tflite", "the model to read (never modified)")
      .option("output", "OUT.tflite", "where to write (atomically; must differ from the input)", std::nullopt, 'o')
      .flag("compact", "drop dead ops, unused tensors, buffers and operator codes, share identical constants")
      .flag("json", "print a JSON summary")
      .note("Without --compact the written model is structurally identical to the input: every field of every "
            "table (FlatBuffers semantics: absent = default, absent vector = empty vector); only the byte layout "
            "may differ. This is checked before writing.")
      .example("sealite rewrite model.tflite -o copy.tflite", "round trip")
      .example("sealite rewrite model.tflite -o small.tflite --compact", "drop dead weight");
  if (!a.parse(argv)) return 0;
  const std::string in = a.positionals()[0];
  const std::string out = a.get("output");
  if (same_file(in, out)) throw Error("rewrite: output '" + out + "' is the input; choose another path");
  auto bytes = read_file(in);
  auto model = tfl::read_model(bytes.data(), bytes.size(), in);
  graph::CompactStats st;
  if (a.flag_set("compact")) st = graph::compact(*model);
  auto written = tfl::write_model(*model);
  std::vector<std::string> diffs;
  if (!a.flag_set("compact")) {
    diffs = tfl::compare_models(bytes.data(), bytes.size(), written.data(), written.size());
    if (!diffs.empty()) throw Error("rewrite: internal error, the written model differs: " + diffs[0]);
  } else {
    tfl::read_model(written.data(), written.size(), out);  // full validation of the result
  }
  // Associated files zipped after the FlatBuffer (TFLite metadata) are carried over.
  auto zip = tfl::find_appended_zip(bytes.data(), bytes.size());
  if (zip) written = tfl::append_zip(std::move(written), *zip);
  write_file_atomic(out, written);
  if (a.flag_set("json")) {
    nlohmann::json j = {{"input", in}, {"output", out}, {"input_bytes", bytes.size()}, {"output_bytes", written.size()},
                        {"compact", a.flag_set("compact")}, {"ops_removed", st.ops_removed},
                        {"tensors_removed", st.tensors_removed}, {"buffers_removed", st.buffers_removed},
                        {"buffers_deduplicated", st.buffers_deduplicated}, {"opcodes_removed", st.opcodes_removed},
                        {"associated_files", zip ? zip->names : std::vector<std::string>{}}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("wrote %s (%zu bytes, input %zu bytes)", out.c_str(), written.size(), bytes.size());
    if (a.flag_set("compact"))
      std::printf("; removed %d ops, %d tensors, %d buffers, %d operator codes; shared %d duplicate constants",
                  st.ops_removed, st.tensors_removed, st.buffers_removed, st.opcodes_removed, st.buffers_deduplicated);
    if (zip) std::printf("; kept %zu associated file(s) appended as a zip", zip->names.size());
    std::printf("\n");
  }
  return 0;
}

Register reg("rewrite", "read a model and write it back (round trip), optionally compacted", run);

}  // namespace
}  // namespace sealite::cli
