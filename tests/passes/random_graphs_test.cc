// Property test: random small graphs of TRANSPOSE, element-wise ops, pads,
// reshapes, constant-index gathers, concatenations and reductions. Every one
// must come out verified in TensorFlow Lite (outputs equal), loadable, and a
// second run must change nothing.
#include <cstdlib>
#include <random>

#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

namespace {

struct Gen {
  std::mt19937 rng;
  Builder b;
  std::vector<int> live;  // tensors ops may read
  int n = 0;

  bool quantized = false;  // int8 between a QUANTIZE and a DEQUANTIZE

  explicit Gen(unsigned seed) : rng(seed) {}
  TensorType type() const { return quantized ? TensorType_INT8 : TensorType_FLOAT32; }
  // Same quantization as x (data movement ops keep it).
  int like(int y, int x) {
    if (b.g.tensor(x).quantization)
      b.g.tensor(y).quantization = std::make_unique<QuantizationParametersT>(*b.g.tensor(x).quantization);
    return y;
  }
  int qop(BuiltinOperator code, std::vector<int32_t> in, std::vector<int32_t> out, BuiltinOptionsUnion o, int x,
          int v8 = 2) {
    return like(b.op(code, std::move(in), std::move(out), name(), std::move(o), type(), quantized ? v8 : 1), x);
  }
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  std::string name() {
    std::string s = std::to_string(n++);
    s.insert(s.begin(), 't');
    return s;
  }
  std::vector<int32_t> shape(int t) { return b.g.tensor(t).shape; }

