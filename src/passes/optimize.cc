#include "passes/optimize.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <functional>

#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>

#include "analysis/census.h"
#include "analysis/report.h"
#include "core/error.h"
#include "core/npy.h"
#include "runtime/interpreter.h"
#include "tflite/appended_zip.h"
#include "tflite/model_io.h"

namespace sealite::passes {
using nlohmann::json;

namespace {

// ---------------------------------------------------------------- census

json census_json(const std::vector<uint8_t>& bytes) {
  auto model = tfl::read_model(bytes.data(), bytes.size());
  json subs = json::array();
  const int n = static_cast<int>(model->subgraphs.size());
  for (int s = 0; s < n; ++s) {
    graph::Graph g(std::move(model), s);
    auto c = analysis::census(g);
    json by = json::object();
    for (auto& [name, st] : c.by_op) by[name] = st.count;
    subs.push_back({{"index", s}, {"name", g.subgraph().name}, {"ops", c.ops}, {"tensors", g.num_tensors()},
                    {"op_census", by}});
    model = g.release();
  }
  return subs;
}

int count_op(const json& subs, const std::string& op) {
  int n = 0;
  for (auto& s : subs)
    if (s["op_census"].contains(op)) n += s["op_census"][op].get<int>();
  return n;
}

int count_ops(const json& subs) {
  int n = 0;
  for (auto& s : subs) n += s["ops"].get<int>();
  return n;
}

// ---------------------------------------------------------------- inputs

size_t elem_size(rt::ElemType t) {
  switch (t) {
    case rt::ElemType::f32: case rt::ElemType::i32: return 4;
    case rt::ElemType::i64: return 8;
    case rt::ElemType::i16: case rt::ElemType::f16: return 2;
    case rt::ElemType::u8: case rt::ElemType::i8: case rt::ElemType::boolean: return 1;
    default: return 0;
  }
}

bool is_float_type(rt::ElemType t) { return t == rt::ElemType::f32 || t == rt::ElemType::f16; }

std::vector<uint8_t> random_input(const rt::TensorInfo& info, std::mt19937& rng, const OptimizeOptions& o) {
  const size_t es = elem_size(info.type);
  if (es == 0) throw Error("input '" + info.name + "' has type " + info.type_name + ", which verification cannot fill");
  const size_t n = info.bytes / es;
  std::vector<uint8_t> out(info.bytes);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = out.data() + i * es;
    switch (info.type) {
      case rt::ElemType::f32: {
        float v = std::uniform_real_distribution<float>(o.float_lo, o.float_hi)(rng);
        std::memcpy(p, &v, 4);
        break;
      }
      case rt::ElemType::i32: {
        int32_t v = static_cast<int32_t>(std::uniform_int_distribution<int64_t>(o.int_lo, o.int_hi - 1)(rng));
        std::memcpy(p, &v, 4);
        break;
      }
      case rt::ElemType::i64: {
        int64_t v = std::uniform_int_distribution<int64_t>(o.int_lo, o.int_hi - 1)(rng);
        std::memcpy(p, &v, 8);
        break;
      }
      case rt::ElemType::i16: {
        int16_t v = static_cast<int16_t>(std::uniform_int_distribution<int>(-32768, 32767)(rng));
        std::memcpy(p, &v, 2);
        break;
      }
      case rt::ElemType::u8: case rt::ElemType::i8:  // the quantized range: every byte value
        p[0] = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
        break;
      case rt::ElemType::boolean: p[0] = static_cast<uint8_t>(rng() & 1); break;
      default: throw Error("input '" + info.name + "' has type " + info.type_name + ", which verification cannot fill");
    }
  }
  return out;
}

// Input sets: given .npy files (one per input; a leading extra axis gives several sets) or random.
std::vector<std::vector<std::vector<uint8_t>>> make_inputs(const rt::Interpreter& in, const OptimizeOptions& o,
                                                           bool use_files, unsigned seed) {
  const int ni = in.input_count();
  std::vector<std::vector<std::vector<uint8_t>>> sets(std::max(o.verify, 1));
  if (use_files && !o.input_files.empty()) {
    if (static_cast<int>(o.input_files.size()) != ni)
      throw Error("--inputs gives " + std::to_string(o.input_files.size()) + " file(s) but the model has " +
                  std::to_string(ni) + " input(s)");
    std::vector<NpyArray> arrays;
    for (auto& f : o.input_files) arrays.push_back(npy_load(f));
    int k = 1;
    for (int i = 0; i < ni; ++i) {
      auto info = in.input_info(i);
      int64_t n = static_cast<int64_t>(info.bytes / std::max<size_t>(elem_size(info.type), 1));
      if (arrays[i].numel() != n) {
        if (n > 0 && arrays[i].numel() % n == 0 && !arrays[i].shape.empty() && arrays[i].shape[0] * n == arrays[i].numel())
          k = std::max<int>(k, static_cast<int>(arrays[i].shape[0]));
        else
          throw Error(o.input_files[i].string() + ": " + std::to_string(arrays[i].numel()) + " values, input '" +
                      info.name + "' takes " + std::to_string(n));
      }
    }
    sets.assign(k, {});
    for (int s = 0; s < k; ++s)
      for (int i = 0; i < ni; ++i) {
        auto info = in.input_info(i);
        const size_t es = elem_size(info.type);
        const int64_t n = static_cast<int64_t>(info.bytes / std::max<size_t>(es, 1));
        const int64_t off = arrays[i].numel() == n ? 0 : s * n;
        std::vector<uint8_t> bytes(info.bytes);
        if (info.type == rt::ElemType::f32) {
          auto v = arrays[i].as_float();
          std::memcpy(bytes.data(), v.data() + off, n * 4);
        } else {
          auto v = arrays[i].as_int64();
          for (int64_t j = 0; j < n; ++j) {
            int64_t x = v[off + j];
            std::memcpy(bytes.data() + j * es, &x, es);  // little-endian truncation
          }
        }
        sets[s].push_back(std::move(bytes));
      }
    return sets;
  }
  std::mt19937 rng(seed);
  for (auto& set : sets)
    for (int i = 0; i < ni; ++i) set.push_back(random_input(in.input_info(i), rng, o));
  return sets;
}

double value_at(const std::vector<uint8_t>& b, size_t i, rt::ElemType t) {
  switch (t) {
    case rt::ElemType::f32: { float v; std::memcpy(&v, b.data() + 4 * i, 4); return v; }
    case rt::ElemType::i32: { int32_t v; std::memcpy(&v, b.data() + 4 * i, 4); return v; }
    case rt::ElemType::i64: { int64_t v; std::memcpy(&v, b.data() + 8 * i, 8); return static_cast<double>(v); }
    case rt::ElemType::i16: { int16_t v; std::memcpy(&v, b.data() + 2 * i, 2); return v; }
    case rt::ElemType::i8: return static_cast<int8_t>(b[i]);
    case rt::ElemType::u8: case rt::ElemType::boolean: return b[i];
    default: return b[i];
  }
}

double max_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, rt::ElemType t) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  const size_t es = std::max<size_t>(elem_size(t), 1);
  double m = 0;
  for (size_t i = 0; i < a.size() / es; ++i) {
    double x = value_at(a, i, t), y = value_at(b, i, t);
    if (std::isnan(x) || std::isnan(y)) {
      if (std::isnan(x) != std::isnan(y)) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (x == y) continue;  // also equal infinities
    m = std::max(m, std::fabs(x - y));
  }
  return m;
}

