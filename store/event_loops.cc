#include "store/event_loops.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <string>

namespace dynastore {

namespace {
// Which loop of which EventLoops the calling thread runs. Several nodes can
// share a process (the multi-node tests), hence the owner.
thread_local const EventLoops* tls_owner = nullptr;
thread_local int tls_index = -1;
}  // namespace

EventLoops::EventLoops(int count) {
  for (int i = 0; i < std::max(1, count); ++i) {
    loops_.push_back(std::make_unique<boost::asio::io_context>(1));  // hint 1: one thread runs it
    work_.push_back(boost::asio::make_work_guard(*loops_.back()));
  }
}

EventLoops::~EventLoops() {
  Stop();
  // Destroys the queued handlers and the sockets they own. Last to first:
  // a session on loop 1 may hold the last reference to an object with a
  // socket on loop 0 (the HTTP server's acceptor), and an I/O object must
  // go before its io_context does.
  while (!loops_.empty()) loops_.pop_back();
}

void EventLoops::Start(std::function<void(std::string_view)> log) {
  for (int i = 0; i < size(); ++i) {
    threads_.emplace_back([this, i, log] {
      tls_owner = this;
      tls_index = i;
      pthread_setname_np(pthread_self(), ("ds-loop" + std::to_string(i)).substr(0, 15).c_str());  // for top and perf
      for (;;) {
        try {
          loops_[i]->run();
          return;
        } catch (const std::exception& e) {
          // A handler threw (a bug or bad_alloc): keep the thread serving.
          if (log) log(std::string("unexpected exception in a request thread: ") + e.what());
        }
      }
    });
  }
}

void EventLoops::Stop() {
  work_.clear();
  for (auto& loop : loops_) loop->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

int EventLoops::current() const { return tls_owner == this ? tls_index : -1; }

boost::asio::io_context& EventLoops::next() {
  return *loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
}

}  // namespace dynastore
