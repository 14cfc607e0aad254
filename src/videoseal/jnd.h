// VideoSeal's JND attenuation heatmap `jnd_1_1` (videoseal.modules.jnd.JND
// with in_channels = 1, out_channels = 1), computed in float32 the way the
// PyTorch module does it:
//
//   x   = 255 * img                              (per channel)
//   L   = 0.299*R + 0.587*G + 0.114*B            ((R'+G')+B', float products)
//   la  = conv5x5(L, lum kernel, zero pad 2) / 32
//   la  = la <= 127 ? 17*(1 - sqrt(la/127 + 1e-5)) : 3/128*(la - 127) + 3
//   gx, gy = Sobel 3x3 cross-correlations of L (zero pad 1)
//   cm  = sqrt(gx*gx + gy*gy)
//   cm  = 0.117 * ((16 * cm^2.4) / (cm*cm + 676))
//   hmap = max((la + cm) - 0.3*min(la, cm), 0) / 255
//
// Convolutions sum their taps in kernel order in float (like torch's im2col +
// GEMM path); pow uses the float exponent 2.4f (torch's vectorised pow does).
#pragma once

namespace sealite::videoseal {

// rgb: 3 x h x w planar float in [0,1] (channel order R, G, B).
// hmap: h x w output (the attenuation map, already divided by 255, >= 0).
// Multi-threaded (vsmath_threads()). Throws sealite::Error for h or w < 1.
//
// Bit-exactness note: torch's `cm ** 2.4` takes one of two code paths per
// element depending on the element's position in the flattened heatmap
// tensor it processes (see jnd.cc). When torch computed the heatmaps of a
// batch of N frames in one call (videos), pass this frame's index in the batch
// and N so that the same elements take the same path; the defaults describe a
// single image. Either way the results differ by at most 1 ulp.
void jnd_heatmap(const float* rgb, int h, int w, float* hmap, int batch_index = 0, int batch_size = 1);

}  // namespace sealite::videoseal
