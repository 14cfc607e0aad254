// rsqrt-to-div (target xnnpack): RSQRT -> DIV(1, SQRT), bit-exact, delegated.
#include <cmath>
#include <cstring>
#include <random>

#include "analysis/report.h"
#include "passes/pass.h"
#include "passes/pass_testing.h"

using namespace sealite;
using namespace sealite::testing;

TEST(RsqrtToDiv, BitExactAndDelegated) {
  // x^2 + eps -> RSQRT -> MUL: the tail of a LayerNorm written with rsqrt. (With a
  // negative argument the NaN of RSQRT comes out of XNNPACK's clamped MUL as -inf,
  // that of SQRT + DIV as +inf: XNNPACK does not propagate NaN; not this pass's business.)
  Builder b;
  int x = b.input("x", {1, 16, 16, 1});
  int sq = b.op(BuiltinOperator_MUL, {x, x}, {1, 16, 16, 1}, "var", Builder::opts(MulOptionsT{}));
  int e = b.op(BuiltinOperator_ADD, {sq, b.f32("eps", {1e-6f}, {1})}, {1, 16, 16, 1}, "var_eps",
               Builder::opts(AddOptionsT{}));
  int r = b.unary(BuiltinOperator_RSQRT, e, "rstd");
  int d = b.input("d", {1, 16, 16, 8});
  b.output(b.op(BuiltinOperator_MUL, {d, r}, {1, 16, 16, 8}, "normalized", Builder::opts(MulOptionsT{})));
  auto before = analysis::delegation_report(b.bytes(), 1);
  EXPECT_EQ(before["builtin_ops"].value("RSQRT", 0), 1) << before.dump(2);

  auto o = optimize(b.bytes(), {"rsqrt-to-div", "dead-code"}, 3, 0.0);
  ASSERT_TRUE(o.res.changed);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  EXPECT_EQ(o.max_diff(), 0.0) << o.res.report.dump(2);
  EXPECT_EQ(o.count("RSQRT"), 0);
  EXPECT_EQ(o.count("SQRT"), 1);
  EXPECT_EQ(o.count("DIV"), 1);
  auto after = analysis::delegation_report(o.res.bytes, 1);
  EXPECT_EQ(after["partitions"], 1) << after.dump(2);
  EXPECT_EQ(after["builtin_nodes"], 0) << after.dump(2);

  // Bit for bit on values over many binades (built-in kernels).
  Builder s;
  const int n = 1 << 16;
  int v = s.input("v", {n});
  s.output(s.unary(BuiltinOperator_RSQRT, v, "r"));
  auto so = optimize(s.bytes(), {"rsqrt-to-div", "dead-code"}, 1, 0.0);
  ASSERT_TRUE(so.res.changed);
  std::vector<float> in(n);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> m(1.f, 2.f);
  for (int i = 0; i < n; ++i) in[i] = std::ldexp(m(rng), i % 120 - 60);
  auto want = run_float(s.bytes(), in, false), got = run_float(so.res.bytes, in, false);
  ASSERT_EQ(want.size(), got.size());
  int differ = 0;
  for (int i = 0; i < n; ++i) differ += std::memcmp(&want[i], &got[i], 4) != 0;
  EXPECT_EQ(differ, 0);
}

TEST(RsqrtToDiv, OnlyInTheXnnpackTarget) {
  auto defaults = passes::default_pass_names();
  EXPECT_EQ(std::count(defaults.begin(), defaults.end(), "rsqrt-to-div"), 0);
  auto xnn = passes::default_pass_names("xnnpack");
  EXPECT_EQ(std::count(xnn.begin(), xnn.end(), "rsqrt-to-div"), 1);
}
