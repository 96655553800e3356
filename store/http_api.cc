#include "store/http_api.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "store/json_text.h"
#include "store/wall_clock.h"

namespace dynastore {

namespace http = boost::beast::http;
using json = nlohmann::json;
using Response = HttpApi::Response;

namespace {

// Never throws: bytes that are not UTF-8 (only possible in echoed paths) are
// replaced rather than failing the response.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Response JsonResponse(http::status status, const json& body, unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(http::field::server, "dynastore");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = Dump(body);
  res.prepare_payload();
  return res;
}

// For messages that quote client input: long enough to recognise, short
// enough that an error never echoes a 1 MiB body back.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 120;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kMax)) + "...'";
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding. Returns the offset of the first bad escape, or
// nullopt on success. '+' stays '+': that rule belongs to query strings.
std::optional<size_t> PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return i;  // fewer than two characters follow
    const int hi = HexDigit(in[i + 1]);
    const int lo = HexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return i;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return std::nullopt;
}

Response RawJsonResponse(http::status status, std::string body, unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(http::field::server, "dynastore");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// The replies of GET and PUT /kv, the hot path: written directly rather
// than through a json object, byte for byte what Dump would produce (keys
// in nlohmann's sorted order).
Response KvGetResponse(http::status status, const std::string& key, const std::vector<std::string>& values,
                       const std::string& token, unsigned version, bool keep_alive) {
  std::string body;
  body.reserve(48 + key.size() + token.size() + (values.empty() ? 0 : values.size() * (values[0].size() + 3)));
  body.append("{\"context\":");
  bool ok = AppendJsonString(body, token);
  body.append(",\"key\":");
  ok = ok && AppendJsonString(body, key);
  body.append(",\"values\":[");
  for (size_t i = 0; ok && i < values.size(); ++i) {
    if (i > 0) body.push_back(',');
    ok = AppendJsonString(body, values[i]);
  }
  body.append("]}");
  if (!ok) return JsonResponse(status, json{{"key", key}, {"values", values}, {"context", token}}, version, keep_alive);
  return RawJsonResponse(status, std::move(body), version, keep_alive);
}

Response KvPutResponse(const std::string& token, unsigned version, bool keep_alive) {
  std::string body = "{\"context\":";
  if (!AppendJsonString(body, token))
    return JsonResponse(http::status::ok, json{{"context", token}}, version, keep_alive);
  body.push_back('}');
  return RawJsonResponse(http::status::ok, std::move(body), version, keep_alive);
}

struct Target {
  std::string_view path;
  std::string_view query;  // without the '?'; empty if none
};

Target SplitTarget(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

// Query parameters as (decoded name, decoded value), in order.
std::vector<std::pair<std::string, std::string>> QueryParams(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string_view raw_name = part.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::string name, value;
    if (PercentDecode(raw_name, name)) name = std::string(raw_name);
    if (PercentDecode(raw_value, value)) value = std::string(raw_value);
    params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

// The first query parameter not in `allowed`.
std::optional<std::string> UnsupportedQueryParam(std::string_view query, const std::vector<std::string_view>& allowed) {
  for (const auto& [name, value] : QueryParams(query)) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || a == name;
    if (!ok) return name;
  }
  return std::nullopt;
}

std::string AllowedList(const std::vector<std::string_view>& allowed) {
  if (allowed.empty()) return "takes no parameters";
  std::string list = "takes only";
  for (std::string_view a : allowed) list += " ?" + std::string(a) + "=";
  return list;
}

const char* JsonTypeName(const json& j) { return j.type_name(); }

// Maps a Coordinator failure onto the API's error codes.
Response CoordinatorError(const Status& status, unsigned version, bool keep_alive) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
      return HttpApi::Error(http::status::bad_request, "bad_request", status.message(), version, keep_alive);
    case Status::Code::kConflict:  // the only conflict: the sibling limit
      return HttpApi::Error(http::status::conflict, "too_many_siblings", status.message(), version, keep_alive);
    case Status::Code::kUnavailable:
    case Status::Code::kTimedOut: {
      // 503 either way; "indeterminate" tells a client whether the write may
      // still take effect (it must then treat it as unknown, not failed).
      const bool indeterminate = status.code() == Status::Code::kTimedOut;
      Response res = JsonResponse(http::status::service_unavailable,
                                  json{{"error", "unavailable"},
                                       {"message", status.message() + "; retry later or ask another node"},
                                       {"indeterminate", indeterminate}},
                                  version, keep_alive);
      return res;
    }
    default:
      return HttpApi::Error(http::status::internal_server_error, "internal",
                            "the node failed to serve the request: " + status.message(), version, keep_alive);
  }
}

