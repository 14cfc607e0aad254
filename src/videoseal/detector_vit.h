// The SAM-style ViT detector of VideoSeal 0.0 (`sam_small` / `sam_base`
// extractors: ImageEncoderViT + PixelDecoder), built natively as a TFLite
// graph from the checkpoint.
//
//   image [1,256,256,3] RGB in [0,1] -> x*2-1 -> patch conv 16x16/16 -> + pos_embed
//   -> depth x Block (LN eps 1e-5; windowed or global multi-head attention with
//      decomposed relative positions; LN; MLP with exact-erf GELU)
//   -> neck (conv1x1, LN2d 1e-6, conv3x3, LN2d 1e-6)
//   -> pixel decoder (bilinear x f [identity for f=1], ReflectionPad(1), conv3x3,
//      LN2d 1e-6, GELU) -> mean over H,W -> Linear -> logits [1, 1+nbits].
//
// Lowering (every op exists in TFLite 2.9 at the version used; every tensor has
// rank <= 5, every BATCH_MATMUL operand rank <= 4 (2.9's limit)):
//  - The token stream is NHWC rank 4. Windowed blocks keep it "window-inner":
//    [S, S, nW, D] (token (i, j) of window w at [i, j, w]); a 5-D TRANSPOSE
//    partitions before a run of windowed blocks and one unpartitions before a
//    global block (8 in the 0.0 detector). Global blocks use [1, G, G, D].
//  - q, k, v: three FULLY_CONNECTED (XNNPACK). The attention scale is folded into
//    the k weights ((q*s) k^T = q (s k)^T; exact for head_dim 16 and 64, where s
//    is a power of two). Heads: one TRANSPOSE each for q, k, v and one for the
//    output, moving (window, head) to the front as the matmul batch B = nW*nh.
//  - q k^T and attn v: BATCH_MATMUL. The 2.9 XNNPACK delegate takes neither
//    BATCH_MATMUL nor FULLY_CONNECTED with run-time weights, so both forms run on
//    the built-in kernels; FULLY_CONNECTED (one per window and head, with SPLIT and
//    CONCATENATION around) measured no faster and has twice the ops (VitOptions).
//  - Decomposed relative positions: the tables Rh[i,k] = rel_pos_h[i-k+S-1] and
//    Rw[j,k] = rel_pos_w[j-k+S-1] are gathered at conversion time into constants.
//    rel_h = q Rh^T as one BATCH_MATMUL batched over the query row i (Rh broadcast
//    over window and head); rel_w = one FULLY_CONNECTED (XNNPACK) of q rows
//    (window, head, i) x columns (j, c) with a block-diagonal constant (block j =
//    Rw[j]^T) -- or, optionally, a BATCH_MATMUL on a spatially transposed q
//    (two more TRANSPOSEs). Both are added to the scores by broadcasting ADDs in
//    PyTorch's order, then SOFTMAX over the last axis (keys; XNNPACK).
//  - No GATHER_ND, no run-time gather, no TRANSPOSE outside attention (none on the
//    convolution path: patch embed, neck, pixel decoder).
//  - LayerNorm, GELU, convolutions, reflection pad, bilinear resize, mean: the
//    shared lowerings of videoseal/layers.h (their Lowering decides the forms).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "graph/graph.h"
#include "videoseal/card.h"
#include "videoseal/layers.h"

namespace sealite::vs {

struct VitOptions {
  // How the two run-time x run-time products of attention (q k^T, attn v) are
  // lowered: one BATCH_MATMUL over (window, head), or one FULLY_CONNECTED with
  // run-time weights per (window, head) (SPLIT + CONCATENATION around them).
  enum class AttnMatmul { batch_matmul, fully_connected } attn_matmul = AttnMatmul::batch_matmul;
  // How the width term of the decomposed relative positions is computed.
  enum class RelW { fc_block_diagonal, bmm_transposed } rel_w = RelW::fc_block_diagonal;
  // q k^T as one product per (window, head) on q viewed as [T, hd] rows (costs a
  // RESHAPE between built-in ops), or per (window, head, query row i) on the
  // [S, S] query grid with k broadcast over i (no reshape, smaller products).
  enum class Scores { q_rows, q_grid_broadcast_k } scores = Scores::q_grid_broadcast_k;
};

// Appends the whole detector to `g`. `image_input_tensor`: the NHWC
// [1,img,img,3] RGB [0,1] float32 tensor (usually the graph input `image`).
// `prefix`: the state-dict prefix of the detector, e.g. "detector." (a missing
// trailing dot is added). Returns the logits tensor [1, 1+nbits] (not marked as
// a graph output). Throws sealite::Error naming the key and both shapes on a
// missing or mis-shaped checkpoint entry, or on an unsupported card.
int build_vit_detector(graph::Graph& g, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                       int image_input_tensor);
// The same on a caller's Layers (its Lowering is used for LN / GELU / pads).
int build_vit_detector(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                       int image_input_tensor, const VitOptions& opt = {});

// Every state-dict entry the detector reads (key with `prefix`, PyTorch shape),
// in module order. For --random-init and for checking a checkpoint up front.
std::vector<std::pair<std::string, std::vector<int64_t>>> vit_detector_param_shapes(const Card& card,
                                                                                    const std::string& prefix);

// ---- pieces, for block-by-block tests against the forward-hook dumps
// All token tensors are NHWC [1, G, G, D] (G = img/patch) unless noted.
namespace vit_parts {
// x*2-1 and the patch conv (PatchEmbed output, before pos_embed).
int patch_embed(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int image);
// + pos_embed.
int add_pos_embed(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x);
// Block `index` on raster tokens -> raster tokens (partitions into windows and back when windowed).
int block(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int index, int x,
          const VitOptions& opt = {});
// Attention of block `index` alone on its input (the norm1 output): raster in;
// out is [nW, S, S, D] per window for windowed blocks (the hook layout), raster for global ones.
int attention(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int index, int xn,
              const VitOptions& opt = {});
// neck: raster tokens -> [1, G, G, out_chans].
int neck(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x);
// pixel decoder up to output_upscaling (before the mean): [1, G*f, G*f, C/f].
int pixel_upscaling(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x);
// mean over H,W + linear (+ sigmoid if the card says so): -> [1, 1+nbits].
int pixel_head(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x);
}  // namespace vit_parts

}  // namespace sealite::vs
