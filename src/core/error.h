// One error type for the whole toolkit: a one-line, user-facing message.
// The CLI catches it at the top and exits with code 2 (bad input) or 1.
#pragma once
#include <stdexcept>
#include <string>

namespace sealite {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Throws sealite::Error when cond is false.
inline void check(bool cond, const std::string& msg) {
  if (!cond) throw Error(msg);
}

}  // namespace sealite
