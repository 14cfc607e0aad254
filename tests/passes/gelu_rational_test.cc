// gelu-rational (target xnnpack): exact-erf GELU as element-wise ops the 2.9
// XNNPACK delegate takes, measured in TensorFlow Lite against GELU in double
// precision on a dense sweep of float32 values.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "analysis/report.h"
#include "passes/pass.h"
#include "passes/pass_testing.h"
#include "runtime/interpreter.h"

using namespace sealite;
using namespace sealite::testing;

namespace {

double gelu_exact(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

// Every 64th float32 bit pattern with 1e-7 <= |x| <= 16 (both signs), plus special values.
std::vector<float> sweep() {
  std::vector<float> v = {0.f, -0.f, 1e-30f, -1e-30f, 1e-40f, -1e-40f, 1e30f, -1e30f,
                          std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
                          5.999f, 6.f, 6.001f, -5.999f, -6.f, -6.001f, 100.f, -100.f, 1.f, -1.f};
  uint32_t lo, hi;
  float flo = 1e-7f, fhi = 16.f;
  std::memcpy(&lo, &flo, 4);
  std::memcpy(&hi, &fhi, 4);
  for (uint32_t b = lo; b <= hi; b += 64)
    for (uint32_t sign : {0u, 0x80000000u}) {
      uint32_t bits = b | sign;
      float f;
      std::memcpy(&f, &bits, 4);
      v.push_back(f);
    }
  return v;
}

std::vector<uint8_t> gelu_model(int n, bool approximate) {
  Builder b;
  int x = b.input("x", {n});
  GeluOptionsT go;
  go.approximate = approximate;
  b.output(b.op(BuiltinOperator_GELU, {x}, {n}, "y", Builder::opts(go)));
  return b.bytes();
}

std::vector<float> run(const std::vector<uint8_t>& bytes, const std::vector<float>& in, bool xnnpack) {
  rt::Interpreter it(bytes, rt::Options{1, xnnpack});
  it.set_input(0, in);
  it.invoke();
  return it.output_float(0);
}

}  // namespace

TEST(GeluRational, WithinTwoUlpOfExactGeluOnAFloatSweep) {
  const auto in = sweep();
  const int n = static_cast<int>(in.size());
  const auto original = gelu_model(n, false);
  auto o = optimize(original, {"gelu-rational", "dead-code"}, 3, 1e-6);
  ASSERT_TRUE(o.res.changed);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);  // random inputs in [-1, 1], atol 1e-6
  EXPECT_EQ(o.count("GELU"), 0);
  EXPECT_EQ(o.graph->num_ops(), 27);
  for (int k = 0; k < o.graph->num_ops(); ++k) {
    const auto name = o.graph->op_name(k);
    EXPECT_TRUE(name == "ABS" || name == "MINIMUM" || name == "MUL" || name == "ADD" || name == "DIV" ||
                name == "MAXIMUM")
        << name;
  }
  const auto builtin = run(o.res.bytes, in, false);
  const auto xnn = run(o.res.bytes, in, true);
  const auto kernel = run(original, in, false);  // TensorFlow Lite 2.9's own GELU
  double err_small = 0, err_all = 0, err_kernel = 0, diff_kernel = 0;
  int differ = 0;
  for (int i = 0; i < n; ++i) {
    const double x = in[i], ex = gelu_exact(x);
    ASSERT_TRUE(std::isfinite(builtin[i])) << "x = " << x;
    const double e = std::fabs(builtin[i] - ex);
    err_all = std::max(err_all, e);
    if (std::fabs(x) < 4) err_small = std::max(err_small, e);
    if (std::isfinite(kernel[i])) {
      err_kernel = std::max(err_kernel, std::fabs(kernel[i] - ex));
      diff_kernel = std::max(diff_kernel, static_cast<double>(std::fabs(kernel[i] - builtin[i])));
    }
    differ += std::memcmp(&builtin[i], &xnn[i], 4) != 0;
  }
  std::printf("gelu-rational on %d floats: max |error| %.3g (|x| < 4: %.3g); TFLite 2.9 GELU kernel: %.3g; "
              "max |rewrite - kernel| %.3g\n", n, err_all, err_small, err_kernel, diff_kernel);
  // Half an ulp of the result is already 1.2e-7 below 4 and 2.4e-7 from 4 to 8.
  EXPECT_LE(err_small, 1.8e-7);
  EXPECT_LE(err_all, 2.7e-7);
  EXPECT_GT(err_kernel, err_all);  // the 2.9 kernel is off by ~1.4e-6 near |x| = 5.6
  EXPECT_LE(diff_kernel, 1.7e-6);
  EXPECT_EQ(differ, 0) << "XNNPACK and the built-in kernels compute every op correctly rounded";
  // Large inputs: exact pass-through and (almost) zero.
  EXPECT_EQ(builtin[6], 1e30f);
  EXPECT_LE(std::fabs(builtin[7]), 1e-8f);
  EXPECT_EQ(builtin[0], 0.f);
}

TEST(GeluRational, WholeGraphDelegated) {
  Builder b;
  int x = b.input("x", {1, 8, 8, 16});
  GeluOptionsT go;
  int g = b.op(BuiltinOperator_GELU, {x}, {1, 8, 8, 16}, "gelu", Builder::opts(go));
  b.output(b.unary(BuiltinOperator_RELU, g, "relu"));
  auto before = analysis::delegation_report(b.bytes(), 1);
  EXPECT_EQ(before["builtin_ops"].value("GELU", 0), 1) << before.dump(2);
  auto o = optimize(b.bytes(), {"+gelu-rational"}, 3, 1e-6);
  EXPECT_TRUE(o.verified()) << o.res.report.dump(2);
  auto after = analysis::delegation_report(o.res.bytes, 1);
  EXPECT_EQ(after["partitions"], 1) << after.dump(2);
  EXPECT_EQ(after["builtin_nodes"], 0) << after.dump(2);
  // idempotent
  EXPECT_FALSE(optimize(o.res.bytes, {"+gelu-rational"}, 1).res.changed);
}

TEST(GeluRational, LeavesTanhFormAndNonFloatAlone) {
  auto approx = gelu_model(16, true);
  auto o = optimize(approx, {"gelu-rational"}, 1);
  EXPECT_FALSE(o.res.changed);
  EXPECT_EQ(o.count("GELU"), 1);
  bool noted = false;
  for (auto& n : o.res.pipeline.notes) noted |= n.find("tanh") != std::string::npos;
  EXPECT_TRUE(noted);

  Builder q;
  int x = q.input("x", {1, 4, 4, 2}, TensorType_INT8);
  q.quantize(x, 0.05f, 0);
  int y = q.op(BuiltinOperator_GELU, {x}, {1, 4, 4, 2}, "y", Builder::opts(GeluOptionsT{}), TensorType_INT8, 2);
  q.quantize(y, 0.05f, 0);
  q.output(y);
  auto pass = passes::make_pass("gelu-rational");
  EXPECT_FALSE(pass->run(q.g));
}

TEST(GeluRational, OnlyInTheXnnpackTarget) {
  auto defaults = passes::default_pass_names();
  EXPECT_EQ(std::count(defaults.begin(), defaults.end(), "gelu-rational"), 0);
  auto xnn = passes::default_pass_names("xnnpack");
  EXPECT_EQ(std::count(xnn.begin(), xnn.end(), "gelu-rational"), 1);
  EXPECT_EQ(passes::make_pass("gelu-rational")->target(), "xnnpack");
}
