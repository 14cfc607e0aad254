// The subcommands of the `sealite` binary. Each lives in its own cmd_*.cc and
// registers itself here; main() dispatches by name.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace sealite::cli {

struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

// Registration happens at static-init time from each cmd_*.cc.
std::vector<Command>& registry();
struct Register {
  Register(std::string name, std::string summary, std::function<int(const std::vector<std::string>&)> run);
};

// Output helpers shared by commands.
bool stdout_is_terminal();

}  // namespace sealite::cli
