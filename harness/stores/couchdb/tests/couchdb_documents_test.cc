// The parts of the couchdb client that need no real server: CouchDB's
// winner rule, open_revs replies that are not what the API promises
// (hostile input is a clear error, never a crash), and how each way a write
// can end maps to "not applied" or "unknown", against a loopback socket
// that answers as scripted (no real server fails on purpose).
#include "harness/stores/couchdb/couchdb_documents.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

namespace faultline {
namespace {

using json = nlohmann::json;

CouchdbLeaf Leaf(std::string rev, bool deleted = false) { return {std::move(rev), deleted, json::object()}; }

TEST(CouchdbWinner, LiveBeatsDeletedThenLongerPathThenGreaterHash) {
  EXPECT_TRUE(CouchdbRevWins(Leaf("1-aaa"), Leaf("9-fff", true)));
  EXPECT_TRUE(CouchdbRevWins(Leaf("10-aaa"), Leaf("9-fff")));  // numeric, not text, order of N
  EXPECT_TRUE(CouchdbRevWins(Leaf("3-b0"), Leaf("3-a9")));
  EXPECT_FALSE(CouchdbRevWins(Leaf("3-a9"), Leaf("3-b0")));
  const std::vector<CouchdbLeaf> live =
      CouchdbLiveLeaves({Leaf("2-aa"), Leaf("5-zz", true), Leaf("3-01"), Leaf("3-ff")});
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[0].rev, "3-ff");
  EXPECT_EQ(live[1].rev, "3-01");
  EXPECT_EQ(live[2].rev, "2-aa");
}

TEST(CouchdbLeaves, ParsesEveryLeafAndSkipsMissingRevisions) {
  const json body = json::parse(R"([{"ok":{"_id":"k","_rev":"2-ab","elements":[1]}},
                                    {"ok":{"_id":"k","_rev":"2-cd","_deleted":true}},
                                    {"missing":"1-zz"}])");
  std::vector<CouchdbLeaf> leaves;
  std::string error;
  ASSERT_TRUE(ParseCouchdbLeaves(body, &leaves, &error)) << error;
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_EQ(leaves[0].rev, "2-ab");
  EXPECT_FALSE(leaves[0].deleted);
  EXPECT_EQ(leaves[0].doc["elements"], json({1}));
  EXPECT_TRUE(leaves[1].deleted);
}

TEST(CouchdbLeaves, RejectsRepliesThatAreNotLeafLists) {
  for (const char* bad : {R"({"ok":true})", R"([1])", R"([{"ok":{"_id":"k"}}])", R"([{"ok":{"_rev":7}}])",
                          R"([{"ok":{"_rev":"x-1"}}])", R"([{"ok":{"_rev":"3-"}}])", R"([{"nope":{}}])"}) {
    std::vector<CouchdbLeaf> leaves;
    std::string error;
    EXPECT_FALSE(ParseCouchdbLeaves(json::parse(bad), &leaves, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

// A loopback listener that reads one request and then does `answer` with the connection.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd)> answer) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, answer] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      answer(fd);
      ::close(fd);
    });
  }
  ~ScriptedServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

void Reply(int fd, const std::string& status, const std::string& body) {
  const std::string r = "HTTP/1.1 " + status +
                        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body;
  EXPECT_EQ(::write(fd, r.data(), r.size()), static_cast<ssize_t>(r.size()));
}

CouchdbReply PutTo(const ScriptedServer& server, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  CouchdbDocuments docs("127.0.0.1", server.port(), "db");
  return docs.Put("k", {{"elements", {1}}}, CouchdbDocuments::Clock::now() + timeout);
}

TEST(CouchdbOutcomes, ConflictAndOther4xxAreNotApplied) {
  ScriptedServer conflict(
      [](int fd) { Reply(fd, "409 Conflict", R"({"error":"conflict","reason":"Document update conflict."})"); });
  CouchdbReply r = PutTo(conflict);
  EXPECT_EQ(r.status, CouchdbReply::Status::kFailed);
  EXPECT_EQ(r.http_status, 409);
  EXPECT_NE(r.error.find("409 conflict: Document update conflict."), std::string::npos) << r.error;
  ScriptedServer bad([](int fd) { Reply(fd, "400 Bad Request", "not even json"); });
  EXPECT_EQ(PutTo(bad).status, CouchdbReply::Status::kFailed);
}

TEST(CouchdbOutcomes, ARefusedConnectionIsNotApplied) {
  int port = 0;
  {
    ScriptedServer gone([](int) {});
    port = gone.port();
    CouchdbDocuments touch("127.0.0.1", port, "db");  // let the listener's thread finish
    touch.Put("k", json::object(), CouchdbDocuments::Clock::now() + std::chrono::milliseconds(500));
  }
  CouchdbDocuments docs("127.0.0.1", port, "db");
  CouchdbReply r = docs.Put("k", json::object(), CouchdbDocuments::Clock::now() + std::chrono::milliseconds(1000));
  EXPECT_EQ(r.status, CouchdbReply::Status::kFailed);
  EXPECT_NE(r.error.find("connection refused"), std::string::npos) << r.error;
}

TEST(CouchdbOutcomes, TimeoutDropAfterSending5xxAndMalformedRepliesAreUnknown) {
  ScriptedServer silent([](int) { std::this_thread::sleep_for(std::chrono::milliseconds(700)); });
  CouchdbReply timeout = PutTo(silent, std::chrono::milliseconds(300));
  EXPECT_EQ(timeout.status, CouchdbReply::Status::kUnknown) << timeout.error;
  ScriptedServer drop([](int) {});  // reads the request, closes without a word
  CouchdbReply dropped = PutTo(drop);
  EXPECT_EQ(dropped.status, CouchdbReply::Status::kUnknown) << dropped.error;
  ScriptedServer unavailable([](int fd) { Reply(fd, "503 Service Unavailable", "{}"); });
  EXPECT_EQ(PutTo(unavailable).status, CouchdbReply::Status::kUnknown);
  ScriptedServer garbage([](int fd) { Reply(fd, "201 Created", "{\"ok\":tru"); });
  CouchdbReply malformed = PutTo(garbage);
  EXPECT_EQ(malformed.status, CouchdbReply::Status::kUnknown);
  EXPECT_NE(malformed.error.find("reply is not JSON"), std::string::npos) << malformed.error;
}

}  // namespace
}  // namespace faultline
