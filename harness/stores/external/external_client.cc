#include "harness/stores/external/external_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace faultline {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kGrace{500};  // on top of the op timeout, for the program's own timeout to fire first
constexpr size_t kStderrTail = 2048;
constexpr size_t kMaxLine = 16 << 20;  // a "line" longer than this is garbage

std::string Truncate(std::string s, size_t max = 300) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

std::string ExitStatus(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

// write() without SIGPIPE killing the harness: EPIPE comes back as an error.
bool WriteAll(int fd, const std::string& data, Clock::time_point deadline) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  size_t done = 0;
  bool ok = true;
  while (done < data.size()) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLOUT, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      ok = false;
      break;
    }
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!ok) {
    // Consume a SIGPIPE raised meanwhile, so unblocking does not deliver it.
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok && done == data.size();
}

}  // namespace

ExternalClient::ExternalClient(ExternalClientSpec spec, ClientOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {}

ExternalClient::~ExternalClient() {
  if (pid_ <= 0) return;
  // Closing stdin asks the program to exit; it gets a moment, then SIGKILL.
  if (in_ >= 0) ::close(in_);
  in_ = -1;
  for (int i = 0; i < 20; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      ::kill(-pid_, SIGKILL);  // anything it left in its group
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  KillProgram();
}

std::string ExternalClient::ShownArgv() const {
  return fmt::format("{}", fmt::join(spec_.shown_argv.empty() ? spec_.argv : spec_.shown_argv, " "));
}

void ExternalClient::Log(const std::string& line) {
  if (spec_.log) spec_.log(line);
}

std::string ExternalClient::Describe() const {
  return fmt::format("external client `{}` (pid {}, node {})", ShownArgv(), pid_, spec_.node);
}

void ExternalClient::KillProgram() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (int* fd : {&in_, &out_, &err_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  pid_ = -1;
  out_buffer_.clear();
}

void ExternalClient::DrainStderr() {
  if (err_ < 0) return;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(err_, buf, sizeof buf);
    if (n <= 0) break;
    stderr_tail_.append(buf, static_cast<size_t>(n));
    if (stderr_tail_.size() > kStderrTail) stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
  }
}

bool ExternalClient::Spawn(std::string* error) {
  if (spec_.argv.empty()) {
    *error = "external client: no program (\"external.client\" is empty)";
    return false;
  }
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    *error = fmt::format("pipe: {}", std::strerror(errno));
    return false;
  }
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    *error = fmt::format("pipe: {}", std::strerror(errno));
    ::close(in[0]);
    ::close(in[1]);
    return false;
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "FAULTLINE_", 10) != 0 || std::strncmp(*e, "FAULTLINE_STATE_DIR=", 20) == 0) {
      env_strings.push_back(*e);
    }
  }
  json nodes(spec_.nodes);
  env_strings.push_back("FAULTLINE_NODE=" + spec_.node);
  env_strings.push_back("FAULTLINE_ADDRESS=" + spec_.address);
  env_strings.push_back(fmt::format("FAULTLINE_PORT={}", spec_.port));
  env_strings.push_back("FAULTLINE_NODES=" + nodes.dump());
  env_strings.push_back(fmt::format("FAULTLINE_WORKLOAD={}", WorkloadKindName(options_.workload)));
  env_strings.push_back(fmt::format("FAULTLINE_OP_TIMEOUT_MS={}", options_.op_timeout.count()));
  if (spec_.ready_line) env_strings.push_back("FAULTLINE_READY_LINE=1");
  std::vector<char*> envp, argv;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec_.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    *error = fmt::format("cannot start external client `{}`: {}", ShownArgv(), std::strerror(rc));
    return false;
  }
  pid_ = pid;
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  ::fcntl(err_, F_SETFL, ::fcntl(err_, F_GETFL) | O_NONBLOCK);
  stderr_tail_.clear();
  ++starts_;
  fresh_ = true;
  awaiting_ready_ = spec_.ready_line;
  return true;
}

bool ExternalClient::EnsureStarted(const std::string& what, Reply* reply) {
  if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
    // Exited between requests: nothing of this request reached it.
    pid_ = -1;
    DrainStderr();
    Log(fmt::format("{} had exited before {}; starting it again. Its stderr ended with: {}", Describe(), what,
                    Truncate(stderr_tail_)));
    KillProgram();
  }
  if (pid_ > 0) return true;
  std::string error;
  if (!Spawn(&error)) {
    Log(error);
    reply->delivered = false;
    reply->error = error;
    return false;
  }
  return true;
}

