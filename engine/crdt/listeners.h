// ListenerSet<Event>: the change-event fan-out shared by the CRDT maps. Listeners run
// synchronously, in registration order, after the change is applied; they must not modify the map
// that notifies them (asserted).
#ifndef SEEDGRID_ENGINE_CRDT_LISTENERS_H_
#define SEEDGRID_ENGINE_CRDT_LISTENERS_H_

#include <cstdint>
#include <functional>
#include <utility>

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
    listeners_.emplace(id, std::move(listener));
    return id;
  }
  bool Remove(ListenerId id) { return listeners_.erase(id) > 0; }
  bool empty() const { return listeners_.empty(); }

  void Notify(const Event& event) {
    SG_ASSERT(!notifying_);  // A listener changed the map that is notifying it.
    notifying_ = true;
    for (auto& [id, listener] : listeners_) listener(event);
    notifying_ = false;
  }
  bool notifying() const { return notifying_; }

 private:
  ListenerId next_id_ = 1;
  absl::btree_map<ListenerId, Listener> listeners_;
  bool notifying_ = false;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_LISTENERS_H_
