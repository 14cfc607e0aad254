// Message notation, bit decisions, bit accuracy and the binomial p-value.
#include "pipeline/message.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "pipeline/pipeline.h"
#include "pipeline/report.h"

using namespace sealite::pipeline;
using sealite::Error;

namespace {

std::string error_of(const std::string& spec, int nbits) {
  try {
    parse_message(spec, nbits);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Exact tail of Bin(n, 1/2) in long double, for small n.
double exact_tail(int k, int n) {
  long double c = 1, sum = 0;  // C(n, 0)
  for (int i = 0; i <= n; ++i) {
    if (i >= k) sum += c;
    c = c * (n - i) / (i + 1);
  }
  return static_cast<double>(sum / std::pow(2.0L, n));
}

}  // namespace

TEST(Message, HexIsMostSignificantBitFirst) {
  Message m = parse_message("hex:a5", 8);
  EXPECT_EQ(m.to_bits(), "10100101");
  EXPECT_EQ(m.to_hex(), "a5");
  EXPECT_EQ(parse_message("hex:A5", 8), m);
  EXPECT_EQ(parse_message("hex:0xa5", 8), m);
  EXPECT_EQ(message_spec(m), "hex:a5");
  Message m32 = parse_message("hex:0123456789abcdef", 64);
  EXPECT_EQ(m32.to_hex(), "0123456789abcdef");
  EXPECT_EQ(m32.to_bits().substr(0, 8), "00000001");
}

TEST(Message, HexWithPartialLastDigit) {
  Message m = parse_message("hex:e", 3);  // 1110 -> 111, the low bit must be 0
  EXPECT_EQ(m.to_bits(), "111");
  EXPECT_EQ(m.to_hex(), "e");
  EXPECT_NE(error_of("hex:f", 3).find("beyond"), std::string::npos);
  EXPECT_EQ(message_spec(m), "bits:111");
}

TEST(Message, WrongLengthsAreClearErrors) {
  auto e = error_of("hex:abc", 32);
  EXPECT_NE(e.find("needs 8 hex digits"), std::string::npos) << e;
  EXPECT_NE(e.find("32-bit"), std::string::npos) << e;
  EXPECT_NE(error_of("hex:zz", 8).find("not a hex digit"), std::string::npos);
  EXPECT_NE(error_of("bits:0101", 8).find("exactly 8 bits"), std::string::npos);
  EXPECT_NE(error_of("bits:0102", 4).find("only 0 and 1"), std::string::npos);
  EXPECT_NE(error_of("text:hello", 32).find("at most 4 bytes"), std::string::npos);
  EXPECT_NE(error_of("hello", 32).find("expected hex:"), std::string::npos);
  EXPECT_NE(error_of("random:x", 32).find("seed"), std::string::npos);
  EXPECT_NE(error_of("random:-1", 32).find("seed"), std::string::npos);
  EXPECT_NE(error_of("random:99999999999999999999", 32).find("64 bits"), std::string::npos);
  EXPECT_NE(error_of("hex:00", 0).find("no message bits"), std::string::npos);
}

TEST(Message, BitsIgnoreSeparators) {
  EXPECT_EQ(parse_message("bits:0101 1100_0011", 12).to_bits(), "010111000011");
}

TEST(Message, TextIsUtf8ZeroPadded) {
  Message m = parse_message("text:hi", 32);
  EXPECT_EQ(m.to_hex(), "68690000");
  ASSERT_TRUE(m.to_text());
  EXPECT_EQ(*m.to_text(), "hi");
  Message u = parse_message("text:\xc3\xa9t\xc3\xa9", 64);  // "été", 5 bytes
  ASSERT_TRUE(u.to_text());
  EXPECT_EQ(*u.to_text(), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(parse_message("text:abcd", 32).to_hex(), "61626364");  // exactly full
  EXPECT_FALSE(parse_message("hex:ff000000", 32).to_text());        // not UTF-8
  EXPECT_FALSE(parse_message("hex:00000000", 32).to_text());        // empty
  EXPECT_FALSE(parse_message("hex:61006200", 32).to_text());        // bytes after the padding
  EXPECT_TRUE(parse_message("text:", 32).bits == std::vector<uint8_t>(32, 0));
}

TEST(Message, RandomSeedIsDeterministic) {
  Message a = parse_message("random:7", 96), b = parse_message("random:7", 96), c = parse_message("random:8", 96);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.nbits(), 96);
  int ones = 0;
  for (auto bit : a.bits) ones += bit;
  EXPECT_GT(ones, 20);
  EXPECT_LT(ones, 76);
  // A prefix property: the first 32 bits do not depend on nbits.
  EXPECT_EQ(parse_message("random:7", 32).to_bits(), a.to_bits().substr(0, 32));
  Message r1 = parse_message("random", 64), r2 = parse_message("random", 64);
  EXPECT_NE(r1, r2);  // 2^-64 chance of a false failure
}

TEST(Message, BitsFromLogitsIsStrict) {
  float logits[] = {0.5f, 0.0f, -0.0f, -1e-9f, 1e-30f, NAN};
  EXPECT_EQ(bits_from_logits(logits, 6).to_bits(), "100010");
}

TEST(Message, InterpretLogits) {
  Detection d = interpret_logits({-0.5f, 1.f, -2.f, 3.f, 0.f});
  EXPECT_FALSE(d.detected);
  EXPECT_FLOAT_EQ(d.detection_logit(), -0.5f);
  EXPECT_EQ(d.message.to_bits(), "1010");
  EXPECT_TRUE(interpret_logits({0.1f, 1.f}).detected);
}

TEST(Message, BinomialPValue) {
  EXPECT_DOUBLE_EQ(binomial_p_value(0, 32), 1.0);
  EXPECT_NEAR(binomial_p_value(32, 32), std::ldexp(1.0, -32), std::ldexp(1.0, -32) * 1e-12);
  for (int n : {1, 2, 16, 32, 48, 64, 96, 128, 256}) {
    for (int k = 0; k <= n; ++k) {
      double want = exact_tail(k, n), got = binomial_p_value(k, n);
      EXPECT_NEAR(got, want, want * 1e-10 + 1e-300) << k << "/" << n;
    }
  }
  // 256 bits, all match: 2^-256.
  EXPECT_NEAR(binomial_p_value(256, 256) / std::ldexp(1.0, -256), 1.0, 1e-10);
  // Monotone.
  for (int k = 1; k <= 96; ++k) EXPECT_LE(binomial_p_value(k, 96), binomial_p_value(k - 1, 96));
}

TEST(Message, Verify) {
  Message a = parse_message("hex:ff", 8), b = parse_message("hex:fe", 8);
  Verification v = verify(a, b);
  EXPECT_EQ(v.matching, 7);
  EXPECT_EQ(v.nbits, 8);
  EXPECT_DOUBLE_EQ(v.bit_accuracy, 7.0 / 8.0);
  EXPECT_NEAR(v.p_value, 9.0 / 256.0, 1e-15);
  EXPECT_THROW(verify(a, parse_message("hex:f", 4)), Error);
}

TEST(Message, Psnr) {
  std::vector<float> a(300, 0.5f), b(300, 0.5f);
  EXPECT_TRUE(std::isinf(psnr(a.data(), b.data(), a.size())));
  b[0] = 0.6f;
  double mse = 0.01 / 300;
  EXPECT_NEAR(psnr(a.data(), b.data(), a.size()), 10 * std::log10(1 / mse), 1e-4);
  // Rounded to 8 bits first: 0.6*255 = 153 -> 0.6 exactly-ish; 0.5 -> 127.5 -> 128 (ties to even).
  std::vector<float> c(1, 0.5f), d(1, 0.5f);
  EXPECT_NEAR(psnr(c.data(), d.data(), 1, 8), 10 * std::log10(1 / std::pow(0.5 / 255, 2)), 1e-6);
}
