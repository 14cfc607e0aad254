#include "videoseal/layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "core/error.h"

namespace sealite::vs {

namespace T = sealite::tfl;

Act parse_act(const std::string& name) {
  if (name == "relu") return Act::relu;
  if (name == "silu") return Act::silu;
  if (name == "gelu") return Act::gelu;
  if (name == "tanh") return Act::tanh;
  if (name == "sigmoid") return Act::sigmoid;
  if (name.empty() || name == "none") return Act::none;
  throw Error("unsupported activation '" + name + "' (relu, silu, gelu, tanh, sigmoid)");
}

const char* act_name(Act a) {
  switch (a) {
    case Act::none: return "none";
    case Act::relu: return "relu";
    case Act::silu: return "silu";
    case Act::gelu: return "gelu";
    case Act::tanh: return "tanh";
    case Act::sigmoid: return "sigmoid";
  }
  return "?";
}

namespace {

T::ActivationFunctionType fused_code(Act a) {
  if (a == Act::none) return T::ActivationFunctionType_NONE;
  if (a == Act::relu) return T::ActivationFunctionType_RELU;
  throw Error(std::string("internal: activation ") + act_name(a) + " cannot be fused");
}

bool fusable(Act a) { return a == Act::none || a == Act::relu; }

int64_t numel(const std::vector<int32_t>& s) {
  int64_t n = 1;
  for (int d : s) n *= d;
  return n;
}

std::string shape_str(const std::vector<int32_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// NumPy broadcast of two shapes.
std::vector<int32_t> broadcast(std::vector<int32_t> a, std::vector<int32_t> b) {
  if (a.size() < b.size()) std::swap(a, b);
  std::vector<int32_t> out = a;
  size_t off = a.size() - b.size();
  for (size_t i = 0; i < b.size(); ++i) {
    int x = a[off + i], y = b[i];
    if (x == y || y == 1) out[off + i] = x;
    else if (x == 1) out[off + i] = y;
    else throw Error("internal: shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
  }
  return out;
}

}  // namespace

Layers::Layers(graph::Graph& g, Lowering lowering) : g_(g), low_(lowering) {}

std::vector<int32_t> Layers::shape(Tensor t) const { return g_.tensor(t).shape; }

int Layers::dim(Tensor t, int axis) const {
  const auto& s = g_.tensor(t).shape;
  int r = static_cast<int>(s.size());
  if (axis < 0) axis += r;
  check(axis >= 0 && axis < r, "internal: axis out of range");
  return s[axis];
}

void Layers::push_scope(const std::string& s) { scopes_.push_back(s); }
void Layers::pop_scope() {
  if (!scopes_.empty()) scopes_.pop_back();
}
std::string Layers::scoped(const std::string& name) const {
  std::string r;
  for (const auto& s : scopes_) r += s + "/";
  return r + name;
}

Tensor Layers::new_tensor(const std::string& name, std::vector<int32_t> shape) {
  return g_.add_tensor(scoped(name), T::TensorType_FLOAT32, std::move(shape));
}

int Layers::op(T::BuiltinOperator code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
               T::BuiltinOptionsUnion options, int version) {
  return g_.add_op(code, std::move(inputs), std::move(outputs), std::move(options), version);
}

Tensor Layers::input(const std::string& name, std::vector<int32_t> shape) {
  int t = g_.add_tensor(name, T::TensorType_FLOAT32, std::move(shape));
  g_.subgraph().inputs.push_back(t);
  return t;
}

void Layers::output(Tensor t, const std::string& name) {
  g_.tensor(t).name = name;
  g_.subgraph().outputs.push_back(t);
}

Tensor Layers::constant(const std::string& name, std::vector<int32_t> shape, std::span<const float> v) {
  check(numel(shape) == static_cast<int64_t>(v.size()),
        "internal: constant " + name + " has " + std::to_string(v.size()) + " values for shape " + shape_str(shape));
  return g_.add_constant_f32(scoped(name), std::move(shape), v);
}

Tensor Layers::constant_i32(const std::string& name, std::vector<int32_t> shape, std::span<const int32_t> v) {
  return g_.add_constant_i32(scoped(name), std::move(shape), v);
}

namespace {
uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (exp <= 0) {                                                // subnormal / zero
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - exp;
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // round to nearest even (may carry into exp)
  return static_cast<uint16_t>(sign | h);
}
}  // namespace

Tensor Layers::weight(const std::string& name, std::vector<int32_t> shape, std::span<const float> v) {
  if (!low_.fp16_weights) return constant(name, std::move(shape), v);
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = float_to_half(v[i]);
  int t = g_.add_constant(scoped(name + "_f16"), T::TensorType_FLOAT16, shape,
                          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(h.data()), h.size() * 2));
  Tensor y = new_tensor(name, shape);
  op(T::BuiltinOperator_DEQUANTIZE, {t}, {y}, {}, 3);
  return y;
}

Tensor Layers::scalar(float v) {
  float a[1] = {v};
  char buf[64];
  std::snprintf(buf, sizeof buf, "const/%.9g", static_cast<double>(v));
  return g_.add_constant_f32(buf, {1}, a);
}

// ------------------------------------------------------------ weight transforms

std::vector<float> Layers::oihw_to_ohwi(std::span<const float> w, int o, int i, int kh, int kw) {
  check(static_cast<int64_t>(w.size()) == int64_t{o} * i * kh * kw, "internal: conv weight size mismatch");
  std::vector<float> r(w.size());
  for (int a = 0; a < o; ++a)
    for (int b = 0; b < i; ++b)
      for (int y = 0; y < kh; ++y)
        for (int x = 0; x < kw; ++x)
          r[((static_cast<size_t>(a) * kh + y) * kw + x) * i + b] = w[((static_cast<size_t>(a) * i + b) * kh + y) * kw + x];
  return r;
}

void Layers::fold_batchnorm(std::vector<float>& w, std::vector<float>& bias, int out_c, const BatchNormParams& bn) {
  check(bn.weight.size() == static_cast<size_t>(out_c) && bn.bias.size() == static_cast<size_t>(out_c) &&
            bn.running_mean.size() == static_cast<size_t>(out_c) && bn.running_var.size() == static_cast<size_t>(out_c),
        "internal: BatchNorm size mismatch");
  if (bias.empty()) bias.assign(out_c, 0.f);
  size_t per = w.size() / out_c;
  for (int o = 0; o < out_c; ++o) {
    double s = static_cast<double>(bn.weight[o]) / std::sqrt(static_cast<double>(bn.running_var[o]) + bn.eps);
    for (size_t k = 0; k < per; ++k) w[o * per + k] = static_cast<float>(w[o * per + k] * s);
    bias[o] = static_cast<float>((static_cast<double>(bias[o]) - bn.running_mean[o]) * s + bn.bias[o]);
  }
}

void Layers::fold_input_affine(std::vector<float>& w, std::vector<float>& bias, int out_c, int in_c,
                               std::span<const float> scale, std::span<const float> shift) {
  fold_input_affine_conv(w, bias, out_c, in_c, 1, 1, scale, shift);
}

void Layers::fold_input_affine_conv(std::vector<float>& w, std::vector<float>& bias, int out_c, int in_c, int kh,
                                    int kw, std::span<const float> scale, std::span<const float> shift) {
  check(w.size() == static_cast<size_t>(out_c) * in_c * kh * kw, "internal: fold weight size mismatch");
  if (bias.empty()) bias.assign(out_c, 0.f);
  const int k = kh * kw;
  for (int o = 0; o < out_c; ++o) {
    double b = bias[o];
    for (int i = 0; i < in_c; ++i)
      for (int t = 0; t < k; ++t) {
        float& wv = w[(static_cast<size_t>(o) * in_c + i) * k + t];
        if (!shift.empty()) b += static_cast<double>(wv) * shift[i];
        if (!scale.empty()) wv = static_cast<float>(static_cast<double>(wv) * scale[i]);
      }
    bias[o] = static_cast<float>(b);
  }
}

// ------------------------------------------------------------ convolutions

Tensor Layers::conv2d(Tensor x, std::span<const float> w, int out_c, int kh, int kw, std::span<const float> bias,
                      ConvParams p, Act fused, const std::string& name) {
  auto s = shape(x);
  check(s.size() == 4, "internal: conv2d needs NHWC input");
  check(p.dilation == 1, "internal: conv2d: dilation is not supported");
  const int in_c = s[3];
  check(static_cast<int64_t>(w.size()) == int64_t{out_c} * in_c * kh * kw,
        "internal: " + scoped(name) + ": weight size does not match [" + std::to_string(out_c) + "," +
            std::to_string(in_c) + "," + std::to_string(kh) + "," + std::to_string(kw) + "]");
  Act post = Act::none;
  if (!fusable(fused)) std::swap(post, fused);
  T::Padding padding = T::Padding_VALID;
  bool same = p.stride_h == 1 && p.stride_w == 1 && (kh % 2 == 1) && (kw % 2 == 1) && p.pad_h == kh / 2 &&
              p.pad_w == kw / 2;
  if (same && (p.pad_h > 0 || p.pad_w > 0)) {
    padding = T::Padding_SAME;
  } else if (p.pad_h > 0 || p.pad_w > 0) {
    x = pad(x, {{0, 0}, {p.pad_h, p.pad_h}, {p.pad_w, p.pad_w}, {0, 0}}, name + "_pad");
    s = shape(x);
  }
  int oh = padding == T::Padding_SAME ? s[1] : (s[1] - kh) / p.stride_h + 1;
  int ow = padding == T::Padding_SAME ? s[2] : (s[2] - kw) / p.stride_w + 1;
  check(oh > 0 && ow > 0, "internal: " + scoped(name) + ": input " + shape_str(s) + " too small for the kernel");
  auto wt = oihw_to_ohwi(w, out_c, in_c, kh, kw);
  Tensor wc = weight(name + "_w", {out_c, kh, kw, in_c}, wt);
  std::vector<float> b(bias.begin(), bias.end());
  if (b.empty()) b.assign(out_c, 0.f);
  Tensor bc = constant(name + "_b", {out_c}, b);
  Tensor y = new_tensor(name, {s[0], oh, ow, out_c});
  T::Conv2DOptionsT o;
  o.padding = padding;
  o.stride_h = p.stride_h;
  o.stride_w = p.stride_w;
  o.fused_activation_function = fused_code(fused);
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_CONV_2D, {x, wc, bc}, {y}, std::move(u), 1);
  return post == Act::none ? y : activation(y, post, name + "_act");
}

Tensor Layers::depthwise_conv2d(Tensor x, std::span<const float> w, int kh, int kw, std::span<const float> bias,
                                ConvParams p, Act fused, const std::string& name) {
  auto s = shape(x);
  check(s.size() == 4, "internal: depthwise_conv2d needs NHWC input");
  const int c = s[3];
  check(static_cast<int64_t>(w.size()) == int64_t{c} * kh * kw, "internal: " + scoped(name) + ": depthwise weight size");
  Act post = Act::none;
  if (!fusable(fused)) std::swap(post, fused);
  T::Padding padding = T::Padding_VALID;
  const int dl = p.dilation;
  bool same = p.stride_h == 1 && p.stride_w == 1 && (kh % 2 == 1) && (kw % 2 == 1) && p.pad_h == dl * (kh / 2) &&
              p.pad_w == dl * (kw / 2);
  if (same && (p.pad_h > 0 || p.pad_w > 0)) {
    padding = T::Padding_SAME;
  } else if (p.pad_h > 0 || p.pad_w > 0) {
    x = pad(x, {{0, 0}, {p.pad_h, p.pad_h}, {p.pad_w, p.pad_w}, {0, 0}}, name + "_pad");
    s = shape(x);
  }
  int oh = padding == T::Padding_SAME ? s[1] : (s[1] - dl * (kh - 1) - 1) / p.stride_h + 1;
  int ow = padding == T::Padding_SAME ? s[2] : (s[2] - dl * (kw - 1) - 1) / p.stride_w + 1;
  std::vector<float> wt(w.size());
  for (int ch = 0; ch < c; ++ch)
    for (int k = 0; k < kh * kw; ++k) wt[static_cast<size_t>(k) * c + ch] = w[static_cast<size_t>(ch) * kh * kw + k];
  Tensor wc = constant(name + "_w", {1, kh, kw, c}, wt);
  std::vector<float> b(bias.begin(), bias.end());
  if (b.empty()) b.assign(c, 0.f);
  Tensor bc = constant(name + "_b", {c}, b);
  Tensor y = new_tensor(name, {s[0], oh, ow, c});
  T::DepthwiseConv2DOptionsT o;
  o.padding = padding;
  o.stride_h = p.stride_h;
  o.stride_w = p.stride_w;
  o.depth_multiplier = 1;
  o.dilation_h_factor = dl;
  o.dilation_w_factor = dl;
  o.fused_activation_function = fused_code(fused);
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_DEPTHWISE_CONV_2D, {x, wc, bc}, {y}, std::move(u), dl > 1 ? 2 : 1);
  return post == Act::none ? y : activation(y, post, name + "_act");
}

