#include "videoseal/convert_test_util.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "graph/graph.h"
#include "runtime/interpreter.h"
#include "testing/test_paths.h"
#include "tflite/model_io.h"

namespace sealite::testing {

float Arr::max_abs() const {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

std::filesystem::path vs_dir(const std::string& family) { return data_dir() / "videoseal" / family; }

Arr load(const std::filesystem::path& p) {
  NpyArray a = npy_load(p);
  return Arr{a.shape, a.as_float()};
}

Arr nchw_to_nhwc(const Arr& a) {
  if (a.shape.size() != 4) return a;
  const int64_t N = a.shape[0], C = a.shape[1], H = a.shape[2], W = a.shape[3];
  Arr r{{N, H, W, C}, std::vector<float>(a.v.size())};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) r.v[((n * H + h) * W + w) * C + c] = a.v[((n * C + c) * H + h) * W + w];
  return r;
}

Arr load_nhwc(const std::filesystem::path& p) { return nchw_to_nhwc(load(p)); }

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

double manifest_f64_err(const std::string& family, const std::string& output) {
  auto j = nlohmann::json::parse(read_text_file(vs_dir(family) / "manifest.json"));
  return j["numerics"]["outputs"][output]["max_abs_err_vs_float64"].get<double>();
}

std::vector<int32_t> i32(const std::vector<int64_t>& s) { return std::vector<int32_t>(s.begin(), s.end()); }

std::vector<uint8_t> make_model(const std::vector<std::vector<int32_t>>& input_shapes, const Body& body,
                                const vs::Lowering& low) {
  graph::Graph g;
  vs::Layers L(g, low);
  std::vector<vs::Tensor> ins;
  for (size_t i = 0; i < input_shapes.size(); ++i) ins.push_back(L.input("in" + std::to_string(i), input_shapes[i]));
  vs::Tensor y = body(L, ins);
  L.output(y, "out");
  graph::compact(g.model());
  return tfl::write_model(g.model());
}

std::vector<float> run_model(const std::vector<uint8_t>& model, const std::vector<std::vector<float>>& inputs,
                             bool xnnpack, int threads) {
  rt::Options o;
  o.threads = threads;
  o.xnnpack = xnnpack;
  rt::Interpreter it(model, o);
  for (size_t i = 0; i < inputs.size(); ++i) it.set_input(static_cast<int>(i), inputs[i]);
  it.invoke();
  return it.output_float(0);
}

}  // namespace sealite::testing
