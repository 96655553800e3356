// The public HTTP API (doc/http_api.md) end to end: a real HttpServer on a
// loopback socket in front of real LevelDB storage, driven over HTTP.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/tests/test_http_client.h"
#include "store/tests/test_node.h"

namespace dynastore::test {
namespace {

using nlohmann::json;

std::vector<std::string> Sorted(const json& values) {
  std::vector<std::string> out = values.get<std::vector<std::string>>();
  std::sort(out.begin(), out.end());
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(node_.ok()) << node_.error(); }

  // PUT that must succeed; returns the new context.
  std::string MustPut(const std::string& key, const std::string& value, const std::string& context = "") {
    HttpResult r = client_.Put(KvPath(key), {{"value", value}, {"context", context}});
    EXPECT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.status(), 200u) << r.body();
    return r.Json().value("context", "");
  }

  InProcessNode node_;
  TestHttpClient client_{node_.ok() ? node_.port() : uint16_t{0}};
};

TEST_F(HttpApiTest, PutThenGetReturnsTheValueAndANonEmptyContext) {
  HttpResult put = client_.Put("/kv/greeting", {{"value", "hello"}});
  ASSERT_TRUE(put.ok()) << put.ec.message();
  EXPECT_EQ(put.status(), 200u);
  const json put_body = put.Json();
  ASSERT_TRUE(put_body.contains("context"));
  EXPECT_FALSE(put_body["context"].get<std::string>().empty());

  HttpResult get = client_.Get("/kv/greeting");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get.status(), 200u);
  const json body = get.Json();
  EXPECT_EQ(body["key"], "greeting");
  EXPECT_EQ(body["values"], json::array({"hello"}));
  EXPECT_FALSE(body["context"].get<std::string>().empty());
}

TEST_F(HttpApiTest, ResponsesAreJsonFromDynastore) {
  for (const std::string& target : std::vector<std::string>{"/kv/x", "/status", "/nope"}) {
    HttpResult r = client_.Get(target);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.Header(http::field::content_type), "application/json") << target;
    EXPECT_EQ(r.Header(http::field::server), "dynastore") << target;
    EXPECT_FALSE(r.Json().is_discarded()) << target;
  }
}

TEST_F(HttpApiTest, GetOfMissingKeyIs404WithNoValuesAndEmptyContext) {
  HttpResult r = client_.Get("/kv/never-written");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.status(), 404u);
  EXPECT_EQ(r.Json(), json({{"key", "never-written"}, {"values", json::array()}, {"context", ""}}));
}

TEST_F(HttpApiTest, TwoPutsWithTheSameStaleContextBecomeSiblings) {
  const std::string ctx0 = MustPut("k", "v0");
  MustPut("k", "a", ctx0);
  MustPut("k", "b", ctx0);
  HttpResult r = client_.Get("/kv/k");
  ASSERT_EQ(r.status(), 200u);
  EXPECT_EQ(Sorted(r.Json()["values"]), (std::vector<std::string>{"a", "b"}));
}

TEST_F(HttpApiTest, TwoBlindPutsWithEmptyContextBecomeSiblings) {
  MustPut("blind", "x");
  MustPut("blind", "y");
  HttpResult r = client_.Get("/kv/blind");
  ASSERT_EQ(r.status(), 200u);
  EXPECT_EQ(Sorted(r.Json()["values"]), (std::vector<std::string>{"x", "y"}));
}

TEST_F(HttpApiTest, PutWithTheMergedContextCollapsesSiblings) {
  MustPut("k", "a");
  MustPut("k", "b");
  HttpResult siblings = client_.Get("/kv/k");
  ASSERT_EQ(siblings.Json()["values"].size(), 2u);
  MustPut("k", "merged", siblings.Json()["context"]);
  HttpResult r = client_.Get("/kv/k");
  EXPECT_EQ(r.Json()["values"], json::array({"merged"}));
}

TEST_F(HttpApiTest, WriterThatReusesEachPutsContextNeverMakesSiblings) {
  std::string ctx;
  for (int i = 0; i < 20; ++i) ctx = MustPut("counter", std::to_string(i), ctx);
  EXPECT_EQ(client_.Get("/kv/counter").Json()["values"], json::array({"19"}));
}

