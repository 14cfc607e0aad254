// A small declarative command-line parser: each subcommand declares its
// options once, and gets parsing, validation and a complete --help from it.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sealite::cli {

class Args {
 public:
  Args(std::string command, std::string summary);
  // --name VALUE (or --name=VALUE); `metavar` shown in help.
  Args& option(const std::string& name, const std::string& metavar, const std::string& help,
               std::optional<std::string> default_value = std::nullopt, char short_name = 0);
  Args& flag(const std::string& name, const std::string& help, char short_name = 0);
  Args& positional(const std::string& name, const std::string& help, bool required = true, bool many = false);
  Args& example(const std::string& cmdline, const std::string& what);
  Args& note(const std::string& text);

  // Throws sealite::Error on bad usage. Returns false when --help was printed.
  bool parse(const std::vector<std::string>& argv);
  std::string help() const;

  bool has(const std::string& name) const;  // option given or has default / flag set
  std::string get(const std::string& name) const;
  int get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  bool flag_set(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positional_values_; }

 private:
  struct Opt {
    std::string name, metavar, help;
    std::optional<std::string> def;
    char short_name = 0;
    bool is_flag = false;
  };
  struct Pos { std::string name, help; bool required, many; };
  std::string command_, summary_;
  std::vector<Opt> opts_;
  std::vector<Pos> pos_;
  std::vector<std::pair<std::string, std::string>> examples_;
  std::vector<std::string> notes_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> flags_;
  std::vector<std::string> positional_values_;
  const Opt* find(const std::string& name) const;
};

}  // namespace sealite::cli
