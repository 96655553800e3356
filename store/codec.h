// Byte-level encoding helpers shared by the context and version-set formats
// (doc/causality.md describes both): LEB128 varints, length-prefixed strings,
// a CRC-32 trailer, and unpadded base64url (RFC 4648 §5) for client contexts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dynastore::codec {

void PutVarint(std::string& out, uint64_t v);
void PutBytes(std::string& out, std::string_view bytes);  // varint length + bytes
void PutFixed32(std::string& out, uint32_t v);

// Reads from the front of `in`, advancing it. Each returns false on truncated
// or over-long input and leaves `in` in an unspecified position.
bool GetVarint(std::string_view& in, uint64_t& v);
bool GetBytes(std::string_view& in, std::string& bytes, size_t max_len);
bool GetFixed32(std::string_view& in, uint32_t& v);

uint32_t Crc32(std::string_view bytes);

// Appends the CRC-32 of `out` to it; VerifyAndStripCrc checks and removes it.
void SealWithCrc(std::string& out);
bool VerifyAndStripCrc(std::string_view& in);

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace dynastore::codec
