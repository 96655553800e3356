// RpcClient against a real RpcServer over loopback (nothing mocked): replies,
// errors, timeouts, fail-fast and reconnects, and every pending call
// completing exactly once whatever ends it.
#include "store/tests/rpc_test_support.h"

namespace dynastore {
namespace {

using namespace test;  // NOLINT: the fixture and helpers of rpc_test_support.h

TEST_F(RpcTest, EchoRoundTrip) {
  auto server = StartServer(Echo());
  ASSERT_NE(server->port(), 0);
  RpcClient client(io_, Local(server->port()));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.peer(), Local(server->port()));

  Result r = CallSync(client, 7, "hello");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload, "\x07hello");
  EXPECT_TRUE(client.connected());

  r = CallSync(client, 0, "");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload, std::string(1, '\0'));

  std::string big(3 << 20, 'b');
  r = CallSync(client, 0x7f, big);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload, "\x7f" + big);
}

TEST_F(RpcTest, PipelinedCallsFromSeveralThreadsGetTheirOwnRepliesWhenAnsweredOutOfOrder) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mutex rng_mu;
  std::mt19937 rng(seed);
  // Answers after a random delay, so replies overtake each other.
  auto server = StartServer([&](uint8_t, std::string payload, RpcServer::Responder respond) {
    int delay_ms;
    {
      std::lock_guard lock(rng_mu);
      delay_ms = std::uniform_int_distribution<int>(0, 20)(rng);
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(delay_ms));
    timer->async_wait([timer, payload = std::move(payload), respond = std::move(respond)](auto) {
      respond(Status::Ok(), "re:" + payload);
    });
  });
  RpcClient client(io_, Local(server->port()));

  constexpr int kCallers = 4, kCallsEach = 2500, kTotal = kCallers * kCallsEach;
  Counter done;
  std::atomic<int> wrong{0};
  std::atomic<int> overtaken{0};  // replies that arrived before an earlier call's
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t) {
    callers.emplace_back([&, t] {
      auto highest = std::make_shared<std::atomic<int>>(-1);
      for (int i = 0; i < kCallsEach; ++i) {
        const std::string payload = std::to_string(t) + "/" + std::to_string(i);
        client.Call(1, payload, 10s, [&, payload, i, highest](Status status, std::string reply) {
          if (!status.ok() || reply != "re:" + payload) {
            if (wrong.fetch_add(1) < 5) ADD_FAILURE() << payload << ": " << status.message() << " " << reply;
          }
          if (highest->load() > i) overtaken.fetch_add(1);
          int h = highest->load();
          while (h < i && !highest->compare_exchange_weak(h, i)) {
          }
          done.Add();
        });
      }
    });
  }
  for (auto& c : callers) c.join();
  ASSERT_TRUE(done.Wait(kTotal, 20s)) << done.count() << " of " << kTotal;
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(overtaken.load(), 0) << "replies never came out of order; the test proves less than it claims";
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(done.count(), kTotal);  // nothing ran twice
}

TEST_F(RpcTest, HandlerErrorReachesTheCallerWithItsCodeAndMessage) {
  std::mutex mu;
  std::vector<std::thread> responders;
  auto server = StartServer([&](uint8_t method, std::string payload, RpcServer::Responder respond) {
    switch (method) {
      case 1:
        respond(Status::InvalidArgument("bad key " + payload), "ignored");
        break;
      case 2:
        respond(Status::Corruption("bad checksum"), {});
        break;
      case 3:
        respond(Status::IOError("disk full"), {});
        break;
      case 4:
        respond(Status::Unavailable("not an owner"), {});
        break;
      case 5:
        respond(Status::TimedOut("replicas slow"), {});
        break;
      case 6: {  // answered later from a thread of its own
        std::lock_guard lock(mu);
        responders.emplace_back([respond] { respond(Status::IOError("from another thread"), {}); });
        break;
      }
    }
  });
  RpcClient client(io_, Local(server->port()));
  const std::vector<std::pair<Status::Code, std::string>> want = {
      {Status::Code::kInvalidArgument, "bad key k1"}, {Status::Code::kCorruption, "bad checksum"},
      {Status::Code::kIOError, "disk full"},          {Status::Code::kUnavailable, "not an owner"},
      {Status::Code::kTimedOut, "replicas slow"},     {Status::Code::kIOError, "from another thread"},
  };
  for (int method = 1; method <= 6; ++method) {
    const Result r = CallSync(client, method, "k1");
    EXPECT_EQ(r.status.code(), want[method - 1].first) << method;
    EXPECT_EQ(r.status.message(), want[method - 1].second) << method;
    EXPECT_EQ(r.payload, "") << method;
  }
  std::lock_guard lock(mu);
  for (auto& t : responders) t.join();
}

