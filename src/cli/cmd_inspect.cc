// sealite inspect: the seed's GATHER_ND analysis as a tool.
#include <cstdio>

#include "analysis/report.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/fs.h"

namespace sealite::cli {
namespace {

int run(const std::vector<std::string>& argv) {
  Args a("inspect", "what is inside a .tflite model: summary, op census, GATHER_ND analysis, delegation");
  a.positional("MODEL.tflite", "the model to inspect (never modified)")
      .option("format", "text|md|json|dot", "output format; dot is a Graphviz picture of subgraph 0 with GATHER_ND "
              "ops (red) and their index computations (orange)", "text", 'f')
      .flag("json", "same as --format json")
      .flag("ops", "list every op: Op#3 TRANSPOSE(T#10, T#4[0,3,1,2]) -> [T#11] (small constants shown inline)")
      .flag("delegation", "load the model in TensorFlow Lite with the XNNPACK delegate and report the nodes it "
            "took, its partitions and the op types left on built-in kernels")
      .option("threads", "N", "threads for --delegation", "2")
      .option("output", "FILE", "write the report to FILE (atomically) instead of standard output", std::nullopt, 'o')
      .note("JSON keys scripts can rely on: subgraphs[] {name, ops, op_census, gather_nd[] {op, index_source, "
            "pattern, axis, block, producers, consumers}}, ops_total, gather_nd_total; plus delegation {...} "
            "with --delegation.\n"
            "index_source: constant (a buffer) | computed_from_constants (index_ops lists the ops) | dynamic "
            "(depends on a model input).\n"
            "pattern: identity | reshape | slice | strided_slice | reflect_pad | symmetric_pad | edge_pad | repeat "
            "(nearest upsample) | reverse | permutation | composite | general | dynamic.\n"
            "block: upsample#k for ops in a block that starts at a RESIZE_* (k in graph order), segment#k otherwise.")
      .example("sealite inspect embedder.tflite", "human-readable report")
      .example("sealite inspect embedder.tflite --format json | jq .gather_nd_total", "for scripts")
      .example("sealite inspect detector.tflite --delegation --threads 2", "does it stay on XNNPACK?")
      .example("sealite inspect embedder.tflite --format dot -o g.dot && dot -Tpng g.dot -o g.png", "a picture");
  if (!a.parse(argv)) return 0;
  std::string format = a.flag_set("json") ? "json" : a.get("format");
  if (format != "text" && format != "md" && format != "json" && format != "dot")
    throw Error("inspect: unknown --format '" + format + "' (text, md, json or dot)");
  const std::string path = a.positionals()[0];
  std::string out;
  if (format == "dot") {
    out = analysis::render_dot(read_file(path), path);
  } else {
    analysis::InspectOptions opt;
    opt.list_ops = a.flag_set("ops");
    opt.delegation = a.flag_set("delegation");
    opt.threads = a.get_int("threads");
    auto report = analysis::inspect_model(path, opt);
    if (format == "json") out = report.dump(2) + "\n";
    else if (format == "md") out = analysis::render_markdown(report);
    else out = analysis::render_text(report);
  }
  if (a.has("output")) write_file_atomic(a.get("output"), out);
  else std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

Register reg("inspect", "report what is inside a .tflite model (census, GATHER_ND, cost, delegation)", run);

}  // namespace
}  // namespace sealite::cli