Tensor Layers::pointwise(Tensor x, std::span<const float> w, int out_c, std::span<const float> bias, Act fused,
                         const std::string& name) {
  return conv2d(x, w, out_c, 1, 1, bias, {}, fused, name);
}

Tensor Layers::linear(Tensor x, std::span<const float> w, int out_c, std::span<const float> bias, Act fused,
                      const std::string& name) {
  auto s = shape(x);
  const int in_c = s.back();
  check(static_cast<int64_t>(w.size()) == int64_t{out_c} * in_c, "internal: " + scoped(name) + ": linear weight size");
  Act post = Act::none;
  if (!fusable(fused)) std::swap(post, fused);
  Tensor wc = weight(name + "_w", {out_c, in_c}, w);
  std::vector<float> b(bias.begin(), bias.end());
  if (b.empty()) b.assign(out_c, 0.f);
  Tensor bc = constant(name + "_b", {out_c}, b);
  auto os = s;
  os.back() = out_c;
  bool keep = s.size() > 2;
  Tensor y = new_tensor(name, os);
  T::FullyConnectedOptionsT o;
  o.fused_activation_function = fused_code(fused);
  o.keep_num_dims = keep;
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_FULLY_CONNECTED, {x, wc, bc}, {y}, std::move(u), keep ? 5 : 1);
  return post == Act::none ? y : activation(y, post, name + "_act");
}

