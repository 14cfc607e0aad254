#include "passes/pass.h"

#include <algorithm>

#include "core/error.h"
#include "passes/rewrite.h"

namespace sealite::passes {

void Pass::note(const std::string& text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(text);
}

bool OpRewritePass::run(graph::Graph& g) {
  bool changed = false;
  for (bool again = true; again; changed |= again) {
    again = false;
    const graph::Uses u = g.uses();
    for (int op = 0; op < g.num_ops() && !again; ++op)
      again = matches(g.op_code(op)) && !is_dead(g, u, op) && rewrite(g, u, op);
  }
  return changed;
}

std::vector<std::unique_ptr<Pass>> all_passes() {
  std::vector<std::unique_ptr<Pass>> v;
  v.push_back(make_dead_code());
  v.push_back(make_fold_constants());
  v.push_back(make_lower_gathers());
  v.push_back(make_transpose_chains());
  v.push_back(make_reshape_chains());
  v.push_back(make_push_transposes());
  v.push_back(make_merge_pads());
  v.push_back(make_lower_mirror_pad());
  v.push_back(make_xnnpack_reflect_pad());
  v.push_back(make_gelu_rational());
  v.push_back(make_channel_mean_to_conv());
  v.push_back(make_rsqrt_to_div());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a->priority() > b->priority(); });
  return v;
}

std::vector<std::string> target_names() { return {"default", "xnnpack"}; }

void check_target(const std::string& target) {
  std::string known;
  for (auto& t : target_names()) {
    if (t == target) return;
    known += (known.empty() ? "" : ", ") + t;
  }
  throw Error("unknown target '" + target + "' (known: " + known + ")");
}

std::vector<std::string> default_pass_names(const std::string& target) {
  check_target(target);
  std::vector<std::string> names;
  for (auto& p : all_passes())
    if (p->default_on() || (target != "default" && p->target() == target)) names.push_back(p->name());
  return names;
}

std::vector<std::string> resolve_pass_list(const std::vector<std::string>& spec, const std::string& target) {
  check_target(target);
  bool relative = !spec.empty();
  for (auto& s : spec) relative &= !s.empty() && (s[0] == '+' || s[0] == '-');
  std::vector<std::string> out;
  if (!relative) {
    for (auto& s : spec) {
      if (!s.empty() && (s[0] == '+' || s[0] == '-'))
        throw Error("--passes: mix of a list and +/- changes ('" + s + "'); use one or the other");
      make_pass(s);
      if (std::find(out.begin(), out.end(), s) != out.end()) throw Error("--passes: '" + s + "' given twice");
      out.push_back(s);
    }
    return out;
  }
  out = default_pass_names(target);
  for (auto& s : spec) {
    const std::string name = s.substr(1);
    make_pass(name);
    auto it = std::find(out.begin(), out.end(), name);
    if (s[0] == '+' && it == out.end()) out.push_back(name);
    if (s[0] == '-' && it != out.end()) out.erase(it);
  }
  if (out.empty()) throw Error("--passes: no pass left to run");
  return out;
}

std::unique_ptr<Pass> make_pass(const std::string& name) {
  std::string known;
  for (auto& p : all_passes()) {
    if (p->name() == name) return std::move(p);
    known += (known.empty() ? "" : ", ") + p->name();
  }
  throw Error("unknown pass '" + name + "' (known: " + known + ")");
}

}  // namespace sealite::passes
