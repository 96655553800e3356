#include "store/coordinator.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>

#include "store/event_loops.h"
#include "store/failure_detector.h"
#include "store/peers.h"
#include "store/ring.h"
#include "store/wall_clock.h"

namespace dynastore {

namespace {
bool Contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }
}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, const ClusterConfig& config, const Ring& ring, Storage& storage,
                         Peers& peers, FailureDetector& detector, boost::asio::io_context& io, EventLoops* loops)
    : options_(std::move(options)),
      config_(config),
      ring_(ring),
      storage_(storage),
      peers_(peers),
      detector_(detector),
      io_(io),
      loops_(loops),
      self_(peers.self()) {
  if (!options_.clock_ms) options_.clock_ms = WallClockMs;
}

std::vector<Coordinator::Target> Coordinator::WriteTargets(const std::vector<int>& walk) const {
  const std::vector<int> owners(walk.begin(), walk.begin() + ring_.n());
  std::vector<Target> targets;
  if (!options_.hinted_handoff) {
    for (int o : owners) {
      if (detector_.IsUp(o)) targets.push_back({o, ""});
    }
    return targets;
  }
  std::vector<int> down_owners;
  for (int o : owners) {
    if (!detector_.IsUp(o)) down_owners.push_back(o);
  }
  size_t next_down = 0;
  for (int node : walk) {
    if (static_cast<int>(targets.size()) == ring_.n()) break;
    if (!detector_.IsUp(node)) continue;
    if (Contains(owners, node)) {
      targets.push_back({node, ""});
    } else if (next_down < down_owners.size()) {
      targets.push_back({node, peers_.id(down_owners[next_down++])});
    }
  }
  return targets;
}

Status Coordinator::ReadLocal(const std::string& key, VersionSet& out) const {
  if (Status s = storage_.Get(key, out); !s.ok()) return s;
  std::vector<std::pair<std::string, VersionSet>> hints;
  if (Status s = storage_.GetHints(key, hints); !s.ok()) return s;
  for (const auto& [owner, set] : hints) out.Merge(set, options_.causality);
  return Status::Ok();
}

bool Coordinator::ReadLocalFromMemory(const std::string& key, VersionSet& out, Status& status) const {
  return !storage_.may_have_hints() && storage_.GetCached(key, out, status);
}

Status Coordinator::MergeLocal(const std::string& key, const VersionSet& set, const std::string& hint_for) {
  auto merge = [&](VersionSet& mine) { return mine.Merge(set, options_.causality); };
  if (hint_for.empty() || hint_for == options_.node_id) return storage_.Update(key, merge);
  return storage_.UpdateHint(key, hint_for, merge);
}

void Coordinator::MergeLocalAsync(std::string key, VersionSet set, std::string hint_for,
                                  std::function<void(Status)> done) {
  auto merge = [this, set = std::move(set)](VersionSet& mine) { return mine.Merge(set, options_.causality); };
  if (hint_for.empty() || hint_for == options_.node_id) {
    return storage_.UpdateAsync(std::move(key), std::move(merge), std::move(done));
  }
  storage_.UpdateHintAsync(std::move(key), std::move(hint_for), std::move(merge), std::move(done));
}