Tensor Layers::channel_affine(Tensor x, std::span<const float> scale, std::span<const float> shift, Act fused,
                              const std::string& name) {
  auto s = shape(x);
  const int c = s.back();
  std::vector<float> sc(scale.begin(), scale.end());
  if (sc.empty()) sc.assign(c, 1.f);
  check(static_cast<int>(sc.size()) == c, "internal: channel_affine size");
  if (s.size() == 4) return depthwise_conv2d(x, sc, 1, 1, shift, {}, fused, name);
  Tensor y = mul(x, constant(name + "_scale", {c}, sc), name + "_mul");
  if (!shift.empty()) y = add(y, constant(name + "_shift", {c}, shift), Act::none, name + "_add");
  return fused == Act::none ? y : activation(y, fused, name + "_act");
}

// ------------------------------------------------------------ normalizations

Tensor Layers::channel_sum(Tensor x, float scale, const std::string& name) {
  auto s = shape(x);
  const int c = s.back();
  if (low_.channel_reduce == Lowering::ChannelReduce::reduce_op) {
    int32_t ax[1] = {static_cast<int32_t>(s.size()) - 1};
    Tensor axes = constant_i32(name + "_axes", {1}, ax);
    auto os = s;
    os.back() = 1;
    Tensor y = new_tensor(name, os);
    T::ReducerOptionsT o;
    o.keep_dims = true;
    T::BuiltinOptionsUnion u;
    u.Set(std::move(o));
    // MEAN when the scale is 1/C, SUM (times scale) otherwise.
    if (std::fabs(scale * c - 1.f) < 1e-7f) {
      op(T::BuiltinOperator_MEAN, {x, axes}, {y}, std::move(u), 1);
      return y;
    }
    op(T::BuiltinOperator_SUM, {x, axes}, {y}, std::move(u), 1);
    return scale == 1.f ? y : mul_scalar(y, scale, name + "_scale");
  }
  std::vector<float> w(c, scale);
  if (s.size() == 4) return conv2d(x, w, 1, 1, 1, {}, {}, Act::none, name);
  return linear(x, w, 1, {}, Act::none, name);
}

