// gelu-rational (opt-in, target xnnpack): GELU (approximate = false, float32)
// rewritten with ops the TensorFlow Lite 2.9 XNNPACK delegate takes (it takes no
// GELU), so the graph around it stays in one partition.
//
//   GELU(x) = x * Phi(x) = max(x, 0) - c(|x|),   c(u) = u * Phi(-u) = 0.5 u erfc(u / sqrt 2)
//
// c is at most 0.17 and is computed directly (not as 0.5 u - 0.5 u erf(...),
// which cancels), so its rounding errors stay far below an ulp of the result.
// With t = min(|x|, 6) (c(6) = 5.9e-9):
//
//   r = t * (a1 + t * (a2 + ... + t * a6))       Phi(-t) ~= 0.5 / (1 + r)^32
//   4 x  r = r * (r + 2)                         (1 + r)^2 - 1: never rounded next to 1
//   q = (r + 1) * (r + 1)                        = (1 + r(t))^32
//   GELU ~= max(x, 0) + (-0.5 * t) / q
//
// 27 ops: ABS, MINIMUM, 6 MUL + 5 ADD for r, 8 for the squarings, ADD + MUL for
// q, MUL, DIV, MAXIMUM, ADD. Every one is correctly rounded in float32 by both
// the built-in kernels and XNNPACK, so both compute the same bits. a1..a6 are
// fitted by scripts/fit_gelu_erf.py (minimax in the absolute error of c,
// coefficients rounded to float32, then checked in float32). Against GELU in
// double precision, over every finite float32 (scripts/check_gelu_rational.cc):
// max |error| 1.7e-7 for |x| < 4 and 2.61e-7 above (at x = 4.25, where the
// result's own rounding, half an ulp, is already 2.4e-7); the
// TensorFlow Lite 2.9 GELU kernel itself is off by up to 1.4e-6 there. So the
// rewrite agrees with the original GELU op to ~1.5e-6 per element.
//
// Not exact for non-finite inputs: NaN may come out as a number (MINIMUM and
// MAXIMUM do not propagate it everywhere), and GELU(-inf) is -5.9e-9 instead of
// the kernel's NaN. GELU with approximate = true (the tanh form) is left alone:
// 2.9 XNNPACK takes no TANH.
#include "passes/pass.h"
#include "passes/rewrite.h"

namespace sealite::passes {
namespace {

constexpr float kClamp = 6.0f;
// a1..a6 from scripts/fit_gelu_erf.py (degree 6, (1 + r)^32, clamp 6).
constexpr float kCoefficients[] = {0.0249343626f,   0.0102542909f,    0.00139713858f,
                                   -8.48508644e-05f, 2.14626816e-05f, -1.94970355e-07f};
constexpr int kSquarings = 4;  // (1 + r)^32 = ((1 + r)^16)^2: 4 steps in r-form, the last as q = s * s

class GeluRational : public OpRewritePass {
 public:
  std::string name() const override { return "gelu-rational"; }
  std::string description() const override {
    return "GELU (exact erf form, float32) -> 27 ABS/MINIMUM/MUL/ADD/DIV/MAXIMUM ops, all taken by the TFLite 2.9 "
           "XNNPACK delegate: max(x,0) - |x| Phi(-|x|) with Phi(-u) = 0.5/(1+r(u))^32, r a clamped polynomial; max "
           "|error| 2.6e-7 (the 2.9 kernel's own: 1.4e-6); finite values only";
  }
  int priority() const override { return 130; }
  bool default_on() const override { return false; }
  std::string target() const override { return "xnnpack"; }

 private:
  bool matches(tfl::BuiltinOperator code) const override { return code == tfl::BuiltinOperator_GELU; }