void Coordinator::Get(const std::string& key, int r, std::function<void(GetReply)> done) {
  if (r <= 0) r = config_.r;
  std::vector<Target> targets = WriteTargets(ring_.WalkForKey(key));
  if (static_cast<int>(targets.size()) < r) {
    GetReply reply;
    reply.status = Status::Unavailable("only " + std::to_string(targets.size()) + " replicas of the key are up; R is " +
                                       std::to_string(r));
    done(std::move(reply));
    return;
  }
  if (r == 1 && targets.size() == 1 && targets[0].node == self_) {
    // A lone replica (a one-node cluster): answer from it directly. Same
    // reply as below; there is nothing to merge and nothing to repair. A
    // failed read takes the general path, which words the error.
    GetReply reply;
    VersionSet set;
    if (ReadLocal(key, set).ok()) {
      VersionSet merged;  // exactly as the general path builds its answer
      merged.Merge(set, options_.causality);
      reply.values = merged.LiveValues();
      reply.context = merged.Context();
      reply.replies = 1;
      done(std::move(reply));
      return;
    }
  }
  struct State {
    std::mutex mu;
    VersionSet merged;
    std::vector<std::pair<Target, VersionSet>> answers;
    size_t finished = 0;
    bool replied = false;
    Status corrupt;  // a replica whose stored record does not decode
    std::function<void(GetReply)> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  auto on_answer = [this, state, r, key, n = targets.size()](const Target& t, Status s, VersionSet set) {
    std::optional<GetReply> reply;
    bool all_in;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      ++state->finished;
      if (s.ok()) {
        state->merged.Merge(set, options_.causality);
        state->answers.emplace_back(t, std::move(set));
        if (static_cast<int>(state->answers.size()) == r && !state->replied) {
          state->replied = true;
          reply.emplace();
          reply->values = state->merged.LiveValues();
          reply->context = state->merged.Context();
          reply->replies = r;
        }
      } else if (s.code() == Status::Code::kCorruption) {
        state->corrupt = s;
      }
      all_in = state->finished == n;
      if (all_in && !state->replied) {
        state->replied = true;
        reply.emplace();
        reply->replies = static_cast<int>(state->answers.size());
        const std::string only =
            "only " + std::to_string(state->answers.size()) + " of R=" + std::to_string(r) + " replicas answered";
        // A corrupt record is not a timeout: say so rather than "retry later".
        reply->status = state->corrupt.ok() ? Status::Unavailable(only + " in time")
                                            : Status::Corruption(only + "; " + state->corrupt.message());
      }
    }
    if (reply) state->done(std::move(*reply));
    // Every replica has answered or timed out: now the merged set is final,
    // late replies included, and stale replicas can be repaired.
    if (all_in && options_.read_repair) ReadRepair(key, state->merged, state->answers);
  };
  for (const Target& t : targets) {
    if (t.node == self_) continue;
    peers_.Call(t.node, rpc::kGetLocal, key, timeout(), [t, on_answer](Status s, std::string payload) {
      VersionSet set;
      if (s.ok()) s = VersionSet::Decode(payload, set);
      on_answer(t, std::move(s), std::move(set));
    });
  }
  // The local replica last and inline: no serialization, no thread hop.
  for (const Target& t : targets) {
    if (t.node != self_) continue;
    VersionSet set;
    Status s = ReadLocal(key, set);
    on_answer(t, std::move(s), std::move(set));
  }
}

void Coordinator::ReadRepair(const std::string& key, const VersionSet& merged,
                             const std::vector<std::pair<Target, VersionSet>>& answers) {
  for (const auto& [target, set] : answers) {
    if (!target.hint_for.empty() || set == merged) continue;
    rpc::MergeRequest m{key, merged, ""};
    peers_.Call(target.node, rpc::kMerge, rpc::Encode(m), timeout(), [](Status, std::string) {});
  }
}

void Coordinator::Put(const std::string& key, const CausalContext& context, std::string value, int w,
                      std::function<void(PutReply)> done) {
  Write(rpc::CoordinateRequest{key, context, std::move(value), w}, false, std::move(done));
}

void Coordinator::Delete(const std::string& key, std::optional<CausalContext> context, int w,
                         std::function<void(PutReply)> done) {
  Write(rpc::CoordinateRequest{key, std::move(context), std::nullopt, w}, false, std::move(done));
}

void Coordinator::CoordinateForwarded(rpc::CoordinateRequest request, std::function<void(PutReply)> done) {
  Write(std::move(request), true, std::move(done));
}

