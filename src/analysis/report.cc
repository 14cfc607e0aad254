#include "analysis/report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "analysis/census.h"
#include "analysis/gathers.h"
#include "core/error.h"
#include "core/fs.h"
#include "runtime/interpreter.h"
#include "tflite/model_io.h"
#include "tflite/op_names.h"

namespace sealite::analysis {
using nlohmann::json;

namespace {

json shape_json(const std::vector<int32_t>& s) {
  json a = json::array();
  for (int d : s) a.push_back(d);
  return a;
}

json tensor_json(const graph::Graph& g, int t) {
  const auto& tt = g.tensor(t);
  json j;
  j["index"] = t;
  j["name"] = tt.name;
  j["shape"] = shape_json(tt.shape_signature.empty() ? tt.shape : tt.shape_signature);
  j["dtype"] = tfl::tensor_type_name(tt.type);
  if (tt.quantization && !tt.quantization->scale.empty()) {
    const auto& q = *tt.quantization;
    json qj;
    if (q.scale.size() == 1) {
      qj["scale"] = q.scale[0];
      qj["zero_point"] = q.zero_point.empty() ? 0 : q.zero_point[0];
    } else {
      qj["scales"] = q.scale.size();
      qj["quantized_dimension"] = q.quantized_dimension;
    }
    j["quantization"] = qj;
  } else {
    j["quantization"] = nullptr;
  }
  return j;
}

std::string fmt_shape(const json& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i].get<int>());
  return r + "]";
}

std::string human_bytes(double b) {
  char buf[64];
  if (b >= 1 << 20) std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1 << 20));
  else if (b >= 1 << 10) std::snprintf(buf, sizeof buf, "%.1f KiB", b / (1 << 10));
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

std::string human_count(double n) {
  char buf[64];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2f G", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.1f K", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

// "T#4[0,3,1,2]" for a small constant, "T#4" otherwise.
std::string tensor_ref(const graph::Graph& g, int t) {
  if (t < 0) return "-";
  std::string s = "T#" + std::to_string(t);
  if (auto v = constant_value(g, t); v && v->v.size() <= 8) {
    s += "[";
    for (size_t i = 0; i < v->v.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", v->v[i]);
      s += (i ? "," : "") + std::string(buf);
    }
    s += "]";
  } else if (g.is_constant(t)) {
    s += "{const " + fmt_shape(shape_json(g.tensor(t).shape)) + "}";
  }
  return s;
}

json gather_json(const GatherInfo& gi) {
  json j;
  j["op"] = gi.op;
  j["type"] = gi.op_name;
  j["params_shape"] = shape_json(gi.params_shape);
  j["indices_shape"] = shape_json(gi.indices_shape);
  j["output_shape"] = shape_json(gi.output_shape);
  j["index_source"] = gi.index_source;
  j["index_ops"] = gi.index_ops;
  j["index_op_ids"] = gi.index_op_ids;
  j["pattern"] = gi.pattern.kind;
  j["axis"] = gi.pattern.axis ? json(*gi.pattern.axis) : json(nullptr);
  j["detail"] = gi.pattern.detail;
  j["block"] = gi.block ? json(*gi.block) : json(nullptr);
  auto refs = [](const std::vector<OpRef>& v) {
    json a = json::array();
    for (auto& r : v) a.push_back({{"op", r.op}, {"type", r.name}, {"tensor", r.tensor}});
    return a;
  };
  j["producers"] = refs(gi.producers);
  j["consumers"] = refs(gi.consumers);
  return j;
}

}  // namespace

json delegation_report(const std::vector<uint8_t>& bytes, int threads) {
  json d;
  d["runtime"] = "TensorFlow Lite " + rt::Interpreter::library_version();
  d["threads"] = threads;
  try {
    rt::Options o;
    o.threads = threads;
    o.xnnpack = true;
    o.probe_delegation = true;
    rt::Interpreter interp(bytes, o);
    const auto& r = interp.delegation();
    d["loads"] = true;
    d["xnnpack_applied"] = r.xnnpack_applied;
    d["nodes"] = r.nodes_before;
    d["delegated_nodes"] = r.delegated_nodes;
    d["partitions"] = r.partitions;
    d["builtin_nodes"] = r.builtin_nodes;
    d["builtin_ops"] = r.builtin_ops;
    if (!interp.log().empty()) d["log"] = interp.log();
  } catch (const Error& e) {
    d["loads"] = false;
    d["error"] = e.what();
  }
  return d;
}

