#include "harness/stores/etcd/etcd_gateway.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <charconv>
#include <nlohmann/json.hpp>

namespace faultline {

namespace {

using json = nlohmann::json;

// gRPC codes etcd returns only before a request is proposed to Raft.
bool CodeMeansNotApplied(int64_t code) {
  switch (code) {
    case 3:   // InvalidArgument (bad base64, empty key, ...)
    case 7:   // PermissionDenied
    case 8:   // ResourceExhausted ("too many requests")
    case 9:   // FailedPrecondition
    case 11:  // OutOfRange
    case 12:  // Unimplemented
    case 16:  // Unauthenticated
      return true;
    default:
      return false;
  }
}

std::string Truncate(std::string_view s, size_t max = 120) {
  return s.size() > max ? std::string(s.substr(0, max)) + "..." : std::string(s);
}

// An int64 the gateway writes as a JSON string ("12"); numbers are accepted too.
bool ReadInt64(const json& j, const char* field, int64_t* out) {
  auto it = j.find(field);
  if (it == j.end()) {
    *out = 0;  // proto3 leaves zero values out
    return true;
  }
  if (it->is_number_integer()) {
    *out = it->get<int64_t>();
    return true;
  }
  if (!it->is_string()) return false;
  const std::string& s = it->get_ref<const std::string&>();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool ReadBytes(const json& j, const char* field, std::string* out) {
  auto it = j.find(field);
  if (it == j.end()) {
    out->clear();
    return true;
  }
  if (!it->is_string()) return false;
  auto decoded = Base64Decode(it->get_ref<const std::string&>());
  if (!decoded) return false;
  *out = std::move(*decoded);
  return true;
}

// {"error","message","code"} → "<status> <message>", and whether the code
// proves the request was never applied.
std::string DescribeErrorReply(int status, std::string_view body, bool* not_applied) {
  json j = json::parse(body, nullptr, false);
  *not_applied = status >= 400 && status < 500;
  if (!j.is_object()) return fmt::format("{} {}", status, Truncate(body));
  std::string message;
  if (j.contains("message") && j["message"].is_string()) message = j["message"].get<std::string>();
  if (message.empty() && j.contains("error") && j["error"].is_string()) message = j["error"].get<std::string>();
  if (j.contains("code") && j["code"].is_number_integer()) *not_applied = CodeMeansNotApplied(j["code"].get<int64_t>());
  return fmt::format("{} {}", status, message.empty() ? Truncate(body) : message);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '+' || c == '/') {
      if (padding > 0) return std::nullopt;  // data after '='
      continue;
    }
    if (c != '=' || i + 2 < text.size()) return std::nullopt;  // '=' only in the last two places
    ++padding;
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) < padding) return std::nullopt;
  out.resize(n - padding);  // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

std::string EtcdPrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "\0" range_end
}

bool ParseEtcdReply(std::string_view body, EtcdReply* out, std::string* error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    *error = "reply is not a JSON object: " + Truncate(body);
    return false;
  }
  if (j.contains("header")) {
    if (!j["header"].is_object() || !ReadInt64(j["header"], "revision", &out->revision)) {
      *error = "bad header: " + Truncate(body);
      return false;
    }
  }
  out->kvs.clear();
  if (j.contains("kvs")) {
    if (!j["kvs"].is_array()) {
      *error = "\"kvs\" is not an array: " + Truncate(body);
      return false;
    }
    for (const json& kv : j["kvs"]) {
      EtcdKv e;
      if (!kv.is_object() || !ReadBytes(kv, "key", &e.key) || !ReadBytes(kv, "value", &e.value) ||
          !ReadInt64(kv, "create_revision", &e.create_revision) || !ReadInt64(kv, "mod_revision", &e.mod_revision) ||
          !ReadInt64(kv, "version", &e.version)) {
        *error = "bad key-value in reply: " + Truncate(kv.dump());
        return false;
      }
      out->kvs.push_back(std::move(e));
    }
  }
  out->succeeded = false;
  if (j.contains("succeeded")) {
    if (!j["succeeded"].is_boolean()) {
      *error = "\"succeeded\" is not a boolean: " + Truncate(body);
      return false;
    }
    out->succeeded = j["succeeded"].get<bool>();
  }
  return true;
}

EtcdReply EtcdGateway::Call(std::string_view path, const std::string& body, Clock::time_point deadline) {
  EtcdReply reply;
  const std::string what(path.substr(path.rfind('/') + 1));
  const HttpResult r = conn_.Request("POST", path, body, deadline);
  if (!r.ok()) {
    reply.status = r.maybe_sent ? EtcdReply::Status::kUnknown : EtcdReply::Status::kFailed;
    reply.error = r.failure == HttpFailure::kRefused   ? fmt::format("connection refused ({})", what)
                  : r.failure == HttpFailure::kTimeout ? fmt::format("timeout ({})", what)
                                                       : fmt::format("{} ({})", r.error, what);
    return reply;
  }
  if (r.status != 200) {
    bool not_applied = false;
    reply.error = DescribeErrorReply(r.status, r.body, &not_applied);
    reply.status = not_applied ? EtcdReply::Status::kFailed : EtcdReply::Status::kUnknown;
    return reply;
  }
  std::string error;
  if (!ParseEtcdReply(r.body, &reply, &error)) {
    reply.status = EtcdReply::Status::kUnknown;
    reply.error = fmt::format("{} ({})", error, what);
    return reply;
  }
  reply.status = EtcdReply::Status::kOk;
  return reply;
}

EtcdReply EtcdGateway::Range(std::string_view key, std::string_view range_end, bool serializable,
                             Clock::time_point deadline) {
  json body = {{"key", Base64Encode(key)}};
  if (!range_end.empty()) body["range_end"] = Base64Encode(range_end);
  if (serializable) body["serializable"] = true;
  return Call("/v3/kv/range", body.dump(), deadline);
}

EtcdReply EtcdGateway::Put(std::string_view key, std::string_view value, Clock::time_point deadline) {
  const json body = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  return Call("/v3/kv/put", body.dump(), deadline);
}

EtcdReply EtcdGateway::Txn(const EtcdCompare& compare, std::string_view key, std::string_view value,
                           Clock::time_point deadline) {
  json c = {{"key", Base64Encode(compare.key)}, {"result", "EQUAL"}};
  if (compare.target == EtcdCompare::Target::kValue) {
    c["target"] = "VALUE";
    c["value"] = Base64Encode(compare.value);
  } else {
    c["target"] = "MOD";
    c["mod_revision"] = std::to_string(compare.mod_revision);
  }
  const json body = {
      {"compare", json::array({c})},
      {"success", json::array({{{"request_put", {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}}}}})}};
  return Call("/v3/kv/txn", body.dump(), deadline);
}

}  // namespace faultline
