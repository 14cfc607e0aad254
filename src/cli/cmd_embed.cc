// sealite embed: watermark images with a VideoSeal embedder at full resolution.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

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

int positive_int(const Args& a, const std::string& name, int lo, int hi) {
  int v = a.get_int(name);
  if (v < lo || v > hi)
    throw Error("embed: --" + name + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

int run(const std::vector<std::string>& argv) {
  // Videos and float .npy frame stacks (T > 1) go to the video command (issue 6).
  if (args_name_video_input(argv)) return embed_video_main(argv);
  Args a("embed", "watermark images (PNG, JPEG, float .npy) with a VideoSeal embedder, at full resolution");
  a.positional("IN", "input images: PNG (8/16-bit, gray, RGB, alpha kept untouched), JPEG, or float32 .npy "
               "(HxWx3 or 1x3xHxW, values in [0,1]); never modified", true, true)
      .option("output", "OUT", "output file (one input only); the extension picks the format: .png, .jpg/.jpeg, "
              ".npy (float32 HxWx3, not rounded)", std::nullopt, 'o')
      .option("output-dir", "DIR", "output directory for any number of inputs (created if needed); each output is "
              "named <input stem><suffix>.png (.jpg with --quality)", std::nullopt, 'd')
      .option("suffix", "TEXT", "appended to the file stem with --output-dir", "_wm")
      .option("model", "DIR", "model directory written by `sealite convert` (embedder.tflite + detector.tflite) or an "
              "embedder .tflite; default $SEALITE_MODEL_DIR, else $XDG_DATA_HOME/sealite/models/default "
              "(~/.local/share/sealite/models/default)", std::nullopt, 'm')
      .option("message", "MSG", "the message: hex:DIGITS (nbits/4 hex digits), bits:0101..., text:TEXT (UTF-8, "
              "zero-padded; error if too long), random, random:SEED; the output always shows the message used",
              "random")
      .flag("lowres-attenuation", "compute the JND attenuation on the 256x256 model input and resize the attenuated "
            "residual (Meta's scripts) instead of on the full-resolution image (default, Meta's library default)")
      .option("strength", "S", "multiplies the card's scaling_w (1 = the model's own strength)", "1")
      .option("min-psnr", "DB", "PSNR floor of the full-resolution result (before rounding): the attenuated residual "
              "is scaled down when it would go below; 0 = off; default: the card's min_psnr (42.5 for the built-in "
              "sealite-ss default, none for VideoSeal cards)")
      .option("quality", "Q", "write JPEG with quality Q (0..100) instead of PNG")
      .option("dump-float", "FILE.npy", "also write the float result before rounding: float32 1x3xHxW (NCHW, RGB, "
              "[0,1], the layout of the reference fixtures); one input only")
      .flag("json", "print a JSON object per input (an array for several inputs) on standard output")
      .option("threads", "N", "threads per image for the model (TFLite/XNNPACK) and the image math", "2")
      .option("jobs", "N", "images processed at once in a batch (memory grows with it)", "2", 'j')
      .option("interpreters", "N", "model instances shared by the jobs (1 = one interpreter behind a lock)", "1")
      .flag("no-xnnpack", "run the model on TFLite's built-in kernels only")
      .flag("quiet", "no per-file lines on standard output (errors still go to standard error)", 'q')
      .note("Math (Meta's Videoseal.embed for one image): x = u8/255; the model sees x resized to 256x256 "
            "(antialiased bilinear, PyTorch's kernel); its residual is resized back to HxW the same way, multiplied "
            "by the JND heatmap of the full image (or of the 256x256 one with --lowres-attenuation) when the card "
            "has jnd_1_1 attenuation, and blended: clamp(scaling_i*x + strength*scaling_w*residual, 0, 1); a "
            "Y-channel residual is added to R, G and B.\n"
            "Rounding: 8-bit (and 16-bit) outputs ROUND to nearest (ties to even); Meta's scripts truncate, so "
            "their files can be up to 1 lower per channel.\n"
            "Messages: hex digits and text bytes are read most significant bit first (hex:8... sets bit 0, the "
            "first message bit); the message used is printed (JSON: message, hex, bits) and can be given back to "
            "`sealite detect --expect`.\n"
            "Images: at least 16x16 and at most 100 megapixels; timings are split into decode, resize, model, jnd, "
            "blend and encode.\n"
            "Safety: outputs are written atomically (temporary file + rename); an output that names an input is "
            "refused. One failing input does not stop the others.\n"
            "Exit codes: 0 all written; 1 some inputs of a batch failed; 2 bad usage, model or message, or the "
            "single input failed.\n"
            "Videos (.mp4 .mkv .mov .webm .avi ... or a .npy frame stack) are watermarked with VideoSeal's key-frame "
            "rule, streaming; `sealite embed IN.mp4 --help` lists the video options. Frame rate, timestamps, "
            "rotation and audio are kept; variable frame rate input is refused.")
      .example("sealite embed photo.jpg -o photo_wm.png --model models/vs10 --message text:hello",
               "one image, message from text")
      .example("sealite embed *.png --output-dir wm/ --message hex:0123456789abcdef01234567 --json",
               "a batch (default model location), JSON on stdout")
      .example("sealite embed img.png -o out.png --message random:7 --lowres-attenuation --dump-float out.npy",
               "Meta's script variant, with the float result");
  if (!a.parse(argv)) return 0;

  std::vector<fs::path> inputs;
  for (auto& s : a.positionals()) inputs.emplace_back(s);
  const bool json_out = a.flag_set("json"), quiet = a.flag_set("quiet");
  if (a.has("output") && a.has("output-dir")) throw Error("embed: give either -o/--output or --output-dir, not both");
  if (!a.has("output") && !a.has("output-dir"))
    throw Error("embed: no output: give -o OUT (one input) or --output-dir DIR");
  if (a.has("output") && inputs.size() != 1)
    throw Error("embed: -o/--output takes one input; use --output-dir DIR for " + std::to_string(inputs.size()) +
                " inputs");
  if (a.has("dump-float") && inputs.size() != 1) throw Error("embed: --dump-float takes one input");

  pl::EmbedFileOptions fo;
  fo.embed.lowres_attenuation = a.flag_set("lowres-attenuation");
  fo.embed.strength = a.get_double("strength");
  if (!std::isfinite(fo.embed.strength) || fo.embed.strength < 0 || fo.embed.strength > 100)
    throw Error("embed: --strength must be a number in 0..100");
  if (a.has("min-psnr")) {
    fo.embed.min_psnr = a.get_double("min-psnr");
    if (!std::isfinite(fo.embed.min_psnr) || fo.embed.min_psnr < 0 || fo.embed.min_psnr > 200)
      throw Error("embed: --min-psnr must be a number in 0..200");
  }
  if (a.has("quality")) fo.jpeg_quality = positive_int(a, "quality", 0, 100);
  if (a.has("dump-float")) fo.dump_float = fs::path(a.get("dump-float"));
  const int threads = positive_int(a, "threads", 1, 256);
  const int jobs = positive_int(a, "jobs", 1, 64);
  const int interpreters = positive_int(a, "interpreters", 1, 64);

  // Outputs, checked before anything runs.
  std::vector<fs::path> outputs;
  if (a.has("output")) {
    fs::path out(a.get("output"));
    if (fo.jpeg_quality >= 0 && out.extension() == ".png")
      throw Error("embed: --quality writes JPEG but the output is " + out.string());
    outputs.push_back(out);
  } else {
    fs::path dir(a.get("output-dir"));
    const std::string ext = fo.jpeg_quality >= 0 ? ".jpg" : ".png";
    std::map<fs::path, size_t> seen;
    for (size_t i = 0; i < inputs.size(); ++i) {
      fs::path out = pl::output_path_for(inputs[i], dir, a.get("suffix"), ext);
      auto [it, fresh] = seen.emplace(out.lexically_normal(), i);
      if (!fresh)
        throw Error("embed: " + inputs[it->second].string() + " and " + inputs[i].string() + " would both be written to " +
                    out.string() + " (rename one, or run them separately)");
      outputs.push_back(out);
    }
  }
  for (const auto& out : outputs)
    for (const auto& in : inputs) pl::check_not_same_path(in, out);
  if (fo.dump_float)
    for (const auto& in : inputs) pl::check_not_same_path(in, *fo.dump_float);

  // Model and message.
  pl::RuntimeOptions ro;
  ro.threads = threads;
  ro.xnnpack = !a.flag_set("no-xnnpack");
  ro.interpreters = interpreters;
  videoseal::set_vsmath_threads(threads);
  fs::path location = pl::resolve_model_dir(a.has("model") ? std::optional<std::string>(a.get("model")) : std::nullopt);
  auto model = pl::EmbedderModel::load(location, ro);
  const pl::Message message = pl::parse_message(a.get("message"), model->nbits());

  if (a.has("output-dir")) {
    std::error_code ec;
    fs::create_directories(a.get("output-dir"), ec);
    if (ec) throw Error("embed: cannot create the output directory " + a.get("output-dir") + ": " + ec.message());
  }

  if (!json_out && !quiet) {
    std::printf("message %s  (%d bits: %s)%s\n", pl::message_spec(message).c_str(), message.nbits(),
                message.to_bits().c_str(), message.to_text() ? (" text \"" + *message.to_text() + "\"").c_str() : "");
    std::fflush(stdout);
  }

  std::vector<pl::EmbedFileResult> results(inputs.size());
  nlohmann::json all = nlohmann::json::array();
  size_t failed = pl::run_parallel(
      inputs.size(), jobs,
      [&](size_t i) { results[i] = pl::embed_file(*model, inputs[i], outputs[i], message, fo); },
      [&](size_t i, const std::string* error) {
        if (error) {
          std::fprintf(stderr, "sealite embed: error: %s\n", error->c_str());
          if (json_out) all.push_back({{"input", inputs[i].string()}, {"error", *error}});
          return;
        }
        const auto& r = results[i];
        if (json_out) {
          all.push_back(pl::embed_json(r, fo.embed));
        } else if (!quiet) {
          char psnr[32];
          if (std::isfinite(r.psnr)) std::snprintf(psnr, sizeof psnr, "%.2f dB", r.psnr);
          else std::snprintf(psnr, sizeof psnr, "inf");
          std::printf("%s -> %s  %dx%d  PSNR %s  %.3f s (%s)\n", r.input.c_str(), r.output.c_str(), r.width, r.height,
                      psnr, r.timings.total(), pl::timings_text(r.timings).c_str());
          std::fflush(stdout);
        }
      });
  if (json_out) {
    std::string text = (inputs.size() == 1 ? all.at(0) : all).dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  if (failed == 0) return 0;
  if (inputs.size() > 1)
    std::fprintf(stderr, "sealite embed: %zu of %zu inputs failed\n", failed, inputs.size());
  return inputs.size() == 1 ? 2 : 1;
}

Register reg("embed", "watermark images with a VideoSeal model (full-resolution JND, batch)", run);

}  // namespace
}  // namespace sealite::cli
