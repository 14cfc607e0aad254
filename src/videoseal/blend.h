// Watermark blending and the layout / dtype conversions around it.
//
// VideoSeal's additive blend (Videoseal.blend with clamp=True):
//   imgs_w = clamp(scaling_i * img + scaling_w * preds_w, 0, 1)
// evaluated in float32 as (scaling_i*img) + (scaling_w*preds_w), like torch.
// A 1-channel residual is broadcast over the image channels.
//
// Conventions: images are planar CHW float32 in [0,1]; interleaved images are
// HWC. uint8 -> float is x / 255.0f (true float division: x * (1/255.f)
// differs in the last bit for some x). float -> uint8 clamps to [0,1] and
// rounds x*255 to nearest, ties to even (like torch.round / numpy.rint); NaN
// maps to 0.
//
// All functions are multi-threaded for large inputs (vsmath_threads()).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sealite::videoseal {

// img: channels x h x w; residual: residual_channels x h x w with
// residual_channels == 1 (broadcast) or == channels; out may alias img.
// Throws sealite::Error for an unsupported residual_channels.
void blend_additive(const float* img, int channels, int h, int w, const float* residual,
                    int residual_channels, float scaling_i, float scaling_w, float* out,
                    bool clamp = true);

// Interleaved (h x w x c) <-> planar (c x h x w). src and dst must not overlap.
void hwc_to_chw(const float* src, int h, int w, int c, float* dst);
void chw_to_hwc(const float* src, int c, int h, int w, float* dst);

// Element-wise conversions (n values).
void u8_to_float(const uint8_t* src, size_t n, float* dst);
void float_to_u8(const float* src, size_t n, uint8_t* dst);

// uint8 HWC -> float CHW in one pass, and back (same rules as above).
void u8_hwc_to_float_chw(const uint8_t* src, int h, int w, int c, float* dst);
void float_chw_to_u8_hwc(const float* src, int c, int h, int w, uint8_t* dst);

// The single-value rules, for callers that convert on their own.
inline float u8_to_unit(uint8_t v) { return static_cast<float>(v) / 255.0f; }
uint8_t unit_to_u8(float v);

}  // namespace sealite::videoseal
