// EventLoops, and the property the node builds on them: a replica call made
// on a request thread is sent, answered and called back on that thread.
#include "store/event_loops.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/peers.h"
#include "store/rpc_server.h"

namespace dynastore {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `f` on loop `i` and returns what it returned.
template <typename F>
auto OnLoop(EventLoops& loops, int i, F f) {
  std::promise<decltype(f())> done;
  asio::post(loops.at(i), [&] { done.set_value(f()); });
  return done.get_future().get();
}

TEST(EventLoopsTest, CurrentNamesTheLoopOfTheCallingThreadAndNoneElsewhere) {
  EventLoops loops(3), others(1);
  loops.Start(nullptr);
  others.Start(nullptr);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(OnLoop(loops, i, [&] { return loops.current(); }), i);
  EXPECT_EQ(loops.current(), -1);
  // Several nodes share a process in the tests: another object's loop is
  // none of these.
  EXPECT_EQ(OnLoop(others, 0, [&] { return loops.current(); }), -1);
  EXPECT_EQ(OnLoop(others, 0, [&] { return others.current(); }), 0);
}

TEST(EventLoopsTest, NextGoesRoundRobin) {
  EventLoops loops(2);
  EXPECT_EQ(&loops.next(), &loops.at(0));
  EXPECT_EQ(&loops.next(), &loops.at(1));
  EXPECT_EQ(&loops.next(), &loops.at(0));
}

TEST(EventLoopsTest, ResumeRunsTheCompletionOnTheWrappingLoopWhicheverThreadCallsIt) {
  EventLoops loops(2);
  loops.Start(nullptr);
  std::promise<std::pair<int, std::string>> ran;
  std::function<void(std::string)> wrapped = OnLoop(loops, 1, [&] {
    return loops.Resume(std::function<void(std::string)>([&](std::string s) {
      ran.set_value({loops.current(), std::move(s)});
    }));
  });
  std::thread([&] { wrapped("from a commit thread"); }).join();  // not a loop's thread
  const auto [loop, text] = ran.get_future().get();
  EXPECT_EQ(loop, 1);
  EXPECT_EQ(text, "from a commit thread");
}

TEST(EventLoopsTest, ResumeOffTheLoopsLeavesTheCompletionAsItIs) {
  EventLoops loops(1);
  loops.Start(nullptr);
  int seen = -2;
  std::function<void(int)> wrapped = loops.Resume(std::function<void(int)>([&](int) { seen = loops.current(); }));
  wrapped(0);
  EXPECT_EQ(seen, -1);  // ran inline, on this thread
}

TEST(EventLoopsTest, AHandlerThatThrowsIsLoggedAndTheLoopGoesOn) {
  EventLoops loops(1);
  std::mutex mu;
  std::vector<std::string> logged;
  loops.Start([&](std::string_view line) {
    std::lock_guard lock(mu);
    logged.emplace_back(line);
  });
  asio::post(loops.at(0), [] { throw std::runtime_error("boom"); });
  EXPECT_EQ(OnLoop(loops, 0, [&] { return loops.current(); }), 0);
  std::lock_guard lock(mu);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0], "unexpected exception in a request thread: boom");
}

TEST(EventLoopsTest, StopKeepsQueuedHandlersUnrunUntilDestruction) {
  auto sentinel = std::make_shared<int>(0);
  std::weak_ptr<int> watch = sentinel;
  bool ran = false;
  {
    EventLoops loops(1);
    loops.Start(nullptr);
    loops.Stop();
    asio::post(loops.at(0), [&ran, s = std::move(sentinel)] { ran = true; });
    loops.Stop();  // idempotent
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(ran);
}

// Two nodes' worth of wiring, as Node does it: node 0 calls node 1, whose
// RPC server spreads its connections over its own loops.
class PeersOnLoopsTest : public ::testing::Test {
 protected:
  PeersOnLoopsTest() : work_(asio::make_work_guard(io_)), loops_(2), server_loops_(2) {
    background_ = std::thread([this] { io_.run(); });
    loops_.Start(nullptr);
    server_loops_.Start(nullptr);
  }
  ~PeersOnLoopsTest() override {
    if (peers_) peers_->Close();
    if (server_) server_->Stop();
    loops_.Stop();
    server_loops_.Stop();
    peers_.reset();
    server_.reset();
    work_.reset();
    io_.stop();
    background_.join();
  }

  void Start(RpcServer::Handler local) {
    server_ = std::make_unique<RpcServer>(
        io_, Endpoint{"127.0.0.1", 0},
        [this](uint8_t, std::string payload, RpcServer::Responder respond) {
          respond(Status::Ok(), payload + " answered on server loop " + std::to_string(server_loops_.current()));
        },
        RpcServerOptions{}, &server_loops_);
    ASSERT_TRUE(server_->Start().ok());
    ClusterConfig config;
    config.nodes = {NodeConfig{"n1", Endpoint{"127.0.0.1", 1}, Endpoint{"127.0.0.1", 1}},
                    NodeConfig{"n2", Endpoint{"127.0.0.1", 1}, Endpoint{"127.0.0.1", server_->port()}}};
    peers_ = std::make_unique<Peers>(io_, &loops_, config, /*self=*/0, std::move(local));
  }

  struct Answer {
    int callback_loop;
    Status status;
    std::string payload;
  };
  // Calls `node` from loop `loop` (-1: from this thread).
  Answer Call(int loop, int node, std::string payload) {
    std::promise<Answer> answer;
    auto call = [&] {
      peers_->Call(node, 1, std::move(payload), 5s, [&](Status s, std::string reply) {
        answer.set_value({loops_.current(), std::move(s), std::move(reply)});
      });
    };
    if (loop < 0) {
      call();
    } else {
      asio::post(loops_.at(loop), call);
    }
    return answer.get_future().get();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread background_;
  EventLoops loops_, server_loops_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<Peers> peers_;
};

TEST_F(PeersOnLoopsTest, ACallMadeOnALoopIsAnsweredOnThatLoop) {
  Start([](uint8_t, std::string, RpcServer::Responder respond) { respond(Status::Ok(), ""); });
  for (int round = 0; round < 2; ++round) {
    for (int loop = 0; loop < 2; ++loop) {
      const Answer a = Call(loop, 1, "ping");
      ASSERT_TRUE(a.status.ok()) << a.status.message();
      EXPECT_EQ(a.callback_loop, loop);
      // The server side ran on one of its own request threads, not on the
      // io_context that accepted the connection.
      EXPECT_TRUE(a.payload == "ping answered on server loop 0" || a.payload == "ping answered on server loop 1")
          << a.payload;
    }
  }
  // Calls from elsewhere (heartbeats, anti-entropy) go through the
  // io_context's own client.
  const Answer a = Call(-1, 1, "ping");
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  EXPECT_EQ(a.callback_loop, -1);
}

TEST_F(PeersOnLoopsTest, ACallToItselfFromALoopRunsOnThatLoop) {
  Start([this](uint8_t, std::string payload, RpcServer::Responder respond) {
    respond(Status::Ok(), payload + " on loop " + std::to_string(loops_.current()));
  });
  for (int loop = 0; loop < 2; ++loop) {
    const Answer a = Call(loop, 0, "local");
    ASSERT_TRUE(a.status.ok()) << a.status.message();
    EXPECT_EQ(a.payload, "local on loop " + std::to_string(loop));
    EXPECT_EQ(a.callback_loop, loop);
  }
}

}  // namespace
}  // namespace dynastore