  int transpose(int x) {
    std::vector<int32_t> p(shape(x).size());
    for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int32_t>(i);
    std::shuffle(p.begin(), p.end(), rng);
    return b.transpose(x, p, name(), type());
  }
  int unary(int x) {
    if (quantized) return qop(BuiltinOperator_RELU, {x}, shape(x), {}, x);
    static const BuiltinOperator ops[] = {BuiltinOperator_RELU, BuiltinOperator_TANH, BuiltinOperator_ABS,
                                          BuiltinOperator_NEG};
    return b.unary(ops[pick(0, 3)], x, name());
  }
  int binary(int x) {
    if (quantized) return unary(x);
    int other = -1;
    for (int t : live)
      if (t != x && shape(t) == shape(x) && pick(0, 1)) other = t;
    if (other < 0) {  // a constant broadcast along one axis
      auto s = shape(x);
      int axis = pick(0, static_cast<int>(s.size()) - 1);
      std::vector<int32_t> cs(s.size(), 1);
      cs[axis] = s[axis];
      std::vector<float> v(s[axis]);
      for (auto& f : v) f = std::uniform_real_distribution<float>(-1, 1)(rng);
      other = b.f32(name(), v, cs);
    }
    return pick(0, 1) ? b.op(BuiltinOperator_ADD, {x, other}, shape(x), name(), Builder::opts(AddOptionsT{}))
                      : b.op(BuiltinOperator_MUL, {x, other}, shape(x), name(), Builder::opts(MulOptionsT{}));
  }
  int pad(int x, bool mirror) {
    auto s = shape(x);
    std::vector<int32_t> p(2 * s.size(), 0), out = s;
    for (size_t d = 0; d < s.size(); ++d)
      if (pick(0, 2) == 0 && (!mirror || s[d] >= 2)) {
        p[2 * d] = pick(0, 1);
        p[2 * d + 1] = pick(0, 1);
        out[d] += p[2 * d] + p[2 * d + 1];
      }
    int pt = b.i32(name(), p, {static_cast<int32_t>(s.size()), 2});
    if (!mirror) return qop(BuiltinOperator_PAD, {x, pt}, out, Builder::opts(PadOptionsT{}), x);
    MirrorPadOptionsT mo;
    mo.mode = pick(0, 1) ? MirrorPadMode_REFLECT : MirrorPadMode_SYMMETRIC;
    return qop(BuiltinOperator_MIRROR_PAD, {x, pt}, out, Builder::opts(mo), x);
  }
  int gather(int x) {
    auto s = shape(x);
    int axis = pick(0, static_cast<int>(s.size()) - 1);
    const int m = s[axis];
    std::vector<int32_t> idx;
    switch (pick(0, 4)) {
      case 0: for (int i = 0; i < m; ++i) idx.push_back(i); break;                    // identity
      case 1: for (int i = m - 1; i >= 0; --i) idx.push_back(i); break;               // reverse
      case 2: for (int i = 0; i < m; ++i) { idx.push_back(i); idx.push_back(i); } break;  // repeat
      case 3: idx.push_back(m > 1 ? 1 : 0); for (int i = 0; i < m; ++i) idx.push_back(i); break;  // reflect/edge
      default: for (int i = 0; i < m; ++i) idx.push_back((i * 2 + 1) % m); break;     // general (mostly)
    }
    int it = b.i32(name(), idx);
    auto out = s;
    out[axis] = static_cast<int32_t>(idx.size());
    GatherOptionsT go;
    go.axis = axis;
    return qop(BuiltinOperator_GATHER, {x, it}, out, Builder::opts(go), x);
  }
  // GATHER_ND over the first two axes: maybe swapped, each reflect-padded,
  // reversed or left alone (the seed's pattern and its relatives).
  int gather_nd(int x) {
    auto s = shape(x);
    if (s.size() < 3) return gather(x);
    auto axis_map = [&](int n) {
      std::vector<int32_t> g;
      switch (pick(0, 2)) {
        case 0: for (int i = 0; i < n; ++i) g.push_back(i); break;
        case 1: for (int i = n - 1; i >= 0; --i) g.push_back(i); break;
        default:
          if (n < 2) { g.push_back(0); break; }
          g.push_back(1);
          for (int i = 0; i < n; ++i) g.push_back(i);
          g.push_back(n - 2);
      }
      return g;
    };
    const bool swap = pick(0, 1);
    auto g0 = axis_map(s[0]), g1 = axis_map(s[1]);
    // output axis 0 reads param axis (swap ? 1 : 0)
    const auto& ga = swap ? g1 : g0;
    const auto& gb = swap ? g0 : g1;
    std::vector<int32_t> idx;
    for (int32_t i : ga)
      for (int32_t j : gb) {
        if (swap) { idx.push_back(j); idx.push_back(i); }
        else { idx.push_back(i); idx.push_back(j); }
      }
    int it = b.g.add_constant_i32(name(), {static_cast<int32_t>(ga.size()), static_cast<int32_t>(gb.size()), 2}, idx);
    std::vector<int32_t> out = {static_cast<int32_t>(ga.size()), static_cast<int32_t>(gb.size())};
    out.insert(out.end(), s.begin() + 2, s.end());
    return qop(BuiltinOperator_GATHER_ND, {x, it}, out, Builder::opts(GatherNdOptionsT{}), x, 1);
  }
  int expand_or_squeeze(int x) {
    auto s = shape(x);
    int one = -1;
    for (size_t d = 0; d < s.size(); ++d)
      if (s[d] == 1) one = static_cast<int>(d);
    if (one >= 0 && s.size() > 1 && pick(0, 1)) {
      auto out = s;
      out.erase(out.begin() + one);
      SqueezeOptionsT so;
      so.squeeze_dims = {one};
      return qop(BuiltinOperator_SQUEEZE, {x}, out, Builder::opts(so), x, 1);
    }
    if (s.size() >= 4) return x;
    int at = pick(0, static_cast<int>(s.size()));
    auto out = s;
    out.insert(out.begin() + at, 1);
    int ax = b.g.add_constant_i32(name(), {}, std::vector<int32_t>{at});
    return qop(BuiltinOperator_EXPAND_DIMS, {x, ax}, out, Builder::opts(ExpandDimsOptionsT{}), x, 1);
  }
  int reshape(int x) {
    auto s = shape(x);
    std::vector<int32_t> out;
    if (s.size() < 4 && pick(0, 1)) {  // insert a unit axis (rank <= 4: TFLite 2.9 aborts on some 5-D broadcasts)
      out = s;
      out.insert(out.begin() + pick(0, static_cast<int>(s.size())), 1);
    } else {  // drop unit axes, or merge the first two
      for (int d : s)
        if (d != 1) out.push_back(d);
      if (out.size() == s.size() && s.size() > 2) {
        out = {s[0] * s[1]};
        out.insert(out.end(), s.begin() + 2, s.end());
      }
      if (out.empty()) out = {1};
    }
    int st = b.i32(name(), out);
    ReshapeOptionsT ro;
    ro.new_shape = out;
    return qop(BuiltinOperator_RESHAPE, {x, st}, out, Builder::opts(ro), x, 1);
  }
  int concat(int x) {
    auto s = shape(x);
    int axis = pick(0, static_cast<int>(s.size()) - 1);
    auto out = s;
    out[axis] *= 2;
    ConcatenationOptionsT co;
    co.axis = axis;
    return qop(BuiltinOperator_CONCATENATION, {x, x}, out, Builder::opts(co), x);
  }
  int mean(int x) {
    if (quantized) return transpose(x);
    auto s = shape(x);
    int axis = pick(0, static_cast<int>(s.size()) - 1);
    const bool keep = s.size() < 2 || pick(0, 2) > 0;
    auto out = s;
    if (keep) out[axis] = 1;
    else out.erase(out.begin() + axis);
    int at = b.i32(name(), {axis});
    return b.op(BuiltinOperator_MEAN, {x, at}, out, name(), Builder::reducer(keep));
  }