std::string ExternalClient::ClosedStdout(const std::string& what) {
  int status = 0;
  std::string how = "closed its stdout";
  for (int i = 0; i < 100; ++i) {  // the exit follows the closed pipe closely
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      how = ExitStatus(status);
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  DrainStderr();
  return fmt::format("{} during {}{}", how, what,
                     out_buffer_.empty() ? "" : fmt::format(" after printing \"{}\"", Truncate(out_buffer_)));
}

std::string ExternalClient::ReadLine(Clock::time_point deadline, const std::function<std::string()>& late,
                                     const std::string& what, std::string* line) {
  while (true) {
    DrainStderr();
    const auto nl = out_buffer_.find('\n');
    if (nl != std::string::npos) {
      *line = out_buffer_.substr(0, nl);
      out_buffer_.erase(0, nl + 1);
      if (!line->empty() && line->back() == '\r') line->pop_back();
      if (line->find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are ignored
      return "";
    }
    if (out_buffer_.size() > kMaxLine) return fmt::format("printed more than {} bytes without a newline", kMaxLine);
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return late();
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 1000))) < 0 && errno != EINTR) {
      return fmt::format("poll failed: {}", std::strerror(errno));
    }
    if (fds[0].revents != 0) {
      char buf[8192];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n > 0) {
        out_buffer_.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        return ClosedStdout(what);
      }
    }
  }
}

std::string ExternalClient::ParseReply(const std::string& line, int64_t id, const std::string& what, Reply* reply) {
  json j = json::parse(line, nullptr, false);
  if (!j.is_object()) {
    return fmt::format("printed a line that is not a JSON object in reply to {}: \"{}\"", what, Truncate(line));
  }
  if (!j.contains("id") || j["id"] != json(id)) {
    return fmt::format("replied with id {} to {} (id {}): \"{}\"", j.value("id", json()).dump(), what, id,
                       Truncate(line));
  }
  if (!j.contains("type") || !j["type"].is_string() ||
      (j["type"] != "ok" && j["type"] != "fail" && j["type"] != "info")) {
    return fmt::format("replied to {} without a type ok, fail or info: \"{}\"", what, Truncate(line));
  }
  if (j.contains("error") && !j["error"].is_null() && !j["error"].is_string()) {
    return fmt::format("replied to {} with an error that is not a string: \"{}\"", what, Truncate(line));
  }
  reply->answered = true;
  reply->type = j["type"].get<std::string>();
  reply->has_value = j.contains("value") && !j["value"].is_null();
  if (reply->has_value) reply->value = j["value"];
  if (j.contains("error") && j["error"].is_string()) reply->error = j["error"].get<std::string>();
  return "";
}

ExternalClient::Reply ExternalClient::Exchange(const json& request, const std::string& what) {
  Reply reply;
  if (!EnsureStarted(what, &reply)) return reply;
  // A fresh program's start-up is not the store's latency: on a loaded
  // machine an interpreter's start must not turn a healthy run's first ops
  // into info.
  const milliseconds allowed = options_.op_timeout + kGrace + (fresh_ ? spec_.startup_grace : milliseconds(0));
  const auto deadline = Clock::now() + allowed;
  const int64_t id = request["id"].get<int64_t>();
  if (!WriteAll(in_, request.dump() + "\n", deadline)) {
    reply.delivered = false;
    reply.error = fmt::format("could not send the request to {}", Describe());
    DrainStderr();
    Log(fmt::format("{} did not take {} (it exited or stopped reading); stderr: {}", Describe(), what,
                    Truncate(stderr_tail_)));
    KillProgram();
    return reply;
  }
  // Worded only when it happens: not once per request.
  const auto late = [&] {
    return fmt::format("did not answer {} within {} ms (op timeout {} ms + {} ms{}); killed", what, allowed.count(),
                       options_.op_timeout.count(), kGrace.count(), fresh_ ? " + start-up grace" : "");
  };
  std::string line;
  std::string problem = awaiting_ready_ ? AwaitReady(deadline, late) : "";
  if (problem.empty()) problem = ReadLine(deadline, late, what, &line);
  if (problem.empty()) problem = ParseReply(line, id, what, &reply);
  if (problem.empty()) {
    fresh_ = false;
    return reply;
  }
  const std::string who = Describe();
  KillProgram();
  Log(fmt::format("{} {}; the op is info and the client restarts for the next op. Its stderr ended with: {}", who,
                  problem, stderr_tail_.empty() ? "(nothing)" : Truncate(stderr_tail_)));
  reply.error = fmt::format("external client {}", problem);
  return reply;
}

