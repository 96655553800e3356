#include "harness/stores/couchdb/couchdb_documents.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace faultline {

namespace {

using json = nlohmann::json;

std::string Truncate(std::string_view s, size_t max = 160) {
  return s.size() > max ? std::string(s.substr(0, max)) + "..." : std::string(s);
}

// "N-hash" → N; 0 when malformed.
int64_t RevPosition(const std::string& rev) {
  const size_t dash = rev.find('-');
  int64_t pos = 0;
  if (dash == std::string::npos || dash == 0) return 0;
  auto [end, ec] = std::from_chars(rev.data(), rev.data() + dash, pos);
  return ec == std::errc() && end == rev.data() + dash ? pos : 0;
}

bool WellFormedRev(const std::string& rev) { return RevPosition(rev) > 0 && rev.find('-') + 1 < rev.size(); }

// {"error","reason"} → "<status> <error>: <reason>".
std::string DescribeError(int status, std::string_view body) {
  json j = json::parse(body, nullptr, false);
  std::string error, reason;
  if (j.is_object()) {
    if (j.contains("error") && j["error"].is_string()) error = j["error"].get<std::string>();
    if (j.contains("reason") && j["reason"].is_string()) reason = j["reason"].get<std::string>();
  }
  if (error.empty()) return fmt::format("{} {}", status, Truncate(body));
  return reason.empty() ? fmt::format("{} {}", status, error)
                        : fmt::format("{} {}: {}", status, error, Truncate(reason));
}

}  // namespace

bool CouchdbRevWins(const CouchdbLeaf& a, const CouchdbLeaf& b) {
  if (a.deleted != b.deleted) return !a.deleted;
  const int64_t pa = RevPosition(a.rev), pb = RevPosition(b.rev);
  if (pa != pb) return pa > pb;
  return a.rev.substr(a.rev.find('-') + 1) > b.rev.substr(b.rev.find('-') + 1);
}

std::vector<CouchdbLeaf> CouchdbLiveLeaves(std::vector<CouchdbLeaf> leaves) {
  std::erase_if(leaves, [](const CouchdbLeaf& l) { return l.deleted; });
  std::sort(leaves.begin(), leaves.end(), CouchdbRevWins);
  return leaves;
}

bool ParseCouchdbLeaves(const json& body, std::vector<CouchdbLeaf>* leaves, std::string* error) {
  leaves->clear();
  if (!body.is_array()) {
    *error = "open_revs reply is not an array: " + Truncate(body.dump());
    return false;
  }
  for (const json& entry : body) {
    if (!entry.is_object()) {
      *error = "open_revs entry is not an object: " + Truncate(entry.dump());
      return false;
    }
    if (entry.contains("missing")) continue;  // a revision asked for that the server does not have
    auto ok = entry.find("ok");
    if (ok == entry.end() || !ok->is_object() || !ok->contains("_rev") || !(*ok)["_rev"].is_string()) {
      *error = "open_revs entry is not {\"ok\": document with _rev}: " + Truncate(entry.dump());
      return false;
    }
    CouchdbLeaf leaf;
    leaf.rev = (*ok)["_rev"].get<std::string>();
    if (!WellFormedRev(leaf.rev)) {
      *error = "malformed _rev " + Truncate(leaf.rev);
      return false;
    }
    auto deleted = ok->find("_deleted");
    leaf.deleted = deleted != ok->end() && deleted->is_boolean() && deleted->get<bool>();
    leaf.doc = *ok;
    leaves->push_back(std::move(leaf));
  }
  return true;
}

std::string CouchdbDocuments::DocPath(const std::string& key) const {
  return "/" + PercentEncode(database_) + "/" + PercentEncode(key);
}

CouchdbReply CouchdbDocuments::Call(std::string_view method, const std::string& target, const std::string& body,
                                    Clock::time_point deadline) {
  CouchdbReply reply;
  const HttpResult r = conn_.Request(method, target, body, deadline, "application/json");
  const std::string what = fmt::format("{} {}", method, Truncate(target, 80));
  if (!r.ok()) {
    reply.status = r.maybe_sent ? CouchdbReply::Status::kUnknown : CouchdbReply::Status::kFailed;
    reply.error = fmt::format("{} ({})", r.failure == HttpFailure::kRefused ? "connection refused" : r.error, what);
    return reply;
  }
  reply.http_status = r.status;
  if (r.status < 200 || r.status >= 300) {
    reply.not_found = r.status == 404;
    // 4xx: the server refused the request (409 Conflict, 400, 404, 412); 5xx: it may have half-done it.
    reply.status = r.status < 500 ? CouchdbReply::Status::kFailed : CouchdbReply::Status::kUnknown;
    reply.error = fmt::format("{} ({})", DescribeError(r.status, r.body), what);
    return reply;
  }
  reply.body = json::parse(r.body, nullptr, false);
  if (reply.body.is_discarded()) {
    reply.status = CouchdbReply::Status::kUnknown;
    reply.error = fmt::format("reply is not JSON: {} ({})", Truncate(r.body), what);
    return reply;
  }
  reply.status = CouchdbReply::Status::kOk;
  return reply;
}

CouchdbReply CouchdbDocuments::Get(const std::string& key, std::string_view query, Clock::time_point deadline) {
  return Call("GET", query.empty() ? DocPath(key) : DocPath(key) + "?" + std::string(query), "", deadline);
}

CouchdbReply CouchdbDocuments::Put(const std::string& key, const json& doc, Clock::time_point deadline) {
  return Call("PUT", DocPath(key), doc.dump(), deadline);
}

CouchdbReply CouchdbDocuments::Delete(const std::string& key, const std::string& rev, Clock::time_point deadline) {
  return Call("DELETE", DocPath(key) + "?rev=" + PercentEncode(rev), "", deadline);
}

CouchdbReply CouchdbDocuments::CreateDatabase(Clock::time_point deadline) {
  CouchdbReply r = Call("PUT", "/" + PercentEncode(database_), "", deadline);
  if (r.http_status == 412) {  // file_exists
    r.status = CouchdbReply::Status::kOk;
    r.error.clear();
  }
  return r;
}

}  // namespace faultline