// A difference as JSON: a number, or "inf" / "nan" (JSON has no such numbers;
// nlohmann would write null, which does not read back as a double).
json diff_json(double d) {
  if (std::isfinite(d)) return d;
  return std::isnan(d) ? "nan" : d > 0 ? "inf" : "-inf";
}

double diff_from(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string() && j.get<std::string>() == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (j.is_string() && j.get<std::string>() == "-inf") return -std::numeric_limits<double>::infinity();
  return std::numeric_limits<double>::infinity();
}

// TensorFlow Lite 2.9's XNNPACK delegate crashes (SIGSEGV in Invoke) on a graph
// where a delegated op writes a tensor that nobody reads; such models are run
// with built-in kernels only.
bool has_unread_outputs(const std::vector<uint8_t>& bytes) {
  graph::Graph g(tfl::read_model(bytes.data(), bytes.size()));
  graph::Uses u = g.uses();
  for (int o = 0; o < g.num_ops(); ++o)
    for (int t : g.op(o).outputs)
      if (t >= 0 && u.consumers[t].empty() && !g.is_graph_output(t)) return true;
  return false;
}

struct RunPair {
  int subgraph = 0;
  std::vector<uint8_t> before, after;
};

struct Verification {
  bool original_loads = true, optimized_loads = true, ok = true, compared = false;
  std::string error;
  double max_abs = 0, max_abs_xnn = 0;
  json outputs = json::array();
  std::string xnnpack_note;
};

