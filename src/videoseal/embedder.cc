#include "videoseal/embedder.h"

#include <cmath>

#include "core/error.h"

namespace sealite::vs {

namespace {

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

std::string norm_kind(const Card& card) {
  const std::string& n = card.unet.normalization;
  if (n.rfind("batch", 0) == 0) return "batch";
  if (n.rfind("rms", 0) == 0) return "rms";
  if (n.rfind("layer", 0) == 0) return "layer";
  throw Error("unsupported UNet normalization '" + n + "'");
}

std::vector<int> unet_channels(const Card& card) {
  std::vector<int> z;
  for (int m : card.unet.z_channels_mults) z.push_back(card.unet.z_channels * m);
  return z;
}

int bottleneck_channels(const Card& card) { return unet_channels(card).back() + card.msg_hidden(); }

std::vector<float> get(const ckpt::Checkpoint& ck, const std::string& key, std::vector<int64_t> shape) {
  return ck.get(key, shape);
}

void norm_shapes(Shapes& s, const Card& card, const std::string& key, int c) {
  std::string k = norm_kind(card);
  if (k == "batch") {
    for (const char* p : {"weight", "bias", "running_mean", "running_var"}) s.push_back({key + "." + p, {c}});
    s.push_back({key + ".num_batches_tracked", {}});
  } else if (k == "rms") {
    s.push_back({key + ".gamma", {c, 1, 1}});
  } else {
    s.push_back({key + ".weight", {c}});
    s.push_back({key + ".bias", {c}});
  }
}

void resnet_shapes(Shapes& s, const Card& card, const std::string& key, int in, int out) {
  s.push_back({key + ".double_conv.0.weight", {out, in, 3, 3}});
  norm_shapes(s, card, key + ".double_conv.1", out);
  s.push_back({key + ".double_conv.3.weight", {out, out, 3, 3}});
  norm_shapes(s, card, key + ".double_conv.4", out);
  s.push_back({key + ".res_conv.weight", {out, in, 1, 1}});
  s.push_back({key + ".res_conv.bias", {out}});
}

// conv3x3 (no bias) + norm + act, as TFLite ops. Returns the activated tensor.
Tensor conv_norm_act(Layers& L, const ckpt::Checkpoint& ck, const Card& card, Tensor x, const std::string& conv_key,
                     const std::string& norm_key, int in, int out, const std::string& name) {
  const Act act = parse_act(card.unet.activation);
  auto w = get(ck, conv_key + ".weight", {out, in, 3, 3});
  const std::string kind = norm_kind(card);
  if (kind == "batch") {
    BatchNormParams bn;
    bn.weight = get(ck, norm_key + ".weight", {out});
    bn.bias = get(ck, norm_key + ".bias", {out});
    bn.running_mean = get(ck, norm_key + ".running_mean", {out});
    bn.running_var = get(ck, norm_key + ".running_var", {out});
    bn.eps = 1e-5;
    std::vector<float> b;
    Layers::fold_batchnorm(w, b, out, bn);
    return L.conv2d(x, w, out, 3, 3, b, ConvParams::same(3), act, name);
  }
  Tensor y = L.conv2d(x, w, out, 3, 3, {}, ConvParams::same(3), Act::none, name);
  if (kind == "rms") {
    auto g = get(ck, norm_key + ".gamma", {out, 1, 1});
    y = L.chan_rms_norm(y, g, name + "_rms");
    return L.activation(y, act, name + "_act");
  }
  auto g = get(ck, norm_key + ".weight", {out});
  auto b = get(ck, norm_key + ".bias", {out});
  return L.layer_norm(y, g, b, 1e-6, name + "_ln", act);
}

// Weights [out, in, kh, kw] -> the input-channel range [from, from+n).
std::vector<float> in_slice(const std::vector<float>& w, int out, int in, int k, int from, int n) {
  std::vector<float> r(static_cast<size_t>(out) * n * k);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < n; ++i)
      for (int t = 0; t < k; ++t)
        r[(static_cast<size_t>(o) * n + i) * k + t] = w[(static_cast<size_t>(o) * in + from + i) * k + t];
  return r;
}

// conv3x3 (zero padding 1) of the spatially constant map tile(m) over [h,w]:
// out[i,j] = sum over the taps that fall inside the image of W[tap] m, i.e.
// sum_dh rv_dh[i] * A_dh[j] with A_dh[j] = sum_dw cv_dw[j] V_{dh,dw},
// V_tap = W[tap] m (one FULLY_CONNECTED each), rv/cv the 0/1 validity of the
// row/column offset. Broadcasting MUL/ADD only; [1,h,w,out].
Tensor const_map_conv3x3(Layers& L, Tensor m4, const std::vector<float>& wm, int out, int hid, int h, int w) {
  Layers::Scope sc(L, "msg_conv");
  auto valid = [](int n, int d) {  // offset d-1 stays inside [0,n)
    std::vector<float> v(n);
    for (int i = 0; i < n; ++i) v[i] = (i + d - 1 >= 0 && i + d - 1 < n) ? 1.f : 0.f;
    return v;
  };
  Tensor total = -1;
  for (int dh = 0; dh < 3; ++dh) {
    Tensor a = -1;
    for (int dw = 0; dw < 3; ++dw) {
      std::vector<float> wt(static_cast<size_t>(out) * hid);
      for (int o = 0; o < out; ++o)
        for (int i = 0; i < hid; ++i) wt[static_cast<size_t>(o) * hid + i] = wm[(static_cast<size_t>(o) * hid + i) * 9 + dh * 3 + dw];
      const std::string t = std::to_string(dh) + std::to_string(dw);
      Tensor v = L.linear(m4, wt, out, {}, Act::none, "tap" + t);  // [1,1,1,out]
      if (dw != 1) v = L.mul(v, L.constant("cv" + t, {1, 1, w, 1}, valid(w, dw)), "col" + t);
      a = a < 0 ? v : L.add(a, v, Act::none, "row_sum" + t);
    }
    if (L.shape(a)[2] != w) a = L.mul(a, L.constant("ones_w" + std::to_string(dh), {1, 1, w, 1}, std::vector<float>(w, 1.f)), "bc");
    if (dh != 1) a = L.mul(a, L.constant("rv" + std::to_string(dh), {1, h, 1, 1}, valid(h, dh)), "rows" + std::to_string(dh));
    total = total < 0 ? a : L.add(total, a, Act::none, "sum" + std::to_string(dh));
  }
  if (L.shape(total)[1] != h)
    total = L.mul(total, L.constant("ones_h", {1, h, 1, 1}, std::vector<float>(h, 1.f)), "bc_h");
  return total;
}

}  // namespace