TEST_F(HttpApiTest, DeleteMakesKey404AndAPutWithThe404ContextSupersedesTheTombstone) {
  MustPut("d", "alive");
  HttpResult got = client_.Get("/kv/d");
  HttpResult del = client_.Delete("/kv/d", json{{"context", got.Json()["context"]}}.dump());
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del.status(), 200u) << del.body();
  EXPECT_TRUE(del.Json().contains("context"));

  HttpResult gone = client_.Get("/kv/d");
  EXPECT_EQ(gone.status(), 404u);
  EXPECT_EQ(gone.Json()["values"], json::array());
  const std::string tomb_ctx = gone.Json()["context"];
  EXPECT_FALSE(tomb_ctx.empty()) << "a tombstone's context must be returned so a write can supersede it";

  MustPut("d", "reborn", tomb_ctx);
  HttpResult back = client_.Get("/kv/d");
  EXPECT_EQ(back.status(), 200u);
  EXPECT_EQ(back.Json()["values"], json::array({"reborn"}));
  // And the tombstone is gone for good: a further delete+get cycle works.
  EXPECT_EQ(client_.Delete("/kv/d", json{{"context", back.Json()["context"]}}.dump()).status(), 200u);
  EXPECT_EQ(client_.Get("/kv/d").status(), 404u);
}

TEST_F(HttpApiTest, DeleteWithoutBodyDeletesEverySiblingTheNodeStores) {
  MustPut("s", "a");
  MustPut("s", "b");
  HttpResult del = client_.Delete("/kv/s");
  EXPECT_EQ(del.status(), 200u) << del.body();
  EXPECT_EQ(client_.Get("/kv/s").status(), 404u);
  EXPECT_EQ(client_.Delete("/kv/s", R"({})").status(), 200u);  // missing context: same
}

TEST_F(HttpApiTest, DeleteWithAStaleContextLeavesTheUnseenValueAlive) {
  const std::string ctx = MustPut("race", "first");
  MustPut("race", "unseen", ctx);  // a write the deleter did not see
  HttpResult del = client_.Delete("/kv/race", json{{"context", ctx}}.dump());
  EXPECT_EQ(del.status(), 200u);
  HttpResult r = client_.Get("/kv/race");
  EXPECT_EQ(r.status(), 200u);
  EXPECT_EQ(r.Json()["values"], json::array({"unseen"}));
}

TEST_F(HttpApiTest, PercentEncodedKeysRoundTrip) {
  const std::vector<std::string> keys = {"with space", "a/b",    "ключ-键-🔑", "100%",
                                         "q?x#y&z=1",  "+plus+", "~._-",      std::string(1024, 'k')};
  for (const std::string& key : keys) {
    HttpResult put = client_.Put(KvPath(key), {{"value", "v:" + key}});
    ASSERT_EQ(put.status(), 200u) << key << ": " << put.body();
    HttpResult get = client_.Get(KvPath(key));
    ASSERT_EQ(get.status(), 200u) << key;
    EXPECT_EQ(get.Json()["key"], key);
    EXPECT_EQ(get.Json()["values"], json::array({"v:" + key}));
  }
  // The same key however it is encoded; '+' is not a space in a path.
  MustPut("AB", "plain");
  EXPECT_EQ(client_.Get("/kv/%41%42").Json()["values"], json::array({"plain"}));
  EXPECT_EQ(client_.Get("/kv/with%20space").Json()["key"], "with space");
  EXPECT_EQ(client_.Get("/kv/+plus+").Json()["key"], "+plus+");
}

TEST_F(HttpApiTest, ValuesAreArbitraryUnicodeStrings) {
  const std::vector<std::string> values = {"", "line\nbreak \"quoted\" \\", std::string("nul\0byte", 8),
                                           "żółć 🦀", std::string(100000, 'x')};
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string key = "val" + std::to_string(i);
    MustPut(key, values[i]);
    HttpResult r = client_.Get(KvPath(key));
    ASSERT_EQ(r.status(), 200u);
    EXPECT_EQ(r.Json()["values"][0].get<std::string>(), values[i]) << i;
  }
}

