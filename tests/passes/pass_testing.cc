#include "passes/pass_testing.h"

#include "runtime/interpreter.h"

namespace sealite::testing {

std::vector<float> run_float(const std::vector<uint8_t>& bytes, const std::vector<float>& input, bool xnnpack) {
  rt::Interpreter in(bytes, rt::Options{2, xnnpack});
  in.set_input(0, input);
  in.invoke();
  return in.output_float(0);
}

}  // namespace sealite::testing