Tensor Layers::layer_norm(Tensor x, std::span<const float> gamma, std::span<const float> beta, double eps,
                          const std::string& name, Act fused_after_affine) {
  Scope sc(*this, name);
  const int c = channels(x);
  Tensor mean = channel_sum(x, 1.f / static_cast<float>(c), "mean");
  Tensor d = sub(x, mean, "centered");
  Tensor var = channel_sum(square(d, "sq"), 1.f / static_cast<float>(c), "var");
  Tensor den = sqrt(add_scalar(var, static_cast<float>(eps), "var_eps"), "std");
  Tensor y = div(d, den, "normed");
  if (!gamma.empty() || !beta.empty()) return channel_affine(y, gamma, beta, fused_after_affine, "affine");
  return fused_after_affine == Act::none ? y : activation(y, fused_after_affine, "act");
}

Tensor Layers::chan_rms_norm(Tensor x, std::span<const float> gamma, const std::string& name) {
  Scope sc(*this, name);
  const int c = channels(x);
  Tensor ss = channel_sum(square(x, "sq"), 1.f, "sumsq");
  Tensor n = maximum(sqrt(ss, "norm"), scalar(1e-12f), "norm_clamped");
  Tensor y = div(x, n, "normed");
  std::vector<float> g(c);
  const double s = std::sqrt(static_cast<double>(c));
  for (int i = 0; i < c; ++i) g[i] = static_cast<float>(s * (gamma.empty() ? 1.0 : gamma[i]));
  return channel_affine(y, g, {}, Act::none, "scale");
}

Tensor Layers::grn(Tensor x, std::span<const float> gamma, std::span<const float> beta, const std::string& name) {
  Scope sc(*this, name);
  auto s = shape(x);
  check(s.size() == 4, "internal: grn needs NHWC");
  const int c = s[3];
  const float hw = static_cast<float>(s[1]) * static_cast<float>(s[2]);
  Tensor m = mean_hw(square(x, "sq"), true, "msq");                       // [1,1,1,C]
  Tensor gx = sqrt(hw == 1.f ? m : mul_scalar(m, hw, "ssq"), "gx");       // ||x||_2 over H,W
  Tensor gm = channel_sum(gx, 1.f / static_cast<float>(c), "gmean");     // [1,1,1,1]
  Tensor nx = div(gx, add_scalar(gm, 1e-6f, "gmean_eps"), "nx");
  std::vector<float> ones(c, 1.f);
  Tensor scale = channel_affine(nx, gamma, ones, Act::none, "scale");      // gamma*N + 1
  Tensor y = mul(x, scale, "scaled");
  if (!beta.empty()) y = add(y, constant("beta", {c}, beta), Act::none, "beta");
  return y;
}