json inspect_model_bytes(const std::vector<uint8_t>& bytes, const std::string& name, const InspectOptions& opt) {
  auto model = tfl::read_model(bytes.data(), bytes.size(), name);
  json r;
  r["file"] = name;
  r["file_size"] = bytes.size();
  r["schema_version"] = model->version;
  r["description"] = model->description;
  // bytes of weights (buffers tensors point at) vs metadata vs structure
  std::vector<char> is_weight(model->buffers.size(), 0), is_meta(model->buffers.size(), 0);
  for (auto& sg : model->subgraphs)
    for (auto& t : sg->tensors)
      if (t->buffer < model->buffers.size()) is_weight[t->buffer] = 1;
  json meta = json::object();
  for (auto& md : model->metadata) {
    if (md->buffer < model->buffers.size()) {
      is_meta[md->buffer] = 1;
      meta[md->name] = model->buffers[md->buffer]->data.size();
    }
  }
  size_t weights = 0, metabytes = 0;
  for (size_t b = 0; b < model->buffers.size(); ++b) {
    if (is_weight[b]) weights += model->buffers[b]->data.size();
    else if (is_meta[b]) metabytes += model->buffers[b]->data.size();
  }
  r["weights_bytes"] = weights;
  r["metadata_bytes"] = metabytes;
  r["structure_bytes"] = bytes.size() > weights + metabytes ? bytes.size() - weights - metabytes : 0;
  r["metadata"] = meta;
  if (auto* v = tfl::find_metadata(*model, "min_runtime_version")) {
    std::string s(v->begin(), v->end());
    s = s.substr(0, s.find('\0'));
    r["min_runtime_version"] = s;
  } else {
    r["min_runtime_version"] = nullptr;
  }
  json sigs = json::array();
  for (auto& s : model->signature_defs) {
    json sj;
    sj["key"] = s->signature_key;
    sj["subgraph"] = s->subgraph_index;
    for (auto& tm : s->inputs) sj["inputs"].push_back(tm->name);
    for (auto& tm : s->outputs) sj["outputs"].push_back(tm->name);
    sigs.push_back(sj);
  }
  r["signatures"] = sigs;

  const int nsg = static_cast<int>(model->subgraphs.size());
  graph::Graph g(std::move(model), 0);
  json sgs = json::array();
  int ops_total = 0, gnd_total = 0, g_total = 0;
  for (int si = 0; si < nsg; ++si) {
    graph::Graph view(std::unique_ptr<tfl::ModelT>(&g.model()), si);  // borrow, released below
    json s;
    s["index"] = si;
    s["name"] = view.subgraph().name;
    s["ops"] = view.num_ops();
    s["tensors"] = view.num_tensors();
    json ins = json::array(), outs = json::array();
    for (int t : view.subgraph().inputs) ins.push_back(tensor_json(view, t));
    for (int t : view.subgraph().outputs) outs.push_back(tensor_json(view, t));
    s["inputs"] = ins;
    s["outputs"] = outs;
    Census c = census(view);
    json cen = json::object(), ver = json::object(), macs = json::object();
    for (auto& [op, st] : c.by_op) {
      cen[op] = st.count;
      ver[op] = std::vector<int>(st.versions.begin(), st.versions.end());
      if (st.macs) macs[op] = st.macs;
    }
    s["op_census"] = cen;
    s["op_versions"] = ver;
    s["macs"] = macs;
    s["macs_total"] = c.macs_total;
    s["macs_approximate"] = c.macs_approximate;
    json gnd = json::array(), gat = json::array();
    for (auto& gi : analyze_gathers(view)) {
      if (gi.op_name == "GATHER_ND") gnd.push_back(gather_json(gi));
      else gat.push_back(gather_json(gi));
    }
    s["gather_nd"] = gnd;
    s["gather"] = gat;
    ops_total += view.num_ops();
    gnd_total += static_cast<int>(gnd.size());
    g_total += static_cast<int>(gat.size());
    if (opt.list_ops) {
      json lines = json::array();
      for (int o = 0; o < view.num_ops(); ++o) {
        std::string line = "Op#" + std::to_string(o) + " " + view.op_name(o) + "(";
        const auto& op = view.op(o);
        for (size_t i = 0; i < op.inputs.size(); ++i) line += (i ? ", " : "") + tensor_ref(view, op.inputs[i]);
        line += ") -> [";
        for (size_t i = 0; i < op.outputs.size(); ++i) line += (i ? ", " : "") + tensor_ref(view, op.outputs[i]);
        line += "]";
        lines.push_back(line);
      }
      s["op_list"] = lines;
    }
    (void)view.release().release();  // the model belongs to g
    sgs.push_back(s);
  }
  r["subgraphs"] = sgs;
  r["ops_total"] = ops_total;
  r["gather_nd_total"] = gnd_total;
  r["gather_total"] = g_total;
  if (opt.delegation) r["delegation"] = delegation_report(bytes, opt.threads);
  return r;
}

