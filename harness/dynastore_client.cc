#include "dynastore_client.h"

#include <fmt/format.h>

#include <optional>
#include <set>
#include <utility>

namespace faultline {

namespace {

using json = nlohmann::json;

Completion Fail(std::string error) { return {OpType::kFail, nullptr, std::move(error)}; }
Completion Info(std::string error) { return {OpType::kInfo, nullptr, std::move(error)}; }

std::string Truncate(std::string s, size_t max = 80) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

// "<status> <error>: <message>" from an error body; the raw body when it is not one.
std::string DescribeError(int status, const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error")) {
    std::string code = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
    std::string message = j.value("message", json("")).is_string() ? j.value("message", std::string()) : "";
    return message.empty() ? fmt::format("{} {}", status, code) : fmt::format("{} {}: {}", status, code, message);
  }
  return fmt::format("{} {}", status, Truncate(body));
}

// What an HTTP-level failure is called in an op's error.
std::string DescribeFailure(const HttpResult& r, const char* request, std::chrono::milliseconds timeout) {
  switch (r.failure) {
    case HttpFailure::kTimeout:
      return fmt::format("timeout after {} ms ({})", timeout.count(), request);
    case HttpFailure::kRefused:
      return "connection refused";
    default:
      return fmt::format("{} ({})", r.error, request);
  }
}

struct SetRead {
  std::set<int64_t> elements;
  std::string context;
};

// Parses a GET /kv/K reply (200 or 404) into the union of its siblings.
// Returns the error on failure.
std::optional<std::string> ParseSetRead(const std::string& key, const std::string& body, SetRead& out) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("values") || !j["values"].is_array()) {
    return fmt::format("bad GET reply for key {}: {}", key, Truncate(body));
  }
  if (j.contains("context") && j["context"].is_string()) out.context = j["context"].get<std::string>();
  for (const json& sibling : j["values"]) {
    bool good = sibling.is_string();
    json set;
    if (good) {
      set = json::parse(sibling.get<std::string>(), nullptr, false);
      good = set.is_array();
    }
    if (good) {
      for (const json& e : set) {
        if (!e.is_number_integer()) {
          good = false;
          break;
        }
      }
    }
    if (!good) {
      return fmt::format("key {} holds a sibling that is not a JSON array of integers: {}", key,
                         Truncate(sibling.is_string() ? sibling.get<std::string>() : sibling.dump()));
    }
    for (const json& e : set) out.elements.insert(e.get<int64_t>());
  }
  return std::nullopt;
}

json SortedArray(const std::set<int64_t>& elements) {
  json a = json::array();
  for (int64_t e : elements) a.push_back(e);
  return a;
}

}  // namespace

DynastoreClient::DynastoreClient(std::string address, int port, ClientOptions options)
    : options_(options), conn_(std::move(address), port) {}

Completion DynastoreClient::Invoke(const Invocation& op) {
  auto deadline = HttpConnection::Clock::now() + options_.op_timeout;
  if (op.f == "add") return Add(op, deadline);
  if (op.f == "read") return Read(op, deadline);
  return Fail(fmt::format("dynastore client does not support f={}", op.f));
}

Completion DynastoreClient::Read(const Invocation& op, HttpConnection::Clock::time_point deadline) {
  std::string target = "/kv/" + PercentEncode(op.key);
  HttpResult r = conn_.Request("GET", target, "", deadline);
  // A read changes nothing, so whatever went wrong it certainly had no effect.
  if (!r.ok()) return Fail(DescribeFailure(r, "GET", options_.op_timeout));
  if (r.status != 200 && r.status != 404) return Fail(DescribeError(r.status, r.body));
  SetRead read;
  if (auto error = ParseSetRead(op.key, r.body, read)) return Fail(*error);
  return {OpType::kOk, SortedArray(read.elements), ""};
}

Completion DynastoreClient::Add(const Invocation& op, HttpConnection::Clock::time_point deadline) {
  if (!op.value.is_number_integer()) return Fail(fmt::format("add needs an integer value, got {}", op.value.dump()));
  int64_t element = op.value.get<int64_t>();
  std::string target = "/kv/" + PercentEncode(op.key);

  // Nothing is written until the PUT, so every failure up to it is a fail.
  HttpResult get = conn_.Request("GET", target, "", deadline);
  if (!get.ok()) return Fail(DescribeFailure(get, "GET", options_.op_timeout));
  if (get.status != 200 && get.status != 404) return Fail(DescribeError(get.status, get.body));
  SetRead read;
  if (auto error = ParseSetRead(op.key, get.body, read)) return Fail(*error);

  read.elements.insert(element);
  json put_body = {{"value", SortedArray(read.elements).dump()}, {"context", read.context}};
  HttpResult put = conn_.Request("PUT", target, put_body.dump(), deadline);
  if (!put.ok()) {
    std::string error = DescribeFailure(put, "PUT", options_.op_timeout);
    return put.maybe_sent ? Info(std::move(error)) : Fail(std::move(error));
  }
  if (put.status == 200) return {OpType::kOk, element, ""};
  if (put.status == 503) {
    json j = json::parse(put.body, nullptr, false);
    std::string message = j.is_object() && j.contains("message") && j["message"].is_string()
                              ? j["message"].get<std::string>()
                              : Truncate(put.body);
    bool definite = j.is_object() && j.contains("indeterminate") && j["indeterminate"] == false;
    if (definite) return Fail(fmt::format("503 unavailable: {}", message));
    return Info(fmt::format("503 unavailable (indeterminate): {}", message));
  }
  if (put.status >= 400 && put.status < 500) return Fail(DescribeError(put.status, put.body));
  // 500 internal and anything unexpected: the write may have happened.
  return Info(DescribeError(put.status, put.body));
}

}  // namespace faultline
