// sealite detect: decode VideoSeal watermarks from images.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/video_cmd.h"
#include "core/error.h"
#include "pipeline/model.h"
#include "pipeline/pipeline.h"
#include "pipeline/report.h"
#include "videoseal/resize.h"

namespace sealite::cli {
namespace {

namespace fs = std::filesystem;
namespace pl = sealite::pipeline;

int int_in(const Args& a, const std::string& name, int lo, int hi) {
  int v = a.get_int(name);
  if (v < lo || v > hi)
    throw Error("detect: --" + name + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

int run(const std::vector<std::string>& argv) {
  // Videos and float .npy frame stacks (T > 1) go to the video command (issue 6).
  if (args_name_video_input(argv)) return detect_video_main(argv);
  Args a("detect", "decode the VideoSeal watermark of images: detection logit, message, bit accuracy, p-value");
  a.positional("IN", "images: PNG, JPEG, or float32 .npy (HxWx3 or 1x3xHxW, values in [0,1])", true, true)
      .option("model", "DIR", "model directory written by `sealite convert` or a detector .tflite; default "
              "$SEALITE_MODEL_DIR, else $XDG_DATA_HOME/sealite/models/default (~/.local/share/sealite/models/default)",
              std::nullopt, 'm')
      .option("expect", "MSG", "the message that should be there (hex:, bits:, text:, random:SEED): adds the matching "
              "bits, the bit accuracy and the one-sided binomial p-value P[X >= matching], X ~ Bin(nbits, 1/2) "
              "(the test VideoSeal's evaluations use)")
      .flag("json", "print a JSON object per input (an array for several inputs) on standard output")
      .flag("verbose", "also print the per-bit logits", 'v')
      .option("threads", "N", "threads per image for the model (TFLite/XNNPACK) and the image math", "2")
      .option("jobs", "N", "images processed at once", "2", 'j')
      .option("interpreters", "N", "model instances shared by the jobs (1 = one interpreter behind a lock)", "1")
      .flag("no-xnnpack", "run the model on TFLite's built-in kernels only")
      .note("Math (Meta's Videoseal.detect for one image): x = u8/255 resized to 256x256 (antialiased bilinear, "
            "PyTorch's kernel), detector -> 1+nbits logits; bit k = logit[1+k] > 0 (strict); detected = "
            "logit[0] > 0.\n"
            "The built-in sealite-ss default has a calibrated detection statistic: it prints \"no watermark\" with "
            "the p-value of that (JSON p_value_unmarked) and no message unless the watermark is detected (or "
            "--verbose).\n"
            "JSON keys: input, width, height, logits (index 0 = detection logit), detection_logit, detected, "
            "[p_value_unmarked], nbits, bits, hex, [text], timings; with --expect also expected, matching_bits, "
            "bit_accuracy, p_value (of that many matching bits by chance).\n"
            "Exit codes: 0 every input decoded (whether or not a watermark was found); 1 some inputs of a batch "
            "failed; 2 bad usage or model, or the single input failed.\n"
            "Videos (.mp4 .mkv .mov .webm .avi ... or a .npy frame stack): per-frame logits and the message "
            "aggregated over frames; `sealite detect IN.mp4 --help` lists the video options. Variable frame rate "
            "video is refused.")
      .example("sealite detect photo_wm.png --model models/vs10", "decoded message and detection logit")
      .example("sealite detect wm/*.png --expect text:hello --json", "bit accuracy and p-value, JSON array");
  if (!a.parse(argv)) return 0;

  std::vector<fs::path> inputs;
  for (auto& s : a.positionals()) inputs.emplace_back(s);
  const bool json_out = a.flag_set("json"), verbose = a.flag_set("verbose");
  const int threads = int_in(a, "threads", 1, 256);
  const int jobs = int_in(a, "jobs", 1, 64);
  pl::RuntimeOptions ro;
  ro.threads = threads;
  ro.xnnpack = !a.flag_set("no-xnnpack");
  ro.interpreters = int_in(a, "interpreters", 1, 64);
  videoseal::set_vsmath_threads(threads);
  fs::path location = pl::resolve_model_dir(a.has("model") ? std::optional<std::string>(a.get("model")) : std::nullopt);
  auto model = pl::DetectorModel::load(location, ro);
  std::optional<pl::Message> expected;
  if (a.has("expect")) {
    if (a.get("expect") == "random")
      throw Error("detect: --expect random has no fixed message; give random:SEED with the seed used to embed");
    expected = pl::parse_message(a.get("expect"), model->nbits());
  }

  std::vector<pl::DetectFileResult> results(inputs.size());
  nlohmann::json all = nlohmann::json::array();
  size_t failed = pl::run_parallel(
      inputs.size(), jobs, [&](size_t i) { results[i] = pl::detect_file(*model, inputs[i]); },
      [&](size_t i, const std::string* error) {
        if (error) {
          std::fprintf(stderr, "sealite detect: error: %s\n", error->c_str());
          if (json_out) all.push_back({{"input", inputs[i].string()}, {"error", *error}});
          return;
        }
        const auto& r = results[i];
        if (json_out) {
          all.push_back(pl::detect_json(r, expected));
          return;
        }
        const pl::Detection& d = r.detection;
        if (d.p_value_unmarked) {
          // A detector with a calibrated statistic: an unmarked image reports no message at all.
          std::printf("%s: %s (detection logit %.4f, p-value of no watermark %.3g)\n", r.input.c_str(),
                      d.detected ? "watermark detected" : "no watermark", d.detection_logit(), *d.p_value_unmarked);
        } else {
          std::printf("%s: %s (detection logit %.4f)\n", r.input.c_str(), d.detected ? "detected" : "not detected",
                      d.detection_logit());
        }
        if (d.detected || !d.p_value_unmarked || verbose) {
          std::printf("  message %s%s", pl::message_spec(d.message).c_str(), d.detected ? "" : " (not detected)");
          if (auto t = d.message.to_text()) std::printf("  text \"%s\"", t->c_str());
          std::printf("\n  bits    %s\n", d.message.to_bits().c_str());
        }
        if (expected) {
          pl::Verification v = pl::verify(d.message, *expected);
          std::printf("  expect  %s: %d/%d bits match, bit accuracy %.4f, p-value %.3g\n",
                      pl::message_spec(*expected).c_str(), v.matching, v.nbits, v.bit_accuracy, v.p_value);
        }
        if (verbose) {
          std::printf("  logits ");
          for (size_t k = 1; k < d.logits.size(); ++k) std::printf(" %.4f", d.logits[k]);
          std::printf("\n  time    %.3f s (%s)\n", r.timings.total(), pl::timings_text(r.timings).c_str());
        }
        std::fflush(stdout);
      });
  if (json_out) {
    std::string text = (inputs.size() == 1 ? all.at(0) : all).dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  if (failed == 0) return 0;
  if (inputs.size() > 1) std::fprintf(stderr, "sealite detect: %zu of %zu inputs failed\n", failed, inputs.size());
  return inputs.size() == 1 ? 2 : 1;
}

Register reg("detect", "decode VideoSeal watermarks: message, detection logit, bit accuracy, p-value", run);

}  // namespace
}  // namespace sealite::cli