json inspect_model(const std::filesystem::path& path, const InspectOptions& opt) {
  auto bytes = read_file(path);
  return inspect_model_bytes(bytes, path.string(), opt);
}

// ------------------------------------------------------------------ rendering

namespace {

struct Table {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
  std::string text() const {
    std::vector<size_t> w(head.size());
    for (size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
    for (auto& r : rows)
      for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
    std::string out;
    auto line = [&](const std::vector<std::string>& r) {
      std::string l = " ";
      for (size_t i = 0; i < w.size(); ++i) {
        std::string c = i < r.size() ? r[i] : "";
        l += " " + c + std::string(w[i] - c.size(), ' ') + " ";
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    };
    line(head);
    std::vector<std::string> sep;
    for (size_t x : w) sep.push_back(std::string(x, '-'));
    line(sep);
    for (auto& r : rows) line(r);
    return out;
  }
  std::string markdown() const {
    std::string out = "|";
    for (auto& h : head) out += " " + h + " |";
    out += "\n|";
    for (size_t i = 0; i < head.size(); ++i) out += "---|";
    out += "\n";
    for (auto& r : rows) {
      out += "|";
      for (auto& c : r) out += " " + c + " |";
      out += "\n";
    }
    return out;
  }
};

std::string pct(double a, double b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", b > 0 ? 100.0 * a / b : 0.0);
  return buf;
}

std::string io_line(const json& t) {
  std::string s = t["name"].get<std::string>() + " " + fmt_shape(t["shape"]) + " " + t["dtype"].get<std::string>();
  if (!t["quantization"].is_null()) {
    const auto& q = t["quantization"];
    if (q.contains("scale")) {
      char buf[96];
      std::snprintf(buf, sizeof buf, " (scale %g, zero point %lld)", q["scale"].get<double>(),
                    static_cast<long long>(q["zero_point"].get<int64_t>()));
      s += buf;
    } else {
      s += " (per-channel: " + std::to_string(q["scales"].get<int>()) + " scales on axis " +
           std::to_string(q["quantized_dimension"].get<int>()) + ")";
    }
  }
  return s;
}

std::string render(const json& r, bool md) {
  std::ostringstream o;
  auto h = [&](int level, const std::string& s) {
    if (md) o << std::string(level, '#') << " " << s << "\n\n";
    else o << s << "\n" << std::string(s.size(), level == 1 ? '=' : '-') << "\n";
  };
  auto table = [&](const Table& t) { o << (md ? t.markdown() : t.text()) << "\n"; };
  std::string file = r["file"];
  std::string stem = std::filesystem::path(file).stem().string();
  h(1, "Model " + file);
  {
    Table t{{"property", "value"}, {}};
    double fs = r["file_size"].get<double>();
    t.rows.push_back({"file size", human_bytes(fs) + " (" + std::to_string(r["file_size"].get<size_t>()) + " bytes)"});
    t.rows.push_back({"weights", human_bytes(r["weights_bytes"].get<double>()) + " (" +
                                     pct(r["weights_bytes"].get<double>(), fs) + ")"});
    t.rows.push_back({"metadata", human_bytes(r["metadata_bytes"].get<double>())});
    t.rows.push_back({"structure", human_bytes(r["structure_bytes"].get<double>())});
    t.rows.push_back({"subgraphs", std::to_string(r["subgraphs"].size())});
    t.rows.push_back({"signatures", std::to_string(r["signatures"].size())});
    t.rows.push_back({"ops (all subgraphs)", std::to_string(r["ops_total"].get<int>())});
    t.rows.push_back({"min runtime version",
                      r["min_runtime_version"].is_null() ? "(not stated)" : r["min_runtime_version"].get<std::string>()});
    if (!r["description"].get<std::string>().empty()) t.rows.push_back({"description", r["description"]});
    std::string metas;
    for (auto& [k, v] : r["metadata"].items()) metas += (metas.empty() ? "" : ", ") + k + " (" + human_bytes(v.get<double>()) + ")";
    if (!metas.empty()) t.rows.push_back({"metadata entries", metas});
    table(t);
  }
  if (!r["signatures"].empty()) {
    Table t{{"signature", "subgraph", "inputs", "outputs"}, {}};
    for (auto& s : r["signatures"]) {
      std::string in, out;
      if (s.contains("inputs")) for (auto& x : s["inputs"]) in += (in.empty() ? "" : ", ") + x.get<std::string>();
      if (s.contains("outputs")) for (auto& x : s["outputs"]) out += (out.empty() ? "" : ", ") + x.get<std::string>();
      t.rows.push_back({s["key"], std::to_string(s["subgraph"].get<int>()), in, out});
    }
    table(t);
  }
  h(2, "GATHER_ND summary");
  {
    Table t{{"Model", "Total Ops", "GATHER_ND Ops", "Percentage"}, {}};
    int tot = r["ops_total"], g = r["gather_nd_total"];
    t.rows.push_back({stem, std::to_string(tot), std::to_string(g), pct(g, tot)});
    table(t);
  }
  for (auto& s : r["subgraphs"]) {
    std::string title = "Subgraph " + std::to_string(s["index"].get<int>());
    if (!s["name"].get<std::string>().empty()) title += " '" + s["name"].get<std::string>() + "'";
    title += ": " + std::to_string(s["ops"].get<int>()) + " ops, " + std::to_string(s["tensors"].get<int>()) + " tensors";
    h(2, title);
    for (auto& t : s["inputs"]) o << (md ? "- " : "  ") << "input  " << io_line(t) << "\n";
    for (auto& t : s["outputs"]) o << (md ? "- " : "  ") << "output " << io_line(t) << "\n";
    o << "\n";
    Table t{{"op", "count", "% of ops", "versions", "MACs", "% of MACs"}, {}};
    std::vector<std::pair<std::string, int>> rows;
    for (auto& [k, v] : s["op_census"].items()) rows.push_back({k, v.get<int>()});
    std::stable_sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second > b.second; });
    double total_macs = s["macs_total"].get<double>();
    for (auto& [op, n] : rows) {
      std::string vers;
      for (auto& v : s["op_versions"][op]) vers += (vers.empty() ? "" : ",") + std::to_string(v.get<int>());
      std::string macs, mp;
      if (s["macs"].contains(op)) {
        macs = human_count(s["macs"][op].get<double>());
        mp = pct(s["macs"][op].get<double>(), total_macs);
      }
      t.rows.push_back({op, std::to_string(n), pct(n, s["ops"].get<int>()), vers, macs, mp});
    }
    if (!rows.empty()) table(t);
    if (total_macs > 0)
      o << "Estimated MACs: " << human_count(total_macs)
        << (s["macs_approximate"].get<bool>() ? " (dynamic dimensions counted as 1)" : "") << "\n\n";
    for (const char* key : {"gather_nd", "gather"}) {
      if (s[key].empty()) continue;
      h(3, std::string(key) == "gather_nd" ? "GATHER_ND ops" : "GATHER ops");
      Table gt{{"op", "params", "indices", "index source", "pattern", "axis", "block", "producers", "consumers"}, {}};
      for (auto& gj : s[key]) {
        std::string src = gj["index_source"];
        if (!gj["index_ops"].empty()) {
          std::set<std::string> kinds;
          std::string list;
          for (auto& x : gj["index_ops"])
            if (kinds.insert(x.get<std::string>()).second) list += (list.empty() ? "" : ",") + x.get<std::string>();
          src += " (" + list + ")";
        }
        auto refs = [](const json& a) {
          std::string s2;
          for (auto& x : a) s2 += (s2.empty() ? "" : ", ") + x["type"].get<std::string>() + "#" + std::to_string(x["op"].get<int>());
          return s2.empty() ? std::string("-") : s2;
        };
        gt.rows.push_back({"#" + std::to_string(gj["op"].get<int>()), fmt_shape(gj["params_shape"]),
                           fmt_shape(gj["indices_shape"]), src, gj["detail"].get<std::string>().empty() ? gj["pattern"].get<std::string>() : gj["detail"].get<std::string>(),
                           gj["axis"].is_null() ? "-" : std::to_string(gj["axis"].get<int>()),
                           gj["block"].is_null() ? "-" : gj["block"].get<std::string>(), refs(gj["producers"]),
                           refs(gj["consumers"])});
      }
      table(gt);
    }
    if (s.contains("op_list")) {
      h(3, "Ops");
      if (md) o << "```\n";
      for (auto& l : s["op_list"]) o << l.get<std::string>() << "\n";
      if (md) o << "```\n";
      o << "\n";
    }
  }
  if (r.contains("delegation")) {
    const auto& d = r["delegation"];
    h(2, "Delegation (" + d["runtime"].get<std::string>() + ", XNNPACK, " + std::to_string(d["threads"].get<int>()) + " threads)");
    if (!d["loads"].get<bool>()) {
      o << "does not load: " << d["error"].get<std::string>() << "\n\n";
    } else if (!d["xnnpack_applied"].get<bool>()) {
      o << "XNNPACK delegate not applied (refused or unavailable); all " << d["builtin_nodes"].get<int>()
        << " nodes run on built-in kernels\n\n";
    } else {
      o << "XNNPACK took " << d["delegated_nodes"].get<int>() << " of " << d["nodes"].get<int>() << " nodes in "
        << d["partitions"].get<int>() << " partition(s); " << d["builtin_nodes"].get<int>()
        << " node(s) stay on built-in kernels\n\n";
    }
    if (d.contains("builtin_ops") && !d["builtin_ops"].empty()) {
      Table t{{"op on built-in kernels", "nodes"}, {}};
      for (auto& [k, v] : d["builtin_ops"].items()) t.rows.push_back({k, std::to_string(v.get<int>())});
      table(t);
    }
  }
  return o.str();
}

}  // namespace

