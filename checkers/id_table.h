// IdTable: a map (key number, integer id) -> uint32 position, for the
// checkers' per-write / per-element records. Internal to checkers/.
//
// Open addressing with linear probing, so a lookup costs no chain of heap
// nodes (the hot spot of checking 10M-op histories). Ids are usually unique
// and handed out in sequence, so the table starts with a locality-keeping
// hash, the id itself: consecutive ids fill neighbouring slots, so inserting
// them in order touches memory in order. Should some pattern make probe runs
// long (ids reused across keys, or strided ids), it switches for good to a
// hash mixing key and id. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace faultline {

class IdTable {
 public:
  static constexpr uint32_t kAbsent = std::numeric_limits<uint32_t>::max();

  IdTable() : slots_(64) {}

  // The position stored for (key, id), or kAbsent.
  uint32_t Find(uint32_t key, int64_t id) const {
    for (size_t i = Hash(key, id) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& slot = slots_[i];
      if (slot.pos == kAbsent) return kAbsent;
      if (slot.id == id && slot.key == key) return slot.pos;
    }
  }

  // Stores `pos` for (key, id) unless present; returns the position already there, or kAbsent.
  uint32_t Insert(uint32_t key, int64_t id, uint32_t pos) {
    if ((size_ + 1) * 10 > slots_.size() * 7) Rebuild(slots_.size() * 2);  // load <= 0.7
    size_t probes = 0;
    for (size_t i = Hash(key, id) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1), ++probes) {
      Slot& slot = slots_[i];
      if (slot.pos == kAbsent) {
        slot = Slot{id, key, pos};
        ++size_;
        if (probes > kMaxProbes && !mixed_) {
          mixed_ = true;
          Rebuild(slots_.size());
        }
        return kAbsent;
      }
      if (slot.id == id && slot.key == key) return slot.pos;
    }
  }

  size_t size() const { return size_; }

 private:
  static constexpr size_t kMaxProbes = 64;
  struct Slot {
    int64_t id = 0;
    uint32_t key = 0;
    uint32_t pos = kAbsent;
  };

  size_t Hash(uint32_t key, int64_t id) const {
    if (!mixed_) return static_cast<size_t>(id);
    uint64_t h = static_cast<uint64_t>(id) + uint64_t{key} * 0x9E3779B97F4A7C15ull;
    // splitmix64's finalizer: any pattern of ids spreads over the whole table.
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    return static_cast<size_t>(h ^ (h >> 31));
  }

  void Rebuild(size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.pos != kAbsent) Insert(slot.key, slot.id, slot.pos);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  bool mixed_ = false;
};

}  // namespace faultline