TEST_F(RpcTest, TimesOutAndDropsTheLateReply) {
  HeldResponders held;
  auto server = StartServer([&](uint8_t method, std::string payload, RpcServer::Responder respond) {
    if (method == 1) {
      held.Hold(std::move(respond));
    } else {
      respond(Status::Ok(), payload);
    }
  });
  RpcClient client(io_, Local(server->port()));
  ASSERT_TRUE(CallSync(client, 2, "warm").status.ok());

  Counter slow_done;
  Result slow;
  const auto start = Clock::now();
  client.Call(1, "slow", 300ms, [&](Status status, std::string payload) {
    slow = {std::move(status), std::move(payload)};
    slow_done.Add();
  });
  ASSERT_TRUE(held.WaitFor(1));
  // A reply on the same connection meanwhile: the peer is alive, so the
  // timeout must not cost the connection.
  ASSERT_TRUE(CallSync(client, 2, "alive").status.ok());
  ASSERT_TRUE(slow_done.Wait(1, 5s));
  EXPECT_GE(Clock::now() - start, 290ms);
  EXPECT_EQ(slow.status.code(), Status::Code::kTimedOut) << slow.status.message();

  for (auto& respond : held.Take()) respond(Status::Ok(), "too late");
  const Result after = CallSync(client, 2, "after");
  ASSERT_TRUE(after.status.ok()) << after.status.message();
  EXPECT_EQ(after.payload, "after");
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(slow_done.count(), 1);
}

TEST_F(RpcTest, SilentPeerIsPresumedDeadSoLaterCallsFailFast) {
  HeldResponders held;  // a peer that reads requests and never answers
  auto server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) { held.Hold(std::move(respond)); });
  // A 30 s reconnect backoff: the second call comes inside it however slow the machine, so it must fail fast
  // (Unavailable, not TimedOut after its own 150 ms) without a connect attempt.
  RpcClient client(io_, Local(server->port()), RpcClientOptions{1000ms, 30s, 60s});
  const Result first = CallSync(client, 1, "x", 150ms);
  EXPECT_EQ(first.status.code(), Status::Code::kTimedOut) << first.status.message();
  EXPECT_FALSE(client.connected());

  const Result second = CallSync(client, 1, "y", 150ms);
  EXPECT_EQ(second.status.code(), Status::Code::kUnavailable) << second.status.message();
  EXPECT_NE(second.status.message().find("presumed dead"), std::string::npos) << second.status.message();
}

TEST_F(RpcTest, ServerDownFailsFastWithUnavailable) {
  uint16_t port;
  {
    auto gone = StartServer(Echo());
    port = gone->port();
  }  // stopped and destroyed: nothing listens on `port` now
  // A 30 s reconnect backoff, so the last call below is inside it however slow the machine.
  RpcClient client(io_, Local(port), RpcClientOptions{1000ms, 30s, 60s});

  // Calls issued together while connecting all fail when the connect does:
  // Unavailable (refused), long before their 30 s timeout.
  Counter done;
  std::mutex mu;
  std::vector<Status> statuses;
  for (int i = 0; i < 5; ++i) {
    client.Call(1, "x", 30s, [&](Status status, std::string) {
      std::lock_guard lock(mu);
      statuses.push_back(std::move(status));
      done.Add();
    });
  }
  ASSERT_TRUE(done.Wait(5, 20s));
  for (const Status& s : statuses) EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.message();

  // Inside the backoff window: no connect attempt at all ("next attempt in ...").
  const Result r = CallSync(client, 1, "y");
  EXPECT_EQ(r.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status.message().find(std::to_string(port)), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("next attempt"), std::string::npos) << r.status.message();
}

