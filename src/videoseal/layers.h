// Reusable TensorFlow Lite lowerings of PyTorch layers on a graph::Graph, chosen
// for the TFLite 2.9 runtime + its XNNPACK delegate (see
// /work/shared/docs/tflite-2.9-facts.md): every op emitted here is accepted by
// 2.9 at the version used, and wherever an exact formulation exists the ops
// are ones the 2.9 XNNPACK delegate takes (no MIRROR_PAD / SLICE /
// CONCATENATION / GELU / MEAN-over-channels on the default paths).
//
// Layout: activations are NHWC (batch 1); weights are given in PyTorch layout
// (Conv2d OIHW, depthwise [C,1,kh,kw], Linear [out,in]) and converted here.
// A `Tensor` is a tensor index of the graph.
//
// API stability: this header is used by detector_vit.cc (another engineer);
// only additions, no signature changes.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace sealite::vs {

using Tensor = int;

enum class Act { none, relu, silu, gelu, tanh, sigmoid };
// "relu" | "silu" | "gelu" | "tanh" | "sigmoid" | "none"/"" ; throws sealite::Error otherwise.
Act parse_act(const std::string& name);
const char* act_name(Act a);

// Where two lowerings of the same math exist, which one to emit. The defaults
// are the measured winners (TFLite 2.9 + XNNPACK, this 2-core AVX-512 VM; CPU
// ms of one invoke at 1 thread, numbers in layers.cc and the convert report).
struct Lowering {
  // GELU (exact erf form): TFLite's GELU op (v1, exact; a built-in kernel in
  // 2.9, but a fast vectorised one: 1.3 ms on 1x64x64x384) or
  // relu(x) - |x|*erfc(|x|/sqrt2)/2 with erfc from an exp-of-polynomial fit
  // (32 XNNPACK ops: ABS, MUL, ADD, DIV, ELU, RELU, SUB; 9.2 ms on the same
  // tensor). Both within 4e-7 x max(1,|x|) of the exact GELU. Whole 1.0
  // detector (1 thread, CPU ms): builtin 145, erf_rational 189, so the
  // built-in op wins despite splitting the XNNPACK partitions (21 vs 1).
  enum class Gelu { builtin, erf_rational } gelu = Gelu::builtin;
  // ReflectionPad2d(1): MIRROR_PAD (built-in, slow scalar loop in 2.9),
  // 4 SLICE + 2 CONCATENATION (built-in copies, almost free), or an exact
  // XNNPACK-only form: zero PAD + masked depthwise "copy from 2 away" per axis
  // (7 ops, layers.cc). Upsample block x2 + pad + conv3x3, 1x128x128x32 -> 16,
  // CPU ms at 1 thread: SAME zero pad 3.93, slice_concat 4.55, masked 8.37,
  // mirror 17.0. Whole full-size 1.0 embedder on a quiet machine (median of
  // 10, 1 / 2 threads): slice_concat 270 / 143 ms, masked 285 / 166 ms: the
  // built-in copies win although they split the embedder into 4 XNNPACK
  // partitions; masked keeps ONE partition (convert --reflect-pad masked).
  enum class ReflectPad { mirror_pad, slice_concat, masked_dwconv } reflect_pad = ReflectPad::slice_concat;
  // Sum/mean over the channel axis (LayerNorm / RMSNorm statistics): a 1x1
  // CONV_2D with C->1 constant weights (XNNPACK) or MEAN/SUM over axis 3
  // (built-in only in 2.9). Equal in cost (1.0 detector: 145 vs 148 ms);
  // conv1x1 keeps XNNPACK partitions whole.
  enum class ChannelReduce { conv1x1, reduce_op } channel_reduce = ChannelReduce::conv1x1;
  // tanh: TANH op (built-in only in 2.9), or 2*LOGISTIC(2x)-1 (XNNPACK);
  // one op on [1,256,256,C], equal in cost (1.0 embedder 301 vs 307 ms).
  enum class Tanh { builtin, logistic } tanh = Tanh::logistic;
  // Store conv / linear weights as float16 constants + DEQUANTIZE (computation
  // stays float32). Halves the file; needed for models whose float32 weights
  // exceed the 2 GiB FlatBuffer limit of TFLite 2.9 (full-size ChunkySeal).
  bool fp16_weights = false;
  // UNet embedders: never build cat(latent, tile(msg)); the message channels of
  // the convs that read it become per-tap FULLY_CONNECTEDs of the message vector
  // and broadcasting ADDs (exact, also at the zero-padded borders). Saves the
  // msg share of bottleneck block 0 and of ups.0's skip conv (~5-6% of the
  // embedder MACs; 1.0 embedder 26.7 vs 28.3 GMAC, 301 vs 322 ms).
  bool fold_message = true;
};

// Conv2d hyper-parameters in PyTorch terms (symmetric zero padding).
struct ConvParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation = 1;  // both axes; pad = dilation*(k/2) with stride 1 is SAME
  static ConvParams same(int k) { return {1, 1, k / 2, k / 2}; }
  static ConvParams strided(int s, int pad = 0) { return {s, s, pad, pad}; }
};

