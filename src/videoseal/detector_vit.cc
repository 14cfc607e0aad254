// The VideoSeal 0.0 ViT detector (see detector_vit.h for the lowering).
//
// Measurements behind the choices (TFLite 2.9 C library of this repo, XNNPACK,
// this 2-core AVX-512 VM while otherwise idle; full-size videoseal_0.0 shapes,
// random weights; medians of 20 unless noted):
//  - single ops, 1 / 2 threads: FULLY_CONNECTED 256x384 -> 1152 (XNNPACK) 1.12 /
//    0.59 ms. BATCH_MATMUL [6,256,64]x[6,256,64]^T 1.05 / 1.05 ms; a
//    FULLY_CONNECTED with run-time weights or a CONV_2D with a run-time filter
//    runs at the same rate: the 2.9 delegate takes none of them and the
//    built-in GEMMs stay single-threaded, so attention's products cost the same
//    in either form. SOFTMAX [6,256,256] 0.23 / 0.13 ms (XNNPACK). GELU
//    [256,1536] 0.32 / 0.32 ms (built-in). TRANSPOSE [256,6,64] -> [6,256,64]
//    0.026 ms but -> [6,64,256] (moving the innermost axis) 0.27 ms, so v is not
//    pre-transposed for adj_y (BATCH_MATMUL's own transpose of it costs 0.1 ms).
//  - one block, every attention variant (process CPU time, 1 thread, min of 30):
//    windowed 7.4-7.7 ms, global 9.5-9.8 ms; the spread is noise. The six
//    FULLY_CONNECTED of a block alone: 4.4 ms.
//  - whole detector, 1 / 2 threads: defaults 99.1 / 68.2 ms (605 ops, 46
//    partitions, 105 built-in nodes); rel_w as transposed BATCH_MATMUL 100.4 /
//    70.5 (617 ops, 141 built-in); attention as FULLY_CONNECTED 100.2 / 69.5
//    (1145 ops, 597 built-in); scores on q rows 99.5 / 67.4 (58 partitions);
//    GELU as the XNNPACK erf polynomial 113.0 / 80.9 (1008 ops).
// The attention variants cost the same within noise, so the defaults are the
// forms with the most XNNPACK coverage and the fewest ops and TRANSPOSEs:
// BATCH_MATMUL attention, rel_w as a block-diagonal FULLY_CONNECTED (56 TRANSPOSE
// instead of 80: window partition and heads only; +4.8 MB of constants), scores
// on the q grid (no RESHAPE between built-in ops).
#include "videoseal/detector_vit.h"

#include <cmath>
#include <numeric>

#include "core/error.h"

