#include "store/context_key.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dynastore {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads an existing key file, refusing anything but a private regular file
// of ours holding exactly one key.
Status ReadKeyFile(int fd, const std::string& path, std::string& key) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status::IOError(Errno("cannot stat " + path));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if (st.st_uid != geteuid()) {
    return Status::InvalidArgument(path + " is owned by uid " + std::to_string(st.st_uid) + ", not by this process");
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument(path + " is readable or writable by others; it must be mode 0600");
  }
  if (st.st_size != static_cast<off_t>(ContextKey::kKeyBytes)) {
    return Status::Corruption(path + " holds " + std::to_string(st.st_size) + " bytes, not " +
                              std::to_string(ContextKey::kKeyBytes) +
                              "; remove it to make a new key (contexts clients hold become invalid)");
  }
  key.assign(ContextKey::kKeyBytes, '\0');
  if (read(fd, key.data(), key.size()) != static_cast<ssize_t>(key.size())) {
    return Status::IOError(Errno("cannot read " + path));
  }
  return Status::Ok();
}

// Writes a new random key to a private temporary file and links it into
// place: link() never replaces, so a key that appeared meanwhile wins.
Status CreateKeyFile(const std::string& dir, const std::string& path) {
  std::string key(ContextKey::kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return Status::IOError("cannot get random bytes for " + path);
  }
  const std::string tmp = path + ".new." + std::to_string(getpid());
  unlink(tmp.c_str());  // left by a crash of an earlier process with our pid
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(Errno("cannot create " + tmp));
  const bool written = write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && fsync(fd) == 0;
  close(fd);
  if (!written) {
    unlink(tmp.c_str());
    return Status::IOError(Errno("cannot write " + tmp));
  }
  const int linked = link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    errno = link_errno;
    return Status::IOError(Errno("cannot create " + path));
  }
  if (const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    fsync(dfd);  // the new name survives a crash
    close(dfd);
  }
  return Status::Ok();
}

}  // namespace

ContextKey::ContextKey() : key_(kKeyBytes, '\0') {}

Status ContextKey::FromHex(std::string_view hex, ContextKey& out) {
  if (hex.size() != 2 * kKeyBytes) {
    return Status::InvalidArgument("must be " + std::to_string(2 * kKeyBytes) + " hex digits (" +
                                   std::to_string(kKeyBytes) + " random bytes), got " + std::to_string(hex.size()) +
                                   " characters");
  }
  std::string key(kKeyBytes, '\0');
  for (size_t i = 0; i < hex.size(); ++i) {
    const int v = HexValue(hex[i]);
    if (v < 0) return Status::InvalidArgument("character " + std::to_string(i) + " is not a hex digit");
    key[i / 2] = static_cast<char>((key[i / 2] << 4) | v);
  }
  out.key_ = std::move(key);
  out.public_ = false;
  return Status::Ok();
}

Status ContextKey::LoadOrCreate(const std::string& dir, ContextKey& out) {
  const std::string path = dir + "/" + std::string(kFileName);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      std::string key;
      Status s = ReadKeyFile(fd, path, key);
      close(fd);
      if (!s.ok()) return s;
      out.key_ = std::move(key);
      out.public_ = false;
      return Status::Ok();
    }
    if (errno == ELOOP) return Status::InvalidArgument(path + " is a symbolic link; refusing to follow it");
    if (errno != ENOENT) return Status::IOError(Errno("cannot open " + path));
    if (Status s = CreateKeyFile(dir, path); !s.ok()) return s;
  }
  return Status::IOError("cannot read " + path + " after creating it");
}

namespace {

// A keyed HMAC-SHA256 context per thread, re-initialized (same key) for
// each token: OpenSSL 3's one-shot HMAC() fetches the digest and builds a
// context on every call, which cost ~10% of a node's CPU under load.
class ThreadMac {
 public:
  ~ThreadMac() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
    OPENSSL_cleanse(key_.data(), key_.size());
  }
  // False if OpenSSL refused; the caller then falls back to HMAC().
  bool Compute(const std::string& key, std::string_view bytes, unsigned char* out, size_t& len) {
    if (!mac_ && !(mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr))) return false;
    if (ctx_ && key == key_) {
      if (!EVP_MAC_init(ctx_, nullptr, 0, nullptr)) return false;  // HMAC: reuses the key
    } else {
      EVP_MAC_CTX_free(ctx_);
      ctx_ = EVP_MAC_CTX_new(mac_);
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
      if (!ctx_ || !EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params)) {
        EVP_MAC_CTX_free(ctx_);
        ctx_ = nullptr;
        return false;
      }
      key_ = key;
    }
    return EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) &&
           EVP_MAC_final(ctx_, out, &len, EVP_MAX_MD_SIZE);
  }

 private:
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
  std::string key_;
};

}  // namespace

std::string ContextKey::Sign(std::string_view bytes) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  thread_local ThreadMac thread_mac;
  size_t len = 0;
  if (thread_mac.Compute(key_, bytes, mac, len)) return std::string(reinterpret_cast<const char*>(mac), len);
  unsigned int one_shot_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(bytes.data()),
       bytes.size(), mac, &one_shot_len);
  return std::string(reinterpret_cast<const char*>(mac), one_shot_len);
}

bool ContextKey::Verify(std::string_view bytes, std::string_view mac) const {
  const std::string expected = Sign(bytes);
  return mac.size() == expected.size() && CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) == 0;
}

}  // namespace dynastore