namespace unet_parts {

// Output width of a module as the checkpoint has it (for the block-level entry
// points, which have no card-derived width at hand).
int out_channels_of(const ckpt::Checkpoint& ck, const std::string& key) {
  const auto& s = ck.at(key).shape;
  check(s.size() == 4 && s[0] > 0, "checkpoint key '" + key + "' is not a conv weight");
  return static_cast<int>(s[0]);
}

Tensor resnet_block_n(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x,
                      int out) {
  const int in = L.channels(x);
  Layers::Scope sc(L, key);
  Tensor h = conv_norm_act(L, ck, card, x, key + ".double_conv.0", key + ".double_conv.1", in, out, "conv1");
  h = conv_norm_act(L, ck, card, h, key + ".double_conv.3", key + ".double_conv.4", out, out, "conv2");
  auto rw = get(ck, key + ".res_conv.weight", {out, in, 1, 1});
  auto rb = get(ck, key + ".res_conv.bias", {out});
  Tensor r = L.pointwise(x, rw, out, rb, Act::none, "res_conv");
  return L.add(h, r, Act::none, "out");
}

Tensor resnet_block(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x) {
  return resnet_block_n(L, ck, key, card, x, out_channels_of(ck, key + ".double_conv.0.weight"));
}

// The message vector m = sum_k E[2k+bit_k] as [1,1,1,hidden]: one FULLY_CONNECTED
// (E[2k+1]-E[2k] per bit, bias sum_k E[2k], accumulated in double).
Tensor message_vector(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                      Tensor message) {
  const int nbits = card.nbits, hidden = card.msg_hidden();
  Layers::Scope sc(L, prefix + "unet.msg_processor");
  auto e = get(ck, prefix + "unet.msg_processor.msg_embeddings.weight", {2 * nbits, hidden});
  std::vector<float> w(static_cast<size_t>(hidden) * nbits), b(hidden);
  for (int h = 0; h < hidden; ++h) {
    double acc = 0;
    for (int k = 0; k < nbits; ++k) {
      const float e0 = e[static_cast<size_t>(2 * k) * hidden + h], e1 = e[static_cast<size_t>(2 * k + 1) * hidden + h];
      w[static_cast<size_t>(h) * nbits + k] = e1 - e0;
      acc += e0;
    }
    b[h] = static_cast<float>(acc);
  }
  Tensor v = L.linear(message, w, hidden, b, Act::none, "embed");
  return L.reshape(v, {1, 1, 1, hidden}, "embed4");
}

// Bottleneck block 0 on cat(latent, tile(m)) without building the
// concatenation: the message channels of conv1 become const_map_conv3x3 (exact
// incl. the zero-padded borders), those of the 1x1 res_conv one
// FULLY_CONNECTED + broadcasting ADD.
Tensor resnet_block_msg(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card,
                        Tensor latent, Tensor m4, int out) {
  const int ca = L.channels(latent), hid = L.channels(m4), in = ca + hid;
  const int h = L.dim(latent, 1), w = L.dim(latent, 2);
  const Act act = parse_act(card.unet.activation);
  const std::string kind = norm_kind(card);
  Layers::Scope sc(L, key);
  Tensor y;
  {
    auto wt = get(ck, key + ".double_conv.0.weight", {out, in, 3, 3});
    std::vector<float> b;
    if (kind == "batch") {
      const std::string nk = key + ".double_conv.1";
      BatchNormParams bn;
      bn.weight = get(ck, nk + ".weight", {out});
      bn.bias = get(ck, nk + ".bias", {out});
      bn.running_mean = get(ck, nk + ".running_mean", {out});
      bn.running_var = get(ck, nk + ".running_var", {out});
      Layers::fold_batchnorm(wt, b, out, bn);
    }
    Tensor ya = L.conv2d(latent, in_slice(wt, out, in, 9, 0, ca), out, 3, 3, b, ConvParams::same(3), Act::none, "conv1");
    Tensor ym = const_map_conv3x3(L, m4, in_slice(wt, out, in, 9, ca, hid), out, hid, h, w);
    if (kind == "batch") {
      y = L.add(ya, ym, act == Act::relu ? Act::relu : Act::none, "conv1_sum");
      if (act != Act::relu) y = L.activation(y, act, "conv1_act");
    } else if (kind == "rms") {
      y = L.add(ya, ym, Act::none, "conv1_sum");
      y = L.activation(L.chan_rms_norm(y, get(ck, key + ".double_conv.1.gamma", {out, 1, 1}), "conv1_rms"), act,
                       "conv1_act");
    } else {
      y = L.add(ya, ym, Act::none, "conv1_sum");
      y = L.layer_norm(y, get(ck, key + ".double_conv.1.weight", {out}), get(ck, key + ".double_conv.1.bias", {out}),
                       1e-6, "conv1_ln", act);
    }
  }
  y = conv_norm_act(L, ck, card, y, key + ".double_conv.3", key + ".double_conv.4", out, out, "conv2");
  auto rw = get(ck, key + ".res_conv.weight", {out, in, 1, 1});
  auto rb = get(ck, key + ".res_conv.bias", {out});
  Tensor ra = L.pointwise(latent, in_slice(rw, out, in, 1, 0, ca), out, rb, Act::none, "res_conv");
  Tensor rm = L.linear(m4, in_slice(rw, out, in, 1, ca, hid), out, {}, Act::none, "res_conv_msg");
  return L.add(L.add(y, ra, Act::none, "out_a"), rm, Act::none, "out");
}

Tensor dblock_n(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x, int out) {
  const int in = L.channels(x);
  Tensor d;
  {
    Layers::Scope sc(L, key);
    auto w = get(ck, key + ".down.weight", {out, in, 3, 3});
    auto b = get(ck, key + ".down.bias", {out});
    d = L.conv2d(x, w, out, 3, 3, b, ConvParams::strided(2, 1), Act::none, "down");
  }
  return resnet_block_n(L, ck, key + ".conv", card, d, out);
}

Tensor dblock(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x) {
  return dblock_n(L, ck, key, card, x, out_channels_of(ck, key + ".down.weight"));
}

Tensor msg_processor(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                     Tensor latent, Tensor message) {
  const int nbits = card.nbits, hidden = card.msg_hidden();
  const int ca = L.channels(latent);
  check(L.dim(message, -1) == nbits, "internal: message width");
  Layers::Scope sc(L, prefix + "unet.msg_processor");
  auto e = get(ck, prefix + "unet.msg_processor.msg_embeddings.weight", {2 * nbits, hidden});
  // FC weights [ca+hidden, nbits]: zero rows for the latent channels, then
  // E[2k+1]-E[2k]; bias: zeros, then sum_k E[2k] (accumulated in double).
  const int c = ca + hidden;
  std::vector<float> w(static_cast<size_t>(c) * nbits, 0.f), b(c, 0.f);
  for (int h = 0; h < hidden; ++h) {
    double acc = 0;
    for (int k = 0; k < nbits; ++k) {
      const float e0 = e[static_cast<size_t>(2 * k) * hidden + h], e1 = e[static_cast<size_t>(2 * k + 1) * hidden + h];
      w[static_cast<size_t>(ca + h) * nbits + k] = e1 - e0;
      acc += e0;
    }
    b[ca + h] = static_cast<float>(acc);
  }
  Tensor v = L.linear(message, w, c, b, Act::none, "embed");  // [1, ca+hidden]
  Tensor v4 = L.reshape(v, {1, 1, 1, c}, "embed4");
  Tensor padded = L.pad(latent, {{0, 0}, {0, 0}, {0, 0}, {0, hidden}}, "latent_pad");
  return L.add(padded, v4, Act::none, "cat");
}

// `m4` >= 0: the skip is cat(skip, tile(m4)) (the first UBlock of a folded
// message): the upsampled, reflection-padded constant map is the same constant,
// so its conv is the vector sum_taps W[tap] m (one FULLY_CONNECTED).
Tensor ublock_n(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x,
                Tensor skip, bool up_only, int out, Tensor m4 = -1) {
  const int cx = L.channels(x), cm = m4 >= 0 ? L.channels(m4) : 0, cs = L.channels(skip) + cm, in = cx + cs;
  const Act act = parse_act(card.unet.activation);
  Tensor y;
  {
    Layers::Scope sc(L, key + ".up");
    auto w = get(ck, key + ".up.upsample_block.2.weight", {out, in, 3, 3});
    // Split the conv over the two halves of the (never built) concatenation;
    // the skip's 2^-0.5 goes into its weights.
    const double s = std::pow(2.0, -0.5);
    std::vector<float> wx(static_cast<size_t>(out) * cx * 9), wsk(static_cast<size_t>(out) * cs * 9);
    for (int o = 0; o < out; ++o)
      for (int i = 0; i < in; ++i)
        for (int t = 0; t < 9; ++t) {
          float v = w[(static_cast<size_t>(o) * in + i) * 9 + t];
          if (i < cx) wx[(static_cast<size_t>(o) * cx + i) * 9 + t] = v;
          else wsk[(static_cast<size_t>(o) * cs + (i - cx)) * 9 + t] = static_cast<float>(v * s);
        }
    Tensor ux = L.reflect_pad1(L.upsample_bilinear_x2(x, "up_x"), "pad_x");
    Tensor us = L.reflect_pad1(L.upsample_bilinear_x2(skip, "up_skip"), "pad_skip");
    Tensor yx = L.conv2d(ux, wx, out, 3, 3, {}, {}, Act::none, "conv_x");
    const int cl = cs - cm;
    Tensor ys = L.conv2d(us, cm ? in_slice(wsk, out, cs, 9, 0, cl) : wsk, out, 3, 3, {}, {}, Act::none, "conv_skip");
    y = L.add(yx, ys, Act::none, "conv");
    if (cm) {
      auto wm = in_slice(wsk, out, cs, 9, cl, cm);
      std::vector<float> wsum(static_cast<size_t>(out) * cm);
      for (size_t i = 0; i < wsum.size(); ++i) {
        double acc = 0;
        for (int t = 0; t < 9; ++t) acc += wm[i * 9 + t];
        wsum[i] = static_cast<float>(acc);
      }
      y = L.add(y, L.linear(m4, wsum, out, {}, Act::none, "conv_msg"), Act::none, "conv_sum");
    }
    auto g = get(ck, key + ".up.upsample_block.3.weight", {out});
    auto b = get(ck, key + ".up.upsample_block.3.bias", {out});
    y = L.layer_norm(y, g, b, 1e-6, "ln", act);
  }
  if (up_only) return y;
  return resnet_block_n(L, ck, key + ".conv", card, y, out);
}

Tensor ublock(Layers& L, const ckpt::Checkpoint& ck, const std::string& key, const Card& card, Tensor x, Tensor skip,
              bool up_only) {
  return ublock_n(L, ck, key, card, x, skip, up_only, out_channels_of(ck, key + ".up.upsample_block.2.weight"));
}

Tensor outc(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, Tensor x,
            bool apply_tanh) {
  const int in = L.channels(x), out = card.unet.out_channels;
  Layers::Scope sc(L, prefix + "unet.outc");
  auto w = get(ck, prefix + "unet.outc.weight", {out, in, 1, 1});
  auto b = get(ck, prefix + "unet.outc.bias", {out});
  if (!apply_tanh) return L.pointwise(x, w, out, b, Act::none, "conv");
  if (L.lowering().tanh == Lowering::Tanh::logistic) {
    // tanh(z) = 2*sigmoid(2z) - 1; 2z folded into the conv (exact scaling).
    for (auto& v : w) v *= 2.f;
    for (auto& v : b) v *= 2.f;
    Tensor z2 = L.pointwise(x, w, out, b, Act::none, "conv_x2");
    Tensor s = L.logistic(z2, "sigmoid");
    std::vector<float> two(out, 2.f), m1(out, -1.f);
    return L.channel_affine(s, two, m1, Act::none, "tanh");
  }
  return L.tanh(L.pointwise(x, w, out, b, Act::none, "conv"));
}

// The UNet on its preprocessed input (x*2-1 already applied).
Tensor unet_pre(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, Tensor x,
                Tensor message) {
  const int cin = L.channels(x);
  check(cin == card.unet.in_channels, "internal: embedder input has " + std::to_string(cin) + " channels, card says " +
                                          std::to_string(card.unet.in_channels));
  return [&] {
    // Encoder
    const auto z = unet_channels(card);
    const int cb = bottleneck_channels(card);
    Tensor h = resnet_block_n(L, ck, prefix + "unet.inc", card, x, z[0]);
    std::vector<Tensor> hiddens;
    const size_t levels = z.size();
    for (size_t i = 0; i + 1 < levels; ++i) {
      h = dblock_n(L, ck, prefix + "unet.downs." + std::to_string(i), card, h, z[i + 1]);
      hiddens.push_back(h);
    }
    const bool fold = L.lowering().fold_message && card.unet.num_blocks > 0;
    Tensor m4 = -1, y;
    if (fold) {
      m4 = message_vector(L, ck, prefix, card, message);
      y = resnet_block_msg(L, ck, prefix + "unet.bottleneck.model.0", card, hiddens.back(), m4, cb);
    } else {
      y = msg_processor(L, ck, prefix, card, hiddens.back(), message);
      hiddens.back() = y;
    }
    for (int i = fold ? 1 : 0; i < card.unet.num_blocks; ++i)
      y = resnet_block_n(L, ck, prefix + "unet.bottleneck.model." + std::to_string(i), card, y, cb);
    for (size_t i = 0; i + 1 < levels; ++i) {
      Tensor skip = hiddens.back();
      hiddens.pop_back();
      y = ublock_n(L, ck, prefix + "unet.ups." + std::to_string(i), card, y, skip, false, z[levels - 2 - i],
                   i == 0 && fold ? m4 : -1);
    }
    return outc(L, ck, prefix, card, y, card.unet.last_tanh);
  }();
}

Tensor unet(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, Tensor x01,
            Tensor message) {
  const int cin = L.channels(x01);
  std::vector<float> two(cin, 2.f), m1(cin, -1.f);
  Tensor x = L.channel_affine(x01, two, m1, Act::none, prefix + "preprocess");
  return unet_pre(L, ck, prefix, card, x, message);
}

}  // namespace unet_parts