// GET and PUT replies are written without a json object (the hot path);
// they must stay byte for byte what nlohmann's dump() writes.
TEST_F(HttpApiTest, KvRepliesAreExactlyNlohmannsCompactDump) {
  const std::string controls = [] {
    std::string s;
    for (int c = 1; c < 0x20; ++c) s.push_back(static_cast<char>(c));
    return s + "\x7f";
  }();
  const std::vector<std::string> values = {
      "", "plain", "line\nbreak \"quoted\" \\ /", std::string("nul\0byte", 8), "żółć 🦀", controls};
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string key = "exact \"" + std::to_string(i) + "\" ż";
    HttpResult put = client_.Put(KvPath(key), {{"value", values[i]}});
    ASSERT_EQ(put.status(), 200u) << put.body();
    EXPECT_EQ(put.body(), put.Json().dump()) << i;
    MustPut(key, values[i] + "2");  // a second sibling
    HttpResult get = client_.Get(KvPath(key));
    ASSERT_EQ(get.status(), 200u);
    EXPECT_EQ(get.body(), get.Json().dump()) << i;
    EXPECT_EQ(get.Json()["key"], key);
  }
  HttpResult missing = client_.Get("/kv/exact-missing");
  EXPECT_EQ(missing.body(), missing.Json().dump());
}

TEST_F(HttpApiTest, StatusReportsIdentityClockAndMovingCounters) {
  HttpResult before = client_.Get("/status");
  ASSERT_EQ(before.status(), 200u);
  const json b = before.Json();
  EXPECT_EQ(b["node"], "n1");
  EXPECT_EQ(b["sync"], false);
  EXPECT_EQ(b["version"], std::string(kDynastoreVersion));
  EXPECT_NEAR(b["wall_clock_ms"].get<double>(), static_cast<double>(NowMs()), 5000);
  EXPECT_GE(b["uptime_s"].get<double>(), 0.0);
  EXPECT_GE(b["connections"].get<int>(), 1);
  for (const char* route : {"GET /kv", "PUT /kv", "DELETE /kv", "GET /status", "other"}) {
    EXPECT_TRUE(b["requests"]["by_route"].contains(route)) << route;
  }

  MustPut("counted", "v");
  client_.Get("/kv/counted");
  client_.Get("/kv/absent");  // 404
  client_.Delete("/kv/counted");
  client_.Request(http::verb::post, "/kv/x", "{}");  // 405
  HttpResult after = client_.Get("/status");
  const json a = after.Json();
  auto delta = [&](const char* group, const char* name) {
    return a["requests"][group][name].get<int64_t>() - b["requests"][group][name].get<int64_t>();
  };
  EXPECT_EQ(delta("by_route", "PUT /kv"), 1);
  EXPECT_EQ(delta("by_route", "GET /kv"), 2);
  EXPECT_EQ(delta("by_route", "DELETE /kv"), 1);
  EXPECT_EQ(delta("by_route", "GET /status"), 1);  // `before` itself
  EXPECT_EQ(delta("by_route", "other"), 1);
  EXPECT_EQ(delta("by_status", "2xx"), 4);
  EXPECT_EQ(delta("by_status", "4xx"), 2);
  EXPECT_EQ(delta("by_status", "5xx"), 0);
  EXPECT_EQ(a["requests"]["total"].get<int64_t>() - b["requests"]["total"].get<int64_t>(), 6);
}

TEST_F(HttpApiTest, StatusCountsOpenConnections) {
  const int64_t base = client_.Get("/status").Json()["connections"];
  std::vector<std::unique_ptr<TestHttpClient>> others;
  for (int i = 0; i < 3; ++i) {
    others.push_back(std::make_unique<TestHttpClient>(node_.port()));
    ASSERT_EQ(others.back()->Get("/status").status(), 200u);
  }
  EXPECT_EQ(client_.Get("/status").Json()["connections"], base + 3);
  others.clear();
  // Closing is asynchronous on the server side; wait for it.
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  int64_t now = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    now = client_.Get("/status").Json()["connections"];
    if (now == base) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(now, base);
}