namespace sealite::vs {
namespace {

using Shape = std::vector<int32_t>;
using I64 = std::vector<int64_t>;

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// Geometry of the encoder, checked once.
struct Geo {
  int img = 256, patch = 16, grid = 16;  // grid = img / patch
  int dim = 384, heads = 6, head_dim = 64, mlp = 1536, out_chans = 256, depth = 12;
  int window = 8;
  std::vector<int> global;
  bool qkv_bias = true, rel_pos = true;
  int nbits = 96;
  std::vector<int> upscale;
  // Window size of a block, 0 for global attention.
  int window_of(int block) const {
    for (int g : global)
      if (g == block) return 0;
    return window == grid ? 0 : window;  // one unpadded window over the grid is global attention
  }
  // Grid padded (bottom/right, zeros) to a multiple of the window, as torch's window_partition.
  int padded_grid(int w) const { return w ? (grid + w - 1) / w * w : grid; }
  // The layout the token stream is kept in around a block: its window size when
  // the windows tile the grid, else 0 (raster; a padded block pads its own input).
  int stream_window(int block) const {
    int w = window_of(block);
    return w && grid % w == 0 ? w : 0;
  }
};

Geo geometry(const Card& card) {
  const auto& v = card.vit;
  Geo g;
  g.img = v.img_size;
  g.patch = v.patch_size;
  g.dim = v.embed_dim;
  g.heads = v.num_heads;
  g.depth = v.depth;
  g.out_chans = v.out_chans;
  g.window = v.window_size;
  g.global = v.global_attn_indexes;
  g.qkv_bias = v.qkv_bias;
  g.rel_pos = v.use_rel_pos;
  g.mlp = static_cast<int>(v.embed_dim * v.mlp_ratio);
  g.nbits = card.nbits;
  g.upscale = card.pixel_decoder.upscale_stages;
  auto bad = [&](const std::string& m) { throw Error("ViT detector (card '" + card.name + "'): " + m); };
  if (g.img <= 0 || g.patch <= 0 || g.img % g.patch != 0)
    bad("img_size " + std::to_string(g.img) + " is not a multiple of patch_size " + std::to_string(g.patch));
  g.grid = g.img / g.patch;
  if (g.dim <= 0 || g.heads <= 0 || g.dim % g.heads != 0)
    bad("embed_dim " + std::to_string(g.dim) + " is not a multiple of num_heads " + std::to_string(g.heads));
  g.head_dim = g.dim / g.heads;
  if (g.depth <= 0) bad("depth must be positive");
  if (g.mlp <= 0) bad("mlp_ratio gives an empty MLP");
  if (g.out_chans <= 0) bad("out_chans must be positive");
  for (int b = 0; b < g.depth; ++b) {
    int w = g.window_of(b);
    if (w < 0) bad("negative window_size");
  }
  if (g.nbits <= 0) bad("nbits must be positive");
  const auto& pd = card.pixel_decoder;
  if (pd.pixelwise) bad("pixelwise pixel decoders are not supported (the detector contract outputs [1,1+nbits])");
  if (pd.embed_dim != g.out_chans)
    bad("pixel_decoder.embed_dim " + std::to_string(pd.embed_dim) + " != encoder out_chans " +
        std::to_string(g.out_chans));
  if (g.upscale.empty()) bad("pixel_decoder.upscale_stages is empty");
  int c = g.out_chans;
  for (int f : g.upscale) {
    if (f <= 0 || c % f != 0) bad("bad upscale stage " + std::to_string(f));
    if (f != 1 && pd.upscale_type != "bilinear")
      bad("upscale_type '" + pd.upscale_type + "' is not supported (bilinear only)");
    c /= f;
  }
  return g;
}

std::string norm_prefix(const std::string& p) {
  if (p.empty() || p.back() == '.') return p;
  return p + ".";
}

// Everything the builders share.
struct Ctx {
  Layers& L;
  const ckpt::Checkpoint& ck;
  std::string pre;  // e.g. "detector."
  Geo geo;
  VitOptions opt;

  std::vector<float> get(const std::string& key, const I64& shape) const { return ck.get(pre + key, shape); }
  std::string blk(int i) const { return "image_encoder.blocks." + std::to_string(i) + "."; }