void Coordinator::Write(rpc::CoordinateRequest request, bool forwarded, std::function<void(PutReply)> done) {
  if (request.w <= 0) request.w = config_.w;
  const auto& walk = ring_.WalkForKey(request.key);
  const std::vector<int> owners(walk.begin(), walk.begin() + ring_.n());
  // Only owners issue dots, so a key's causal history names at most N actors
  // (Dynamo §4.4: coordinating anywhere would grow the clocks with every
  // node that ever took a write). A forwarded write is never forwarded again.
  if (forwarded || Contains(owners, self_)) {
    CoordinateHere(std::move(request), std::move(done));
    return;
  }
  std::vector<int> up_owners;
  for (int o : owners) {
    if (detector_.IsUp(o)) up_owners.push_back(o);
  }
  if (up_owners.empty()) {
    CoordinateHere(std::move(request), std::move(done));  // no owner reachable: stand in
    return;
  }
  Forward(std::move(request), std::move(up_owners), 0, std::move(done));
}

void Coordinator::Forward(rpc::CoordinateRequest request, std::vector<int> owners, size_t next,
                          std::function<void(PutReply)> done) {
  int owner = owners[next];
  std::string payload = rpc::Encode(request);
  peers_.Call(owner, rpc::kCoordinate, std::move(payload), timeout() * 2,
              [this, request = std::move(request), owners = std::move(owners), next, done = std::move(done)](
                  Status s, std::string reply_bytes) mutable {
                if (s.code() == Status::Code::kUnavailable) {
                  // Certainly not delivered: the next owner, or stand in ourselves.
                  if (next + 1 < owners.size()) {
                    Forward(std::move(request), std::move(owners), next + 1, std::move(done));
                  } else {
                    CoordinateHere(std::move(request), std::move(done));
                  }
                  return;
                }
                PutReply reply;
                reply.status = s;
                if (s.ok() && !rpc::DecodeContext(reply_bytes, reply.context)) {
                  reply.status = Status::TimedOut("owner sent an unreadable reply; the write may have happened");
                }
                done(std::move(reply));
              });
}

void Coordinator::CoordinateHere(rpc::CoordinateRequest request, std::function<void(PutReply)> done,
                                 bool may_ack_early) {
  const auto& walk = ring_.WalkForKey(request.key);
  const int partition = ring_.PartitionOf(request.key);
  std::vector<Target> targets = WriteTargets(walk);

  if (options_.unsafe_ack_early && may_ack_early) {
    // Fault switch: answer now from an in-memory prediction, write later. A
    // crash in between loses a write the client saw acknowledged.
    VersionSet predicted;
    PutReply reply;
    reply.status = ReadLocal(request.key, predicted);
    const CausalContext ctx = request.context ? *request.context : predicted.Context();
    if (reply.status.ok()) {
      reply.status = predicted.CheckWrite(options_.node_id, ctx, options_.max_siblings, options_.causality);
    }
    if (!reply.status.ok()) return done(std::move(reply));
    reply.context = predicted
                        .Write(options_.node_id, ctx, request.value, options_.clock_ms(), options_.max_causal_nodes,
                               options_.causality)
                        .History();
    done(std::move(reply));
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, options_.unsafe_ack_delay);
    timer->async_wait([this, timer, request = std::move(request)](boost::system::error_code ec) mutable {
      if (!ec)
        CoordinateHere(
            std::move(request), [](PutReply) {}, /*may_ack_early=*/false);
    });
    return;
  }

  // The write's outcome, filled in by `write` wherever storage runs it.
  struct Outcome {
    VersionSet result;
    CausalContext reply_context;
    Status refused;  // why the write may not happen; nothing is stored then
    std::vector<Target> targets;
    bool local_acked = false;
  };
  auto outcome = std::make_shared<Outcome>();
  auto req = std::make_shared<rpc::CoordinateRequest>(std::move(request));
  auto write = [this, outcome, req](VersionSet& set, uint64_t floor) {
    const CausalContext ctx = req->context ? *req->context : set.Context();
    outcome->refused = set.CheckWrite(options_.node_id, ctx, options_.max_siblings, options_.causality, floor);
    if (!outcome->refused.ok()) return false;
    outcome->reply_context = set.Write(options_.node_id, ctx, req->value, options_.clock_ms(),
                                       options_.max_causal_nodes, options_.causality, floor)
                                 .History();
    outcome->result = set;
    return true;
  };
  // Runs once the local write is durable: replicate, then answer after W acks.
  std::function<void(Status)> written = [this, outcome, req, done = std::move(done)](Status s) mutable {
    if (s.ok()) s = outcome->refused;
    if (!s.ok()) {
      PutReply reply;
      reply.status = s;  // the local write failed: nothing was written anywhere
      done(std::move(reply));
      return;
    }
    std::erase_if(outcome->targets, [&](const Target& t) { return t.node == self_; });
    Replicate(req->key, outcome->result, outcome->reply_context, std::move(outcome->targets), req->w,
              outcome->local_acked, std::move(done));
  };
  // Back on this request's thread rather than on storage's commit thread
  // (without sync, storage calls back inline, already on it).
  if (loops_ && storage_.sync()) written = loops_->Resume(std::move(written));
  if (ring_.IsReplica(self_, partition)) {
    outcome->targets = std::move(targets);
    outcome->local_acked = true;
    storage_.UpdateAsync(
        req->key, [write](VersionSet& set) { return write(set, 0); }, std::move(written));
    return;
  }
  // Standing in for unreachable owners: keep our copy as a hint, and
  // remember the counter we issued so it is never issued twice.
  std::string owner = peers_.id(walk[0]);
  for (const Target& t : targets) {
    if (t.node != self_) continue;
    owner = t.hint_for;
    outcome->local_acked = true;
  }
  outcome->targets = std::move(targets);
  storage_.UpdateHintAsCoordinatorAsync(
      req->key, std::move(owner),
      [this, write, outcome](VersionSet& set, uint64_t& issued) {
        if (!write(set, issued)) return false;
        issued = outcome->reply_context.MaxCounter(options_.node_id);
        return true;
      },
      std::move(written));
}