TEST_F(HttpApiTest, KeepAliveServesManyRequestsOnOneConnection) {
  for (int i = 0; i < 300; ++i) {
    const std::string key = "ka" + std::to_string(i % 7);
    HttpResult r = i % 2 ? client_.Get(KvPath(key)) : client_.Put(KvPath(key), {{"value", std::to_string(i)}});
    ASSERT_TRUE(r.ok()) << i << ": " << r.ec.message();
    ASSERT_TRUE(r.response.keep_alive()) << i;
  }
  EXPECT_EQ(client_.connects(), 1);
}

TEST_F(HttpApiTest, Http10KeepsAliveOnlyWhenAsked) {
  HttpResult kept = client_.Request(http::verb::get, "/status", "", {{"Connection", "keep-alive"}}, 10);
  ASSERT_EQ(kept.status(), 200u);
  EXPECT_EQ(kept.response.version(), 10u);
  EXPECT_TRUE(kept.response.keep_alive());
  EXPECT_TRUE(client_.connected());

  HttpResult closed = client_.Request(http::verb::get, "/status", "", {}, 10);
  ASSERT_EQ(closed.status(), 200u);
  EXPECT_FALSE(closed.response.keep_alive());
  EXPECT_FALSE(client_.connected());
  EXPECT_EQ(client_.connects(), 1);

  HttpResult again = client_.Get("/status");  // a new connection
  EXPECT_EQ(again.status(), 200u);
  EXPECT_EQ(client_.connects(), 2);
}

// The server writes responses itself, not through Beast's serializer: the
// bytes must be what Beast would write for the same message (HTTP/1.0 and
// 1.1, JSON and error bodies, extra fields such as Allow, HEAD).
TEST_F(HttpApiTest, ResponsesAreByteForByteWhatBeastsSerializerWrites) {
  MustPut("bytes", "value");
  const std::string requests[] = {
      "GET /kv/bytes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /kv/absent HTTP/1.0\r\nHost: x\r\n\r\n",
      "POST /kv/bytes HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      "HEAD /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /no-such-route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  };
  for (const std::string& request : requests) {
    RawConnection raw;
    ASSERT_FALSE(raw.Connect(node_.port()));
    ASSERT_FALSE(raw.Send(request));
    bool closed = false;
    const std::string wire = raw.ReadUntilClose(3s, closed);
    ASSERT_TRUE(closed) << request;
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.skip(request.starts_with("HEAD"));  // no body follows, whatever Content-Length says
    beast::error_code ec;
    const size_t used = parser.put(asio::buffer(wire), ec);
    ASSERT_FALSE(ec) << ec.message() << "\n" << wire;
    ASSERT_TRUE(parser.is_done()) << wire;
    EXPECT_EQ(used, wire.size()) << wire;
    // What parsing cannot restore: the version and the standard reason.
    EXPECT_EQ(parser.get().version(), request.find("HTTP/1.0") != std::string::npos ? 10u : 11u) << wire;
    EXPECT_EQ(parser.get().reason(), http::obsolete_reason(parser.get().result())) << wire;
    std::ostringstream beast_bytes;
    beast_bytes << parser.get();  // through Beast's serializer
    EXPECT_EQ(wire, beast_bytes.str()) << request;
  }
}