// ------------------------------------------------------------ activations

Tensor Layers::activation(Tensor x, Act a, const std::string& name) {
  switch (a) {
    case Act::none: return x;
    case Act::relu: return relu(x);
    case Act::silu: return silu(x);
    case Act::gelu: return gelu(x);
    case Act::tanh: return tanh(x);
    case Act::sigmoid: return sigmoid(x);
  }
  return x;
}

Tensor Layers::relu(Tensor x) {
  Tensor y = new_tensor("relu", shape(x));
  op(T::BuiltinOperator_RELU, {x}, {y});
  return y;
}

Tensor Layers::logistic(Tensor x, const std::string& name) {
  Tensor y = new_tensor(name, shape(x));
  op(T::BuiltinOperator_LOGISTIC, {x}, {y});
  return y;
}

Tensor Layers::sigmoid(Tensor x) { return logistic(x, "sigmoid"); }

Tensor Layers::silu(Tensor x) { return mul(x, logistic(x, "silu_sig"), "silu"); }

Tensor Layers::tanh(Tensor x) {
  if (low_.tanh == Lowering::Tanh::builtin) {
    Tensor y = new_tensor("tanh", shape(x));
    op(T::BuiltinOperator_TANH, {x}, {y});
    return y;
  }
  // tanh(x) = 2*sigmoid(2x) - 1
  Tensor s = logistic(mul_scalar(x, 2.f, "tanh_2x"), "tanh_sig");
  return add_scalar(mul_scalar(s, 2.f, "tanh_2s"), -1.f, "tanh");
}

// GELU(x) = x * Phi(x). With a = |x|, z = a/sqrt(2) and e = erfc(z)/2:
//   Phi(x) = 1 - e (x >= 0), e (x < 0)   =>   GELU(x) = relu(x) - a*e.
// erfc(z) for z >= 0 is the Chebyshev-fitted form of Numerical Recipes
// (erfcc, fractional error < 1.2e-7 everywhere):
//   t = 1/(1 + z/2),  erfc(z) = t * exp(-z^2 + P(t)),  P a degree-9 polynomial,
// and exp(u) for u <= 0 is ELU(u) + 1 (ELU, unlike EXP, is an XNNPACK 2.9 op;
// the absolute error of the +1 is ~6e-8, times t*a/2 in GELU).
Tensor Layers::gelu(Tensor x) {
  if (low_.gelu == Lowering::Gelu::builtin) {
    Tensor y = new_tensor("gelu", shape(x));
    T::GeluOptionsT o;
    o.approximate = false;
    T::BuiltinOptionsUnion u;
    u.Set(std::move(o));
    op(T::BuiltinOperator_GELU, {x}, {y}, std::move(u), 1);
    return y;
  }
  Scope sc(*this, "gelu");
  Tensor a = new_tensor("abs", shape(x));
  op(T::BuiltinOperator_ABS, {x}, {a});
  // t = 1 / (1 + a/(2*sqrt2))
  const double inv2s2 = 0.5 / std::sqrt(2.0);
  Tensor den = add_scalar(mul_scalar(a, static_cast<float>(inv2s2), "hz"), 1.f, "den");
  Tensor t = div(scalar(1.f), den, "t");
  // P(t) = -z^2 - 1.26551223 + t*(1.00002368 + t*(0.37409196 + t*(0.09678418 + t*(-0.18628806
  //        + t*(0.27886807 + t*(-1.13520398 + t*(1.48851587 + t*(-0.82215223 + t*0.17087277))))))))
  static const double c[10] = {-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                               0.27886807,  -1.13520398, 1.48851587, -0.82215223, 0.17087277};
  Tensor p = mul_scalar(t, static_cast<float>(c[9]), "p9");
  for (int k = 8; k >= 1; --k) p = mul(add_scalar(p, static_cast<float>(c[k]), "pa" + std::to_string(k)), t, "pm" + std::to_string(k));
  // u = c0 + p - z^2 with z^2 = a^2/2
  Tensor z2 = mul_scalar(square(a, "a2"), 0.5f, "z2");
  Tensor u = sub(add_scalar(p, static_cast<float>(c[0]), "pa0"), z2, "u");
  Tensor ex = new_tensor("elu", shape(x));
  op(T::BuiltinOperator_ELU, {u}, {ex});
  Tensor expu = add_scalar(ex, 1.f, "exp");
  // a*e = a * t/2 * exp(u)
  Tensor ae = mul(mul(mul_scalar(t, 0.5f, "ht"), a, "hta"), expu, "ae");
  return sub(relu(x), ae, "out");
}

