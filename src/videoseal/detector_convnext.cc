#include "videoseal/detector_convnext.h"

#include "core/error.h"

namespace sealite::vs {

namespace {

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

std::string with_dot(std::string p) {
  if (!p.empty() && p.back() != '.') p += '.';
  return p;
}

}  // namespace

namespace convnext_parts {

Tensor downsample(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix_in, const Card& card, int i,
                  Tensor x, bool preprocess) {
  const std::string prefix = with_dot(prefix_in);
  const auto& dims = card.convnext.dims;
  const std::string key = prefix + "convnext.downsample_layers." + std::to_string(i);
  Layers::Scope sc(L, key);
  if (i == 0) {
    const int k = card.convnext.stem_kernel, s = card.convnext.stem_stride, in = L.channels(x), out = dims[0];
    auto w = ck.get(key + ".0.weight", {out, in, k, k});
    auto b = ck.get(key + ".0.bias", {out});
    if (preprocess) {
      // conv(2x-1) = conv_{2W}(x) + (b - sum W): exact fold, the stem has no padding.
      std::vector<float> two(in, 2.f), m1(in, -1.f);
      Layers::fold_input_affine_conv(w, b, out, in, k, k, two, m1);
    }
    Tensor y = L.conv2d(x, w, out, k, k, b, ConvParams::strided(s), Act::none, "stem");
    auto g = ck.get(key + ".1.weight", {out});
    auto be = ck.get(key + ".1.bias", {out});
    return L.layer_norm(y, g, be, 1e-6, "ln");
  }
  const int in = dims[i - 1], out = dims[i];
  check(L.channels(x) == in, "internal: downsample input width");
  auto g = ck.get(key + ".0.weight", {in});
  auto be = ck.get(key + ".0.bias", {in});
  auto w = ck.get(key + ".1.weight", {out, in, 2, 2});
  auto b = ck.get(key + ".1.bias", {out});
  Layers::fold_input_affine_conv(w, b, out, in, 2, 2, g, be);  // VALID k2/2: exact fold
  Tensor n = L.layer_norm(x, {}, {}, 1e-6, "ln");
  return L.conv2d(n, w, out, 2, 2, b, ConvParams::strided(2), Act::none, "conv");
}

Tensor block(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix_in, int i, int j, Tensor x) {
  const std::string key = with_dot(prefix_in) + "convnext.stages." + std::to_string(i) + "." + std::to_string(j);
  const int d = L.channels(x), h = 4 * d;
  Layers::Scope sc(L, key);
  auto dw = ck.get(key + ".dwconv.weight", {d, 1, 7, 7});
  auto dwb = ck.get(key + ".dwconv.bias", {d});
  Tensor y = L.depthwise_conv2d(x, dw, 7, 7, dwb, ConvParams::same(7), Act::none, "dwconv");
  auto ng = ck.get(key + ".norm.weight", {d});
  auto nb = ck.get(key + ".norm.bias", {d});
  auto w1 = ck.get(key + ".pwconv1.weight", {h, d});
  auto b1 = ck.get(key + ".pwconv1.bias", {h});
  Layers::fold_input_affine(w1, b1, h, d, ng, nb);
  y = L.layer_norm(y, {}, {}, 1e-6, "norm");
  y = L.pointwise(y, w1, h, b1, Act::none, "pwconv1");
  y = L.gelu(y);
  auto gg = ck.get(key + ".grn.gamma", {1, 1, 1, h});
  auto gb = ck.get(key + ".grn.beta", {1, 1, 1, h});
  auto w2 = ck.get(key + ".pwconv2.weight", {d, h});
  auto b2 = ck.get(key + ".pwconv2.bias", {d});
  Layers::fold_input_affine(w2, b2, d, h, {}, gb);  // GRN's + beta goes into pwconv2's bias
  y = L.grn(y, gg, {}, "grn");
  y = L.pointwise(y, w2, d, b2, Act::none, "pwconv2");
  return L.add(x, y, Act::none, "out");
}

Tensor stage(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int i, Tensor x) {
  for (int j = 0; j < card.convnext.depths[i]; ++j) x = block(L, ck, prefix, i, j, x);
  return x;
}

Tensor pixel_upscaling(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix_in, const Card& card,
                       Tensor x) {
  const std::string prefix = with_dot(prefix_in);
  int c = L.channels(x);
  check(c == card.pixel_decoder.embed_dim, "internal: pixel decoder input width " + std::to_string(c) +
                                               " but the card says " + std::to_string(card.pixel_decoder.embed_dim));
  const auto& st = card.pixel_decoder.upscale_stages;
  for (size_t s = 0; s < st.size(); ++s) {
    const int f = st[s], out = c / f;
    const std::string key = prefix + "pixel_decoder.output_upscaling." + std::to_string(s) + ".upsample_block";
    Layers::Scope sc(L, key);
    if (f != 1) x = L.resize_bilinear(x, L.dim(x, 1) * f, L.dim(x, 2) * f, false, true, "up");
    // (bilinear x1 with half-pixel centres is the identity: no op)
    x = L.reflect_pad1(x, "pad");
    auto w = ck.get(key + ".2.weight", {out, c, 3, 3});
    x = L.conv2d(x, w, out, 3, 3, {}, {}, Act::none, "conv");
    auto g = ck.get(key + ".3.weight", {out});
    auto b = ck.get(key + ".3.bias", {out});
    x = L.layer_norm(x, g, b, 1e-6, "ln");
    x = L.gelu(x);
    c = out;
  }
  return x;
}

}  // namespace convnext_parts

Tensor build_pixel_decoder(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix_in, const Card& card,
                           Tensor features) {
  const std::string prefix = with_dot(prefix_in);
  Tensor x = convnext_parts::pixel_upscaling(L, ck, prefix, card, features);
  const int c = L.channels(x), n = card.pixel_decoder.nbits + 1;
  Layers::Scope sc(L, prefix + "pixel_decoder");
  Tensor m = L.mean_hw(x, false, "mean");  // [1, C]
  auto w = ck.get(prefix + "pixel_decoder.linear.weight", {n, c});
  auto b = ck.get(prefix + "pixel_decoder.linear.bias", {n});
  Tensor y = L.linear(m, w, n, b, Act::none, "linear");
  if (card.pixel_decoder.sigmoid_output) y = L.logistic(y, "sigmoid");
  return y;
}

Tensor build_convnext_detector(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                               Tensor image) {
  check(!card.detector_is_vit(), "internal: not a ConvNeXt card");
  Tensor x = image;
  for (int i = 0; i < 4; ++i) {
    x = convnext_parts::downsample(L, ck, prefix, card, i, x, true);
    x = convnext_parts::stage(L, ck, prefix, card, i, x);
  }
  return build_pixel_decoder(L, ck, prefix, card, x);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> convnext_detector_param_shapes(const Card& card,
                                                                                        const std::string& prefix_in) {
  const std::string p = with_dot(prefix_in) + "convnext.";
  const auto& d = card.convnext.dims;
  Shapes s;
  const int k = card.convnext.stem_kernel;
  s.push_back({p + "downsample_layers.0.0.weight", {d[0], 3, k, k}});
  s.push_back({p + "downsample_layers.0.0.bias", {d[0]}});
  s.push_back({p + "downsample_layers.0.1.weight", {d[0]}});
  s.push_back({p + "downsample_layers.0.1.bias", {d[0]}});
  for (int i = 1; i < 4; ++i) {
    std::string q = p + "downsample_layers." + std::to_string(i);
    s.push_back({q + ".0.weight", {d[i - 1]}});
    s.push_back({q + ".0.bias", {d[i - 1]}});
    s.push_back({q + ".1.weight", {d[i], d[i - 1], 2, 2}});
    s.push_back({q + ".1.bias", {d[i]}});
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < card.convnext.depths[i]; ++j) {
      std::string q = p + "stages." + std::to_string(i) + "." + std::to_string(j);
      const int c = d[i], h = 4 * c;
      s.push_back({q + ".dwconv.weight", {c, 1, 7, 7}});
      s.push_back({q + ".dwconv.bias", {c}});
      s.push_back({q + ".norm.weight", {c}});
      s.push_back({q + ".norm.bias", {c}});
      s.push_back({q + ".pwconv1.weight", {h, c}});
      s.push_back({q + ".pwconv1.bias", {h}});
      s.push_back({q + ".grn.gamma", {1, 1, 1, h}});
      s.push_back({q + ".grn.beta", {1, 1, 1, h}});
      s.push_back({q + ".pwconv2.weight", {c, h}});
      s.push_back({q + ".pwconv2.bias", {c}});
    }
  const std::string pd = with_dot(prefix_in) + "pixel_decoder.";
  int c = card.pixel_decoder.embed_dim;
  for (size_t st = 0; st < card.pixel_decoder.upscale_stages.size(); ++st) {
    int out = c / card.pixel_decoder.upscale_stages[st];
    std::string q = pd + "output_upscaling." + std::to_string(st) + ".upsample_block";
    s.push_back({q + ".2.weight", {out, c, 3, 3}});
    s.push_back({q + ".3.weight", {out}});
    s.push_back({q + ".3.bias", {out}});
    c = out;
  }
  s.push_back({pd + "linear.weight", {card.pixel_decoder.nbits + 1, c}});
  s.push_back({pd + "linear.bias", {card.pixel_decoder.nbits + 1}});
  return s;
}

}  // namespace sealite::vs