TEST_F(HttpApiTest, ConnectionCloseIsHonoured) {
  HttpResult r = client_.Request(http::verb::get, "/status", "", {{"Connection", "close"}});
  EXPECT_EQ(r.status(), 200u);
  EXPECT_FALSE(r.response.keep_alive());
  RawConnection raw;
  ASSERT_FALSE(raw.Connect(node_.port()));
  ASSERT_FALSE(raw.Send("GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  bool closed = false;
  const std::string reply = raw.ReadUntilClose(3s, closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
}

TEST_F(HttpApiTest, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection raw;
  ASSERT_FALSE(raw.Connect(node_.port()));
  ASSERT_FALSE(
      raw.Send("GET /kv/p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /kv/p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  bool closed = false;
  const std::string reply = raw.ReadUntilClose(3s, closed);
  const size_t first = reply.find("\"key\":\"p1\"");
  const size_t second = reply.find("\"node\":\"n1\"");
  const size_t third = reply.find("\"key\":\"p2\"");
  ASSERT_NE(first, std::string::npos) << reply;
  ASSERT_NE(second, std::string::npos) << reply;
  ASSERT_NE(third, std::string::npos) << reply;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

// The server parses a body that came with its header at once, and reads
// the rest of one that did not: both, and a request that follows a body in
// the same segment, must be served whole and in order.
TEST_F(HttpApiTest, PutBodiesInOneSegmentOrSplitAreServedWholeAndInOrder) {
  auto put = [](const std::string& key, const std::string& body, const std::string& extra = "") {
    return "PUT /kv/" + key + " HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  RawConnection raw;
  ASSERT_FALSE(raw.Connect(node_.port()));
  // Two PUTs and a GET in one send: the second PUT's header and body are
  // already buffered when the first is answered.
  ASSERT_FALSE(raw.Send(put("seg1", R"({"value":"one"})") + put("seg2", R"({"value":"two \"escaped\""})") +
                        "GET /kv/seg1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string replies = raw.ReadUntil("\"values\":[\"one\"]", 3s);
  size_t answered = 0;
  for (size_t at = replies.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = replies.find("HTTP/1.1 200 OK", at + 1))
    ++answered;
  EXPECT_EQ(answered, 3u) << replies;
  EXPECT_EQ(client_.Get("/kv/seg2").Json()["values"], json::array({"two \"escaped\""}));

  // A body split across sends: the part after the header is incomplete.
  const std::string body = R"({"value":"split in two"})";
  const std::string request = put("seg3", body, "Connection: close\r\n");
  const size_t cut = request.size() - body.size() / 2;
  ASSERT_FALSE(raw.Send(request.substr(0, cut)));
  std::this_thread::sleep_for(50ms);  // so the rest arrives in a later read (either way it must work)
  ASSERT_FALSE(raw.Send(request.substr(cut)));
  bool closed = false;
  EXPECT_TRUE(raw.ReadUntilClose(3s, closed).find("HTTP/1.1 200") != std::string::npos);
  EXPECT_EQ(client_.Get("/kv/seg3").Json()["values"], json::array({"split in two"}));
}

TEST_F(HttpApiTest, Expect100ContinueGetsAnInterimResponse) {
  RawConnection raw;
  ASSERT_FALSE(raw.Connect(node_.port()));
  const std::string body = R"({"value":"continued"})";
  ASSERT_FALSE(raw.Send("PUT /kv/cont HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n"));
  EXPECT_TRUE(raw.ReadUntil("\r\n\r\n", 3s).starts_with("HTTP/1.1 100 Continue"));
  ASSERT_FALSE(raw.Send(body));
  EXPECT_TRUE(raw.ReadUntil("\r\n\r\n", 3s).starts_with("HTTP/1.1 200"));
  EXPECT_EQ(client_.Get("/kv/cont").Json()["values"], json::array({"continued"}));
}

TEST_F(HttpApiTest, ConcurrentBlindWritesToOneKeyAllSurviveAsSiblings) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      TestHttpClient c(node_.port());
      for (int i = 0; i < kPerThread; ++i) {
        HttpResult r = c.Put("/kv/hot", {{"value", std::to_string(t) + "-" + std::to_string(i)}});
        if (!r.ok() || r.status() != 200) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(client_.Get("/kv/hot").Json()["values"].size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(HttpApiTest, StopClosesIdleConnectionsPromptly) {
  ASSERT_EQ(client_.Get("/status").status(), 200u);  // an idle keep-alive connection now
  // Held up by it, Stop would close it only at the shutdown deadline, and
  // say so in the log.
  node_.node().Stop();
  EXPECT_EQ(node_.Log().find("shutdown deadline passed"), std::string::npos) << node_.Log();
  HttpResult r = client_.Get("/status");
  EXPECT_FALSE(r.ok()) << "the server must not answer after Stop()";
}

}  // namespace
}  // namespace dynastore::test
