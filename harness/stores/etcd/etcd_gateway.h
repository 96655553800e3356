// EtcdGateway: etcd's v3 API through its JSON gateway (etcd 3.4:
// POST /v3/kv/range, /v3/kv/put, /v3/kv/txn on the client port), over one
// keep-alive HttpConnection: no gRPC needed. Keys and values travel base64,
// int64 fields come back as JSON strings, a range of a missing key has no
// "kvs", a txn whose compare failed has no "succeeded", and errors are
// {"error","message","code"} (a gRPC code) with an HTTP status.
//
// Every reply is a value (EtcdReply), never an exception, and says whether
// the request certainly had no effect (kFailed) or may have had one
// (kUnknown), which is what a client needs to record fail or info:
//   - nothing sent (connection refused or not connected): kFailed;
//   - a timeout or a dropped connection after sending: kUnknown;
//   - an error reply whose gRPC code etcd only gives before proposing the
//     request to Raft (InvalidArgument, OutOfRange, FailedPrecondition,
//     ResourceExhausted "too many requests", PermissionDenied, Unimplemented,
//     Unauthenticated) or any 4xx without such a body: kFailed;
//   - any other error reply ("context deadline exceeded", "leader changed",
//     "request timed out", 5xx): kUnknown: the proposal may still commit;
//   - a 200 whose body is not a reply we can read: kUnknown.
// Reads change nothing, so their caller turns every non-ok into a fail.
//
// Not thread-safe: one per worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/stores/http_connection.h"

namespace faultline {

struct EtcdKv {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, version = 0;
};

struct EtcdReply {
  enum class Status { kOk, kFailed, kUnknown };
  Status status = Status::kFailed;
  std::string error;        // why, when not kOk: "timeout after 1000 ms (txn)", "500 context deadline exceeded"
  int64_t revision = 0;     // the store's revision in the reply's header
  std::vector<EtcdKv> kvs;  // range: the keys found, in key order
  bool succeeded = false;   // txn: whether the compare held (and the put ran)

  bool ok() const { return status == Status::kOk; }
};

// What a txn compares before its put.
struct EtcdCompare {
  enum class Target { kValue, kModRevision };
  Target target = Target::kValue;
  std::string key;
  std::string value;         // kValue: EQUAL to this (false for a missing key)
  int64_t mod_revision = 0;  // kModRevision: EQUAL to this (0 for a missing key)
};

class EtcdGateway {
 public:
  using Clock = HttpConnection::Clock;
  EtcdGateway(std::string host, int port) : conn_(std::move(host), port) {}

  // The keys in [key, range_end), or `key` alone when range_end is empty.
  // serializable: answered from this member's local state (may be stale).
  EtcdReply Range(std::string_view key, std::string_view range_end, bool serializable, Clock::time_point deadline);
  EtcdReply Put(std::string_view key, std::string_view value, Clock::time_point deadline);
  // If `compare` holds, puts key = value; succeeded says which.
  EtcdReply Txn(const EtcdCompare& compare, std::string_view key, std::string_view value, Clock::time_point deadline);

  HttpConnection& connection() { return conn_; }

 private:
  EtcdReply Call(std::string_view path, const std::string& body, Clock::time_point deadline);
  HttpConnection conn_;
};

// The smallest key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string EtcdPrefixEnd(std::string_view prefix);

// Standard base64 with padding, as etcd's gateway (Go's encoding/json) writes []byte.
std::string Base64Encode(std::string_view bytes);
// nullopt unless `text` is canonical padded base64 (no whitespace).
std::optional<std::string> Base64Decode(std::string_view text);

// Parses a gateway reply body (range, put or txn) into `out`; false with
// `error` set when it is not one (hostile input: every field is checked).
bool ParseEtcdReply(std::string_view body, EtcdReply* out, std::string* error);

}  // namespace faultline