Tensor build_embedder(Layers& L, const ckpt::Checkpoint& ck, std::string const& prefix_in, const Card& card,
                      Tensor image, Tensor message) {
  std::string prefix = prefix_in;
  if (!prefix.empty() && prefix.back() != '.') prefix += '.';
  const int S = L.dim(image, 1);
  check(S % (1 << (card.unet.z_channels_mults.size() - 1)) == 0,
        "image size " + std::to_string(S) + " is not divisible by the UNet's downsampling factor");
  if (card.yuv) {
    // Y = RGB . rgb2yuv.M[0] (the checkpoint's constant when present), and
    // the preprocess 2Y-1, in one 1x1 conv (weights 2M[0], bias -1).
    std::vector<float> m = {0.299f, 0.587f, 0.114f};
    if (ck.has("rgb2yuv.M")) {
      auto M = ck.get("rgb2yuv.M", {3, 3});
      m.assign(M.begin(), M.begin() + 3);
    }
    for (auto& v : m) v *= 2.f;
    std::vector<float> b = {-1.f};
    Tensor x = L.pointwise(image, m, 1, b, Act::none, prefix + "rgb2y_preprocess");
    return unet_parts::unet_pre(L, ck, prefix, card, x, message);
  }
  return unet_parts::unet(L, ck, prefix, card, image, message);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> embedder_param_shapes(const Card& card,
                                                                                const std::string& prefix_in) {
  std::string prefix = prefix_in;
  if (!prefix.empty() && prefix.back() != '.') prefix += '.';
  Shapes s;
  auto z = unet_channels(card);
  const int cb = bottleneck_channels(card);
  const std::string u = prefix + "unet.";
  s.push_back({u + "msg_processor.msg_embeddings.weight", {2 * card.nbits, card.msg_hidden()}});
  resnet_shapes(s, card, u + "inc", card.unet.in_channels, z[0]);
  for (size_t i = 0; i + 1 < z.size(); ++i) {
    std::string k = u + "downs." + std::to_string(i);
    s.push_back({k + ".down.weight", {z[i + 1], z[i], 3, 3}});
    s.push_back({k + ".down.bias", {z[i + 1]}});
    resnet_shapes(s, card, k + ".conv", z[i + 1], z[i + 1]);
  }
  for (int i = 0; i < card.unet.num_blocks; ++i)
    resnet_shapes(s, card, u + "bottleneck.model." + std::to_string(i), cb, cb);
  auto zz = z;
  zz.back() = cb;
  int j = 0;
  for (int ii = static_cast<int>(z.size()) - 2; ii >= 0; --ii, ++j) {
    std::string k = u + "ups." + std::to_string(j);
    s.push_back({k + ".up.upsample_block.2.weight", {z[ii], 2 * zz[ii + 1], 3, 3}});
    s.push_back({k + ".up.upsample_block.3.weight", {z[ii]}});
    s.push_back({k + ".up.upsample_block.3.bias", {z[ii]}});
    resnet_shapes(s, card, k + ".conv", z[ii], z[ii]);
  }
  s.push_back({u + "outc.weight", {card.unet.out_channels, z[0], 1, 1}});
  s.push_back({u + "outc.bias", {card.unet.out_channels}});
  s.push_back({prefix + "msg_processor.msg_embeddings.weight", {2 * card.nbits, card.msg_hidden()}});
  return s;
}

}  // namespace sealite::vs