// Calls the wrapped callback at most once, so a failure after a reply was
// already sent cannot produce a second response.
class Once {
 public:
  explicit Once(std::function<void(Response)> done) : state_(std::make_shared<State>()) {
    state_->done = std::move(done);
  }
  void operator()(Response res) const {
    if (!state_->called.exchange(true)) state_->done(std::move(res));
  }

 private:
  struct State {
    std::function<void(Response)> done;
    std::atomic<bool> called{false};
  };
  std::shared_ptr<State> state_;
};

// Parses the request body as a JSON object whose members are all in
// `allowed`. On failure returns the error response.
std::optional<Response> ParseBodyObject(const HttpApi::Request& req, std::initializer_list<std::string_view> allowed,
                                        std::string_view example, json& out) {
  const unsigned v = req.version();
  const bool ka = req.keep_alive();
  out = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    return HttpApi::Error(http::status::bad_request, "invalid_json",
                          "request body is not valid JSON (UTF-8); send an object like " + std::string(example), v, ka);
  }
  if (!out.is_object()) {
    return HttpApi::Error(
        http::status::bad_request, "bad_request",
        "request body must be a JSON object like " + std::string(example) + ", got a JSON " + JsonTypeName(out), v, ka);
  }
  for (const auto& item : out.items()) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || a == item.key();
    if (!ok) {
      // Strict on purpose: a misspelt "context" would otherwise silently
      // turn an update into a new sibling.
      return HttpApi::Error(http::status::bad_request, "bad_request",
                            "unknown field " + Quote(item.key()) + " in request body; expected " + std::string(example),
                            v, ka);
    }
  }
  return std::nullopt;
}

// Checks a "context" token into `out`.
std::optional<Response> ParseContextToken(const HttpApi::Request& req, std::string_view token, const ContextKey& key,
                                          std::optional<CausalContext>& out) {
  CausalContext ctx;
  Status s = CausalContext::FromToken(token, key, ctx);
  if (!s.ok()) {
    return HttpApi::Error(http::status::bad_request, "invalid_context",
                          "field \"context\" is not a context this store issued (" + s.message() +
                              "); pass the context of your latest GET of this key unchanged, or \"\" for none",
                          req.version(), req.keep_alive());
  }
  out = std::move(ctx);
  return std::nullopt;
}

// Reads the optional "context" member. Absent or null leaves `out` empty.
std::optional<Response> ParseContextField(const HttpApi::Request& req, const json& body, const ContextKey& key,
                                          std::optional<CausalContext>& out) {
  out.reset();
  auto it = body.find("context");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    return HttpApi::Error(
        http::status::bad_request, "bad_request",
        std::string("field \"context\" must be a string (the token a GET returned), got a JSON ") + JsonTypeName(*it),
        req.version(), req.keep_alive());
  }
  return ParseContextToken(req, it->get_ref<const std::string&>(), key, out);
}

// A PUT body of any shape, with nlohmann: the checks and error messages of
// the API (ParsePlainPutBody takes the common shape faster).
std::optional<Response> ParsePutBody(const HttpApi::Request& request, std::string_view example, const ContextKey& key,
                                     std::string& value_out, std::optional<CausalContext>& context) {
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  json body;
  if (auto err = ParseBodyObject(request, {"value", "context"}, example, body)) return err;
  auto value = body.find("value");
  if (value == body.end()) {
    return HttpApi::Error(http::status::bad_request, "bad_request",
                          "field \"value\" is missing; send " + std::string(example), v, ka);
  }
  if (!value->is_string()) {
    return HttpApi::Error(http::status::bad_request, "bad_request",
                          std::string("field \"value\" must be a JSON string, got a JSON ") + JsonTypeName(*value) +
                              "; encode other data as a string",
                          v, ka);
  }
  if (auto err = ParseContextField(request, body, key, context)) return err;
  value_out = std::move(value->get_ref<std::string&>());
  return std::nullopt;
}

