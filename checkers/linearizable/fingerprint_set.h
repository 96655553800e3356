// FingerprintSet: a set of 128-bit fingerprints with a hard memory cap, the
// memo table of the linearizability search. Open addressing with linear
// probing over 16-byte slots (zero = empty), load <= 3/4, doubled on growth
// only when the old and the new table together fit in the cap, so the process
// never allocates past it. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace faultline {

class FingerprintSet {
 public:
  enum Result { kNew, kSeen, kFull };

  explicit FingerprintSet(int64_t max_bytes) : max_bytes_(max_bytes) {}

  Result Insert(uint64_t k1, uint64_t k2) {
    if ((k1 | k2) == 0) k1 = 1;  // zero marks an empty slot
    if ((size_ + 1) * 4 > capacity_ * 3 && !Grow()) {
      // Full: still answer lookups, so the caller can tell seen from unknown.
      return Find(k1, k2) ? kSeen : kFull;
    }
    for (size_t i = k1 & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_.get()[i];
      if ((s.k1 | s.k2) == 0) {
        s.k1 = k1;
        s.k2 = k2;
        ++size_;
        return kNew;
      }
      if (s.k1 == k1 && s.k2 == k2) return kSeen;
    }
  }
  int64_t bytes() const { return static_cast<int64_t>(capacity_ * sizeof(Slot)); }
  int64_t peak_bytes() const { return peak_bytes_; }
  int64_t size() const { return static_cast<int64_t>(size_); }

 private:
  struct Slot {
    uint64_t k1, k2;
  };
  struct Free {
    void operator()(Slot* p) const { std::free(p); }
  };

  bool Find(uint64_t k1, uint64_t k2) const {
    if (capacity_ == 0) return false;
    for (size_t i = k1 & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_.get()[i];
      if ((s.k1 | s.k2) == 0) return false;
      if (s.k1 == k1 && s.k2 == k2) return true;
    }
  }
  bool Grow() {
    const size_t next = capacity_ == 0 ? 256 : capacity_ * 2;
    const int64_t need = static_cast<int64_t>((capacity_ + next) * sizeof(Slot));
    if (need > max_bytes_) return false;
    // calloc: fresh zero pages from the kernel, touched only as they fill.
    std::unique_ptr<Slot, Free> fresh(static_cast<Slot*>(std::calloc(next, sizeof(Slot))));
    if (!fresh) return false;
    peak_bytes_ = std::max<int64_t>(peak_bytes_, need);
    const size_t mask = next - 1;
    for (size_t j = 0; j < capacity_; ++j) {
      const Slot& s = slots_.get()[j];
      if ((s.k1 | s.k2) == 0) continue;
      size_t i = s.k1 & mask;
      while ((fresh.get()[i].k1 | fresh.get()[i].k2) != 0) i = (i + 1) & mask;
      fresh.get()[i] = s;
    }
    slots_ = std::move(fresh);
    capacity_ = next;
    mask_ = mask;
    return true;
  }

  std::unique_ptr<Slot, Free> slots_;
  size_t capacity_ = 0, mask_ = 0, size_ = 0;
  int64_t max_bytes_;
  int64_t peak_bytes_ = 0;
};

}  // namespace faultline
