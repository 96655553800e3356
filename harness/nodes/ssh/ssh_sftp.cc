// SshRemote's file transfer: SFTP (with sudo: cat, stat and mv through
// commands). The session pool and commands are in ssh_remote.cc.
#include <fcntl.h>
#include <fmt/format.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>

#include "harness/base/harness_error.h"
#include "harness/nodes/ssh/ssh_remote.h"
#include "harness/nodes/ssh/ssh_session.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using ssh_internal::FirstLine;
using ssh_internal::kShortCommand;
using std::chrono::milliseconds;

constexpr size_t kChunk = 64 * 1024;

std::string ParentOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string TempSuffix() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  return fmt::format(".faultline-tmp-{}-{:x}-{}", ::getpid(), salt & 0xffffff, counter++);
}

}  // namespace

void SshRemote::Upload(const fs::path& local, const std::string& remote_path) {
  std::error_code ec;
  const auto status = fs::status(local, ec);
  if (ec || !fs::is_regular_file(status)) {
    throw HarnessError(fmt::format("upload to {}: {} is not a readable regular file", Describe(), local.string()));
  }
  std::ifstream in(local, std::ios::binary);
  if (!in) throw HarnessError(fmt::format("upload to {}: cannot read {}", Describe(), local.string()));
  const auto mode = static_cast<mode_t>(status.permissions() & fs::perms::mask);
  const std::string parent = ParentOf(remote_path);
  if (!parent.empty()) {
    CommandResult r = Run({"mkdir", "-p", "--", parent}, kShortCommand);
    if (!r.ok()) {
      throw HarnessError(fmt::format("upload to {}: cannot create {}: {}", Describe(), parent, FirstLine(r.err)));
    }
  }
  // With sudo the login user may not write the destination's directory.
  const std::string tmp = options_.sudo ? "/tmp/faultline-upload" + TempSuffix() : remote_path + TempSuffix();
  std::unique_ptr<Session> session = Acquire(options_.reconnect_attempts);
  bool usable = true;
  std::string error;
  sftp_session sftp = sftp_new(session->get());
  if (sftp == nullptr || sftp_init(sftp) != SSH_OK) {
    error = fmt::format("cannot start SFTP (does the host's sshd have the sftp subsystem?): {}",
                        ssh_get_error(session->get()));
    usable = ssh_is_connected(session->get()) != 0;
  } else {
    sftp_file file = sftp_open(sftp, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (file == nullptr) {
      error = fmt::format("cannot create {}: {}", tmp, ssh_get_error(session->get()));
    } else {
      std::vector<char> buf(kChunk);
      while (error.empty() && in) {
        in.read(buf.data(), buf.size());
        const std::streamsize n = in.gcount();
        if (n > 0 && sftp_write(file, buf.data(), n) != n) {
          error = fmt::format("writing {}: {}", tmp, ssh_get_error(session->get()));
        }
      }
      if (in.bad() && error.empty()) error = "reading " + local.string() + " failed";
      if (sftp_close(file) != SSH_NO_ERROR && error.empty()) error = fmt::format("closing {}", tmp);
      if (error.empty() && sftp_chmod(sftp, tmp.c_str(), mode) != 0) {
        error = fmt::format("chmod {:o} {}: {}", mode, tmp, ssh_get_error(session->get()));
      }
      const bool renamed = error.empty() && !options_.sudo && sftp_rename(sftp, tmp.c_str(), remote_path.c_str()) == 0;
      if (error.empty() && !renamed) {
        sftp_free(sftp);
        sftp = nullptr;
        Release(std::move(session), true);
        // Rename over an existing file (SFTP v3 without posix-rename), or with sudo.
        CommandResult r = Run({"mv", "-f", "--", tmp, remote_path}, kShortCommand);
        if (!r.ok()) {
          Run({"rm", "-f", "--", tmp}, kShortCommand);
          throw HarnessError(
              fmt::format("upload to {}: cannot move {} to {}: {}", Describe(), tmp, remote_path, FirstLine(r.err)));
        }
        return;
      }
      if (!error.empty()) sftp_unlink(sftp, tmp.c_str());
    }
    usable = ssh_is_connected(session->get()) != 0;
  }
  if (sftp != nullptr) sftp_free(sftp);
  Release(std::move(session), usable);
  if (!error.empty()) {
    throw HarnessError(fmt::format("upload of {} to {}:{} failed: {}", local.string(), Describe(), remote_path, error));
  }
}

void SshRemote::Download(const std::string& remote_path, const fs::path& local) {
  std::error_code ec;
  if (local.has_parent_path()) fs::create_directories(local.parent_path(), ec);
  if (ec) {
    throw HarnessError(fmt::format("download from {}: cannot create {}", Describe(), local.parent_path().string()));
  }
  fs::path tmp = local;
  tmp += TempSuffix();
  std::string error;
  mode_t mode = 0644;
  std::string content;
  if (options_.sudo) {
    CommandResult st = Run({"stat", "-c", "%a", "--", remote_path}, kShortCommand);
    CommandResult r = st.ok() ? Run({"cat", "--", remote_path}, milliseconds(120000)) : st;
    if (!r.ok()) error = FirstLine(r.err);
    if (st.ok()) mode = static_cast<mode_t>(std::strtol(st.out.c_str(), nullptr, 8));
    content = std::move(r.out);
    if (error.empty()) {
      std::ofstream out(tmp, std::ios::binary);
      out << content;
      if (!out) error = "cannot write " + tmp.string();
    }
  } else {
    std::unique_ptr<Session> session = Acquire(options_.reconnect_attempts);
    sftp_session sftp = sftp_new(session->get());
    if (sftp == nullptr || sftp_init(sftp) != SSH_OK) {
      error = fmt::format("cannot start SFTP: {}", ssh_get_error(session->get()));
    } else {
      sftp_attributes attrs = sftp_stat(sftp, remote_path.c_str());
      sftp_file file = attrs != nullptr ? sftp_open(sftp, remote_path.c_str(), O_RDONLY, 0) : nullptr;
      if (attrs != nullptr) mode = attrs->permissions & 07777;
      if (attrs != nullptr) sftp_attributes_free(attrs);
      if (file == nullptr) {
        error = fmt::format("cannot open {}: {}", remote_path, ssh_get_error(session->get()));
      } else {
        std::ofstream out(tmp, std::ios::binary);
        std::vector<char> buf(kChunk);
        while (true) {
          const ssize_t n = sftp_read(file, buf.data(), buf.size());
          if (n < 0) {
            error = fmt::format("reading {}: {}", remote_path, ssh_get_error(session->get()));
            break;
          }
          if (n == 0) break;
          out.write(buf.data(), n);
        }
        sftp_close(file);
        out.close();
        if (!out && error.empty()) error = "cannot write " + tmp.string();
      }
    }
    const bool usable = ssh_is_connected(session->get()) != 0;
    if (sftp != nullptr) sftp_free(sftp);
    Release(std::move(session), usable);
  }
  if (error.empty()) {
    fs::permissions(tmp, static_cast<fs::perms>(mode), fs::perm_options::replace, ec);
    if (!ec) fs::rename(tmp, local, ec);
    if (ec) error = ec.message();
  }
  if (!error.empty()) {
    fs::remove(tmp, ec);
    throw HarnessError(
        fmt::format("download of {}:{} to {} failed: {}", Describe(), remote_path, local.string(), error));
  }
}

}  // namespace faultline