  void build() {
    int x = b.input("x", {1, 3, 4, 2});
    quantized = pick(0, 3) == 0;
    if (quantized) {
      int q = b.op(BuiltinOperator_QUANTIZE, {x}, {1, 3, 4, 2}, name(), {}, TensorType_INT8);
      b.quantize(q, 0.01f, 3);
      x = q;
    }
    live = {x};
    const int steps = pick(5, 12);
    for (int i = 0; i < steps; ++i) {
      int src = live[pick(0, static_cast<int>(live.size()) - 1)];
      if (b.g.num_elements(src) > 4096) src = live.front();
      int y;
      switch (pick(0, 11)) {
        case 10: y = gather_nd(src); break;
        case 11: y = expand_or_squeeze(src); break;
        case 0: case 1: y = transpose(src); break;
        case 2: y = unary(src); break;
        case 3: y = binary(src); break;
        case 4: y = pad(src, false); break;
        case 5: y = pad(src, true); break;
        case 6: y = gather(src); break;
        case 7: y = reshape(src); break;
        case 8: y = concat(src); break;
        default: y = mean(src); break;
      }
      live.push_back(y);
    }
    // the last tensor and sometimes another one are outputs (dequantized)
    auto out = [&](int t) {
      if (!quantized) return t;
      return b.op(BuiltinOperator_DEQUANTIZE, {t}, shape(t), name(), {}, TensorType_FLOAT32, 2);
    };
    b.output(out(live.back()));
    if (live.size() > 3 && pick(0, 1)) {
      int other = live[pick(1, static_cast<int>(live.size()) - 2)];
      if (other != live.back()) b.output(out(other));
    }
  }
};

}  // namespace

TEST(RandomGraphs, OptimizedVerifiedAndIdempotent) {
  // SEALITE_RANDOM_GRAPHS=N tries more graphs (default 100, about a second).
  const char* env = std::getenv("SEALITE_RANDOM_GRAPHS");
  const unsigned count = env && std::atoi(env) > 0 ? static_cast<unsigned>(std::atoi(env)) : 100;
  unsigned changed = 0;
  for (unsigned seed = 1; seed <= count; ++seed) {
    Gen gen(seed);
    gen.build();
    SCOPED_TRACE("seed " + std::to_string(seed));
    if (std::getenv("SEALITE_TEST_DUMP")) std::fprintf(stderr, "seed %u\n", seed);
    auto o = optimize(gen.b.bytes(), {}, 2);
    ASSERT_TRUE(o.res.may_write) << o.res.refusal << "\n" << o.res.report.dump(2);
    if (!o.res.changed) continue;
    ++changed;
    EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
    EXPECT_EQ(o.count("MIRROR_PAD"), 0);  // always lowered (rank <= 4)
    auto again = optimize(o.res.bytes, {}, 1);
    EXPECT_FALSE(again.res.changed) << again.res.report["passes_applied"].dump();
  }
  EXPECT_GT(changed, count / 2);
}