// Runs both models of each pair on the same inputs, with built-in kernels (the
// reference semantics) and with XNNPACK (what users run), and compares.
// Where verify() is, for a crash report: TensorFlow Lite can abort() or
// segfault inside Invoke on some graphs (the original's as much as ours).
using Progress = std::function<void(const std::string&)>;

Verification verify(const std::vector<RunPair>& pairs, const OptimizeOptions& o, bool changed,
                    const Progress& stage = [](const std::string&) {}) {
  Verification v;
  for (const auto& pr : pairs) {
    std::unique_ptr<rt::Interpreter> a, b;
    const std::string sub = pairs.size() > 1 ? " (subgraph " + std::to_string(pr.subgraph) + ")" : "";
    stage("loading the input model" + sub);
    try {
      a = std::make_unique<rt::Interpreter>(pr.before, rt::Options{o.threads, false});
    } catch (const Error& e) {
      v.original_loads = v.ok = false;
      v.error = (pairs.size() > 1 ? "subgraph " + std::to_string(pr.subgraph) + ": " : std::string()) + e.what();
      return v;
    }
    if (!changed) continue;  // only "does it load" matters
    stage("loading the optimized model" + sub);
    try {
      b = std::make_unique<rt::Interpreter>(pr.after, rt::Options{o.threads, false});
    } catch (const Error& e) {
      v.optimized_loads = v.ok = false;
      v.error = std::string("the optimized model does not load: ") + e.what();
      return v;
    }
    if (a->input_count() != b->input_count() || a->output_count() != b->output_count()) {
      v.ok = false;
      v.error = "input/output count changed";
      return v;
    }
    auto sets = make_inputs(*a, o, pr.subgraph == 0, o.seed + 977u * pr.subgraph);
    v.compared = true;
    const int no = a->output_count();
    std::vector<double> dmax(no, 0), dxnn(no, 0);
    auto run_all = [&](rt::Interpreter& x, const std::vector<std::vector<uint8_t>>& set) {
      for (size_t i = 0; i < set.size(); ++i) x.set_input(static_cast<int>(i), set[i].data(), set[i].size());
      x.invoke();
      std::vector<std::vector<uint8_t>> outs;
      for (int i = 0; i < no; ++i) outs.push_back(x.output_bytes(i));
      return outs;
    };
    for (int i = 0; i < no; ++i) {
      auto ia = a->output_info(i), ib = b->output_info(i);
      if (ia.type != ib.type || ia.shape != ib.shape) {
        v.ok = false;
        v.error = "output " + std::to_string(i) + " changed type or shape";
        return v;
      }
    }
    std::unique_ptr<rt::Interpreter> ax, bx;
    bool xnn_informational = false;
    stage("loading both models with XNNPACK" + sub);
    if (has_unread_outputs(pr.before) || has_unread_outputs(pr.after)) {
      v.xnnpack_note = "an op writes a tensor nobody reads, which crashes the TensorFlow Lite 2.9 XNNPACK delegate; "
                       "compared with built-in kernels only";
    } else {
      try {
        ax = std::make_unique<rt::Interpreter>(pr.before, rt::Options{o.threads, true});
        bx = std::make_unique<rt::Interpreter>(pr.after, rt::Options{o.threads, true});
        if (ax->delegation().xnnpack_applied != bx->delegation().xnnpack_applied) {
          v.xnnpack_note = std::string("the XNNPACK delegate takes only the ") +
                           (bx->delegation().xnnpack_applied ? "optimized" : "original") +
                           " model; the XNNPACK difference is reported, not checked";
          xnn_informational = true;
        }
      } catch (const Error&) {
        ax.reset();
        bx.reset();
      }
    }
    for (auto& set : sets) {
      std::vector<std::vector<uint8_t>> oa, ob;
      stage("running the input model" + sub + " (built-in kernels)");
      try {
        oa = run_all(*a, set);
      } catch (const Error& e) {
        v.original_loads = v.ok = false;
        v.error = std::string("the input model does not run: ") + e.what();
        return v;
      }
      stage("running the optimized model" + sub + " (built-in kernels)");
      try {
        ob = run_all(*b, set);
      } catch (const Error& e) {
        v.optimized_loads = v.ok = false;
        v.error = std::string("the optimized model does not run: ") + e.what();
        return v;
      }
      for (int i = 0; i < no; ++i) dmax[i] = std::max(dmax[i], max_diff(oa[i], ob[i], a->output_info(i).type));
      if (ax && bx) {
        std::vector<std::vector<uint8_t>> xa, xb;
        try {
          stage("running the input model" + sub + " (XNNPACK)");
          xa = run_all(*ax, set);
          stage("running the optimized model" + sub + " (XNNPACK)");
          xb = run_all(*bx, set);
        } catch (const Error& e) {
          v.ok = false;
          v.error = std::string("with XNNPACK: ") + e.what();
          return v;
        }
        for (int i = 0; i < no; ++i) dxnn[i] = std::max(dxnn[i], max_diff(xa[i], xb[i], a->output_info(i).type));
      }
    }
    for (int i = 0; i < no; ++i) {
      auto info = a->output_info(i);
      const bool fl = is_float_type(info.type);
      const double atol = o.atol ? *o.atol : (fl ? 1e-5 : 0.0);
      const bool ok = dmax[i] <= atol && (!ax || xnn_informational || dxnn[i] <= atol);
      v.ok &= ok;
      v.max_abs = std::max(v.max_abs, dmax[i]);
      v.max_abs_xnn = std::max(v.max_abs_xnn, dxnn[i]);
      json oj = {{"subgraph", pr.subgraph}, {"output", i}, {"name", info.name}, {"type", info.type_name},
                 {"max_abs_diff", diff_json(dmax[i])}, {"atol", atol}, {"ok", ok}};
      oj["max_abs_diff_xnnpack"] = ax ? diff_json(dxnn[i]) : json(nullptr);
      v.outputs.push_back(oj);
      if (!ok && v.error.empty()) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "output '%s' differs by %.3g (built-in kernels) / %.3g (XNNPACK) > atol %.3g",
                      info.name.c_str(), dmax[i], dxnn[i], atol);
        v.error = buf;
      }
    }
  }
  return v;
}