  // ---- private op helpers (shapes computed here; ranks <= 5)
  int reshape(int x, Shape s, const std::string& name = "reshape") {
    auto in = L.shape(x);
    if (in == s) return x;
    if (numel(in) != numel(s)) throw Error("internal: reshape " + shape_str(in) + " -> " + shape_str(s));
    return L.reshape(x, std::move(s), name);
  }
  // TRANSPOSE with the op version TFLite gives it (4 for 5-D, 1 otherwise).
  int transpose(int x, Shape perm, const std::string& name = "transpose") {
    auto in = L.shape(x);
    if (in.size() != perm.size() || in.size() > 5) throw Error("internal: bad transpose");
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int32_t>(i);
    if (identity) return x;
    Shape out(in.size());
    for (size_t i = 0; i < perm.size(); ++i) out[i] = in[perm[i]];
    int p = L.constant_i32(name + "_perm", {static_cast<int32_t>(perm.size())}, perm);
    int y = L.new_tensor(name, out);
    tfl::BuiltinOptionsUnion u;
    u.Set(tfl::TransposeOptionsT{});
    L.op(tfl::BuiltinOperator_TRANSPOSE, {x, p}, {y}, std::move(u), in.size() > 4 ? 4 : 1);
    return y;
  }
  // BATCH_MATMUL with NumPy broadcasting of the batch dims (ranks 2..4: TFLite
  // 2.9's kernel refuses rank 5).
  int bmm(int a, int b, bool adj_a, bool adj_b, const std::string& name = "bmm") {
    auto sa = L.shape(a), sb = L.shape(b);
    if (sa.size() < 2 || sb.size() < 2 || sa.size() > 4 || sb.size() > 4) throw Error("internal: bmm rank");
    Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    size_t r = std::max(ba.size(), bb.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
      int da = i + ba.size() >= r ? ba[i + ba.size() - r] : 1;
      int db = i + bb.size() >= r ? bb[i + bb.size() - r] : 1;
      if (da != db && da != 1 && db != 1) throw Error("internal: bmm batch dims");
      out[i] = std::max(da, db);
    }
    int m = adj_a ? sa.back() : sa[sa.size() - 2];
    int ka = adj_a ? sa[sa.size() - 2] : sa.back();
    int kb = adj_b ? sb.back() : sb[sb.size() - 2];
    int n = adj_b ? sb[sb.size() - 2] : sb.back();
    if (ka != kb) throw Error("internal: bmm inner dims");
    out.push_back(m);
    out.push_back(n);
    int y = L.new_tensor(name, out);
    tfl::BatchMatMulOptionsT o;
    o.adj_x = adj_a;
    o.adj_y = adj_b;
    tfl::BuiltinOptionsUnion u;
    u.Set(std::move(o));
    L.op(tfl::BuiltinOperator_BATCH_MATMUL, {a, b}, {y}, std::move(u));
    return y;
  }
  // FULLY_CONNECTED with run-time weights w [n, k]: x [m, k] -> [m, n] (no bias).
  int fc_dynamic(int x, int w, const std::string& name = "fc") {
    auto sx = L.shape(x), sw = L.shape(w);
    int y = L.new_tensor(name, {sx[0], sw[0]});
    tfl::BuiltinOptionsUnion u;
    u.Set(tfl::FullyConnectedOptionsT{});
    L.op(tfl::BuiltinOperator_FULLY_CONNECTED, {x, w, -1}, {y}, std::move(u));
    return y;
  }
  // SPLIT along axis 0 into n equal parts.
  std::vector<int> split0(int x, int n, const std::string& name = "split") {
    if (n == 1) return {x};
    auto s = L.shape(x);
    if (s[0] % n != 0) throw Error("internal: split");
    Shape ps = s;
    ps[0] /= n;
    std::vector<int> outs;
    for (int i = 0; i < n; ++i) outs.push_back(L.new_tensor(name + "_" + std::to_string(i), ps));
    int32_t axis = 0;
    int ax = L.constant_i32(name + "_axis", {}, std::span<const int32_t>(&axis, 1));
    tfl::SplitOptionsT o;
    o.num_splits = n;
    tfl::BuiltinOptionsUnion u;
    u.Set(std::move(o));
    L.op(tfl::BuiltinOperator_SPLIT, {ax, x}, outs, std::move(u));
    return outs;
  }
  int concat0(const std::vector<int>& xs, const std::string& name = "concat") {
    if (xs.size() == 1) return xs[0];
    return L.concat(xs, 0, name);
  }
};

// Window layout: "window-inner" [S, S, nW, D] (token (i, j) of window w at
// [i, j, w]); with heads split off the channels, (window, head) are adjacent and
// one TRANSPOSE brings them to the front as the batch of the attention matmuls.
// Window w = wh*nWw + ww (torch's window order).
int window_partition(Ctx& c, int x, int S) {
  int G = c.L.dim(x, 1), D = c.geo.dim, n = G / S;  // G: the (padded) grid of x [1, G, G, D]
  if (n == 1) return x;
  int r = c.reshape(x, {n, S, n, S, D}, "win_split");  // [nWh, i, nWw, j, D]
  int t = c.transpose(r, {1, 3, 0, 2, 4}, "win_partition");  // [i, j, nWh, nWw, D]
  return c.reshape(t, {S, S, n * n, D}, "windows");
}

int window_unpartition(Ctx& c, int x, int S, int G) {
  int D = c.geo.dim, n = G / S;  // G: the (padded) grid
  if (n == 1) return x;
  int r = c.reshape(x, {S, S, n, n, D}, "win_grid");           // [i, j, nWh, nWw, D]
  int t = c.transpose(r, {2, 0, 3, 1, 4}, "win_unpartition");  // [nWh, i, nWw, j, D]
  return c.reshape(t, {1, G, G, D}, "tokens");
}

// Relative position table gathered at conversion time: R[i][k][c] = rel_pos[i - k + S - 1][c].
std::vector<float> rel_table(const std::vector<float>& rel_pos, int S, int hd) {
  std::vector<float> r(static_cast<size_t>(S) * S * hd);
  for (int i = 0; i < S; ++i)
    for (int k = 0; k < S; ++k)
      for (int ch = 0; ch < hd; ++ch)
        r[(static_cast<size_t>(i) * S + k) * hd + ch] = rel_pos[static_cast<size_t>(i - k + S - 1) * hd + ch];
  return r;
}

// Multi-head attention on tokens in window-inner order (i, j, w): x is
// [S, S, nW, D] for windowed blocks or [1, G, G, D] (= nW 1, S G) for global
// ones. Returns the same shape (after proj).
//
// B = nW*nh (window, head) pairs, T = S*S tokens per window. The TFLite 2.9
// BATCH_MATMUL takes rank <= 4, so:
//   q4 [B, S(i), S(j), hd], k4 [B, 1, T, hd], v3 [B, T, hd]   (one TRANSPOSE each)
//   scores = q4 k4^T -> [B, S(i), S(j), T] (= [B, T, T]; k broadcast over i)
//   rel_h  = q4 Rh^T -> [B, S(i), S(j), S(kh)]  (Rh [S(i), S(kh), hd] broadcast over B)
//   rel_w  : see VitOptions::RelW
// With the defaults every RESHAPE sits next to an XNNPACK op (no lone one
// between built-in ops, which would be a one-node XNNPACK partition).
int attention_windows(Ctx& c, int block, int x, int S, int nW) {
  auto& L = c.L;
  const Geo& g = c.geo;
  const int D = g.dim, nh = g.heads, hd = g.head_dim, T = S * S, B = nW * nh;
  const std::string k = c.blk(block) + "attn.";
  const Shape x_shape = L.shape(x);
  Layers::Scope scope(L, "attn");

  auto wqkv = c.get(k + "qkv.weight", {3 * D, D});
  std::vector<float> bqkv;
  if (g.qkv_bias) bqkv = c.get(k + "qkv.bias", {3 * D});
  auto rows = [&](int part) {
    return std::vector<float>(wqkv.begin() + static_cast<size_t>(part) * D * D,
                              wqkv.begin() + static_cast<size_t>(part + 1) * D * D);
  };
  auto bias = [&](int part) {
    if (bqkv.empty()) return std::vector<float>{};
    return std::vector<float>(bqkv.begin() + static_cast<size_t>(part) * D,
                              bqkv.begin() + static_cast<size_t>(part + 1) * D);
  };
  // scale folded into k: (q*s) k^T == q (s k)^T; exact when s is a power of two.
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  auto wq = rows(0), wk = rows(1), wv = rows(2);
  auto bq = bias(0), bk = bias(1), bv = bias(2);
  for (auto& w : wk) w = static_cast<float>(w * scale);
  for (auto& b : bk) b = static_cast<float>(b * scale);

  int q = L.linear(x, wq, D, bq, Act::none, "q");
  int kk = L.linear(x, wk, D, bk, Act::none, "k");
  int v = L.linear(x, wv, D, bv, Act::none, "v");

  // [S, S, B, hd] -> [B, S(i), S(j), hd]
  int q_grid = c.reshape(q, {S, S, B, hd}, "q_split_heads");
  int q4 = c.transpose(q_grid, {2, 0, 1, 3}, "q_heads");
  // v as [B, T, hd] (not pre-transposed to [B, hd, T] for adj_y: that TRANSPOSE
  // moves the innermost axis and costs 0.27 ms, BATCH_MATMUL's own transpose of
  // its right operand 0.1 ms; global block, 1 thread).
  int v3 = c.transpose(c.reshape(v, {T, B, hd}, "v_split_heads"), {1, 0, 2}, "v_heads");  // [B,T,hd]

  const bool fc_attn = c.opt.attn_matmul == VitOptions::AttnMatmul::fully_connected;
  const bool q_rows = c.opt.scores == VitOptions::Scores::q_rows;
  int scores;  // [B, S, S, T] or [B, T, T] or [B*T, T]
  if (!fc_attn) {
    if (q_rows) {
      // B products of [T, hd] x [T, hd]^T (q4 viewed as rows)
      int k3 = c.transpose(c.reshape(kk, {T, B, hd}, "k_split_heads"), {1, 0, 2}, "k_heads");  // [B,T,hd]
      scores = c.bmm(c.reshape(q4, {B, T, hd}, "q_rows"), k3, false, true, "scores");
    } else {
      // B*S products of [S, hd] x [T, hd]^T, k broadcast over the query rows i
      int k4 = c.transpose(c.reshape(kk, {1, T, B, hd}, "k_split_heads"), {2, 0, 1, 3}, "k_heads");  // [B,1,T,hd]
      scores = c.bmm(q4, k4, false, true, "scores");
    }
  } else {
    int k3 = c.transpose(c.reshape(kk, {T, B, hd}, "k_split_heads"), {1, 0, 2}, "k_heads");  // [B,T,hd]
    auto qs = c.split0(c.reshape(q4, {B * T, hd}, "q_rows"), B, "q_part");
    auto ks = c.split0(c.reshape(k3, {B * T, hd}, "k_rows"), B, "k_part");
    std::vector<int> parts;
    for (int p = 0; p < B; ++p) parts.push_back(c.fc_dynamic(qs[p], ks[p], "scores_" + std::to_string(p)));
    scores = c.concat0(parts, "scores");
  }

  if (g.rel_pos) {
    auto rph = c.get(k + "rel_pos_h", {2 * S - 1, hd});
    auto rpw = c.get(k + "rel_pos_w", {2 * S - 1, hd});
    auto Rh = rel_table(rph, S, hd), Rw = rel_table(rpw, S, hd);
    // rel_h[b,i,j,kh] = q[b,i,j,:] . Rh[i,kh,:]: batched over i, Rh broadcast over (window, head)
    int rh_t = L.constant("rel_h_table", {1, S, S, hd}, Rh);
    int rel_h = c.bmm(q4, rh_t, false, true, "rel_h");  // [B, S(i), S(j), S(kh)]
    int rel_w;
    if (c.opt.rel_w == VitOptions::RelW::bmm_transposed) {
      // batched over j: q with the two spatial axes swapped, the result swapped back
      int qt = c.transpose(q_grid, {2, 1, 0, 3}, "q_heads_t");  // [B, S(j), S(i), hd]
      int rw_t = L.constant("rel_w_table", {1, S, S, hd}, Rw);
      int rwT = c.bmm(qt, rw_t, false, true, "rel_w_t");      // [B, S(j), S(i), S(kw)]
      rel_w = c.transpose(rwT, {0, 2, 1, 3}, "rel_w");         // [B, S(i), S(j), S(kw)]
    } else {
      // rows (b, i), columns (j, c) times a block-diagonal constant (block j = Rw[j]^T)
      std::vector<float> bd(static_cast<size_t>(S) * S * S * hd, 0.f);
      for (int j = 0; j < S; ++j)
        for (int kw = 0; kw < S; ++kw)
          for (int ch = 0; ch < hd; ++ch)
            bd[(static_cast<size_t>(j) * S + kw) * (static_cast<size_t>(S) * hd) + static_cast<size_t>(j) * hd + ch] =
                Rw[(static_cast<size_t>(j) * S + kw) * hd + ch];
      int q2 = c.reshape(q4, {B * S, S * hd}, "q_rows_i");
      rel_w = L.linear(q2, bd, S * S, {}, Act::none, "rel_w");  // [B*S(i), S(j)*S(kw)]
    }
    // attn[(b,i,j), kh, kw] + rel_h[(b,i,j), kh, 1] + rel_w[(b,i,j), 1, kw]  (torch's order)
    int a = c.reshape(scores, {B * T, S, S}, "scores_grid");
    a = L.add(a, c.reshape(rel_h, {B * T, S, 1}, "rel_h_b"), Act::none, "add_rel_h");
    a = L.add(a, c.reshape(rel_w, {B * T, 1, S}, "rel_w_b"), Act::none, "add_rel_w");
    scores = a;
  }

  int out;  // [B, T, hd]
  if (!fc_attn) {
    int probs = L.softmax(c.reshape(scores, {B, T, T}, "logits"), 1.f, "softmax");
    out = c.bmm(probs, v3, false, false, "attn_v");
  } else {
    int probs = L.softmax(c.reshape(scores, {B * T, T}, "logits"), 1.f, "softmax");
    auto ps = c.split0(probs, B, "p_part");
    int vT = c.transpose(v3, {0, 2, 1}, "v_t");  // [B, hd, T]: the run-time weights of the FCs
    auto vs = c.split0(c.reshape(vT, {B * hd, T}, "v_rows"), B, "v_part");
    std::vector<int> parts;
    for (int p = 0; p < B; ++p) parts.push_back(c.fc_dynamic(ps[p], vs[p], "attn_v_" + std::to_string(p)));
    out = c.reshape(c.concat0(parts, "attn_v"), {B, T, hd}, "attn_v_heads");
  }
  int merged = c.transpose(out, {1, 0, 2}, "merge_heads");  // [T, B, hd] = tokens (i, j, w) x (h, c)
  merged = c.reshape(merged, x_shape, "attn_tokens");
  auto wp = c.get(k + "proj.weight", {D, D});
  auto bp = c.get(k + "proj.bias", {D});
  return L.linear(merged, wp, D, bp, Act::none, "proj");
}

// Attention of a block whose windows need padding: raster [1,G,G,D] in and out
// (zero PAD to the padded grid, partition, attention, unpartition, SLICE back).
int padded_window_attention(Ctx& c, int block, int xn) {
  const Geo& g = c.geo;
  const int w = g.window_of(block), Gp = g.padded_grid(w), n = Gp / w;
  int xp = c.L.pad(xn, {{0, 0}, {0, Gp - g.grid}, {0, Gp - g.grid}, {0, 0}}, "win_pad");
  int a = attention_windows(c, block, window_partition(c, xp, w), w, n * n);
  a = window_unpartition(c, a, w, Gp);
  return c.L.slice(a, {0, 0, 0, 0}, {1, g.grid, g.grid, g.dim}, "win_crop");
}

// One block on tokens in its stream layout (Geo::stream_window): [S,S,nW,D]
// window-inner, or raster [1,G,G,D].
int block_body(Ctx& c, int block, int x) {
  auto& L = c.L;
  const Geo& g = c.geo;
  const int D = g.dim;
  const std::string k = c.blk(block);
  Layers::Scope scope(L, "block" + std::to_string(block));
  const int w = g.window_of(block);

  auto n1w = c.get(k + "norm1.weight", {D}), n1b = c.get(k + "norm1.bias", {D});
  int xn = L.layer_norm(x, n1w, n1b, 1e-5, "norm1");
  int a;
  if (w == 0)
    a = attention_windows(c, block, xn, g.grid, 1);
  else if (g.stream_window(block) == w)
    a = attention_windows(c, block, xn, w, (g.grid / w) * (g.grid / w));
  else
    a = padded_window_attention(c, block, xn);
  x = L.add(x, a, Act::none, "residual1");

  auto n2w = c.get(k + "norm2.weight", {D}), n2b = c.get(k + "norm2.bias", {D});
  int h = L.layer_norm(x, n2w, n2b, 1e-5, "norm2");
  auto w1 = c.get(k + "mlp.lin1.weight", {g.mlp, D}), b1 = c.get(k + "mlp.lin1.bias", {g.mlp});
  auto w2 = c.get(k + "mlp.lin2.weight", {D, g.mlp}), b2 = c.get(k + "mlp.lin2.bias", {D});
  h = L.linear(h, w1, g.mlp, b1, Act::none, "lin1");
  h = L.gelu(h);
  h = L.linear(h, w2, D, b2, Act::none, "lin2");
  return L.add(x, h, Act::none, "residual2");
}

int patch_embed_impl(Ctx& c, int image) {
  auto& L = c.L;
  const Geo& g = c.geo;
  auto s = L.shape(image);
  if (s != Shape{1, g.img, g.img, 3})
    throw Error("ViT detector: the image tensor is " + shape_str(s) + ", expected " +
                shape_str({1, g.img, g.img, 3}));
  Layers::Scope scope(L, "patch_embed");
  int x = L.add_scalar(L.mul_scalar(image, 2.f, "x2"), -1.f, "preprocess");  // x*2-1, as torch
  auto w = c.get("image_encoder.patch_embed.proj.weight", {g.dim, 3, g.patch, g.patch});
  auto b = c.get("image_encoder.patch_embed.proj.bias", {g.dim});
  return L.conv2d(x, w, g.dim, g.patch, g.patch, b, ConvParams::strided(g.patch), Act::none, "proj");
}

int pos_embed_impl(Ctx& c, int x) {
  const Geo& g = c.geo;
  auto pe = c.get("image_encoder.pos_embed", {1, g.grid, g.grid, g.dim});
  int t = c.L.constant("image_encoder/pos_embed", {1, g.grid, g.grid, g.dim}, pe);
  return c.L.add(x, t, Act::none, "image_encoder/add_pos_embed");
}

int neck_impl(Ctx& c, int x) {
  auto& L = c.L;
  const Geo& g = c.geo;
  const int C = g.out_chans;
  Layers::Scope scope(L, "neck");
  auto w0 = c.get("image_encoder.neck.0.weight", {C, g.dim, 1, 1});
  x = L.pointwise(x, w0, C, {}, Act::none, "conv1x1");
  auto g1 = c.get("image_encoder.neck.1.weight", {C}), b1 = c.get("image_encoder.neck.1.bias", {C});
  x = L.layer_norm(x, g1, b1, 1e-6, "ln1");
  auto w2 = c.get("image_encoder.neck.2.weight", {C, C, 3, 3});
  x = L.conv2d(x, w2, C, 3, 3, {}, ConvParams::same(3), Act::none, "conv3x3");
  auto g3 = c.get("image_encoder.neck.3.weight", {C}), b3 = c.get("image_encoder.neck.3.bias", {C});
  return L.layer_norm(x, g3, b3, 1e-6, "ln2");
}

int upscaling_impl(Ctx& c, int x) {
  auto& L = c.L;
  const Geo& g = c.geo;
  int C = g.out_chans;
  Layers::Scope scope(L, "pixel_decoder");
  for (size_t s = 0; s < g.upscale.size(); ++s) {
    const int f = g.upscale[s], Co = C / f;
    const std::string k = "pixel_decoder.output_upscaling." + std::to_string(s) + ".upsample_block.";
    Layers::Scope st(L, "up" + std::to_string(s));
    if (f != 1) x = L.resize_bilinear(x, L.dim(x, 1) * f, L.dim(x, 2) * f, false, true, "upsample");
    // f == 1: nn.Upsample(scale_factor=1, bilinear, align_corners=False) is the identity.
    x = L.reflect_pad1(x, "reflect_pad");
    auto w = c.get(k + "2.weight", {Co, C, 3, 3});
    x = L.conv2d(x, w, Co, 3, 3, {}, ConvParams{}, Act::none, "conv3x3");
    auto lw = c.get(k + "3.weight", {Co}), lb = c.get(k + "3.bias", {Co});
    x = L.layer_norm(x, lw, lb, 1e-6, "ln");
    x = L.gelu(x);
    C = Co;
  }
  return x;
}

int head_impl(Ctx& c, int x) {
  auto& L = c.L;
  const Geo& g = c.geo;
  const int C = L.channels(x), n = 1 + g.nbits;
  Layers::Scope scope(L, "pixel_decoder");
  int m = L.mean_hw(x, false, "mean_hw");  // [1, C]
  auto w = c.get("pixel_decoder.linear.weight", {n, C});
  auto b = c.get("pixel_decoder.linear.bias", {n});
  int y = L.linear(m, w, n, b, Act::none, "linear");
  // (L.shape(y) is [1, n])
  return y;
}

Ctx make_ctx(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
             const VitOptions& opt) {
  return Ctx{L, ck, norm_prefix(prefix), geometry(card), opt};
}

}  // namespace

int build_vit_detector(graph::Graph& g, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                       int image_input_tensor) {
  Layers L(g);
  return build_vit_detector(L, ck, prefix, card, image_input_tensor, VitOptions{});
}

int build_vit_detector(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card,
                       int image_input_tensor, const VitOptions& opt) {
  Ctx c = make_ctx(L, ck, prefix, card, opt);
  Layers::Scope scope(L, "detector");
  int x = patch_embed_impl(c, image_input_tensor);
  x = pos_embed_impl(c, x);
  // The token stream stays in window order across consecutive windowed blocks.
  const int G = c.geo.grid;
  int layout_window = 0;  // 0: raster [1,G,G,D]; S: window-inner [S,S,nW,D]
  for (int b = 0; b < c.geo.depth; ++b) {
    const int w = c.geo.stream_window(b);
    if (w != layout_window) {
      if (layout_window) x = window_unpartition(c, x, layout_window, G);
      if (w) x = window_partition(c, x, w);
      layout_window = w;
    }
    x = block_body(c, b, x);
  }
  if (layout_window) x = window_unpartition(c, x, layout_window, G);
  x = neck_impl(c, x);
  x = upscaling_impl(c, x);
  return head_impl(c, x);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> vit_detector_param_shapes(const Card& card,
                                                                                    const std::string& prefix) {
  const Geo g = geometry(card);
  const std::string p = norm_prefix(prefix);
  std::vector<std::pair<std::string, I64>> r;
  auto add = [&](const std::string& k, I64 s) { r.emplace_back(p + k, std::move(s)); };
  const int64_t D = g.dim, hd = g.head_dim;
  add("image_encoder.pos_embed", {1, g.grid, g.grid, D});
  add("image_encoder.patch_embed.proj.weight", {D, 3, g.patch, g.patch});
  add("image_encoder.patch_embed.proj.bias", {D});
  for (int b = 0; b < g.depth; ++b) {
    const std::string k = "image_encoder.blocks." + std::to_string(b) + ".";
    const int64_t S = g.window_of(b) > 0 ? g.window_of(b) : g.grid;
    add(k + "norm1.weight", {D});
    add(k + "norm1.bias", {D});
    if (g.rel_pos) {
      add(k + "attn.rel_pos_h", {2 * S - 1, hd});
      add(k + "attn.rel_pos_w", {2 * S - 1, hd});
    }
    add(k + "attn.qkv.weight", {3 * D, D});
    if (g.qkv_bias) add(k + "attn.qkv.bias", {3 * D});
    add(k + "attn.proj.weight", {D, D});
    add(k + "attn.proj.bias", {D});
    add(k + "norm2.weight", {D});
    add(k + "norm2.bias", {D});
    add(k + "mlp.lin1.weight", {g.mlp, D});
    add(k + "mlp.lin1.bias", {g.mlp});
    add(k + "mlp.lin2.weight", {D, g.mlp});
    add(k + "mlp.lin2.bias", {D});
  }
  const int64_t C = g.out_chans;
  add("image_encoder.neck.0.weight", {C, D, 1, 1});
  add("image_encoder.neck.1.weight", {C});
  add("image_encoder.neck.1.bias", {C});
  add("image_encoder.neck.2.weight", {C, C, 3, 3});
  add("image_encoder.neck.3.weight", {C});
  add("image_encoder.neck.3.bias", {C});
  int64_t c = C;
  for (size_t s = 0; s < g.upscale.size(); ++s) {
    const std::string k = "pixel_decoder.output_upscaling." + std::to_string(s) + ".upsample_block.";
    const int64_t co = c / g.upscale[s];
    add(k + "2.weight", {co, c, 3, 3});
    add(k + "3.weight", {co});
    add(k + "3.bias", {co});
    c = co;
  }
  add("pixel_decoder.linear.weight", {1 + g.nbits, c});
  add("pixel_decoder.linear.bias", {1 + g.nbits});
  return r;
}

namespace vit_parts {

int patch_embed(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int image) {
  Ctx c = make_ctx(L, ck, prefix, card, {});
  return patch_embed_impl(c, image);
}

int add_pos_embed(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x) {
  Ctx c = make_ctx(L, ck, prefix, card, {});
  return pos_embed_impl(c, x);
}

int block(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int index, int x,
          const VitOptions& opt) {
  Ctx c = make_ctx(L, ck, prefix, card, opt);
  if (index < 0 || index >= c.geo.depth) throw Error("ViT detector: no block " + std::to_string(index));
  const int w = c.geo.stream_window(index);
  if (w) x = window_partition(c, x, w);
  x = block_body(c, index, x);
  if (w) x = window_unpartition(c, x, w, c.geo.grid);
  return x;
}

int attention(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int index, int xn,
              const VitOptions& opt) {
  Ctx c = make_ctx(L, ck, prefix, card, opt);
  if (index < 0 || index >= c.geo.depth) throw Error("ViT detector: no block " + std::to_string(index));
  const int G = c.geo.grid;
  const int w = c.geo.window_of(index);
  if (!w) return attention_windows(c, index, xn, G, 1);
  const int Gp = c.geo.padded_grid(w), n = Gp / w;
  if (Gp != G) xn = c.L.pad(xn, {{0, 0}, {0, Gp - G}, {0, Gp - G}, {0, 0}}, "win_pad");
  xn = window_partition(c, xn, w);
  int y = attention_windows(c, index, xn, w, n * n);  // [S, S, nW, D]
  return c.transpose(y, {2, 0, 1, 3}, "windows_first");  // [nW, S, S, D], the hook's layout
}

int neck(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x) {
  Ctx c = make_ctx(L, ck, prefix, card, {});
  return neck_impl(c, x);
}

int pixel_upscaling(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x) {
  Ctx c = make_ctx(L, ck, prefix, card, {});
  return upscaling_impl(c, x);
}

int pixel_head(Layers& L, const ckpt::Checkpoint& ck, const std::string& prefix, const Card& card, int x) {
  Ctx c = make_ctx(L, ck, prefix, card, {});
  return head_impl(c, x);
}

}  // namespace vit_parts
}  // namespace sealite::vs