// What a /kv/{key} request asks for, once checked.
struct KvTarget {
  std::string key;     // percent-decoded
  int quorum = 0;      // ?r= or ?w=; 0: the cluster default
  bool local = false;  // ?local=true
};

// Checks the method and the query of a /kv/{key} request into `out`: GET
// takes ?r= and ?local=, PUT and DELETE take ?w= (1 to `n`). On failure
// returns the error response.
std::optional<Response> ParseKvQuery(const HttpApi::Request& request, std::string_view query, int n, KvTarget& out) {
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  const http::verb method = request.method();
  if (method != http::verb::get && method != http::verb::put && method != http::verb::delete_) {
    Response res = HttpApi::Error(
        http::status::method_not_allowed, "method_not_allowed",
        "/kv/{key} answers GET, PUT and DELETE, not " + std::string(StdView(request.method_string())), v, ka);
    res.set(http::field::allow, "GET, PUT, DELETE");
    return res;
  }
  const std::vector<std::string_view> allowed =
      method == http::verb::get ? std::vector<std::string_view>{"r", "local"} : std::vector<std::string_view>{"w"};
  if (auto bad = UnsupportedQueryParam(query, allowed)) {
    return HttpApi::Error(http::status::bad_request, "unsupported_query",
                          "query parameter " + Quote(*bad) + " is not supported; " +
                              std::string(StdView(request.method_string())) + " /kv/{key} " + AllowedList(allowed) +
                              " (encode '?' in a key as %3F)",
                          v, ka);
  }
  for (const auto& [name, value] : QueryParams(query)) {
    if (name == "local") {
      if (value != "true" && value != "false") {
        return HttpApi::Error(http::status::bad_request, "bad_request",
                              "?local= must be true or false, got " + Quote(value), v, ka);
      }
      out.local = value == "true";
      continue;
    }
    const bool digits =
        !value.empty() && value.size() <= 4 && value.find_first_not_of("0123456789") == std::string::npos;
    out.quorum = digits ? std::stoi(value) : -1;
    if (out.quorum < 1 || out.quorum > n) {
      return HttpApi::Error(
          http::status::bad_request, "bad_request",
          "?" + name + "= must be a whole number from 1 to N (" + std::to_string(n) + "), got " + Quote(value), v, ka);
    }
  }
  return std::nullopt;
}

// Percent-decodes and checks the key of `path` (/kv/{key}) into `out`: no
// raw '/', valid escapes, 1 to `max_key_bytes` bytes of UTF-8. On failure
// returns the error response.
std::optional<Response> ParseKvKey(const HttpApi::Request& request, std::string_view path, size_t max_key_bytes,
                                   std::string& out) {
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  const std::string_view raw_key = path.substr(4);
  if (raw_key.find('/') != std::string_view::npos) {
    return HttpApi::Error(http::status::bad_request, "bad_request",
                          "the key in " + Quote(path) + " contains a raw '/'; encode a slash inside a key as %2F", v,
                          ka);
  }
  if (auto at = PercentDecode(raw_key, out)) {
    return HttpApi::Error(http::status::bad_request, "bad_request",
                          "invalid percent-escape at byte " + std::to_string(*at) + " of the key " + Quote(raw_key) +
                              "; '%' must be followed by two hex digits (write a literal '%' as %25)",
                          v, ka);
  }
  if (out.empty()) {
    return HttpApi::Error(
        http::status::bad_request, "empty_key",
        "the key is empty; use /kv/{key} with a key of 1 to " + std::to_string(max_key_bytes) + " bytes", v, ka);
  }
  if (out.size() > max_key_bytes) {
    return HttpApi::Error(http::status::bad_request, "key_too_long",
                          "the key is " + std::to_string(out.size()) + " bytes after percent-decoding; the limit is " +
                              std::to_string(max_key_bytes) + " bytes",
                          v, ka);
  }
  if (!IsValidUtf8(out)) {
    return HttpApi::Error(http::status::bad_request, "bad_request",
                          "the key is not valid UTF-8 after percent-decoding; keys are UTF-8 text", v, ka);
  }
  return std::nullopt;
}

}  // namespace

