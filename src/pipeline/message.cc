#include "pipeline/message.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"

namespace sealite::pipeline {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<uint8_t> random_bits(uint64_t seed, int nbits) {
  std::vector<uint8_t> bits(static_cast<size_t>(nbits));
  uint64_t state = seed, word = 0;
  for (int k = 0; k < nbits; ++k) {
    if (k % 64 == 0) word = splitmix64(state);
    bits[static_cast<size_t>(k)] = static_cast<uint8_t>((word >> (63 - k % 64)) & 1u);
  }
  return bits;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string quoted(const std::string& s) {
  std::string q = s.size() > 40 ? s.substr(0, 40) + "..." : s;
  return "'" + q + "'";
}

}  // namespace

std::string Message::to_bits() const {
  std::string s;
  s.reserve(bits.size());
  for (uint8_t b : bits) s.push_back(b ? '1' : '0');
  return s;
}

std::string Message::to_hex() const {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t k = 0; k < bits.size(); k += 4) {
    int v = 0;
    for (size_t j = 0; j < 4; ++j) v = v * 2 + (k + j < bits.size() ? bits[k + j] : 0);
    s.push_back(digits[v]);
  }
  return s;
}

std::optional<std::string> Message::to_text() const {
  if (bits.empty() || bits.size() % 8 != 0) return std::nullopt;
  std::string bytes;
  for (size_t k = 0; k < bits.size(); k += 8) {
    int v = 0;
    for (size_t j = 0; j < 8; ++j) v = v * 2 + bits[k + j];
    bytes.push_back(static_cast<char>(v));
  }
  size_t end = bytes.find('\0');
  std::string text = bytes.substr(0, end);
  if (text.empty()) return std::nullopt;
  if (end != std::string::npos)
    for (size_t i = end; i < bytes.size(); ++i)
      if (bytes[i] != '\0') return std::nullopt;
  // Printable ASCII or well-formed multi-byte UTF-8 only.
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > text.size()) return std::nullopt;
    if (len == 1 && (c < 0x20 || c == 0x7f)) return std::nullopt;
    for (size_t j = 1; j < len; ++j)
      if ((static_cast<unsigned char>(text[i + j]) & 0xC0) != 0x80) return std::nullopt;
    i += len;
  }
  return text;
}

std::vector<float> Message::as_floats() const {
  std::vector<float> v(bits.size());
  for (size_t k = 0; k < bits.size(); ++k) v[k] = bits[k] ? 1.0f : 0.0f;
  return v;
}

Message parse_message(const std::string& spec, int nbits) {
  check(nbits > 0, "message: the model has no message bits");
  Message m;
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string body = colon == std::string::npos ? "" : spec.substr(colon + 1);
  const std::string n = std::to_string(nbits);
  if (kind == "hex" && colon != std::string::npos) {
    std::string digits;
    for (char c : body)
      if (c != ' ' && c != '_') digits.push_back(c);
    if (digits.rfind("0x", 0) == 0 || digits.rfind("0X", 0) == 0) digits = digits.substr(2);
    const size_t want = (static_cast<size_t>(nbits) + 3) / 4;
    if (digits.size() != want)
      throw Error("message " + quoted(spec) + ": hex: needs " + std::to_string(want) + " hex digits for this " +
                  n + "-bit model, got " + std::to_string(digits.size()));
    for (char c : digits) {
      int v = hex_value(c);
      if (v < 0) throw Error("message " + quoted(spec) + ": '" + std::string(1, c) + "' is not a hex digit");
      for (int j = 3; j >= 0; --j) m.bits.push_back(static_cast<uint8_t>((v >> j) & 1));
    }
    for (size_t k = static_cast<size_t>(nbits); k < m.bits.size(); ++k)
      if (m.bits[k]) throw Error("message " + quoted(spec) + ": the last hex digit sets bits beyond the model's " + n + " bits");
    m.bits.resize(static_cast<size_t>(nbits));
    return m;
  }
  if (kind == "bits" && colon != std::string::npos) {
    for (char c : body) {
      if (c == ' ' || c == '_') continue;
      if (c != '0' && c != '1') throw Error("message " + quoted(spec) + ": bits: takes only 0 and 1, got '" + std::string(1, c) + "'");
      m.bits.push_back(static_cast<uint8_t>(c - '0'));
    }
    if (m.nbits() != nbits)
      throw Error("message " + quoted(spec) + ": bits: needs exactly " + n + " bits for this model, got " +
                  std::to_string(m.nbits()));
    return m;
  }
  if (kind == "text" && colon != std::string::npos) {
    if (body.size() * 8 > static_cast<size_t>(nbits))
      throw Error("message " + quoted(spec) + ": text is " + std::to_string(body.size()) +
                  " bytes, this " + n + "-bit model holds at most " + std::to_string(nbits / 8) + " bytes");
    for (unsigned char c : body)
      for (int j = 7; j >= 0; --j) m.bits.push_back(static_cast<uint8_t>((c >> j) & 1));
    m.bits.resize(static_cast<size_t>(nbits), 0);
    return m;
  }
  if (kind == "random") {
    uint64_t seed;
    if (colon == std::string::npos) {
      std::random_device rd;
      seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    } else {
      if (body.empty() || body.size() > 20 || !std::all_of(body.begin(), body.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw Error("message " + quoted(spec) + ": random:SEED needs a non-negative integer seed");
      try {
        seed = std::stoull(body);
      } catch (const std::exception&) {
        throw Error("message " + quoted(spec) + ": the seed does not fit in 64 bits");
      }
    }
    m.bits = random_bits(seed, nbits);
    return m;
  }
  throw Error("message " + quoted(spec) + ": expected hex:DIGITS, bits:0101..., text:TEXT, random or random:SEED");
}

Message bits_from_logits(const float* bit_logits, int nbits) {
  Message m;
  m.bits.resize(static_cast<size_t>(std::max(nbits, 0)));
  for (int k = 0; k < nbits; ++k) m.bits[static_cast<size_t>(k)] = bit_logits[k] > 0.0f ? 1 : 0;
  return m;
}

int matching_bits(const Message& a, const Message& b) {
  check(a.bits.size() == b.bits.size(), "messages of different lengths (" + std::to_string(a.nbits()) + " and " +
                                            std::to_string(b.nbits()) + " bits)");
  int k = 0;
  for (size_t i = 0; i < a.bits.size(); ++i) k += a.bits[i] == b.bits[i];
  return k;
}

double binomial_p_value(int k, int n) {
  if (n <= 0 || k <= 0) return 1.0;
  if (k > n) return 0.0;
  // log P[X = i] = lgamma(n+1) - lgamma(i+1) - lgamma(n-i+1) - n log 2; sum i = k..n in log space.
  const double ln2n = n * std::log(2.0);
  const double lgn = std::lgamma(n + 1.0);
  auto log_term = [&](int i) { return lgn - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - ln2n; };
  // The largest term is at i = max(k, n/2).
  const double top = log_term(std::max(k, n / 2));
  double sum = 0.0;
  for (int i = k; i <= n; ++i) sum += std::exp(log_term(i) - top);
  return std::min(1.0, std::exp(top + std::log(sum)));
}

}  // namespace sealite::pipeline
