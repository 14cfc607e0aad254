// Robustness report of the built-in sealite-ss default on any set of images
// (not a test): ss_report IMAGE_OR_DIR... [--generated] [--messages N]
// With --messages N every image is watermarked with N random messages and the
// worst accuracy / weakest detection over them is reported.
// Prints per image: size, PSNR, bit accuracy after PNG / JPEG 75 / 50 %
// downscale, detection logits marked and clean; then the worst case and the
// separation of marked vs clean detection logits (threshold 0 = p 1e-4).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "spread_spectrum/ss_convert.h"
#include "spread_spectrum/ss_eval.h"
#include "spread_spectrum/ss_model.h"

namespace fs = std::filesystem;
using namespace sealite;

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, media::Image>> images;
  int messages = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--messages" && i + 1 < argc) {
      messages = std::max(1, std::atoi(argv[++i]));
      continue;
    }
    if (a == "--generated") {
      for (auto& g : sealite::testing::generated_images()) images.push_back(std::move(g));
      continue;
    }
    std::vector<fs::path> files;
    if (fs::is_directory(a)) {
      for (auto& e : fs::directory_iterator(a))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(a);
    }
    for (auto& f : files) {
      try {
        images.push_back({f.filename().string(), sealite::testing::load_image(f.string())});
      } catch (const std::exception& e) {
        std::fprintf(stderr, "skip %s: %s\n", f.c_str(), e.what());
      }
    }
  }
  if (images.empty()) {
    std::fprintf(stderr, "usage: ss_report IMAGE_OR_DIR... [--generated]\n");
    return 2;
  }
  auto dir = fs::temp_directory_path() / ("ss_report_" + std::to_string(::getpid()));
  ss::write_models(dir);
  ss::SsParams p;
  std::printf("| image | size | PSNR dB | acc PNG | acc JPEG75 | acc 50%% | logit0 marked PNG/JPEG | logit0 clean PNG/JPEG | p clean |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  double worst_psnr = 1e9, worst_png = 1, worst_jpeg = 1, worst_half = 1;
  float min_marked = 1e9f, max_clean = -1e9f;
  int perfect = 0;
  unsigned seed = 1;
  for (auto& [name, img] : images) {
    auto r = sealite::testing::evaluate_ss(dir.string(), name, img, seed++);
    for (int m = 1; m < messages; ++m) {
      auto q = sealite::testing::evaluate_ss(dir.string(), name, img, 1000 * m + seed);
      r.psnr = std::min(r.psnr, q.psnr);
      r.acc_png = std::min(r.acc_png, q.acc_png);
      r.acc_jpeg75 = std::min(r.acc_jpeg75, q.acc_jpeg75);
      r.acc_half = std::min(r.acc_half, q.acc_half);
      r.score_marked_png = std::min(r.score_marked_png, q.score_marked_png);
      r.score_marked_jpeg = std::min(r.score_marked_jpeg, q.score_marked_jpeg);
    }
    double pc = ss::p_value_from_logit(std::max(r.score_clean, r.score_clean_jpeg), p);
    std::printf("| %s | %dx%d | %.2f | %.3f | %.3f | %.3f | %.2f / %.2f | %.2f / %.2f | %.3g |\n", name.c_str(), r.width,
                r.height, r.psnr, r.acc_png, r.acc_jpeg75, r.acc_half, r.score_marked_png, r.score_marked_jpeg,
                r.score_clean, r.score_clean_jpeg, pc);
    std::fflush(stdout);
    worst_psnr = std::min(worst_psnr, r.psnr);
    worst_png = std::min(worst_png, r.acc_png);
    worst_jpeg = std::min(worst_jpeg, r.acc_jpeg75);
    worst_half = std::min(worst_half, r.acc_half);
    min_marked = std::min({min_marked, r.score_marked_png, r.score_marked_jpeg});
    max_clean = std::max({max_clean, r.score_clean, r.score_clean_jpeg});
    perfect += r.psnr >= 42 && r.acc_png == 1.0 && r.acc_jpeg75 >= 0.99 && r.acc_half >= 0.95;
  }
  std::printf("\n%zu images x %d message(s), worst case per image; %d meet every target (PSNR >= 42, PNG 100%%, JPEG75 >= 99%%, 50%% >= 95%%)\n",
              images.size(), messages, perfect);
  std::printf("worst: PSNR %.2f dB, accuracy PNG %.3f, JPEG75 %.3f, 50%% %.3f\n", worst_psnr, worst_png, worst_jpeg,
              worst_half);
  std::printf("detection logit0: marked min %.2f, clean max %.2f (threshold 0 = p-value %.0e)\n", min_marked, max_clean,
              p.p_detect);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
