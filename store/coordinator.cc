#include "coordinator.h"

#include <chrono>

namespace dynastore {

namespace {
int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, Storage& storage)
    : options_(std::move(options)), storage_(storage) {
  if (!options_.clock_ms) options_.clock_ms = SystemClockMs;
}

void Coordinator::Get(const std::string& key, std::function<void(GetReply)> done) {
  GetReply reply;
  VersionSet set;
  reply.status = storage_.Get(key, set);
  if (reply.status.ok()) {
    reply.values = set.LiveValues();
    reply.context = set.Context();
  }
  done(std::move(reply));
}

void Coordinator::Put(const std::string& key, const CausalContext& context, std::string value,
                      std::function<void(PutReply)> done) {
  Write(key, context, std::move(value), std::move(done));
}

void Coordinator::Delete(const std::string& key, std::optional<CausalContext> context,
                         std::function<void(PutReply)> done) {
  Write(key, std::move(context), std::nullopt, std::move(done));
}

void Coordinator::Write(const std::string& key, std::optional<CausalContext> context,
                        std::optional<std::string> value, std::function<void(PutReply)> done) {
  PutReply reply;
  reply.status = storage_.Update(key, [&](VersionSet& set) {
    // No context (a delete without one) means: supersede what is stored now.
    const CausalContext ctx = context ? *context : set.Context();
    reply.context = set.Write(options_.node_id, ctx, std::move(value), options_.clock_ms(),
                              options_.max_causal_nodes)
                        .History();
    return true;
  });
  if (!reply.status.ok()) reply.context = CausalContext();
  done(std::move(reply));
}

}  // namespace dynastore
