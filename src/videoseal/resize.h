// Bilinear resizing of planar float images, bit-for-bit modelled on PyTorch
// 1.13's CPU kernels for
//   F.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=False,
//                 antialias=True / False)
// on a float32 NCHW tensor (batch 1), as run by Debian's python3-torch 1.13.1
// (AVX2 kernels), the version the VideoSeal reference fixtures were made with.
//
// antialias=true (torch `_upsample_bilinear2d_aa`): separable triangle filter,
// first along W (the contiguous axis), then along H; an axis whose size does
// not change is skipped. Per axis, scale = in/out (float), support = scale when
// downscaling (1 when upscaling), and the weights of output i are
// tri((j - center + 0.5) / max(scale, 1)) for input j in [xmin, xmin+xsize),
// center = scale*(i+0.5), normalised to sum 1. Weights are computed in float
// with the same float/double mix as torch, and every output is the
// sequential sum x0*w0 + x1*w1 + ... in torch's order (taps 1..4k unfused,
// the remaining < 4 taps as FMAs -- how GCC compiled torch's loop).
//
// antialias=false (torch `upsample_bilinear2d`): classic 2-tap bilinear,
// src = max(scale*(dst+0.5)-0.5, 0) (evaluated in double, like torch). Here
// torch's arithmetic depends on the tensor's memory format:
//   * contiguous NCHW, channels >= 2: the generic kernel,
//     fma(t0, wy0, t1*wy1) with tk = fma(x[yk][x0], wx0, x[yk][x1]*wx1);
//   * channels-last (what torch.from_numpy(hwc).permute(2, 0, 1) gives) or a
//     single channel (a (1,1,H,W) tensor is channels-last too): the
//     channels-last kernel, with float weights wij = hi*wj and
//     x00*w00 + x01*w01 + x10*w10 + x11*w11 summed in double (scalar tail,
//     the last channels % 8 channels) or as an FMA chain (8-channel vector
//     body).
// Pass torch_channels_last=true to reproduce the second case for any channel
// count. The two differ by at most 1 ulp. antialias=true does not depend on
// the layout.
//
// torch contracts several of these expressions into FMAs (its AVX2 kernels);
// they are emulated exactly with double arithmetic, so the results are
// bit-identical to torch's and do not depend on the CPU running sealite
// (verified on ~16M values over ~50 size pairs; the only known difference is
// a 1x1 source with antialias=false, off by 1 ulp on a few outputs).
//
// Multi-threaded (see parallel_for below) and vectorisable.
#pragma once
#include <cstdint>
#include <functional>

namespace sealite::videoseal {

// src: channels x in_h x in_w (planar, contiguous); dst: channels x out_h x out_w.
// src and dst must not overlap. All sizes must be >= 1 (throws sealite::Error otherwise).
void resize_bilinear_aa(const float* src, int channels, int in_h, int in_w, int out_h, int out_w,
                        float* dst, bool antialias = true, bool torch_channels_last = false);

// ---- threading shared by the vsmath kernels (resize, jnd, blend) ----
// Number of worker threads the kernels may use (default: hardware concurrency,
// capped at 16). set_vsmath_threads(n <= 0) restores the default.
int vsmath_threads();
void set_vsmath_threads(int n);

// Calls fn(begin, end) on disjoint sub-ranges covering [0, n), on up to
// vsmath_threads() threads (the calling thread included). Chunks hold at least
// `grain` items. Exceptions thrown by fn are rethrown in the caller.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace sealite::videoseal
