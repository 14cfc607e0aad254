#include "cli/args.h"

#include <sstream>

#include "core/error.h"

namespace sealite::cli {

Args::Args(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {
  flag("help", "show this help", 'h');
}

Args& Args::option(const std::string& name, const std::string& metavar, const std::string& help,
                   std::optional<std::string> def, char s) {
  opts_.push_back({name, metavar, help, std::move(def), s, false});
  return *this;
}
Args& Args::flag(const std::string& name, const std::string& help, char s) {
  opts_.push_back({name, "", help, std::nullopt, s, true});
  return *this;
}
Args& Args::positional(const std::string& name, const std::string& help, bool required, bool many) {
  pos_.push_back({name, help, required, many});
  return *this;
}
Args& Args::example(const std::string& cmdline, const std::string& what) {
  examples_.push_back({cmdline, what});
  return *this;
}
Args& Args::note(const std::string& text) {
  notes_.push_back(text);
  return *this;
}

const Args::Opt* Args::find(const std::string& name) const {
  for (auto& o : opts_)
    if (o.name == name) return &o;
  return nullptr;
}

bool Args::parse(const std::vector<std::string>& argv) {
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!only_positional && a == "--") { only_positional = true; continue; }
    if (!only_positional && a.size() > 1 && a[0] == '-' && !(a.size() > 1 && std::isdigit(static_cast<unsigned char>(a[1])))) {
      std::string name, value;
      bool has_value = false;
      const Opt* o = nullptr;
      if (a.rfind("--", 0) == 0) {
        name = a.substr(2);
        if (auto eq = name.find('='); eq != std::string::npos) {
          value = name.substr(eq + 1);
          name = name.substr(0, eq);
          has_value = true;
        }
        o = find(name);
      } else if (a.size() == 2) {
        for (auto& x : opts_)
          if (x.short_name == a[1]) o = &x;
      }
      if (!o) throw Error(command_ + ": unknown option '" + a + "' (see 'sealite " + command_ + " --help')");
      if (o->is_flag) {
        if (has_value) throw Error(command_ + ": option --" + o->name + " takes no value");
        flags_[o->name] = true;
        if (o->name == "help") {
          std::fputs(help().c_str(), stdout);
          return false;
        }
        continue;
      }
      if (!has_value) {
        if (i + 1 >= argv.size()) throw Error(command_ + ": option --" + o->name + " needs a value (" + o->metavar + ")");
        value = argv[++i];
      }
      values_[o->name] = value;
      continue;
    }
    positional_values_.push_back(a);
  }
  size_t need = 0;
  bool many = false;
  for (auto& p : pos_) {
    if (p.required) ++need;
    many = many || p.many;
  }
  if (positional_values_.size() < need)
    throw Error(command_ + ": missing " + pos_[positional_values_.size()].name + " (see 'sealite " + command_ + " --help')");
  if (!many && positional_values_.size() > pos_.size())
    throw Error(command_ + ": unexpected argument '" + positional_values_[pos_.size()] + "'");
  return true;
}

bool Args::has(const std::string& name) const {
  if (values_.count(name)) return true;
  auto* o = find(name);
  return o && o->def.has_value();
}

std::string Args::get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  auto* o = find(name);
  if (o && o->def) return *o->def;
  throw Error(command_ + ": option --" + name + " is required");
}

int Args::get_int(const std::string& name) const {
  std::string v = get(name);
  try {
    size_t pos = 0;
    int x = std::stoi(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw Error(command_ + ": --" + name + " expects an integer, got '" + v + "'");
  }
}

double Args::get_double(const std::string& name) const {
  std::string v = get(name);
  try {
    size_t pos = 0;
    double x = std::stod(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw Error(command_ + ": --" + name + " expects a number, got '" + v + "'");
  }
}

bool Args::flag_set(const std::string& name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && it->second;
}

std::string Args::help() const {
  std::ostringstream o;
  o << "sealite " << command_ << " — " << summary_ << "\n\nUsage: sealite " << command_;
  if (opts_.size() > 1) o << " [options]";
  for (auto& p : pos_) o << " " << (p.required ? "" : "[") << p.name << (p.many ? "..." : "") << (p.required ? "" : "]");
  o << "\n";
  if (!pos_.empty()) {
    o << "\nArguments:\n";
    for (auto& p : pos_) o << "  " << p.name << "\n      " << p.help << "\n";
  }
  o << "\nOptions:\n";
  for (auto& x : opts_) {
    std::string l = "  ";
    if (x.short_name) l += std::string("-") + x.short_name + ", ";
    l += "--" + x.name;
    if (!x.is_flag) l += " " + x.metavar;
    o << l << "\n      " << x.help;
    if (x.def && !x.def->empty()) o << " (default: " << *x.def << ")";
    o << "\n";
  }
  for (auto& n : notes_) o << "\n" << n << "\n";
  if (!examples_.empty()) {
    o << "\nExamples:\n";
    for (auto& [c, w] : examples_) o << "  " << c << "\n      " << w << "\n";
  }
  return o.str();
}

}  // namespace sealite::cli
