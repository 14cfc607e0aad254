// Runs the built `sealite` binary and captures exit code, stdout and stderr.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/test_paths.h"

namespace sealite::testing {

struct RunResult {
  int code = -1;
  std::string out, err;
};

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `env` is prepended to the command line ("VAR=value ... ").
inline RunResult run_sealite_env(const std::string& env, const std::string& args) {
  static int counter = 0;
  auto dir = temp_dir();
  auto out = dir / ("out" + std::to_string(counter) + ".txt");
  auto err = dir / ("err" + std::to_string(counter++) + ".txt");
  std::string cmd = env + (binary_dir() / "sealite").string() + " " + args + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  int st = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_all(out);
  r.err = read_all(err);
  return r;
}

inline RunResult run_sealite(const std::string& args) { return run_sealite_env("", args); }

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace sealite::testing