// ------------------------------------------------------------ resampling, padding

Tensor Layers::resize_bilinear(Tensor x, int out_h, int out_w, bool align_corners, bool half_pixel,
                               const std::string& name) {
  auto s = shape(x);
  int32_t sz[2] = {out_h, out_w};
  Tensor size = constant_i32(name + "_size", {2}, sz);
  Tensor y = new_tensor(name, {s[0], out_h, out_w, s[3]});
  T::ResizeBilinearOptionsT o;
  o.align_corners = align_corners;
  o.half_pixel_centers = half_pixel;
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_RESIZE_BILINEAR, {x, size}, {y}, std::move(u), half_pixel ? 3 : 1);
  return y;
}

Tensor Layers::upsample_bilinear_x2(Tensor x, const std::string& name) {
  auto s = shape(x);
  return resize_bilinear(x, s[1] * 2, s[2] * 2, false, true, name);
}

Tensor Layers::pad(Tensor x, std::vector<std::pair<int, int>> pads, const std::string& name) {
  auto s = shape(x);
  check(pads.size() == s.size(), "internal: pad rank");
  std::vector<int32_t> pv;
  auto os = s;
  for (size_t i = 0; i < s.size(); ++i) {
    pv.push_back(pads[i].first);
    pv.push_back(pads[i].second);
    os[i] += pads[i].first + pads[i].second;
  }
  Tensor pt = constant_i32(name + "_pads", {static_cast<int32_t>(s.size()), 2}, pv);
  Tensor y = new_tensor(name, os);
  T::BuiltinOptionsUnion u;
  u.Set(T::PadOptionsT{});
  op(T::BuiltinOperator_PAD, {x, pt}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::reflect_pad1(Tensor x, const std::string& name) {
  auto s = shape(x);
  check(s.size() == 4 && s[1] >= 2 && s[2] >= 2, "internal: reflect_pad1 needs NHWC with H, W >= 2");
  switch (low_.reflect_pad) {
    case Lowering::ReflectPad::mirror_pad: {
      int32_t pv[8] = {0, 0, 1, 1, 1, 1, 0, 0};
      Tensor pt = constant_i32(name + "_pads", {4, 2}, pv);
      Tensor y = new_tensor(name, {s[0], s[1] + 2, s[2] + 2, s[3]});
      T::MirrorPadOptionsT o;
      o.mode = T::MirrorPadMode_REFLECT;
      T::BuiltinOptionsUnion u;
      u.Set(std::move(o));
      op(T::BuiltinOperator_MIRROR_PAD, {x, pt}, {y}, std::move(u), 1);
      return y;
    }
    case Lowering::ReflectPad::slice_concat: {
      Scope sc(*this, name);
      Tensor top = slice(x, {0, 1, 0, 0}, {s[0], 1, s[2], s[3]}, "top");
      Tensor bot = slice(x, {0, s[1] - 2, 0, 0}, {s[0], 1, s[2], s[3]}, "bottom");
      Tensor v = concat({top, x, bot}, 1, "rows");
      Tensor left = slice(v, {0, 0, 1, 0}, {s[0], s[1] + 2, 1, s[3]}, "left");
      Tensor right = slice(v, {0, 0, s[2] - 2, 0}, {s[0], s[1] + 2, 1, s[3]}, "right");
      return concat({left, v, right}, 2, "cols");
    }
    case Lowering::ReflectPad::masked_dwconv: return reflect_pad1_masked(x, name);
  }
  return x;
}

// Exact ReflectionPad2d(1) from XNNPACK-2.9 ops only. z = zero PAD by 1; along
// each axis the border element of the reflected tensor is the element two
// steps inwards, so  r = z + M (.) D(z)  where D is a depthwise conv whose only
// taps are +-2 along that axis (SAME zero padding, so one of the two always
// reads zeros at the border) and M a constant 0/1 mask of the two border
// lines. Rows first, then columns (which also fills the corners). D is a 3x3
// kernel with dilation 2 (taps at -2, 0, +2) holding only the two axis taps:
// XNNPACK 2.9 runs square depthwise kernels fast (258x258x32: 1.1 ms) but has
// no fast path for 5x1 / 1x5 (17-29 ms).
Tensor Layers::reflect_pad1_masked(Tensor x, const std::string& name) {
  Scope sc(*this, name);
  auto s = shape(x);
  const int c = s[3], H = s[1] + 2, W = s[2] + 2;
  Tensor z = pad(x, {{0, 0}, {1, 1}, {1, 1}, {0, 0}}, "zero");
  std::vector<float> rows(static_cast<size_t>(9) * c, 0.f), cols(static_cast<size_t>(9) * c, 0.f);  // [C,1,3,3]
  for (int ch = 0; ch < c; ++ch) {
    rows[ch * 9 + 1] = rows[ch * 9 + 7] = 1.f;  // (-2,0), (+2,0)
    cols[ch * 9 + 3] = cols[ch * 9 + 5] = 1.f;  // (0,-2), (0,+2)
  }
  ConvParams dil{1, 1, 2, 2, 2};
  Tensor dr = depthwise_conv2d(z, rows, 3, 3, {}, dil, Act::none, "shift_rows");
  std::vector<float> mr(H, 0.f);
  mr[0] = mr[H - 1] = 1.f;
  Tensor r1 = add(z, mul(dr, constant("mask_rows", {1, H, 1, 1}, mr), "masked_rows"), Act::none, "rows");
  Tensor dc = depthwise_conv2d(r1, cols, 3, 3, {}, dil, Act::none, "shift_cols");
  std::vector<float> mc(W, 0.f);
  mc[0] = mc[W - 1] = 1.f;
  return add(r1, mul(dc, constant("mask_cols", {1, 1, W, 1}, mc), "masked_cols"), Act::none, "out");
}

Tensor Layers::mean_hw(Tensor x, bool keep_dims, const std::string& name) {
  auto s = shape(x);
  check(s.size() == 4, "internal: mean_hw needs NHWC");
  int32_t ax[2] = {1, 2};
  Tensor axes = constant_i32(name + "_axes", {2}, ax);
  std::vector<int32_t> os = keep_dims ? std::vector<int32_t>{s[0], 1, 1, s[3]} : std::vector<int32_t>{s[0], s[3]};
  Tensor y = new_tensor(name, os);
  T::ReducerOptionsT o;
  o.keep_dims = keep_dims;
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_MEAN, {x, axes}, {y}, std::move(u), 1);
  return y;
}

// ------------------------------------------------------------ element-wise

Tensor Layers::add(Tensor a, Tensor b, Act fused, const std::string& name) {
  Act post = Act::none;
  if (!fusable(fused)) std::swap(post, fused);
  Tensor y = new_tensor(name, broadcast(shape(a), shape(b)));
  T::AddOptionsT o;
  o.fused_activation_function = fused_code(fused);
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_ADD, {a, b}, {y}, std::move(u), 1);
  return post == Act::none ? y : activation(y, post, name + "_act");
}

