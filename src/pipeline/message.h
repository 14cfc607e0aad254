// Watermark messages: parsing the user's notation and showing the bits.
//
// A message is nbits bits (0/1); bit k is fed to the embedder as message[0][k]
// and decoded from detector logit 1+k. Notations (`parse_message`):
//   hex:0123abcd    ceil(nbits/4) hex digits, most significant bit first: the
//                   digit k holds bits 4k..4k+3, bit 4k being its 8s bit. When
//                   nbits is not a multiple of 4 the unused low bits of the
//                   last digit must be 0.
//   bits:0101...    exactly nbits characters 0/1 (spaces and '_' ignored).
//   text:hello      the UTF-8 bytes, each most significant bit first,
//                   zero-padded to nbits; an error if 8*bytes > nbits.
//   random          uniformly random bits from the OS entropy source.
//   random:SEED     deterministic random bits (splitmix64 of SEED, SEED an
//                   unsigned 64-bit integer): the same seed gives the same
//                   message for a given nbits.
// Errors are one-line sealite::Error messages that say what was expected.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sealite::pipeline {

struct Message {
  std::vector<uint8_t> bits;  // 0/1, size nbits

  int nbits() const { return static_cast<int>(bits.size()); }
  // "0101..." (nbits characters).
  std::string to_bits() const;
  // Hex digits (no prefix), ceil(nbits/4) of them, padded with 0 bits.
  std::string to_hex() const;
  // The message as text when it is printable UTF-8 followed only by zero
  // bytes (and nbits is a multiple of 8); std::nullopt otherwise.
  std::optional<std::string> to_text() const;
  // The float32 0/1 vector the embedder takes.
  std::vector<float> as_floats() const;
  bool operator==(const Message&) const = default;
};

// Parses MSG for a model with `nbits` bits (see above).
Message parse_message(const std::string& spec, int nbits);

// Bits from logits: bit k = logits[k] > 0 (strict; NaN gives 0).
Message bits_from_logits(const float* bit_logits, int nbits);

// Matching bits between two messages of the same size.
int matching_bits(const Message& a, const Message& b);

// One-sided binomial test of `k` or more matching bits out of `n` under the
// null hypothesis that each bit matches with probability 1/2 (the test
// VideoSeal's evaluations use): P[X >= k], X ~ Binomial(n, 1/2). Returns 1 for
// k <= 0. Accurate to a few ulp-ish relative error down to 2^-n.
double binomial_p_value(int k, int n);

}  // namespace sealite::pipeline