  bool rewrite(graph::Graph& g, const graph::Uses& u, int c) override {
    const auto& op = g.op(c);
    if (op.inputs.size() != 1 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.outputs[0] < 0) return false;
    const int x = op.inputs[0], y = op.outputs[0];
    const auto& xt = g.tensor(x);
    const std::string yname = g.tensor(y).name;
    if (auto* go = op.builtin_options.AsGeluOptions(); go && go->approximate) {
      note("GELU -> '" + yname + "': approximate (tanh) form; the 2.9 XNNPACK delegate takes no TANH; kept");
      return false;
    }
    if (xt.type != tfl::TensorType_FLOAT32 || is_quantized(xt) || g.tensor(y).type != tfl::TensorType_FLOAT32 ||
        xt.shape.size() > 4) {
      note("GELU -> '" + yname + "': not a float32 tensor of rank <= 4; kept");
      return false;
    }
    Editor ed(g);
    const Shape shape = xt.shape;
    const std::string base = yname + "/gelu_rational";
    auto scalar = [&](const std::string& nm, float v) {
      return g.add_constant_f32(base + "/" + nm, {}, std::span<const float>(&v, 1));
    };
    auto emit = [&](tfl::BuiltinOperator code, std::vector<int32_t> in, const std::string& nm) {
      int out = ed.tensor_like(y, shape, "/gelu_rational/" + nm);
      tfl::BuiltinOptionsUnion o;
      switch (code) {
        case tfl::BuiltinOperator_ADD: o.Set(tfl::AddOptionsT{}); break;
        case tfl::BuiltinOperator_MUL: o.Set(tfl::MulOptionsT{}); break;
        case tfl::BuiltinOperator_DIV: o.Set(tfl::DivOptionsT{}); break;
        case tfl::BuiltinOperator_MINIMUM: case tfl::BuiltinOperator_MAXIMUM:
          o.Set(tfl::MaximumMinimumOptionsT{});
          break;
        case tfl::BuiltinOperator_ABS: o.Set(tfl::AbsOptionsT{}); break;
        default: break;
      }
      ed.add_op(c, code, std::move(in), {out}, std::move(o), 1);
      return out;
    };
    const int two = scalar("two", 2.f), one = scalar("one", 1.f), zero = scalar("zero", 0.f);
    const int abs_x = emit(tfl::BuiltinOperator_ABS, {x}, "abs");
    const int t = emit(tfl::BuiltinOperator_MINIMUM, {abs_x, scalar("clamp", kClamp)}, "t");
    // r = t * (a1 + t * (a2 + ... + t * a6))
    constexpr int n = static_cast<int>(std::size(kCoefficients));
    int r = emit(tfl::BuiltinOperator_MUL, {t, scalar("a" + std::to_string(n), kCoefficients[n - 1])},
                 "r" + std::to_string(n));
    for (int k = n - 2; k >= 0; --k) {
      const std::string kn = std::to_string(k + 1);
      r = emit(tfl::BuiltinOperator_ADD, {r, scalar("a" + kn, kCoefficients[k])}, "r" + kn + "_sum");
      r = emit(tfl::BuiltinOperator_MUL, {r, t}, "r" + kn);
    }
    // (1 + r)^2 - 1 = r * (r + 2), kSquarings times
    for (int k = 0; k < kSquarings; ++k) {
      const std::string kn = std::to_string(k + 1);
      int p = emit(tfl::BuiltinOperator_ADD, {r, two}, "sq" + kn + "_sum");
      r = emit(tfl::BuiltinOperator_MUL, {r, p}, "sq" + kn);
    }
    const int s = emit(tfl::BuiltinOperator_ADD, {r, one}, "s");
    const int q = emit(tfl::BuiltinOperator_MUL, {s, s}, "q");
    const int h = emit(tfl::BuiltinOperator_MUL, {t, scalar("minus_half", -0.5f)}, "minus_half_t");
    const int neg_c = emit(tfl::BuiltinOperator_DIV, {h, q}, "minus_c");
    const int relu = emit(tfl::BuiltinOperator_MAXIMUM, {x, zero}, "relu");
    const int out = emit(tfl::BuiltinOperator_ADD, {relu, neg_c}, "out");
    ed.forward(y, out);
    ed.remove(c);
    ed.commit();
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_gelu_rational() { return std::make_unique<GeluRational>(); }

}  // namespace sealite::passes