// BatchNorm2d (eval) parameters, PyTorch names.
struct BatchNormParams {
  std::vector<float> weight, bias, running_mean, running_var;
  double eps = 1e-5;
};

class Layers {
 public:
  explicit Layers(graph::Graph& g, Lowering lowering = {});

  graph::Graph& graph() { return g_; }
  const Lowering& lowering() const { return low_; }
  void set_lowering(const Lowering& l) { low_ = l; }

  std::vector<int32_t> shape(Tensor t) const;
  int dim(Tensor t, int axis) const;  // negative axis counts from the end
  int channels(Tensor t) const { return dim(t, -1); }

  // Names: every tensor created gets "<scope>/<name>"; scopes nest.
  void push_scope(const std::string& s);
  void pop_scope();
  std::string scoped(const std::string& name) const;
  struct Scope {
    Scope(Layers& l, const std::string& s) : l_(l) { l_.push_scope(s); }
    ~Scope() { l_.pop_scope(); }
    Layers& l_;
  };

  // ---- graph I/O and constants
  Tensor input(const std::string& name, std::vector<int32_t> shape);  // float32 graph input
  void output(Tensor t, const std::string& name);                    // marks a graph output, renames it
  Tensor constant(const std::string& name, std::vector<int32_t> shape, std::span<const float> v);
  Tensor constant_i32(const std::string& name, std::vector<int32_t> shape, std::span<const int32_t> v);
  // A weight constant: float32, or float16 + DEQUANTIZE when Lowering::fp16_weights.
  Tensor weight(const std::string& name, std::vector<int32_t> shape, std::span<const float> v);
  Tensor scalar(float v);  // [1] constant (deduplicated per value)

  // ---- convolutions (PyTorch weights; bias may be empty)
  // CONV_2D; padding other than 0 / SAME-equivalent is an explicit zero PAD.
  Tensor conv2d(Tensor x, std::span<const float> w_oihw, int out_c, int kh, int kw, std::span<const float> bias,
                ConvParams p = {}, Act fused = Act::none, const std::string& name = "conv");
  // DEPTHWISE_CONV_2D (groups == channels, multiplier 1), w [C,1,kh,kw].
  Tensor depthwise_conv2d(Tensor x, std::span<const float> w_c1hw, int kh, int kw, std::span<const float> bias,
                          ConvParams p = {}, Act fused = Act::none, const std::string& name = "dwconv");
  // Linear / 1x1 conv over the channel axis of an NHWC tensor: CONV_2D 1x1. w [out,in].
  Tensor pointwise(Tensor x, std::span<const float> w_oi, int out_c, std::span<const float> bias,
                   Act fused = Act::none, const std::string& name = "pw");
  // Linear over the last axis of any-rank input via FULLY_CONNECTED (keep_num_dims
  // for rank > 2). w [out,in].
  Tensor linear(Tensor x, std::span<const float> w_oi, int out_c, std::span<const float> bias,
                Act fused = Act::none, const std::string& name = "linear");
  // Per-channel affine y = x*scale + shift (shift may be empty) as one
  // DEPTHWISE_CONV_2D 1x1 (rank 4) or MUL+ADD (other ranks).
  Tensor channel_affine(Tensor x, std::span<const float> scale, std::span<const float> shift,
                        Act fused = Act::none, const std::string& name = "affine");

  // ---- weight transforms (static)
  // OIHW -> OHWI (CONV_2D filter layout).
  static std::vector<float> oihw_to_ohwi(std::span<const float> w, int o, int i, int kh, int kw);
  // Folds BatchNorm (eval) into the preceding conv: w *= g/sqrt(v+eps) per
  // output channel, bias = (bias - mean)*g/sqrt(v+eps) + beta (bias created if
  // empty). Computed in double.
  static void fold_batchnorm(std::vector<float>& w_oihw, std::vector<float>& bias, int out_c,
                             const BatchNormParams& bn);
  // Folds y = W(x*g + b) + c into W' = W diag(g), c' = c + W b (Linear/1x1 after
  // a per-channel affine, e.g. a LayerNorm's gamma/beta). w [out,in]. Double.
  static void fold_input_affine(std::vector<float>& w_oi, std::vector<float>& bias, int out_c, int in_c,
                                std::span<const float> scale, std::span<const float> shift);
  // The same for a KxK conv (OIHW) after a per-input-channel affine. Only exact
  // when the conv does no zero padding (VALID).
  static void fold_input_affine_conv(std::vector<float>& w_oihw, std::vector<float>& bias, int out_c, int in_c,
                                     int kh, int kw, std::span<const float> scale, std::span<const float> shift);