std::string ExternalClient::AwaitReady(Clock::time_point deadline, const std::function<std::string()>& late) {
  std::string line;
  if (std::string problem = ReadLine(deadline, late, "its ready line", &line); !problem.empty()) return problem;
  const json j = json::parse(line, nullptr, false);
  if (!j.is_object() || j.size() != 1 || !j.contains("ready") || j["ready"] != true) {
    return fmt::format("printed \"{}\" instead of its ready line {{\"ready\":true}}", Truncate(line));
  }
  awaiting_ready_ = false;
  return "";
}

void ExternalClient::Open() {
  Reply reply;
  if (!EnsureStarted("opening", &reply) || !awaiting_ready_) return;
  const std::string problem = AwaitReady(Clock::now() + spec_.startup_grace, [&] {
    return fmt::format("printed no ready line within {} ms of its start (\"client-ready\": true); killed",
                       spec_.startup_grace.count());
  });
  if (problem.empty()) {
    fresh_ = false;  // ready: its first request gets no start-up grace
    return;
  }
  const std::string who = Describe();
  KillProgram();
  Log(fmt::format("{} {}; it starts again at its first op. Its stderr ended with: {}", who, problem,
                  stderr_tail_.empty() ? "(nothing)" : Truncate(stderr_tail_)));
}

Completion ExternalClient::Invoke(const Invocation& op) {
  const int64_t id = next_id_++;
  json request = {{"id", id},          {"f", op.f},          {"key", op.key},
                  {"value", op.value}, {"node", spec_.node}, {"address", spec_.address}};
  Reply r = Exchange(request, fmt::format("request {} (f={} key={})", id, op.f, op.key));
  if (!r.delivered) return {OpType::kFail, op.value, r.error};
  if (!r.answered) return {OpType::kInfo, op.value, r.error};
  if (r.type == "ok") {
    if (op.f == "read" && !r.has_value) {
      Log(fmt::format("{} answered read {} ok without a value", Describe(), op.key));
      return {OpType::kInfo, nullptr, "external client answered a read ok without a value"};
    }
    return {OpType::kOk, r.has_value ? r.value : op.value, ""};
  }
  const OpType type = r.type == "fail" ? OpType::kFail : OpType::kInfo;
  return {type, r.has_value ? r.value : op.value, r.error.empty() ? "external client gave no error" : r.error};
}

std::optional<ReplicaRead> ExternalClient::ReadReplicas(const std::string& key) {
  if (replica_reads_unsupported_) return std::nullopt;
  const int64_t id = next_id_++;
  json request = {{"id", id},         {"f", "replica-read"}, {"key", key},
                  {"value", nullptr}, {"node", spec_.node},  {"address", spec_.address}};
  Reply r = Exchange(request, fmt::format("request {} (f=replica-read key={})", id, key));
  ReplicaRead out;
  if (!r.delivered || !r.answered) {
    out.error = r.error;
    return out;
  }
  if (r.type != "ok") {
    if (r.error == "unsupported") {
      replica_reads_unsupported_ = true;
      return std::nullopt;
    }
    out.error = r.error.empty() ? "replica-read " + r.type : r.error;
    return out;
  }
  if (!r.value.is_object() || !r.value.contains("replicas") || !r.value["replicas"].is_object()) {
    out.error = "replica-read reply value is not {\"replicas\":{node:[values]}}: " + Truncate(r.value.dump());
    Log(fmt::format("{}: {}", Describe(), out.error));
    return out;
  }
  for (const auto& [node, values] : r.value["replicas"].items()) {
    if (!values.is_array()) {
      out.error = fmt::format("replica-read reply: replica {} holds {}, not an array", node, Truncate(values.dump()));
      continue;
    }
    out.replicas[node] = values;
  }
  if (!r.error.empty() && out.error.empty()) out.error = r.error;
  return out;
}

}  // namespace faultline