Tensor Layers::sub(Tensor a, Tensor b, const std::string& name) {
  Tensor y = new_tensor(name, broadcast(shape(a), shape(b)));
  T::BuiltinOptionsUnion u;
  u.Set(T::SubOptionsT{});
  op(T::BuiltinOperator_SUB, {a, b}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::mul(Tensor a, Tensor b, const std::string& name) {
  Tensor y = new_tensor(name, broadcast(shape(a), shape(b)));
  T::BuiltinOptionsUnion u;
  u.Set(T::MulOptionsT{});
  op(T::BuiltinOperator_MUL, {a, b}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::div(Tensor a, Tensor b, const std::string& name) {
  Tensor y = new_tensor(name, broadcast(shape(a), shape(b)));
  T::BuiltinOptionsUnion u;
  u.Set(T::DivOptionsT{});
  op(T::BuiltinOperator_DIV, {a, b}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::maximum(Tensor a, Tensor b, const std::string& name) {
  Tensor y = new_tensor(name, broadcast(shape(a), shape(b)));
  T::BuiltinOptionsUnion u;
  u.Set(T::MaximumMinimumOptionsT{});
  op(T::BuiltinOperator_MAXIMUM, {a, b}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::minimum(Tensor a, Tensor b, const std::string& name) {
  Tensor y = new_tensor(name, broadcast(shape(a), shape(b)));
  T::BuiltinOptionsUnion u;
  u.Set(T::MaximumMinimumOptionsT{});
  op(T::BuiltinOperator_MINIMUM, {a, b}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::add_scalar(Tensor x, float v, const std::string& name) { return add(x, scalar(v), Act::none, name); }
Tensor Layers::mul_scalar(Tensor x, float v, const std::string& name) { return mul(x, scalar(v), name); }

Tensor Layers::sqrt(Tensor x, const std::string& name) {
  Tensor y = new_tensor(name, shape(x));
  op(T::BuiltinOperator_SQRT, {x}, {y});
  return y;
}

Tensor Layers::square(Tensor x, const std::string& name) { return mul(x, x, name); }

// ------------------------------------------------------------ shape ops

Tensor Layers::reshape(Tensor x, std::vector<int32_t> ns, const std::string& name) {
  check(numel(ns) == numel(shape(x)), "internal: reshape " + shape_str(shape(x)) + " -> " + shape_str(ns));
  Tensor st = constant_i32(name + "_shape", {static_cast<int32_t>(ns.size())}, ns);
  Tensor y = new_tensor(name, ns);
  T::ReshapeOptionsT o;
  o.new_shape = ns;
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_RESHAPE, {x, st}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::transpose(Tensor x, std::vector<int32_t> perm, const std::string& name) {
  auto s = shape(x);
  check(perm.size() == s.size(), "internal: transpose rank");
  std::vector<int32_t> os(s.size());
  for (size_t i = 0; i < perm.size(); ++i) os[i] = s[perm[i]];
  Tensor pt = constant_i32(name + "_perm", {static_cast<int32_t>(perm.size())}, perm);
  Tensor y = new_tensor(name, os);
  T::BuiltinOptionsUnion u;
  u.Set(T::TransposeOptionsT{});
  op(T::BuiltinOperator_TRANSPOSE, {x, pt}, {y}, std::move(u), perm.size() > 4 ? 5 : 1);
  return y;
}

Tensor Layers::concat(std::vector<Tensor> xs, int axis, const std::string& name) {
  check(!xs.empty(), "internal: concat of nothing");
  auto os = shape(xs[0]);
  if (axis < 0) axis += static_cast<int>(os.size());
  for (size_t i = 1; i < xs.size(); ++i) os[axis] += dim(xs[i], axis);
  Tensor y = new_tensor(name, os);
  T::ConcatenationOptionsT o;
  o.axis = axis;
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_CONCATENATION, std::vector<int32_t>(xs.begin(), xs.end()), {y}, std::move(u), 1);
  return y;
}

Tensor Layers::slice(Tensor x, std::vector<int32_t> begin, std::vector<int32_t> size, const std::string& name) {
  Tensor bt = constant_i32(name + "_begin", {static_cast<int32_t>(begin.size())}, begin);
  Tensor st = constant_i32(name + "_size", {static_cast<int32_t>(size.size())}, size);
  Tensor y = new_tensor(name, size);
  T::BuiltinOptionsUnion u;
  u.Set(T::SliceOptionsT{});
  op(T::BuiltinOperator_SLICE, {x, bt, st}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::concat_channels_padadd(std::vector<Tensor> xs, const std::string& name) {
  check(!xs.empty(), "internal: concat of nothing");
  if (xs.size() == 1) return xs[0];
  Scope sc(*this, name);
  int total = 0;
  for (Tensor t : xs) total += channels(t);
  int off = 0;
  Tensor acc = -1;
  for (size_t i = 0; i < xs.size(); ++i) {
    int c = channels(xs[i]);
    auto s = shape(xs[i]);
    std::vector<std::pair<int, int>> pads(s.size(), {0, 0});
    pads.back() = {off, total - off - c};
    Tensor p = pad(xs[i], pads, "part" + std::to_string(i));
    acc = acc < 0 ? p : add(acc, p, Act::none, "sum" + std::to_string(i));
    off += c;
  }
  return acc;
}

Tensor Layers::softmax(Tensor x, float beta, const std::string& name) {
  Tensor y = new_tensor(name, shape(x));
  T::SoftmaxOptionsT o;
  o.beta = beta;
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_SOFTMAX, {x}, {y}, std::move(u), 1);
  return y;
}

Tensor Layers::batch_matmul(Tensor a, Tensor b, bool adj_a, bool adj_b, const std::string& name) {
  auto sa = shape(a), sb = shape(b);
  check(sa.size() >= 2 && sa.size() == sb.size(), "internal: batch_matmul ranks");
  size_t r = sa.size();
  int m = adj_a ? sa[r - 1] : sa[r - 2];
  int n = adj_b ? sb[r - 2] : sb[r - 1];
  auto os = broadcast(std::vector<int32_t>(sa.begin(), sa.end() - 2), std::vector<int32_t>(sb.begin(), sb.end() - 2));
  os.push_back(m);
  os.push_back(n);
  Tensor y = new_tensor(name, os);
  T::BatchMatMulOptionsT o;
  o.adj_x = adj_a;
  o.adj_y = adj_b;
  T::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  op(T::BuiltinOperator_BATCH_MATMUL, {a, b}, {y}, std::move(u), 1);
  return y;
}

// ------------------------------------------------------------ Rng

namespace {
uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

float Rng::uniform(float lo, float hi) { return static_cast<float>(lo + (hi - lo) * uniform()); }

float Rng::normal() {
  double u1 = uniform(), u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

}  // namespace sealite::vs