HttpApi::HttpApi(HttpApiOptions options, Coordinator& coordinator, NodeStats& stats)
    : options_(std::move(options)), coordinator_(coordinator), stats_(stats) {
  if (!options_.clock_ms) options_.clock_ms = WallClockMs;
}

Response HttpApi::Error(http::status status, std::string_view code, std::string_view message, unsigned version,
                        bool keep_alive) {
  return JsonResponse(status, json{{"error", code}, {"message", message}}, version, keep_alive);
}

NodeStats::Route HttpApi::Classify(http::verb method, std::string_view target) {
  const std::string_view path = SplitTarget(target).path;
  if (path == "/status") return method == http::verb::get ? NodeStats::Route::kGetStatus : NodeStats::Route::kOther;
  if (path.starts_with("/kv/")) {
    switch (method) {
      case http::verb::get:
        return NodeStats::Route::kGetKv;
      case http::verb::put:
        return NodeStats::Route::kPutKv;
      case http::verb::delete_:
        return NodeStats::Route::kDeleteKv;
      default:
        break;
    }
  }
  return NodeStats::Route::kOther;
}

void HttpApi::Handle(Request request, std::function<void(Response)> done) const {
  Once once(std::move(done));
  std::function<void(Response)> reply = once;
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  try {
    const Target target = SplitTarget(StdView(request.target()));
    if (target.path == "/status" || target.path == "/ring" || target.path == "/admin/digest") {
      return HandleReadOnly(request, target.path, target.query, reply);
    }
    if (!target.path.starts_with("/kv/")) {
      return reply(Error(
          http::status::not_found, "not_found",
          "no such path " + Quote(target.path) + "; the API is /kv/{key}, /status, /ring and /admin/digest", v, ka));
    }
    KvTarget kv;
    if (auto error = ParseKvQuery(request, target.query, options_.n, kv)) return reply(std::move(*error));
    if (auto error = ParseKvKey(request, target.path, options_.max_key_bytes, kv.key)) return reply(std::move(*error));
    switch (request.method()) {
      case http::verb::get:
        return HandleGet(request, std::move(kv.key), kv.quorum, kv.local, reply);
      case http::verb::put:
        return HandlePut(request, std::move(kv.key), kv.quorum, reply);
      default:
        return HandleDelete(request, std::move(kv.key), kv.quorum, reply);
    }
  } catch (const std::exception& e) {
    // Only a bug or memory exhaustion gets here; answer rather than drop.
    reply(
        Error(http::status::internal_server_error, "internal", std::string("unexpected failure: ") + e.what(), v, ka));
  }
}

void HttpApi::HandleReadOnly(const Request& request, std::string_view path, std::string_view query,
                             std::function<void(Response)>& done) const {
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  if (request.method() != http::verb::get) {
    Response res =
        Error(http::status::method_not_allowed, "method_not_allowed", std::string(path) + " only answers GET", v, ka);
    res.set(http::field::allow, "GET");
    return done(std::move(res));
  }
  if (auto bad = UnsupportedQueryParam(query, {})) {
    return done(Error(
        http::status::bad_request, "unsupported_query",
        "query parameter " + Quote(*bad) + " is not supported; " + std::string(path) + " takes no parameters", v, ka));
  }
  if (path == "/status") return HandleStatus(request, done);
  if (path == "/ring") {
    json ring = options_.ring ? options_.ring() : json::object();
    return done(JsonResponse(http::status::ok, ring, v, ka));
  }
  Response res{http::status::ok, v};
  res.set(http::field::server, "dynastore");
  res.set(http::field::content_type, "application/x-ndjson");
  res.keep_alive(ka);
  res.body() = options_.digests ? options_.digests() : "";
  res.prepare_payload();
  return done(std::move(res));
}

