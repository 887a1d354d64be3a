// ListenerSet<Event>: the change-event fan-out shared by the CRDT maps. Listeners run
// synchronously, in registration order, after the change is applied; they must not modify the map
// that notifies them (asserted). They may add or remove listeners (a subscription that ends itself
// is normal): a listener removed during a notification is not called afterwards, and one added
// during a notification first hears the next event.
#ifndef SEEDGRID_ENGINE_CRDT_LISTENERS_H_
#define SEEDGRID_ENGINE_CRDT_LISTENERS_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/base/assert.h"

namespace seedgrid {

using ListenerId = uint64_t;

template <typename Event>
class ListenerSet {
 public:
  using Listener = std::function<void(const Event&)>;

  ListenerId Add(Listener listener) {
    SG_ASSERT(listener != nullptr);
    const ListenerId id = next_id_++;
    if (notifying_) {
      pending_adds_.emplace_back(id, std::move(listener));
    } else {
      listeners_.emplace(id, std::move(listener));
    }
    return id;
  }
  bool Remove(ListenerId id) {
    if (!notifying_) return listeners_.erase(id) > 0;
    // Mid-notification: never change the tree being iterated, nor destroy a listener that may be
    // the one running; mark it removed (it is skipped from now on) and erase after the loop.
    if (listeners_.contains(id) && !PendingRemoval(id)) {
      pending_removes_.push_back(id);
      return true;
    }
    for (auto pending = pending_adds_.begin(); pending != pending_adds_.end(); ++pending) {
      if (pending->first == id) {
        pending_adds_.erase(pending);
        return true;
      }
    }
    return false;
  }
  bool empty() const { return listeners_.empty(); }

  void Notify(const Event& event) {
    SG_ASSERT(!notifying_);  // A listener changed the map that is notifying it.
    notifying_ = true;
    for (auto& [id, listener] : listeners_) {
      if (!PendingRemoval(id)) listener(event);
    }
    notifying_ = false;
    for (ListenerId id : pending_removes_) listeners_.erase(id);
    pending_removes_.clear();
    for (auto& [id, listener] : pending_adds_) listeners_.emplace(id, std::move(listener));
    pending_adds_.clear();
  }
  bool notifying() const { return notifying_; }

 private:
  bool PendingRemoval(ListenerId id) const {
    for (ListenerId removed : pending_removes_) {
      if (removed == id) return true;
    }
    return false;
  }

  ListenerId next_id_ = 1;
  absl::btree_map<ListenerId, Listener> listeners_;
  std::vector<ListenerId> pending_removes_;
  std::vector<std::pair<ListenerId, Listener>> pending_adds_;
  bool notifying_ = false;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_LISTENERS_H_
