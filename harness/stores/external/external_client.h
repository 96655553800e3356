// ExternalClient: a Client that forwards each operation to the user's client
// program over JSON lines (README "External adapter protocol"). One program
// process per ExternalClient (so per worker), started on the harness's
// machine by Open() or on the first operation, in its own process group, with
//   stdin   one request per line:
//           {"id":N,"f":F,"key":K,"value":V,"node":NAME,"address":ADDR}
//   stdout  one reply per request, in order:
//           {"id":N,"type":"ok"|"fail"|"info","value":V,"error":E}
//   stderr  free text; its last 2 KiB are quoted in log lines
// and the environment FAULTLINE_NODE, FAULTLINE_ADDRESS, FAULTLINE_PORT,
// FAULTLINE_NODES (JSON object name → address), FAULTLINE_WORKLOAD,
// FAULTLINE_OP_TIMEOUT_MS. The program should answer within the op timeout;
// the harness waits op_timeout + 500 ms (10 s more, spec.startup_grace, for
// a freshly started program's first answer: its start-up; none once it has
// printed its ready line).
//
// With spec.ready_line, the program is also given FAULTLINE_READY_LINE=1 and
// must print {"ready":true} before its first reply, once it is ready for
// requests; Open() starts it and waits for that line (up to the start-up
// grace), so that the main phase begins with every worker's program ready.
// A program that prints anything else first, exits, or is not ready in time
// is killed with a log line and started again by the next op (whose request
// then waits for the line too).
//
// Misbehaviour never hangs a run and is never a fail: a program that exits
// (crash), does not answer in time (hang: its process group is SIGKILLed),
// or prints a line that is not a valid reply to the request (garbage: wrong
// JSON, wrong id, unknown type; the program is killed) makes that op info,
// with one log line naming the program, its pid, the node and what it
// printed or its exit status; the next op starts the program again. A
// request that could not be written at all (the program was gone before it)
// is a fail. A reply without "value" takes the request's value (so a write's
// history keeps it); an ok read without "value" is garbage.
//
// ReadReplicas sends {"f":"replica-read","key":K,...}: ok with value
// {"replicas":{node:[values]}} → those readings; fail with error
// "unsupported" → nullopt (no replica reads; not asked again); any other
// fail or misbehaviour → a reading with that error.
//
// Not thread-safe: one per worker. Owns its program's process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "harness/api/client.h"
#include "harness/api/database.h"

namespace faultline {

struct ExternalClientSpec {
  std::vector<std::string> argv;  // the program and its arguments (templates already substituted)
  // argv as configured, for messages: templates, so no {env:VAR} value ever
  // reaches an error or the log. Empty: argv.
  std::vector<std::string> shown_argv;
  std::string node, address;  // the worker's node
  int port = 0;
  std::map<std::string, std::string> nodes;     // every node: name → address
  std::function<void(const std::string&)> log;  // where misbehaviour is reported; may be empty
  bool ready_line = false;                      // "external.client-ready": Open() waits for {"ready":true}
  // Extra time a freshly started program has for its first answer (or ready line).
  std::chrono::milliseconds startup_grace{10000};
};

class ExternalClient : public Client {
 public:
  ExternalClient(ExternalClientSpec spec, ClientOptions options);
  ~ExternalClient() override;
  ExternalClient(const ExternalClient&) = delete;
  ExternalClient& operator=(const ExternalClient&) = delete;

  // Starts the program; with spec.ready_line, waits for its ready line.
  void Open() override;
  Completion Invoke(const Invocation& op) override;
  std::optional<ReplicaRead> ReadReplicas(const std::string& key) override;

  // Program processes started so far (1 while it behaves). For tests.
  int starts() const { return starts_; }

 private:
  struct Reply {
    bool answered = false;  // a well-formed reply to this request arrived
    bool delivered = true;  // false: the request could not be written at all
    std::string type, error;
    nlohmann::json value;  // null when absent
    bool has_value = false;
  };
  // Sends one request and reads its reply; misbehaviour kills the program.
  Reply Exchange(const nlohmann::json& request, const std::string& what);
  // Starts the program unless it runs. False, with `reply` saying why, when
  // it cannot be started.
  bool EnsureStarted(const std::string& what, Reply* reply);
  // The next non-blank stdout line; else what went wrong (the op is info):
  // what `late` says when the deadline passes first.
  std::string ReadLine(std::chrono::steady_clock::time_point deadline, const std::function<std::string()>& late,
                       const std::string& what, std::string* line);
  // The problem once the program closed its stdout (exit status if it exited).
  std::string ClosedStdout(const std::string& what);
  // Reads the ready line; "" when it came, else the problem (`late` if
  // the deadline passed first).
  std::string AwaitReady(std::chrono::steady_clock::time_point deadline, const std::function<std::string()>& late);
  // Fills `reply` from a reply line to request `id`; else what is wrong with it.
  std::string ParseReply(const std::string& line, int64_t id, const std::string& what, Reply* reply);
  bool Spawn(std::string* error);
  void KillProgram();  // SIGKILL the group, reap
  void Log(const std::string& line);
  std::string Describe() const;   // "client `argv0` (pid P, node n1)"
  std::string ShownArgv() const;  // the configured argv, joined (templates, not secrets)
  void DrainStderr();

  ExternalClientSpec spec_;
  ClientOptions options_;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;  // the program's stdin (we write), stdout, stderr
  std::string out_buffer_;
  std::string stderr_tail_;
  int64_t next_id_ = 1;
  int starts_ = 0;
  bool fresh_ = false;           // started, and has not answered yet: its first answer gets the start-up grace
  bool awaiting_ready_ = false;  // spec.ready_line, and the program has not printed its ready line yet
  bool replica_reads_unsupported_ = false;
};

}  // namespace faultline
