// The ConvNeXt-V2 detectors of VideoSeal 1.0 / PixelSeal / ChunkySeal
// (`convnext_tiny`, `convnext_chunky` extractors: ConvNeXtV2 + PixelDecoder),
// built natively as a TFLite graph from the checkpoint.
//
//   image [1,S,S,3] RGB [0,1] -> x*2-1 -> stem conv k4 (stride 4, ChunkySeal 2)
//   -> LayerNorm2d -> stage 0 -> [LayerNorm2d -> conv k2/2 -> stage i] x 3
//   block: dwconv7x7 -> LayerNorm -> Linear 4d -> GELU -> GRN -> Linear d -> + input
//   -> pixel decoder: bilinear x f (identity for f = 1) -> ReflectionPad(1)
//      -> conv3x3 -> LayerNorm2d -> GELU -> mean over H,W -> Linear -> logits [1,1+nbits]
//
// Lowering (XNNPACK 2.9 ops except GELU with the default Lowering):
//  - x*2-1 folded into the stem conv (VALID: exact up to rounding).
//  - LayerNorms followed by a linear op with no padding in between have their
//    gamma/beta folded into it (block norm -> pwconv1, downsample norm -> k2/2
//    conv); the stem's and the decoder's keep an explicit affine (a 1x1
//    DEPTHWISE_CONV_2D).
//  - Linear layers on NHWC are 1x1 CONV_2D; GRN's beta is folded into pwconv2.
//  - GELU: Lowering::gelu (default: the GELU op, a fast built-in kernel; the
//    XNNPACK-only erf form is 30% slower on the whole detector). So XNNPACK
//    takes everything but the GELUs: 1 + #GELU partitions.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "videoseal/card.h"
#include "videoseal/layers.h"

namespace sealite::vs {

// Appends the detector; `image` NHWC [1,S,S,3] RGB [0,1]. `prefix`: the
// detector's state-dict prefix ("detector."). Returns logits [1, 1+nbits].
Tensor build_convnext_detector(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                               Tensor image);

std::vector<std::pair<std::string, std::vector<int64_t>>> convnext_detector_param_shapes(const Card& card,
                                                                                        const std::string& prefix);

// The PixelDecoder (shared by every detector family): [1,h,w,C] features ->
// logits [1,1+nbits]. `prefix` as above ("detector.").
Tensor build_pixel_decoder(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                           Tensor features);

// ---- pieces, for block-by-block tests (NHWC in and out)
namespace convnext_parts {
// downsample_layers.i (i = 0: the stem incl. x*2-1 when `preprocess`).
Tensor downsample(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int i, Tensor x,
                  bool preprocess = true);
// One block stages.i.j.
Tensor block(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, int i, int j, Tensor x);
// A whole stage i.
Tensor stage(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int i, Tensor x);
// pixel_decoder.output_upscaling (before the mean).
Tensor pixel_upscaling(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, Tensor x);
}  // namespace convnext_parts

}  // namespace sealite::vs
