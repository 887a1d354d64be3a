#include "tools/seedgrid/timeline_message.h"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

#include "engine/wire/codec.h"

namespace seedgrid::tools {

namespace {

constexpr size_t kKeysShown = 4;

// "k1, k2, k3, k4 (+5)"
std::string KeyList(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < kKeysShown; ++i) {
    if (i > 0) out += ", ";
    out += keys[i];
  }
  if (keys.size() > kKeysShown) out += fmt::format(" (+{})", keys.size() - kKeysShown);
  return out;
}

std::string PathText(const std::vector<uint8_t>& path) {
  std::string out;
  for (uint8_t d : path) out += fmt::format("{:x}", d);
  return out.empty() ? std::string("root") : out;
}

void AddKeys(const std::vector<msg::LwwEntry>& lww, const std::vector<msg::OrKeyState>& ors,
             std::vector<std::string>& keys) {
  for (const auto& e : lww) keys.push_back(e.key);
  for (const auto& e : ors) keys.push_back(e.key);
}

std::string_view PurposeName(msg::StatePurpose p) {
  static constexpr std::string_view kNames[] = {"replicate", "handoff",     "sync reply",
                                                "sync push", "client leaf", "client repair"};
  const size_t i = static_cast<size_t>(p);
  return i < std::size(kNames) ? kNames[i] : std::string_view("?");
}

void DescribeGridOps(const msg::GridOps& m, MessageInfo& info) {
  std::vector<std::string> ops;
  for (const msg::GridOp& op : m.ops) {
    info.keys.push_back(op.key);
    ops.push_back(fmt::format("{} {} #{}", op.key, op.value ? "set" : "remove", op.seq));
  }
  info.summary = m.gateway.empty()
                     ? fmt::format("{}: {}", m.client, KeyList(ops))
                     : fmt::format("{} via {}: {}", m.client, m.gateway, KeyList(ops));
}

void DescribePartitionState(const msg::PartitionState& m, MessageInfo& info) {
  size_t records = 0;
  for (const msg::MapRecords& r : m.maps) {
    records += r.lww.size();
    AddKeys(r.lww, {}, info.keys);
  }
  info.summary = fmt::format("p{} {} #{}: {} records {}", m.partition, PurposeName(m.purpose), m.id,
                             records, KeyList(info.keys));
  if (m.purpose == msg::StatePurpose::kReplicate || m.purpose == msg::StatePurpose::kHandoff) {
    info.request_id = m.id;
  }
}

void DescribePartitionStates(const msg::PartitionStates& m, MessageInfo& info) {
  std::vector<std::string> parts;
  for (const msg::PartitionState& state : m.states) {
    MessageInfo one;
    DescribePartitionState(state, one);
    parts.push_back(std::move(one.summary));
    info.keys.insert(info.keys.end(), one.keys.begin(), one.keys.end());
  }
  info.summary = fmt::format("{} states: {}", m.states.size(), KeyList(parts));
}

void DescribeBody(const msg::Body& body, MessageInfo& info) {
  std::visit(
      [&info](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, msg::OpBatch>) {
          AddKeys(m.lww, m.or_entries, info.keys);
          info.summary = fmt::format("{} #{}: {}", m.map_name, m.batch_id, KeyList(info.keys));
          info.request_id = m.batch_id;
        } else if constexpr (std::is_same_v<T, msg::Ack>) {
          info.summary = fmt::format("#{}: {} accepted", m.batch_id, m.accepted);
          if (!m.error.empty()) info.summary += fmt::format(", error: {}", m.error);
          info.ack_id = m.batch_id;
        } else if constexpr (std::is_same_v<T, msg::SyncInit> || std::is_same_v<T, msg::SyncRoot>) {
          info.summary = fmt::format("{} root {:016x}", m.map_name, m.root_hash);
        } else if constexpr (std::is_same_v<T, msg::SyncBucketsRequest> ||
                             std::is_same_v<T, msg::SyncBuckets> ||
                             std::is_same_v<T, msg::SyncLeafRequest>) {
          info.summary = fmt::format("{} path {}", m.map_name, PathText(m.path));
        } else if constexpr (std::is_same_v<T, msg::SyncLeaf>) {
          AddKeys(m.lww, m.or_entries, info.keys);
          info.summary =
              fmt::format("{} path {}: {}", m.map_name, PathText(m.path), KeyList(info.keys));
        } else if constexpr (std::is_same_v<T, msg::OrMapDiff>) {
          AddKeys({}, m.entries, info.keys);
          info.summary = fmt::format("{}: {}", m.map_name, KeyList(info.keys));
        } else if constexpr (std::is_same_v<T, msg::PnCounterState>) {
          info.summary = m.name;
        } else if constexpr (std::is_same_v<T, msg::QuerySubscribe>) {
          info.summary = fmt::format("{} #{} {}", m.cancel ? "cancel" : "subscribe",
                                     m.subscription_id, m.map_name);
        } else if constexpr (std::is_same_v<T, msg::GridOps>) {
          DescribeGridOps(m, info);
        } else if constexpr (std::is_same_v<T, msg::GridAck>) {
          std::vector<std::string> seqs;
          for (const msg::GridOpAck& a : m.acks) {
            info.acked_seqs.push_back(a.seq);
            seqs.push_back(fmt::format("#{} {}", a.seq, msg::WriteConcernName(a.level)));
          }
          info.summary = KeyList(seqs);
        } else if constexpr (std::is_same_v<T, msg::PartitionState>) {
          DescribePartitionState(m, info);
        } else if constexpr (std::is_same_v<T, msg::PartitionStates>) {
          DescribePartitionStates(m, info);
        } else if constexpr (std::is_same_v<T, msg::PartitionDigest>) {
          info.summary = fmt::format("#{} {} partitions{}", m.id, m.partitions.size(),
                                     m.pull ? " (pull)" : "");
        } else if constexpr (std::is_same_v<T, msg::Heartbeat>) {
          info.summary =
              fmt::format("table v{} by {}, {} members{}", m.table_version, m.table_author,
                          m.members.size(), m.leaving ? ", leaving" : "");
        } else if constexpr (std::is_same_v<T, msg::QueryUpdate>) {
          AddKeys(m.rows.lww, {}, info.keys);
          info.summary =
              fmt::format("#{} seq {}: {}", m.subscription_id, m.seq, KeyList(info.keys));
        }
      },
      body);
}

}  // namespace

MessageInfo DescribeMessage(std::string_view bytes) {
  absl::StatusOr<msg::Envelope> e = DecodeMessage(bytes);
  if (!e.ok()) return MessageInfo{std::string(1, '?'), std::string(e.status().message())};
  MessageInfo info{std::string(msg::BodyName(e->body))};
  DescribeBody(e->body, info);
  return info;
}

bool MentionsKey(const std::vector<std::string>& keys, std::string_view text,
                 std::string_view key) {
  if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
  const auto is_word = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-';
  };
  for (size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    const size_t end = at + key.size();
    if ((at == 0 || !is_word(text[at - 1])) && (end == text.size() || !is_word(text[end]))) {
      return true;
    }
  }
  return false;
}

}  // namespace seedgrid::tools
