// Video benchmark (issue 6): `sealite embed` / `sealite detect` on a 1920x1080,
// 10-second, 24 fps clip (240 frames) with full-size random-init VideoSeal 1.0
// models, 2 threads. Not a test: prints frames per second, wall time and the
// peak resident memory of each run (each run is a forked child, so the peaks
// do not include clip generation or the other runs).
//
//   build-dir/bench/video_bench                 # everything
//   SEALITE_BENCH_MODEL_DIR=models video_bench  # use <dir>/videoseal_1.0/{embedder,detector}.tflite
//   SEALITE_BENCH_SECONDS=3 video_bench         # a shorter clip
//
// The clip is synthetic (a moving test pattern with noise, like FFmpeg's
// testsrc; libavfilter is not available), encoded with libx264 (yuv420p) once
// into $TMPDIR/sealite-video-bench/clip_1080p.mp4.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "cli/video_cmd.h"
#include "core/error.h"
#include "media/video.h"
#include "videoseal/card.h"
#include "videoseal/convert.h"

namespace {

using namespace sealite;
namespace fs = std::filesystem;

constexpr int kW = 1920, kH = 1080, kFps = 24;

fs::path work_dir() {
  fs::path p = fs::temp_directory_path() / "sealite-video-bench";
  fs::create_directories(p);
  return p;
}

fs::path model_dir() {
  const std::string card_name = "videoseal_1.0";
  if (const char* dir = std::getenv("SEALITE_BENCH_MODEL_DIR")) {
    fs::path p = fs::path(dir) / card_name;
    if (fs::exists(p / "embedder.tflite") && fs::exists(p / "detector.tflite")) return p;
  }
  fs::path p = fs::temp_directory_path() / "sealite-bench-models" / card_name;
  if (fs::exists(p / "embedder.tflite") && fs::exists(p / "detector.tflite")) return p;
  std::fprintf(stderr, "converting %s (random init, seed 1) into %s ...\n", card_name.c_str(), p.c_str());
  vs::Card card = vs::load_card(card_name);
  auto ck = vs::random_checkpoint(card, 1);
  fs::create_directories(p);
  vs::convert_checkpoint(ck, card, p);
  return p;
}

int seconds() {
  if (const char* s = std::getenv("SEALITE_BENCH_SECONDS"); s && std::atoi(s) > 0) return std::atoi(s);
  return 10;
}

fs::path clip() {
  const int n = seconds() * kFps;
  fs::path p = work_dir() / ("clip_1080p_" + std::to_string(seconds()) + "s.mp4");
  if (fs::exists(p)) return p;
  std::fprintf(stderr, "making %s (%d frames) ...\n", p.c_str(), n);
  std::vector<std::vector<uint8_t>> frames;
  frames.reserve(static_cast<size_t>(n));
  uint32_t s = 1;
  for (int t = 0; t < n; ++t) {
    std::vector<uint8_t> f(static_cast<size_t>(kW) * kH * 3);
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x) {
        const int bar = ((x + 8 * t) / 240) % 8;  // moving colour bars
        const double g = 0.5 + 0.5 * std::sin((x + 3.0 * t) * 0.02) * std::cos((y - 2.0 * t) * 0.015);
        for (int c = 0; c < 3; ++c) {
          s = s * 1664525u + 1013904223u;
          const double barc = ((bar >> c) & 1) ? 0.75 : 0.2;
          double v = 0.6 * barc + 0.4 * g + ((s >> 24) - 128) / 4096.0;
          f[(static_cast<size_t>(y) * kW + x) * 3 + c] =
              static_cast<uint8_t>(std::lround(std::min(1.0, std::max(0.0, v)) * 255));
        }
      }
    frames.push_back(std::move(f));
  }
  media::write_test_video(p, frames, kW, kH, kFps, "libx264", "yuv420p");
  return p;
}

// Runs `video_bench --child ARGS...` (a fresh process, so the peak RSS is the
// run's own) and waits for it; the child prints its line.
void measure(const std::vector<std::string>& child_args) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> a = {"video_bench", "--child"};
    a.insert(a.end(), child_args.begin(), child_args.end());
    std::vector<char*> av;
    for (auto& x : a) av.push_back(x.data());
    av.push_back(nullptr);
    execv("/proc/self/exe", av.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
}

// In the child: NAME FRAMES embed|detect ARGS...
int child_main(int argc, char** argv) {
  const std::string name = argv[2];
  const int frames = std::atoi(argv[3]);
  const std::string what = argv[4];
  std::vector<std::string> args(argv + 5, argv + argc);
  auto t0 = std::chrono::steady_clock::now();
  int rc = 1;
  try {
    rc = what == "embed" ? cli::embed_video_main(args) : cli::detect_video_main(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("%-36s rc=%d  %7.1f s  %6.2f fps  peak RSS %6.0f MB  (user %.1f s, sys %.1f s)\n", name.c_str(), rc, s,
              frames / s, ru.ru_maxrss / 1024.0, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6,
              ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6);
  std::fflush(stdout);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[1]) == "--child") return child_main(argc, argv);
  try {
    const fs::path models = model_dir();
    const fs::path in = clip();
    const int frames = seconds() * kFps;
    const std::string n = std::to_string(frames);
    const fs::path out_fast = work_dir() / "wm_ultrafast.mp4";
    const fs::path out_x264 = work_dir() / "wm_veryfast.mp4";
    std::printf("video_bench: %dx%d, %d frames at %d fps, videoseal_1.0 random init (step 4), 2 threads\n", kW, kH,
                frames, kFps);
    measure({"embed (libx264 crf18 ultrafast)", n, "embed", in.string(), "-o", out_fast.string(), "--model",
             models.string(), "--message", "random:1", "--threads", "2", "--preset", "ultrafast", "--quiet"});
    measure({"embed (libx264 crf18 veryfast)", n, "embed", in.string(), "-o", out_x264.string(), "--model",
             models.string(), "--message", "random:1", "--threads", "2", "--preset", "veryfast", "--quiet"});
    measure({"detect (frame logits + message)", n, "detect", out_fast.string(), "--model", models.string(),
             "--expect", "random:1", "--threads", "2"});
    measure({"detect --message-only", n, "detect", out_fast.string(), "--model", models.string(), "--expect",
             "random:1", "--threads", "2", "--message-only"});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "video_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
