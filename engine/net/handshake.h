// The connection handshake and the addressing of real deployments (sans-IO: no sockets here; the
// real transport, engine/env/real/ws_network.h, drives it).
//
// Protocol: the dialling side sends Hello {protocol version, its node id, its role (client or
// server), the shared cluster token, the address it can be dialled at (servers)}; the accepting
// side answers Welcome {protocol version, its node id, the servers it knows as ID@HOST:PORT} or
// Refusal {reason} and closes. Only after
// a Welcome do frames carry engine messages, so a node without the token never reaches the
// engine. Tokens are compared in constant time.
//
// Addresses: a server's node id is, unless named otherwise, derived from its advertised address
// (HOST-PORT: 127.0.0.1:7001 is node 127.0.0.1-7001; node ids cannot hold ':', the separator of
// a timestamp's text form), so a peer or a client that knows where a server listens knows what to
// call it. A differently named server is written ID@HOST:PORT; dialling HOST:PORT and meeting a
// server named otherwise is refused with a message saying how to name it.
#ifndef SEEDGRID_ENGINE_NET_HANDSHAKE_H_
#define SEEDGRID_ENGINE_NET_HANDSHAKE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/env/env.h"

namespace seedgrid::net {

// Raised when the handshake or the message framing changes incompatibly.
inline constexpr uint32_t kProtocolVersion = 1;
// Node ids: 1..128 bytes of [A-Za-z0-9._-].
inline constexpr size_t kNodeIdBytesMax = 128;

enum class Role : uint8_t { kClient = 0, kServer = 1 };
std::string_view RoleName(Role role);

struct Hello {
  uint32_t protocol_version = kProtocolVersion;
  NodeId node_id;
  Role role = Role::kClient;
  std::string token;
  std::string advertise;  // HOST:PORT of a server; empty for a client
  friend bool operator==(const Hello&, const Hello&) = default;
};
struct Welcome {
  uint32_t protocol_version = kProtocolVersion;
  NodeId node_id;
  // Every server the answering server knows, as ID@HOST:PORT: a client connects to all of them
  // (any server may need to reach it: acknowledgements, pulled partitions, live-query streams).
  std::vector<std::string> servers;
  friend bool operator==(const Welcome&, const Welcome&) = default;
};
struct Refusal {
  std::string reason;
  friend bool operator==(const Refusal&, const Refusal&) = default;
};
using HandshakeFrame = std::variant<Hello, Welcome, Refusal>;

std::string EncodeHandshake(const HandshakeFrame& frame);
// InvalidArgument naming what is wrong (not a handshake frame, failed verification, bad field).
absl::StatusOr<HandshakeFrame> DecodeHandshake(std::string_view bytes);

// The accepting side's rules.
struct AcceptPolicy {
  NodeId local_id;
  std::string token;  // empty: no token required
  bool accept_servers = true;
  std::vector<std::string> servers;  // for the Welcome
};
// The accepting side's answer to a Hello: a Welcome, or a Refusal naming the reason.
HandshakeFrame Answer(const Hello& hello, const AcceptPolicy& policy);
// The dialling side's check of the answer: OK when it is a Welcome from `expected_id` (dialled
// at `address`), else FailedPrecondition (refused) or InvalidArgument (a wrong answer).
absl::Status CheckAnswer(const HandshakeFrame& answer, const NodeId& expected_id,
                         std::string_view address);

// OK for a valid node id; InvalidArgument naming the problem otherwise.
absl::Status ValidateNodeId(std::string_view id);
bool TokensEqual(std::string_view a, std::string_view b);

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
  // ID@HOST:PORT, the form ParseServerAddress reads.
  std::string Named(const NodeId& id) const { return id + "@" + ToString(); }
  // The node id of a server at this address when it is not named otherwise: HOST-PORT (an IPv6
  // host's ':' become '-').
  NodeId DefaultNodeId() const;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};
// "HOST:PORT" or "[V6]:PORT"; InvalidArgument naming the text otherwise. Port 0 only when
// `allow_any_port` (listen on a free port).
absl::StatusOr<HostPort> ParseHostPort(std::string_view text, bool allow_any_port = false);

// A server as named on a command line: "HOST:PORT" (its id is the address) or "ID@HOST:PORT".
struct ServerAddress {
  NodeId id;
  HostPort address;
};
absl::StatusOr<ServerAddress> ParseServerAddress(std::string_view text);

}  // namespace seedgrid::net

#endif  // SEEDGRID_ENGINE_NET_HANDSHAKE_H_
