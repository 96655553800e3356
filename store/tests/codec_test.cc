#include "store/codec.h"

#include <gtest/gtest.h>

#include <random>

namespace dynastore::codec {
namespace {

TEST(Codec, VarintRoundTripsBoundaries) {
  for (uint64_t v : std::initializer_list<uint64_t>{0, 1, 127, 128, 16383, 16384, 1ull << 32, UINT64_MAX}) {
    std::string buf;
    PutVarint(buf, v);
    std::string_view in = buf;
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint(in, got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
}

TEST(Codec, VarintRejectsTruncationAndOverflow) {
  std::string buf;
  PutVarint(buf, 1ull << 40);
  std::string_view truncated(buf.data(), buf.size() - 1);
  uint64_t v;
  EXPECT_FALSE(GetVarint(truncated, v));
  std::string overflow(10, '\xff');
  std::string_view in = overflow;
  EXPECT_FALSE(GetVarint(in, v));
}

TEST(Codec, BytesRejectLengthBeyondInputOrLimit) {
  std::string buf;
  PutBytes(buf, "hello");
  std::string out;
  std::string_view short_in(buf.data(), buf.size() - 1);
  EXPECT_FALSE(GetBytes(short_in, out, 100));
  std::string_view in = buf;
  EXPECT_FALSE(GetBytes(in, out, 4));
  in = buf;
  ASSERT_TRUE(GetBytes(in, out, 5));
  EXPECT_EQ(out, "hello");
}

TEST(Codec, Base64UrlRoundTripsRandomBytes) {
  std::mt19937 rng(7);
  for (int len = 0; len < 64; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto back = Base64UrlDecode(text);
    ASSERT_TRUE(back.has_value()) << len;
    EXPECT_EQ(*back, bytes);
  }
}

TEST(Codec, Base64UrlRejectsForeignCharactersAndBadLengths) {
  EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab=c").has_value());
  EXPECT_FALSE(Base64UrlDecode("abcde").has_value());  // length 5 is never produced
  EXPECT_FALSE(Base64UrlDecode("AB").has_value());     // non-zero leftover bits
  EXPECT_TRUE(Base64UrlDecode("AA").has_value());
}

TEST(Codec, CrcSealDetectsAnyFlippedBit) {
  std::string sealed = "causal context bytes";
  SealWithCrc(sealed);
  std::string_view ok = sealed;
  EXPECT_TRUE(VerifyAndStripCrc(ok));
  EXPECT_EQ(ok, "causal context bytes");
  for (size_t i = 0; i < sealed.size() * 8; ++i) {
    std::string flipped = sealed;
    flipped[i / 8] ^= static_cast<char>(1 << (i % 8));
    std::string_view in = flipped;
    EXPECT_FALSE(VerifyAndStripCrc(in)) << "bit " << i;
  }
}

}  // namespace
}  // namespace dynastore::codec