TEST_F(RpcTest, ReconnectsAfterServerRestartOnTheSamePort) {
  auto server = StartServer(Echo());
  const uint16_t port = server->port();
  RpcClient client(io_, Local(port), RpcClientOptions{1000ms, 20ms, 100ms});
  ASSERT_TRUE(CallSync(client, 1, "before").status.ok());

  server->Stop();
  const auto give_up = Clock::now() + 3s;
  while (client.connected() && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(client.connected()) << "the client did not notice the server going away";
  const Result down = CallSync(client, 1, "down");
  EXPECT_EQ(down.status.code(), Status::Code::kUnavailable) << down.status.message();

  server = StartServer(Echo(), port);
  ASSERT_EQ(server->port(), port);
  Result r;
  int attempts = 0;
  while (Clock::now() < give_up) {
    ++attempts;
    r = CallSync(client, 1, "after");
    if (r.status.ok()) break;
    EXPECT_EQ(r.status.code(), Status::Code::kUnavailable) << r.status.message();
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(r.status.ok()) << r.status.message() << " after " << attempts << " attempts";
  EXPECT_EQ(r.payload,
            "\x01"
            "after");
  EXPECT_TRUE(client.connected());
}

TEST_F(RpcTest, StopWithCallsInFlightCompletesEveryCallbackExactlyOnce) {
  HeldResponders held;
  std::atomic<int> handled_after_stop{0};
  std::atomic<bool> stopped{false};
  auto server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) {
    if (stopped.load()) handled_after_stop.fetch_add(1);
    held.Hold(std::move(respond));
  });
  RpcClient client(io_, Local(server->port()), RpcClientOptions{1000ms, 500ms, 1000ms});

  constexpr int kCalls = 1000;
  std::vector<std::atomic<int>> runs(kCalls);
  std::vector<Status> statuses(kCalls);
  Counter done;
  for (int i = 0; i < kCalls; ++i) {
    client.Call(1, std::to_string(i), 60s, [&, i](Status status, std::string) {
      statuses[i] = std::move(status);
      runs[i].fetch_add(1);
      done.Add();
    });
  }
  ASSERT_TRUE(held.WaitFor(kCalls));  // every request is at the server

  stopped = true;
  server->Stop();
  // Within 20 s: from the dropped connection, not the calls' 60 s timeout.
  ASSERT_TRUE(done.Wait(kCalls, 20s)) << done.count();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(statuses[i].code(), Status::Code::kTimedOut) << i << ": " << statuses[i].message();
  }

  // Answers after Stop and after destruction go nowhere, harmlessly.
  auto responders = held.Take();
  for (size_t i = 0; i < responders.size() / 2; ++i) responders[i](Status::Ok(), "late");
  server.reset();
  for (size_t i = responders.size() / 2; i < responders.size(); ++i) responders[i](Status::Ok(), "later");
  responders.clear();

  const Result after = CallSync(client, 1, "after stop");
  EXPECT_EQ(after.status.code(), Status::Code::kUnavailable) << after.status.message();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(handled_after_stop.load(), 0);
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(runs[i].load(), 1) << i;
}