void HttpApi::HandleStatus(const Request& request, std::function<void(Response)>& done) const {
  json body = stats_.ToJson();
  body["node"] = options_.node_id;
  body["version"] = kDynastoreVersion;
  body["sync"] = options_.sync;
  body["wall_clock_ms"] = options_.clock_ms();
  if (options_.status_extra) body.update(options_.status_extra());
  done(JsonResponse(http::status::ok, body, request.version(), request.keep_alive()));
}

void HttpApi::HandleGet(const Request& request, std::string key, int quorum, bool local,
                        std::function<void(Response)>& done) const {
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  auto answer = [this, key, v, ka, done](const std::vector<std::string>& values, const CausalContext& context) {
    // No live value (missing or deleted) is a 404 that still carries the
    // context: a write with it supersedes the tombstone.
    const http::status status = values.empty() ? http::status::not_found : http::status::ok;
    done(KvGetResponse(status, key, values, context.ToToken(options_.context_key), v, ka));
  };
  if (local) {
    // This replica's own versions, uncoordinated: for convergence checkers.
    VersionSet set;
    Status s = coordinator_.ReadLocal(key, set);
    if (!s.ok()) return done(CoordinatorError(s, v, ka));
    return answer(set.LiveValues(), set.Context());
  }
  coordinator_.Get(key, quorum, [answer, v, ka, done](GetReply r) {
    if (!r.status.ok()) return done(CoordinatorError(r.status, v, ka));
    answer(r.values, r.context);
  });
}

void HttpApi::HandlePut(const Request& request, std::string key, int quorum,
                        std::function<void(Response)>& done) const {
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  static constexpr std::string_view kExample = R"({"value": "...", "context": "<token from GET, or empty>"})";
  if (request.body().empty()) {
    return done(
        Error(http::status::bad_request, "bad_request", "PUT needs a body like " + std::string(kExample), v, ka));
  }
  std::string value;
  std::optional<CausalContext> context;
  if (PlainPutBody plain; ParsePlainPutBody(request.body(), plain)) {
    value.assign(plain.value);
    if (plain.context) {
      if (auto err = ParseContextToken(request, *plain.context, options_.context_key, context)) {
        return done(std::move(*err));
      }
    }
  } else if (auto err = ParsePutBody(request, kExample, options_.context_key, value, context)) {
    return done(std::move(*err));
  }
  coordinator_.Put(key, context.value_or(CausalContext()), std::move(value), quorum, [this, v, ka, done](PutReply r) {
    if (!r.status.ok()) return done(CoordinatorError(r.status, v, ka));
    done(KvPutResponse(r.context.ToToken(options_.context_key), v, ka));
  });
}

void HttpApi::HandleDelete(const Request& request, std::string key, int quorum,
                           std::function<void(Response)>& done) const {
  const unsigned v = request.version();
  const bool ka = request.keep_alive();
  std::optional<CausalContext> context;
  const std::string& raw = request.body();
  // An empty (or blank) body is a delete of whatever the node stores now.
  if (raw.find_first_not_of(" \t\r\n") != std::string::npos) {
    static constexpr std::string_view kExample = R"({"context": "<token from GET>"})";
    json body;
    if (auto err = ParseBodyObject(request, {"context"}, kExample, body)) return done(std::move(*err));
    if (auto err = ParseContextField(request, body, options_.context_key, context)) return done(std::move(*err));
  }
  coordinator_.Delete(key, std::move(context), quorum, [this, v, ka, done](PutReply r) {
    if (!r.status.ok()) return done(CoordinatorError(r.status, v, ka));
    done(JsonResponse(http::status::ok, json{{"context", r.context.ToToken(options_.context_key)}}, v, ka));
  });
}

}  // namespace dynastore
