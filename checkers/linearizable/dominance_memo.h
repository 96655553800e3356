// DominanceMemo: the linearizability search's memo when info ops are few
// classes (lin_search.cc). A configuration is (128-bit fingerprint of the
// linearized ok ops + value, how many ops of each info class are linearized).
// Once a configuration is refuted (MarkDone), any configuration with the same
// fingerprint and at least as many info ops of every class is refuted too: it
// has fewer optional ops left, so every completion of it is one of the
// refuted one. Configurations still being explored only match exactly.
//
// Layout: an open-addressing table of 24-byte slots (fingerprint, head of a
// list of nodes) and one arena of nodes (next | done bit, sum of counts,
// counts as int16). A node marked done unlinks the done nodes it dominates,
// so each list holds an antichain of refuted vectors plus those in progress.
// Memory never exceeds max_bytes: growth is refused (kFull) when the old and
// new buffers together would not fit. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace faultline {

class DominanceMemo {
 public:
  enum Result { kNew, kSeen, kFull };

  DominanceMemo(int classes, int64_t max_bytes)
      : classes_(classes), stride_(2 + static_cast<size_t>(classes + 1) / 2), max_bytes_(max_bytes) {}

  // Looks up (k1, k2, counts); when not dominated, records it as in progress
  // and sets *node for MarkDone. counts[i] <= 32767.
  Result Insert(uint64_t k1, uint64_t k2, const int32_t* counts, uint32_t* node) {
    if ((k1 | k2) == 0) k1 = 1;
    uint32_t sum = 0;
    for (int i = 0; i < classes_; ++i) {
      cur_[i] = static_cast<int16_t>(counts[i]);
      sum += static_cast<uint32_t>(counts[i]);
    }
    Slot* slot = Find(k1, k2);
    if (slot != nullptr) {
      for (uint32_t n = slot->head; n != 0; n = arena_.get()[n] & kNextMask) {
        const uint32_t* w = arena_.get() + n;
        if ((w[0] & kDoneBit) != 0 && w[1] <= sum && Leq(Counts(w), cur_)) return kSeen;
      }
    } else if ((size_ + 1) * 4 > capacity_ * 3 && !GrowTable()) {
      return kFull;
    }
    if (used_ + stride_ > arena_capacity_ && !GrowArena()) return kFull;
    const uint32_t n = static_cast<uint32_t>(used_);
    used_ += stride_;
    uint32_t* w = arena_.get() + n;
    std::memset(w, 0, stride_ * sizeof(uint32_t));
    w[1] = sum;
    std::memcpy(w + 2, cur_, static_cast<size_t>(classes_) * sizeof(int16_t));
    if (slot == nullptr) {
      slot = Place(k1, k2);
      ++size_;
    }
    w[0] = slot->head;
    slot->head = n;
    ++nodes_;
    *node = n;
    return kNew;
  }
  // `node` (inserted under k1, k2) is refuted.
  void MarkDone(uint64_t k1, uint64_t k2, uint32_t node) {
    if ((k1 | k2) == 0) k1 = 1;
    uint32_t* a = arena_.get();
    a[node] |= kDoneBit;
    Slot* slot = Find(k1, k2);
    uint32_t* link = &slot->head;
    while ((*link & kNextMask) != 0) {
      const uint32_t n = *link & kNextMask;
      if (n != node && (a[n] & kDoneBit) != 0 && a[node + 1] <= a[n + 1] && Leq(Counts(a + node), Counts(a + n))) {
        *link = (*link & kDoneBit) | (a[n] & kNextMask);  // unlink n, keep the link word's done bit
      } else {
        link = a + n;
      }
    }
  }
  int64_t peak_bytes() const { return peak_bytes_; }
  int64_t size() const { return nodes_; }

 private:
  static constexpr uint32_t kDoneBit = 0x80000000u, kNextMask = 0x7fffffffu;
  struct Slot {
    uint64_t k1, k2;
    uint32_t head;  // 0: empty slot (node 0 is never used)
    uint32_t pad;
  };
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };

  static const int16_t* Counts(const uint32_t* node) { return reinterpret_cast<const int16_t*>(node + 2); }
  // x <= y in every class (no early exit: the loop vectorizes).
  bool Leq(const int16_t* x, const int16_t* y) const {
    bool greater = false;
    for (int i = 0; i < classes_; ++i) greater |= x[i] > y[i];
    return !greater;
  }
  Slot* Find(uint64_t k1, uint64_t k2) {
    if (capacity_ == 0) return nullptr;
    for (size_t i = k1 & (capacity_ - 1);; i = (i + 1) & (capacity_ - 1)) {
      Slot& s = slots_.get()[i];
      if (s.head == 0) return nullptr;
      if (s.k1 == k1 && s.k2 == k2) return &s;
    }
  }
  Slot* Place(uint64_t k1, uint64_t k2) {
    size_t i = k1 & (capacity_ - 1);
    while (slots_.get()[i].head != 0) i = (i + 1) & (capacity_ - 1);
    Slot& s = slots_.get()[i];
    s.k1 = k1;
    s.k2 = k2;
    return &s;
  }
  int64_t Bytes(size_t table, size_t arena) const {
    return static_cast<int64_t>(table * sizeof(Slot) + arena * sizeof(uint32_t));
  }
  bool GrowTable() {
    const size_t next = capacity_ == 0 ? 256 : capacity_ * 2;
    const int64_t need = Bytes(capacity_ + next, arena_capacity_);
    if (need > max_bytes_) return false;
    std::unique_ptr<Slot, Free> fresh(static_cast<Slot*>(std::calloc(next, sizeof(Slot))));
    if (!fresh) return false;
    peak_bytes_ = std::max(peak_bytes_, need);
    std::unique_ptr<Slot, Free> old = std::move(slots_);
    const size_t old_capacity = capacity_;
    slots_ = std::move(fresh);
    capacity_ = next;
    for (size_t j = 0; j < old_capacity; ++j) {
      const Slot& s = old.get()[j];
      if (s.head != 0) Place(s.k1, s.k2)->head = s.head;
    }
    return true;
  }
  bool GrowArena() {
    const size_t next = arena_capacity_ == 0 ? 4096 : arena_capacity_ * 2;
    if (next > kNextMask) return false;
    const int64_t need = Bytes(capacity_, arena_capacity_ + next);
    if (need > max_bytes_) return false;
    std::unique_ptr<uint32_t, Free> fresh(static_cast<uint32_t*>(std::malloc(next * sizeof(uint32_t))));
    if (!fresh) return false;
    peak_bytes_ = std::max(peak_bytes_, need);
    if (used_ > 0) std::memcpy(fresh.get(), arena_.get(), used_ * sizeof(uint32_t));
    arena_ = std::move(fresh);
    arena_capacity_ = next;
    if (used_ == 0) used_ = stride_;  // node 0 stays unused: 0 means "none"
    return true;
  }

  int classes_;
  size_t stride_;         // words per node
  int16_t cur_[64] = {};  // the counts being looked up
  int64_t max_bytes_;
  std::unique_ptr<Slot, Free> slots_;
  size_t capacity_ = 0, size_ = 0;
  std::unique_ptr<uint32_t, Free> arena_;
  size_t arena_capacity_ = 0, used_ = 0;
  int64_t nodes_ = 0, peak_bytes_ = 0;
};

}  // namespace faultline