  // ---- normalizations (over the last axis = channels in NHWC)
  // (x - mean) / sqrt(var + eps) [* gamma + beta]; biased variance (PyTorch LN and
  // VideoSeal's channels_first LayerNorm). gamma/beta empty: no affine (fold it).
  Tensor layer_norm(Tensor x, std::span<const float> gamma, std::span<const float> beta, double eps,
                    const std::string& name = "ln", Act fused_after_affine = Act::none);
  // VideoSeal ChanRMSNorm: x / max(||x||_C, 1e-12) * sqrt(C) * gamma.
  Tensor chan_rms_norm(Tensor x, std::span<const float> gamma, const std::string& name = "rms");
  // ConvNeXt-V2 GRN over NHWC: G = ||x||_2 over (H,W) per channel, N = G/(mean_C G + 1e-6),
  // y = gamma*(x*N) + beta + x  (computed as x*(gamma*N+1) [+ beta]); beta may be empty.
  Tensor grn(Tensor x, std::span<const float> gamma, std::span<const float> beta, const std::string& name = "grn");
  // Sum over the channel axis times `scale` -> [..., 1] (keeps rank).
  Tensor channel_sum(Tensor x, float scale, const std::string& name = "csum");

  // ---- activations
  Tensor activation(Tensor x, Act a, const std::string& name = "");
  Tensor relu(Tensor x);
  Tensor silu(Tensor x);     // x * LOGISTIC(x)
  Tensor gelu(Tensor x);     // exact erf form (see Lowering::gelu)
  Tensor tanh(Tensor x);
  Tensor sigmoid(Tensor x);

  // ---- resampling / padding (NHWC rank 4)
  // RESIZE_BILINEAR to (h, w); align_corners=false + half_pixel_centers=true is
  // PyTorch's bilinear (align_corners=False, no antialias).
  Tensor resize_bilinear(Tensor x, int out_h, int out_w, bool align_corners = false, bool half_pixel = true,
                         const std::string& name = "resize");
  Tensor upsample_bilinear_x2(Tensor x, const std::string& name = "up2");
  // ReflectionPad2d(1) over H and W (see Lowering::reflect_pad).
  Tensor reflect_pad1(Tensor x, const std::string& name = "reflpad");
  // Zero PAD, pads = {before,after} per axis (rank entries).
  Tensor pad(Tensor x, std::vector<std::pair<int, int>> pads, const std::string& name = "pad");
  // Mean over H and W: MEAN axes {1,2}, keep_dims -> [1,1,1,C] (or [1,C] without keep_dims).
  Tensor mean_hw(Tensor x, bool keep_dims = true, const std::string& name = "mean_hw");

  // ---- element-wise (NumPy broadcasting)
  Tensor add(Tensor a, Tensor b, Act fused = Act::none, const std::string& name = "add");
  Tensor sub(Tensor a, Tensor b, const std::string& name = "sub");
  Tensor mul(Tensor a, Tensor b, const std::string& name = "mul");
  Tensor div(Tensor a, Tensor b, const std::string& name = "div");
  Tensor maximum(Tensor a, Tensor b, const std::string& name = "max");
  Tensor minimum(Tensor a, Tensor b, const std::string& name = "min");
  Tensor add_scalar(Tensor x, float v, const std::string& name = "adds");
  Tensor mul_scalar(Tensor x, float v, const std::string& name = "muls");
  Tensor sqrt(Tensor x, const std::string& name = "sqrt");
  Tensor square(Tensor x, const std::string& name = "sq");  // MUL(x, x)
  Tensor logistic(Tensor x, const std::string& name = "sigmoid");

  // ---- shape ops (not for the conv path: CONCATENATION / SLICE / TRANSPOSE are
  // not XNNPACK in 2.9)
  Tensor reshape(Tensor x, std::vector<int32_t> new_shape, const std::string& name = "reshape");
  Tensor transpose(Tensor x, std::vector<int32_t> perm, const std::string& name = "transpose");
  Tensor concat(std::vector<Tensor> xs, int axis, const std::string& name = "concat");
  Tensor slice(Tensor x, std::vector<int32_t> begin, std::vector<int32_t> size, const std::string& name = "slice");
  // Channel concatenation made of XNNPACK ops: PAD each input on the channel
  // axis to the full width and ADD (exact: x + 0).
  Tensor concat_channels_padadd(std::vector<Tensor> xs, const std::string& name = "cat");
  Tensor softmax(Tensor x, float beta = 1.f, const std::string& name = "softmax");
  // BATCH_MATMUL (rank 3/4), optional adjoints.
  Tensor batch_matmul(Tensor a, Tensor b, bool adj_a = false, bool adj_b = false, const std::string& name = "bmm");

  // Low level: a float32 activation tensor and an op.
  Tensor new_tensor(const std::string& name, std::vector<int32_t> shape);
  int op(tfl::BuiltinOperator code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
         tfl::BuiltinOptionsUnion options = {}, int version = 1);

 private:
  Tensor reflect_pad1_masked(Tensor x, const std::string& name);
  graph::Graph& g_;
  Lowering low_;
  std::vector<std::string> scopes_;
  int counter_ = 0;
};

// Deterministic pseudo-random numbers (splitmix64-seeded xoshiro256**), the
// same on every platform; used for random-init models and tests.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();                  // [0,1)
  float uniform(float lo, float hi);
  float normal();                    // Box-Muller
 private:
  uint64_t s_[4];
};

}  // namespace sealite::vs