json verification_json(const Verification& v) {
  return {{"original_loads", v.original_loads}, {"optimized_loads", v.optimized_loads}, {"ok", v.ok},
          {"compared", v.compared}, {"error", v.error}, {"max_abs", diff_json(v.max_abs)},
          {"max_abs_xnn", diff_json(v.max_abs_xnn)},
          {"outputs", v.outputs}, {"xnnpack_note", v.xnnpack_note}};
}

Verification verification_from(const json& j) {
  Verification v;
  v.original_loads = j.at("original_loads");
  v.optimized_loads = j.at("optimized_loads");
  v.ok = j.at("ok");
  v.compared = j.at("compared");
  v.error = j.at("error");
  v.max_abs = diff_from(j.at("max_abs"));
  v.max_abs_xnn = diff_from(j.at("max_abs_xnn"));
  v.outputs = j.at("outputs");
  v.xnnpack_note = j.at("xnnpack_note");
  return v;
}

// verify() in a child process, so that a crash inside TensorFlow Lite becomes
// a refusal with a message instead of taking the caller down. The child
// reports each stage on a pipe, then the result.
Verification verify_isolated(const std::vector<RunPair>& pairs, const OptimizeOptions& o, bool changed) {
  int fds[2];
  if (pipe(fds) != 0) return verify(pairs, o, changed);
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return verify(pairs, o, changed);
  }
  if (pid == 0) {
    close(fds[0]);
    auto send = [&](const std::string& line) {
      std::string l = line + "\n";
      const char* p = l.data();
      size_t left = l.size();
      while (left > 0) {
        ssize_t w = write(fds[1], p, left);
        if (w <= 0) break;
        p += w;
        left -= static_cast<size_t>(w);
      }
    };
    json out;
    try {
      Verification v = verify(pairs, o, changed, [&](const std::string& st) { send("stage " + st); });
      out = verification_json(v);
    } catch (const std::exception& e) {
      out = {{"exception", e.what()}};
    }
    send("result " + out.dump());
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t r = read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    data.append(buf, static_cast<size_t>(r));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string last_stage = "starting", result;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    std::string line = data.substr(pos, end - pos);
    if (line.rfind("stage ", 0) == 0) last_stage = line.substr(6);
    if (line.rfind("result ", 0) == 0) result = line.substr(7);
    pos = end + 1;
  }
  if (!result.empty()) {
    json j = json::parse(result);
    if (j.contains("exception")) throw Error(j["exception"].get<std::string>());
    return verification_from(j);
  }
  Verification v;
  v.ok = false;
  const bool in_original = last_stage.find("input model") != std::string::npos;
  std::string how = WIFSIGNALED(status) ? std::string("crashed (") + strsignal(WTERMSIG(status)) + ")" : "failed";
  v.error = "TensorFlow Lite " + how + " while " + last_stage;
  if (in_original) v.original_loads = false;
  else v.optimized_loads = false;
  return v;
}

