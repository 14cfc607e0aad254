// The UNet embedders of VideoSeal (unet_small2 / unet_small2_yuv_quant /
// unet_base_yuv_quant / unet_chunky: `UNetMsg` + the `binary+concat` message
// processor), built natively as a TFLite graph from the checkpoint.
//
//   image [1,S,S,3] RGB [0,1] --(Y families: Y = RGB . rgb2yuv.M[0])--> x*2-1
//   -> inc (ResnetBlock) -> downs (conv3x3/2 + ResnetBlock) x (L-1)
//   -> message processor: cat(latent, tile(sum_k E[2k+bit_k]))
//   -> bottleneck (num_blocks ResnetBlocks)
//   -> ups: cat(x, skip * 2^-0.5) -> bilinear x2 -> ReflectionPad(1) -> conv3x3
//      -> LayerNorm(C, 1e-6) -> act -> ResnetBlock
//   -> outc (1x1) -> tanh  = residual [1,S,S,C]
//
// Lowering (all XNNPACK 2.9 ops with the default Lowering -- one partition --,
// ranks <= 4):
//  - BatchNorm (eval) folded into the preceding conv (double precision), ReLU
//    fused into the conv; ChanRMSNorm / LayerNorm over the NHWC channel axis
//    with 1x1-conv channel sums (layers.h).
//  - conv3x3 stride 2 pad 1: zero PAD + VALID conv (TFLite's SAME pads
//    bottom/right only, PyTorch pads both sides).
//  - message processor: the sum of the selected embedding rows is affine in
//    the bits, sum_k E[2k] + sum_k bit_k (E[2k+1]-E[2k]): one FULLY_CONNECTED.
//    The tiled map is never built (Lowering::fold_message): its share of
//    bottleneck block 0's conv3x3 is sum over the in-image taps of W[tap] m
//    (9 tiny FULLY_CONNECTEDs + broadcasting MUL/ADD with 0/1 row/column
//    masks, exact at the zero-padded borders), its share of the 1x1 res_conv
//    and of ups.0's conv (reflection-padded, so constant) a FULLY_CONNECTED +
//    broadcasting ADD. Unfolded (for the msg_processor hook): a FULLY_CONNECTED
//    with zero rows for the latent channels + broadcasting ADD onto the
//    channel-PADded latent (no TILE, no CONCATENATION).
//  - skip concatenations: never materialised. conv(pad(up(cat(x, s*skip))))
//    = conv_x(pad(up(x))) + conv_skip*s(pad(up(skip))) since upsampling and
//    padding act per channel: two convs and one ADD.
//  - ReflectionPad(1): Lowering::reflect_pad (default: 4 SLICE + 2
//    CONCATENATION, measured fastest; the XNNPACK-only masked form on request).
//  - tanh = 2*sigmoid(2x)-1 with the 2x folded into outc (exact: power of 2).
#pragma once
#include <string>

#include "checkpoint/checkpoint.h"
#include "videoseal/card.h"
#include "videoseal/layers.h"

namespace sealite::vs {

// Appends the embedder. `image`: NHWC [1,S,S,3] RGB [0,1]; `message`: [1,nbits]
// float 0/1. `prefix`: state-dict prefix of the embedder ("embedder."). Returns
// the residual [1,S,S,out_channels] (not marked as output).
Tensor build_embedder(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                      Tensor image, Tensor message);

// Every state-dict entry the embedder reads (prefixed key, PyTorch shape), in
// module order; the duplicated `msg_processor` table is listed once (under
// unet.) plus its top-level copy.
std::vector<std::pair<std::string, std::vector<int64_t>>> embedder_param_shapes(const Card& card,
                                                                                const std::string& prefix);

// ---- pieces, for block-by-block tests against the forward-hook dumps (NHWC).
// `key` is a full module key, e.g. "embedder.unet.inc".
namespace unet_parts {
// The UNet on the embedder input in [0,1] (Y or RGB, already converted):
// preprocess x*2-1 and everything up to tanh.
Tensor unet(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, Tensor x01,
            Tensor message);
Tensor resnet_block(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x);
Tensor dblock(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x);
// The message processor on the last latent: -> cat(latent, msg map).
Tensor msg_processor(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                     Tensor latent, Tensor message);
// UBlock on cat(x, skip * 2^-0.5) given as its two parts; `up_only` stops after
// the Upsample (the `ups.i.up` hook).
Tensor ublock(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x,
              Tensor skip, bool up_only = false);
// outc (+ tanh when the card says so).
Tensor outc(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, Tensor x,
            bool apply_tanh);
}  // namespace unet_parts

}  // namespace sealite::vs