void Coordinator::Replicate(const std::string& key, const VersionSet& set, const CausalContext& reply_context,
                            std::vector<Target> targets, int w, bool local_acked, std::function<void(PutReply)> done) {
  struct State {
    std::mutex mu;
    int acks = 0;
    size_t finished = 0;
    bool replied = false;
    std::function<void(PutReply)> done;
  };
  auto state = std::make_shared<State>();
  state->acks = local_acked ? 1 : 0;
  state->done = std::move(done);
  auto finish = [state, reply_context, w](bool all_in) {
    std::optional<PutReply> reply;
    {
      // Called with state->mu held.
      if (state->replied) return reply;
      if (state->acks >= w) {
        reply.emplace();
        reply->context = reply_context;
      } else if (all_in) {
        reply.emplace();
        reply->status = Status::TimedOut("only " + std::to_string(state->acks) + " of W=" + std::to_string(w) +
                                         " replicas acknowledged in time; the write may still be applied");
      }
      if (reply) {
        reply->acks = state->acks;
        state->replied = true;
      }
    }
    return reply;
  };
  {
    std::unique_lock<std::mutex> lock(state->mu);
    auto reply = finish(targets.empty());
    lock.unlock();
    if (reply) state->done(std::move(*reply));
  }
  const size_t n = targets.size();
  // Each replica gets the coordinator's whole merged set, not just the new
  // version, so siblings the coordinator holds travel with it.
  for (const Target& t : targets) {
    rpc::MergeRequest m{key, set, t.hint_for};
    peers_.Call(t.node, rpc::kMerge, rpc::Encode(m), timeout(), [state, finish, n](Status s, std::string) {
      std::unique_lock<std::mutex> lock(state->mu);
      ++state->finished;
      if (s.ok()) ++state->acks;
      auto reply = finish(state->finished == n);
      lock.unlock();
      if (reply) state->done(std::move(*reply));
    });
  }
}

}  // namespace dynastore