TEST_F(RpcTest, DestroyingTheClientCompletesEveryPendingCallExactlyOnce) {
  HeldResponders held;
  auto server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) { held.Hold(std::move(respond)); });
  constexpr int kSent = 300, kLast = 300;
  std::vector<std::atomic<int>> runs(kSent + kLast);
  std::vector<Status> statuses(kSent + kLast);
  Counter done;
  auto callback = [&](int i) {
    return [&, i](Status status, std::string) {
      statuses[i] = std::move(status);
      runs[i].fetch_add(1);
      done.Add();
    };
  };
  {
    RpcClient client(io_, Local(server->port()));
    for (int i = 0; i < kSent; ++i) client.Call(1, "x", 10s, callback(i));
    ASSERT_TRUE(held.WaitFor(kSent));
    // Issued right before destruction: some may not even reach the strand.
    for (int i = kSent; i < kSent + kLast; ++i) client.Call(1, "y", 10s, callback(i));
  }
  ASSERT_TRUE(done.Wait(kSent + kLast, 5s)) << done.count();
  for (int i = 0; i < kSent + kLast; ++i) {
    // Sent ones may have been delivered: TimedOut, never a false Unavailable.
    if (i < kSent) {
      EXPECT_EQ(statuses[i].code(), Status::Code::kTimedOut) << i;
    }
    EXPECT_TRUE(statuses[i].code() == Status::Code::kTimedOut || statuses[i].code() == Status::Code::kUnavailable) << i;
    EXPECT_NE(statuses[i].message().find("client closed"), std::string::npos) << statuses[i].message();
  }
  for (auto& respond : held.Take()) respond(Status::Ok(), "nobody listens");
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < kSent + kLast; ++i) ASSERT_EQ(runs[i].load(), 1) << i;
}

TEST_F(RpcTest, CallsAfterCloseFailWithUnavailable) {
  auto server = StartServer(Echo());
  RpcClient client(io_, Local(server->port()));
  ASSERT_TRUE(CallSync(client, 1, "x").status.ok());
  client.Close();
  client.Close();
  const Result r = CallSync(client, 1, "y");
  EXPECT_EQ(r.status.code(), Status::Code::kUnavailable);
  EXPECT_FALSE(client.connected());
}

TEST_F(RpcTest, RejectsBadRequestsWithoutSending) {
  auto server = StartServer(Echo());
  RpcClient client(io_, Local(server->port()));
  EXPECT_EQ(CallSync(client, kResponseOk, "x").status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(CallSync(client, 1, std::string(kMaxFramePayload + 1, 'x')).status.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(CallSync(client, 1, "fine").status.ok());
}

TEST_F(RpcTest, ResolvesHostNames) {
  auto server = StartServer(Echo());
  RpcClient client(io_, Endpoint{"localhost", server->port()});
  const Result r = CallSync(client, 1, "by name");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.payload,
            "\x01"
            "by name");

  RpcClient nowhere(io_, Endpoint{"no-such-host.invalid", server->port()});
  EXPECT_EQ(CallSync(nowhere, 1, "x").status.code(), Status::Code::kUnavailable);
}

TEST_F(RpcTest, StartNamesTheAddressWhenThePortIsInUse) {
  auto first = StartServer(Echo());
  RpcServer second(io_, Local(first->port()), Echo());
  const Status status = second.Start();
  EXPECT_EQ(status.code(), Status::Code::kIOError);
  EXPECT_NE(status.message().find("127.0.0.1:" + std::to_string(first->port())), std::string::npos) << status.message();
  EXPECT_FALSE(first->Start().ok());  // at most once
}

TEST_F(RpcTest, StopFromInsideTheHandlerDoesNotDeadlock) {
  std::unique_ptr<RpcServer> server;
  Counter handled;
  server = StartServer([&](uint8_t, std::string, RpcServer::Responder respond) {
    server->Stop();
    respond(Status::Ok(), "bye");
    handled.Add();
  });
  RpcClient client(io_, Local(server->port()));
  const Result r = CallSync(client, 1, "x", 2s);
  EXPECT_TRUE(r.status.code() == Status::Code::kTimedOut || r.status.ok()) << r.status.message();
  EXPECT_TRUE(handled.Wait(1, 2s));
}

}  // namespace
}  // namespace dynastore
