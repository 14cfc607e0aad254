// sealite: inspect, convert, optimize and run VideoSeal-style TFLite models.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

namespace sealite::cli {

std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

Register::Register(std::string name, std::string summary, std::function<int(const std::vector<std::string>&)> run) {
  registry().push_back({std::move(name), std::move(summary), std::move(run)});
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

}  // namespace sealite::cli

static void usage() {
  using namespace sealite::cli;
  auto cmds = registry();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::printf(
      "sealite — invisible watermarking with VideoSeal models in TensorFlow Lite, and tools for\n"
      "PyTorch-born .tflite graphs.\n\n"
      "Usage: sealite <command> [options] [arguments]\n\nCommands:\n");
  for (auto& c : cmds) std::printf("  %-10s %s\n", c.name.c_str(), c.summary.c_str());
  std::printf(
      "\nRun 'sealite <command> --help' for the options and examples of a command.\n"
      "Exit codes: 0 success, 1 failure (e.g. verification failed, some inputs failed), 2 bad input or usage.\n\n"
      "Examples:\n"
      "  sealite inspect model.tflite                  op census, GATHER_ND analysis, summary\n"
      "  sealite inspect model.tflite --format json    the same as JSON for scripts\n"
      "  sealite inspect model.tflite --delegation     what the XNNPACK delegate takes\n"
      "  sealite rewrite in.tflite -o out.tflite --compact\n");
}

int main(int argc, char** argv) {
  using namespace sealite::cli;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    std::printf("sealite 0.1.0\n");
    return 0;
  }
  std::string name = argv[1];
  for (auto& c : registry()) {
    if (c.name != name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
      return c.run(args);
    } catch (const sealite::Error& e) {
      std::fprintf(stderr, "sealite %s: error: %s\n", name.c_str(), e.what());
      return 2;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "sealite %s: error: out of memory\n", name.c_str());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sealite %s: internal error: %s\n", name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "sealite: unknown command '%s' (see 'sealite --help')\n", name.c_str());
  return 2;
}
