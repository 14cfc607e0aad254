// sealite optimize: exact graph rewrites, verified in TensorFlow Lite before writing.
#include <cstdio>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "passes/optimize.h"
#include "passes/pass.h"

namespace sealite::cli {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::pair<double, double> parse_range(const std::string& s, const std::string& what) {
  auto parts = split_list(s);
  if (parts.size() != 2) throw Error("optimize: " + what + " takes LO,HI (e.g. 0,1)");
  try {
    double lo = std::stod(parts[0]), hi = std::stod(parts[1]);
    if (!(lo < hi)) throw Error("");
    return {lo, hi};
  } catch (...) {
    throw Error("optimize: " + what + " takes LO,HI with LO < HI (got '" + s + "')");
  }
}

int list_passes() {
  std::printf("Passes, in priority order (a pass runs only when every pass above it has nothing left to do):\n\n");
  for (auto& p : passes::all_passes()) {
    std::string tag = p->default_on() ? "" : p->target().empty() ? "[opt-in] " : "[" + p->target() + "] ";
    std::printf("  %-20s %4d  %s%s\n", p->name().c_str(), p->priority(), tag.c_str(), p->description().c_str());
  }
  std::printf("\nUntagged passes run by default (--target default). --target xnnpack also runs the [xnnpack] ones.\n"
              "--passes a,b,c runs only those (in priority order); --passes +a,-b runs the target's set plus a,\n"
              "minus b.\n");
  return 0;
}

int run(const std::vector<std::string>& argv) {
  Args a("optimize",
         "exact rewrites that remove needless GATHER_ND, TRANSPOSE, RESHAPE and dead weight from a .tflite model "
         "(and, with --target xnnpack, turn what the TensorFlow Lite 2.9 XNNPACK delegate rejects into ops it "
         "takes), verified in TensorFlow Lite before anything is written");
  a.positional("IN.tflite", "the model to optimize (never modified)", false)
      .option("output", "OUT.tflite", "where to write (atomically; must differ from the input)", std::nullopt, 'o')
      .option("target", "T", "which pass set: 'default' (exact rewrites; what helps everywhere) or 'xnnpack' (also "
              "rewrites ops the TensorFlow Lite 2.9 XNNPACK delegate rejects - reflect pad, GELU, channel MEAN, RSQRT - "
              "into ops it takes, so the whole graph can run in one delegate partition; equal up to rounding, "
              "finite values only; see below)", "default")
      .option("passes", "a,b,c", "run only these passes, or +a,-b: the --target set plus a, minus b (see "
              "--list-passes); default: the --target set")
      .flag("list-passes", "list the passes with their priority and what they do, and exit")
      .option("verify", "N", "compare the original and the result in TensorFlow Lite on N input sets (built-in "
              "kernels and XNNPACK); refuse to write if any output differs by more than --atol", "5")
      .flag("no-verify", "do not run TensorFlow Lite at all; write whatever the passes produce (e.g. for a model "
            "this TensorFlow Lite cannot load)")
      .option("atol", "A", "largest |difference| allowed per output element (default 1e-5 for float outputs, 0 for "
              "integer and quantized outputs)")
      .option("inputs", "a.npy,b.npy", "verification inputs, one .npy per input of subgraph 0, in order (a leading extra "
              "axis holds several input sets); default: random inputs")
      .option("float-range", "LO,HI", "range of random float inputs", "-1,1")
      .option("int-range", "LO,HI", "range [LO, HI) of random int32/int64 inputs (indices, positions, tokens); "
              "int8/uint8 inputs take every value", "0,32")
      .option("seed", "S", "random seed for the inputs", "1")
      .flag("report", "also measure: XNNPACK partitions and latency before/after, and print the full report "
            "(op census side by side, what was left alone and why)")
      .option("runs", "R", "timed runs per model for the latency in --report (median)", "20")
      .option("threads", "N", "threads for TensorFlow Lite and XNNPACK", "2")
      .flag("json", "print the report as JSON (stable keys: changed, reason, written, target, passes_applied, ops, "
            "gather_nd, transpose, verify{ok,max_abs_diff,max_abs_diff_xnnpack,outputs}, delegation, latency_ms, "
            "subgraphs[], notes[])")
      .note("What the passes do: constant index arithmetic is folded; GATHER_ND/GATHER with constant indices become "
            "the ops they equal (RESHAPE, SLICE, STRIDED_SLICE, MIRROR_PAD, REVERSE_V2, TRANSPOSE, nearest resize, "
            "or nothing); TRANSPOSEs are merged, cancelled, turned into RESHAPEs or pushed through element-wise ops "
            "until they cancel; pads of pads are merged; MIRROR_PAD becomes SLICE+CONCATENATION (TensorFlow Lite "
            "2.9 runs MIRROR_PAD with a slow scalar loop); dead ops, tensors and buffers go.")
      .note("--target xnnpack adds: xnnpack-reflect-pad (reflect pad 1 as DEPTHWISE_CONV + TRANSPOSE_CONV + PAD + ADD "
            "instead of SLICE + CONCATENATION), gelu-rational (exact-erf GELU as 27 element-wise ops; max |error| "
            "2.6e-7 against GELU in double precision, where the 2.9 GELU kernel itself is off by up to 1.4e-6), "
            "channel-mean-to-conv (MEAN over the channels as a 1x1 CONV_2D with weights 1/C) and rsqrt-to-div "
            "(bit-exact). Apart from gelu-rational they are exact up to rounding, for finite values; the result is "
            "verified like any other (--verify, --atol).")
      .note("Which target: one XNNPACK partition is not free in 2.9. The ops that replace a reflect pad or a GELU do "
            "more memory passes than the built-in kernels they replace, so on large tensors the xnnpack target is "
            "slower than the default one. Measured on the seed's three upsample blocks + detector tail (input "
            "32x32x32, 1 / 2 threads): default 8 partitions, 1.8x / 2.0x faster than the input; xnnpack 1 partition, "
            "1.1x / 1.3x; on the three blocks alone the xnnpack target is no faster than the input. Choose xnnpack "
            "when the whole graph must be delegated (a delegate or runtime that needs one partition); otherwise keep "
            "the default, and compare both with --report.")
      .note("Never touched: gathers whose indices depend on an input, unknown/custom ops, quantization parameters "
            "(carried unchanged), subgraphs with dynamic shapes, models whose subgraphs call each other. Models "
            "with several subgraphs: each subgraph is rewritten and verified on its own (the 2.9 C API runs only "
            "subgraph 0, so each is extracted as subgraph 0 for the check).")
      .note("When nothing changes, OUT is a byte-identical copy of IN and the reason is printed. When IN does not "
            "load in TensorFlow Lite, nothing is written (exit 1) unless --no-verify is given: a result that cannot "
            "be checked is not written silently. Exit codes: 0 written, 1 refused (verification failed or cannot "
            "run), 2 bad input or usage.")
      .example("sealite optimize embedder.tflite -o embedder.opt.tflite", "rewrite, verify on 5 random inputs, write")
      .example("sealite optimize embedder.tflite -o out.tflite --report", "plus XNNPACK partitions and latency")
      .example("sealite optimize m.tflite -o out.tflite --passes lower-gathers,transpose-chains,dead-code",
               "only some passes")
      .example("sealite optimize m.tflite -o out.tflite --passes=-lower-mirror-pad", "keep MIRROR_PAD as it is")
      .example("sealite optimize m.tflite -o out.tflite --target xnnpack --report",
               "make the whole graph delegable to the 2.9 XNNPACK delegate; report partitions and latency")
      .example("sealite optimize m.tflite -o out.tflite --passes=+xnnpack-reflect-pad",
               "only the reflect pads the 2.9 XNNPACK delegate takes (slower, finite values only)")
      .example("sealite optimize m.tflite -o out.tflite --inputs image.npy --atol 1e-6", "check on real inputs")
      .example("sealite optimize --list-passes", "what each pass does");
  if (!a.parse(argv)) return 0;
  if (a.flag_set("list-passes")) return list_passes();
  if (a.positionals().size() != 1) throw Error("optimize: expected one input model (see 'sealite optimize --help')");
  if (!a.has("output")) throw Error("optimize: -o OUT.tflite is required");
  const std::string in = a.positionals()[0];
  const std::string out = a.get("output");
  if (same_file(in, out)) throw Error("optimize: output '" + out + "' is the input; choose another path");

  passes::OptimizeOptions o;
  o.target = a.get("target");
  passes::check_target(o.target);
  if (a.has("passes")) {
    o.passes = split_list(a.get("passes"));
    passes::resolve_pass_list(o.passes, o.target);  // unknown names fail here, with the list
  }
  o.verify = a.flag_set("no-verify") ? 0 : a.get_int("verify");
  if (o.verify < 0) throw Error("optimize: --verify takes N >= 0");
  if (a.has("atol")) {
    o.atol = a.get_double("atol");
    if (!(*o.atol >= 0)) throw Error("optimize: --atol must be >= 0");
  }
  if (a.has("inputs"))
    for (auto& f : split_list(a.get("inputs"))) o.input_files.push_back(f);
  auto fr = parse_range(a.get("float-range"), "--float-range");
  o.float_lo = static_cast<float>(fr.first);
  o.float_hi = static_cast<float>(fr.second);
  auto ir = parse_range(a.get("int-range"), "--int-range");
  o.int_lo = static_cast<int64_t>(ir.first);
  o.int_hi = static_cast<int64_t>(ir.second);
  o.seed = static_cast<unsigned>(a.get_int("seed"));
  o.threads = a.get_int("threads");
  if (o.threads < 1) throw Error("optimize: --threads takes N >= 1");
  const bool report = a.flag_set("report");
  if (report) {
    o.delegation = true;
    o.latency_runs = a.get_int("runs");
    if (o.latency_runs < 1) throw Error("optimize: --runs takes R >= 1");
  }

  auto bytes = read_file(in);
  auto res = passes::optimize_model_bytes(bytes, in, o);
  res.report["output"] = out;
  res.report["written"] = res.may_write;
  if (res.may_write) write_file_atomic(out, res.bytes);

  if (a.flag_set("json")) {
    if (!res.may_write) res.report["refusal"] = res.refusal;
    std::printf("%s\n", res.report.dump(2).c_str());
  } else if (report) {
    std::fputs(passes::render_report(res.report).c_str(), stdout);
  } else if (res.may_write) {
    const auto& r = res.report;
    if (res.changed) {
      std::printf("GATHER_ND %d -> %d, TRANSPOSE %d -> %d, ops %d -> %d", r["gather_nd"]["before"].get<int>(),
                  r["gather_nd"]["after"].get<int>(), r["transpose"]["before"].get<int>(),
                  r["transpose"]["after"].get<int>(), r["ops"]["before"].get<int>(), r["ops"]["after"].get<int>());
      std::string applied;
      for (auto& [k, v] : r["passes_applied"].items()) applied += (applied.empty() ? "" : ", ") + k;
      std::printf(" (%s)", applied.c_str());
      if (r["verify"].contains("max_abs_diff") && r["verify"]["max_abs_diff"].is_number() &&
          r["verify"]["max_abs_diff_xnnpack"].is_number())
        std::printf("; verified on %d input set(s), max |diff| %.3g (XNNPACK %.3g)", o.verify,
                    r["verify"]["max_abs_diff"].get<double>(), r["verify"]["max_abs_diff_xnnpack"].get<double>());
      std::printf("\n");
    } else {
      std::printf("%s\n", res.reason.c_str());
    }
  }
  if (!res.may_write) {
    std::fprintf(stderr, "sealite optimize: %s\n", res.refusal.c_str());
    return 1;
  }
  if (!a.flag_set("json")) std::printf("wrote %s (%zu bytes)\n", out.c_str(), res.bytes.size());
  return 0;
}

Register reg("optimize", "exact rewrites of GATHER_ND/TRANSPOSE/dead weight, verified in TensorFlow Lite", run);

}  // namespace
}  // namespace sealite::cli