std::string render_text(const json& r) { return render(r, false); }
std::string render_markdown(const json& r) { return render(r, true); }

std::string render_dot(const std::vector<uint8_t>& bytes, const std::string& name) {
  auto model = tfl::read_model(bytes.data(), bytes.size(), name);
  graph::Graph g(std::move(model), 0);
  auto gathers = analyze_gathers(g);
  std::set<int> gather_ops, index_ops;
  for (auto& gi : gathers) {
    gather_ops.insert(gi.op);
    index_ops.insert(gi.index_op_ids.begin(), gi.index_op_ids.end());
  }
  auto blocks = label_blocks(g);
  graph::Uses u = g.uses();
  std::ostringstream o;
  o << "digraph model {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\", fontname=\"Helvetica\"];\n";
  o << "  label=\"" << std::filesystem::path(name).filename().string() << "\";\n";
  for (int t : g.subgraph().inputs) o << "  t" << t << " [shape=ellipse, fillcolor=\"#cce5ff\", label=\"input " << g.tensor(t).name << "\"];\n";
  for (int t : g.subgraph().outputs) o << "  t" << t << " [shape=ellipse, fillcolor=\"#cce5ff\", label=\"output " << g.tensor(t).name << "\"];\n";
  for (int op = 0; op < g.num_ops(); ++op) {
    std::string color = gather_ops.count(op) ? "#ff9999" : index_ops.count(op) ? "#ffe0a0" : "#eeeeee";
    std::string lbl = "#" + std::to_string(op) + " " + g.op_name(op);
    if (blocks[op]) lbl += "\\n" + *blocks[op];
    o << "  op" << op << " [fillcolor=\"" << color << "\", label=\"" << lbl << "\"];\n";
  }
  for (int op = 0; op < g.num_ops(); ++op)
    for (int t : g.op(op).inputs) {
      if (t < 0) continue;
      if (u.producer[t] >= 0) o << "  op" << u.producer[t] << " -> op" << op << ";\n";
      else if (g.is_graph_input(t)) o << "  t" << t << " -> op" << op << ";\n";
    }
  for (int t : g.subgraph().outputs)
    if (u.producer[t] >= 0) o << "  op" << u.producer[t] << " -> t" << t << ";\n";
  o << "}\n";
  return o.str();
}

}  // namespace sealite::analysis