double median_latency_ms(const std::vector<uint8_t>& bytes, const OptimizeOptions& o, bool xnnpack) {
  rt::Interpreter in(bytes, rt::Options{o.threads, xnnpack});
  std::mt19937 rng(o.seed);
  for (int i = 0; i < in.input_count(); ++i) {
    auto b = random_input(in.input_info(i), rng, o);
    in.set_input(i, b.data(), b.size());
  }
  in.invoke();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < o.latency_runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    in.invoke();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

std::vector<uint8_t> extract_subgraph(const std::vector<uint8_t>& bytes, int s) {
  auto m = tfl::read_model(bytes.data(), bytes.size());
  check(s >= 0 && s < static_cast<int>(m->subgraphs.size()), "no subgraph " + std::to_string(s));
  auto keep = std::move(m->subgraphs[s]);
  m->subgraphs.clear();
  m->subgraphs.push_back(std::move(keep));
  std::vector<std::unique_ptr<tfl::SignatureDefT>> sigs;
  for (auto& sd : m->signature_defs)
    if (static_cast<int>(sd->subgraph_index) == s) {
      sd->subgraph_index = 0;
      sigs.push_back(std::move(sd));
    }
  m->signature_defs = std::move(sigs);
  return tfl::write_model(*m);
}

OptimizeResult optimize_model_bytes(const std::vector<uint8_t>& input, const std::string& name,
                                    const OptimizeOptions& o) {
  OptimizeResult res;
  json& rep = res.report;
  rep["input"] = name;
  auto model = tfl::read_model(input.data(), input.size(), name);
  const json before = census_json(input);

  Pipeline pipe(o.passes, o.target);
  res.pipeline = pipe.run_model(model);
  res.changed = res.pipeline.changed;
  json passes_json = json::object();
  for (auto& s : res.pipeline.subgraphs)
    for (auto& [p, k] : s.applied) passes_json[p] = passes_json.value(p, 0) + k;
  std::vector<std::string> pass_names;
  for (auto& p : pipe.passes()) pass_names.push_back(p->name());

  if (res.changed) {
    res.bytes = tfl::write_model(*model);
    tfl::read_model(res.bytes.data(), res.bytes.size(), "optimized model");  // full validation
    if (auto zip = tfl::find_appended_zip(input.data(), input.size())) res.bytes = tfl::append_zip(std::move(res.bytes), *zip);
  } else {
    res.bytes = input;
  }
  const json after = res.changed ? census_json(res.bytes) : before;

  // Why unchanged.
  if (!res.changed) {
    if (!res.pipeline.model_skipped.empty()) {
      res.reason = "unchanged: " + res.pipeline.model_skipped;
    } else {
      std::vector<std::string> why;
      for (auto& s : res.pipeline.subgraphs)
        if (!s.skipped.empty())
          why.push_back((res.pipeline.subgraphs.size() > 1 ? "subgraph " + std::to_string(s.index) + ": " : "") +
                        s.skipped);
      if (why.size() == res.pipeline.subgraphs.size() && !why.empty()) {
        res.reason = "unchanged: " + why[0];
        for (size_t i = 1; i < why.size(); ++i) res.reason += "; " + why[i];
      } else {
        res.reason = "unchanged: no pass found anything to rewrite (no GATHER_ND/GATHER with constant indices, no "
                     "constant index arithmetic, no removable TRANSPOSE/RESHAPE/pad, no dead weight)";
        if (!res.pipeline.notes.empty()) res.reason += "; " + res.pipeline.notes[0];
      }
    }
  } else {
    res.reason = "optimized:";
    for (auto& s : res.pipeline.subgraphs)
      for (auto& [p, k] : s.applied)
        if (res.reason.find(" " + p) == std::string::npos) res.reason += " " + p;
  }

  // Verification.
  json vj;
  vj["runs"] = o.verify;
  if (o.verify > 0) {
    std::vector<RunPair> pairs;
    auto before_model = tfl::read_model(input.data(), input.size());
    const int ns = static_cast<int>(before_model->subgraphs.size());
    const bool multi = ns > 1;
    for (int s = 0; s < ns; ++s) {
      if (multi && before_model->subgraphs[s]->operators.empty()) continue;
      RunPair pr;
      pr.subgraph = s;
      pr.before = multi ? extract_subgraph(input, s) : input;
      if (res.changed) pr.after = multi ? extract_subgraph(res.bytes, s) : res.bytes;
      pairs.push_back(std::move(pr));
      if (!res.changed && !multi) break;
    }
    Verification v = verify_isolated(pairs, o, res.changed);
    vj["original_loads"] = v.original_loads;
    vj["ok"] = v.ok;
    if (res.changed && v.original_loads) vj["optimized_loads"] = v.optimized_loads;
    if (res.changed && v.compared) {
      vj["max_abs_diff"] = diff_json(v.max_abs);
      vj["max_abs_diff_xnnpack"] = diff_json(v.max_abs_xnn);
      vj["outputs"] = v.outputs;
      vj["multi_subgraph"] = multi;
      if (!v.xnnpack_note.empty()) vj["xnnpack_note"] = v.xnnpack_note;
    }
    if (!v.error.empty()) vj["error"] = v.error;
    if (!v.original_loads) {
      res.may_write = false;
      res.refusal = "the input does not load or run in TensorFlow Lite " + rt::Interpreter::library_version() +
                    " (" + v.error + "), so the result cannot be verified; nothing written (--no-verify writes it anyway)";
    } else if (!v.ok) {
      res.may_write = false;
      res.refusal = "verification failed: " + v.error + "; nothing written";
      if (o.target != "default")
        res.refusal += " (the " + o.target + " target's passes change rounding, see --list-passes: a larger --atol, "
                       "or --passes=-NAME to leave out the pass that moves the outputs, may be what you want)";
    } else {
      res.may_write = true;
    }
  } else {
    res.may_write = true;
    vj["skipped"] = true;
  }
  rep["verify"] = vj;

  rep["changed"] = res.changed;
  rep["reason"] = res.reason;
  rep["target"] = o.target;
  rep["passes_run"] = pass_names;
  rep["passes_applied"] = passes_json;
  rep["notes"] = res.pipeline.notes;
  json subs = json::array();
  for (auto& s : res.pipeline.subgraphs) {
    json sj = {{"index", s.index}, {"name", s.name}, {"optimized", s.optimized}, {"applied", s.applied}};
    if (!s.skipped.empty()) sj["skipped"] = s.skipped;
    if (s.index < static_cast<int>(before.size())) {
      sj["ops_before"] = before[s.index]["ops"];
      sj["census_before"] = before[s.index]["op_census"];
    }
    if (s.index < static_cast<int>(after.size())) {
      sj["ops_after"] = after[s.index]["ops"];
      sj["census_after"] = after[s.index]["op_census"];
    }
    subs.push_back(sj);
  }
  rep["subgraphs"] = subs;
  rep["ops"] = {{"before", count_ops(before)}, {"after", count_ops(after)}};
  rep["gather_nd"] = {{"before", count_op(before, "GATHER_ND")}, {"after", count_op(after, "GATHER_ND")}};
  rep["gather"] = {{"before", count_op(before, "GATHER")}, {"after", count_op(after, "GATHER")}};
  rep["transpose"] = {{"before", count_op(before, "TRANSPOSE")}, {"after", count_op(after, "TRANSPOSE")}};
  rep["bytes"] = {{"before", input.size()}, {"after", res.bytes.size()}};

  // Only models that ran cleanly in the (isolated) verification run again here.
  const bool before_ok = o.verify <= 0 || rep["verify"].value("original_loads", false);
  const bool after_ok = !res.changed ? before_ok : (o.verify <= 0 || rep["verify"].value("ok", false));
  if (o.delegation && before_ok) {
    rep["delegation"] = {{"before", analysis::delegation_report(input, o.threads)}};
    rep["delegation"]["after"] = !res.changed ? rep["delegation"]["before"]
                                 : after_ok   ? analysis::delegation_report(res.bytes, o.threads)
                                              : json{{"loads", false}, {"error", "not measured: verification failed"}};
  }
  if (o.latency_runs > 0 && before_ok && after_ok) {
    try {
      const bool xnn = !has_unread_outputs(input) && !has_unread_outputs(res.bytes);
      double tb = median_latency_ms(input, o, xnn);
      double ta = res.changed ? median_latency_ms(res.bytes, o, xnn) : tb;
      rep["latency_ms"] = {{"before", tb}, {"after", ta}, {"speedup", ta > 0 ? tb / ta : 0.0},
                           {"runs", o.latency_runs}, {"threads", o.threads}, {"xnnpack", xnn}};
    } catch (const Error& e) {
      rep["latency_ms"] = {{"error", e.what()}};
    }
  }
  return res;
}

// ---------------------------------------------------------------- text

std::string render_report(const json& r) {
  std::ostringstream s;
  char buf[512];
  s << "sealite optimize: " << r.value("input", std::string()) << "\n";
  s << "  result       " << r.value("reason", std::string()) << "\n";
  if (r.value("target", std::string("default")) != "default")
    s << "  target       " << r["target"].get<std::string>() << "\n";
  if (!r["passes_applied"].empty()) {
    s << "  passes       ";
    bool first = true;
    for (auto& [k, v] : r["passes_applied"].items()) {
      s << (first ? "" : ", ") << k << " x" << v.get<int>();
      first = false;
    }
    s << "\n";
  }
  auto ba = [&](const char* label, const json& j) {
    std::snprintf(buf, sizeof buf, "  %-12s %d -> %d\n", label, j["before"].get<int>(), j["after"].get<int>());
    s << buf;
  };
  ba("ops", r["ops"]);
  ba("GATHER_ND", r["gather_nd"]);
  ba("TRANSPOSE", r["transpose"]);
  std::snprintf(buf, sizeof buf, "  %-12s %zu -> %zu\n", "bytes", r["bytes"]["before"].get<size_t>(),
                r["bytes"]["after"].get<size_t>());
  s << buf;
  const json& v = r["verify"];
  if (v.value("skipped", false)) {
    s << "  verify       skipped (--no-verify)\n";
  } else if (v.contains("max_abs_diff")) {
    std::snprintf(buf, sizeof buf, "  verify       %d input set(s): max |diff| %.3g (built-in kernels), %.3g (XNNPACK) -> %s\n",
                  v["runs"].get<int>(), diff_from(v["max_abs_diff"]), diff_from(v["max_abs_diff_xnnpack"]),
                  v.value("ok", false) ? "OK" : "FAILED");
    s << buf;
  } else if (v.contains("original_loads")) {
    s << "  verify       " << (v["original_loads"].get<bool>() ? "the model loads in TensorFlow Lite" : "the model does not load")
      << "\n";
  }
  if (v.contains("error")) s << "               " << v["error"].get<std::string>() << "\n";
  if (v.contains("xnnpack_note")) s << "               " << v["xnnpack_note"].get<std::string>() << "\n";
  if (r.contains("delegation")) {
    auto d = [&](const json& j) -> std::string {
      if (!j.value("loads", false)) return "does not load";
      std::snprintf(buf, sizeof buf, "%d partition(s), %d of %d nodes delegated", j["partitions"].get<int>(),
                    j["delegated_nodes"].get<int>(), j["nodes"].get<int>());
      std::string out = buf;
      if (!j["builtin_ops"].empty()) {
        out += "; built-in:";
        for (auto& [k, c] : j["builtin_ops"].items()) out += " " + k + "x" + std::to_string(c.get<int>());
      }
      return out;
    };
    s << "  XNNPACK      before: " << d(r["delegation"]["before"]) << "\n";
    s << "               after:  " << d(r["delegation"]["after"]) << "\n";
  }
  if (r.contains("latency_ms")) {
    const json& l = r["latency_ms"];
    if (l.contains("error")) {
      s << "  latency      " << l["error"].get<std::string>() << "\n";
    } else {
      std::snprintf(buf, sizeof buf, "  latency      %.3f ms -> %.3f ms (x%.2f; median of %d, %s, %d thread(s))\n",
                    l["before"].get<double>(), l["after"].get<double>(), l["speedup"].get<double>(),
                    l["runs"].get<int>(), l.value("xnnpack", false) ? "XNNPACK" : "built-in kernels",
                    l["threads"].get<int>());
      s << buf;
    }
  }
  // op census side by side
  std::map<std::string, std::pair<int, int>> census;
  for (auto& sj : r["subgraphs"]) {
    if (sj.contains("census_before"))
      for (auto& [k, c] : sj["census_before"].items()) census[k].first += c.get<int>();
    if (sj.contains("census_after"))
      for (auto& [k, c] : sj["census_after"].items()) census[k].second += c.get<int>();
  }
  if (!census.empty()) {
    s << "\n  op census                     before   after\n";
    for (auto& [k, c] : census) {
      std::snprintf(buf, sizeof buf, "  %-28s %6d  %6d%s\n", k.c_str(), c.first, c.second, c.first != c.second ? "  *" : "");
      s << buf;
    }
  }
  for (auto& sj : r["subgraphs"])
    if (sj.contains("skipped"))
      s << "\n  subgraph " << sj["index"].get<int>() << " '" << sj["name"].get<std::string>()
        << "' left unchanged: " << sj["skipped"].get<std::string>() << "\n";
  if (!r["notes"].empty()) {
    s << "\n  left alone:\n";
    for (auto& n : r["notes"]) s << "    - " << n.get<std::string>() << "\n";
  }
  return s.str();
}

}  // namespace sealite::passes
