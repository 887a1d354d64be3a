#include "engine/net/handshake.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "absl/status/status.h"
#include "engine/base/strings.h"
#include "engine/net/handshake_generated.h"

namespace seedgrid::net {
namespace {

fb::Role ToFb(Role r) { return r == Role::kServer ? fb::Role::Server : fb::Role::Client; }

std::string Str(const flatbuffers::String* s) { return s == nullptr ? "" : s->str(); }

absl::Status Invalid(std::string what) {
  return absl::InvalidArgumentError(fmt::format("handshake: {}", what));
}

}  // namespace

std::string_view RoleName(Role role) { return role == Role::kServer ? "server" : "client"; }

std::string EncodeHandshake(const HandshakeFrame& frame) {
  flatbuffers::FlatBufferBuilder b(256);
  flatbuffers::Offset<fb::Handshake> root = std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, Hello>) {
          auto hello =
              fb::CreateHello(b, f.protocol_version, b.CreateString(f.node_id), ToFb(f.role),
                              b.CreateString(f.token), b.CreateString(f.advertise));
          return fb::CreateHandshake(b, fb::Frame::Hello, hello.Union());
        } else if constexpr (std::is_same_v<T, Welcome>) {
          auto w = fb::CreateWelcome(b, f.protocol_version, b.CreateString(f.node_id),
                                     b.CreateVectorOfStrings(f.servers));
          return fb::CreateHandshake(b, fb::Frame::Welcome, w.Union());
        } else {
          auto r = fb::CreateRefusal(b, b.CreateString(f.reason));
          return fb::CreateHandshake(b, fb::Frame::Refusal, r.Union());
        }
      },
      frame);
  fb::FinishHandshakeBuffer(b, root);
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

absl::StatusOr<HandshakeFrame> DecodeHandshake(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(data, bytes.size());
  if (bytes.size() < 8 || !fb::HandshakeBufferHasIdentifier(data)) {
    return Invalid(fmt::format("not a handshake frame ({} bytes)", bytes.size()));
  }
  if (!fb::VerifyHandshakeBuffer(verifier)) return Invalid("frame failed verification");
  const fb::Handshake* h = fb::GetHandshake(data);
  switch (h->frame_type()) {
    case fb::Frame::Hello: {
      const fb::Hello* m = h->frame_as_Hello();
      if (m == nullptr) return Invalid("Hello frame without its table");
      if (m->role() != fb::Role::Client && m->role() != fb::Role::Server) {
        return Invalid(
            fmt::format("Hello.role {} is neither client nor server", static_cast<int>(m->role())));
      }
      return Hello{m->protocol_version(), Str(m->node_id()),
                   m->role() == fb::Role::Server ? Role::kServer : Role::kClient, Str(m->token()),
                   Str(m->advertise())};
    }
    case fb::Frame::Welcome: {
      const fb::Welcome* m = h->frame_as_Welcome();
      if (m == nullptr) return Invalid("Welcome frame without its table");
      Welcome w{m->protocol_version(), Str(m->node_id()), {}};
      if (m->servers() != nullptr) {
        for (const flatbuffers::String* s : *m->servers()) w.servers.push_back(Str(s));
      }
      return w;
    }
    case fb::Frame::Refusal:
      if (h->frame_as_Refusal() == nullptr) return Invalid("Refusal frame without its table");
      return Refusal{Str(h->frame_as_Refusal()->reason())};
    default:
      return Invalid(fmt::format("unknown frame type {}", static_cast<int>(h->frame_type())));
  }
}

absl::Status ValidateNodeId(std::string_view id) {
  if (id.empty() || id.size() > kNodeIdBytesMax) {
    return absl::InvalidArgumentError(
        fmt::format("node id must be 1..{} bytes, got {}", kNodeIdBytesMax, id.size()));
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          fmt::format("node id '{}' has character {:?}; use letters, digits and . _ -", id, c));
    }
  }
  return absl::OkStatus();
}

bool TokensEqual(std::string_view a, std::string_view b) {
  // Constant time in the content (the length is not secret enough to hide).
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

HandshakeFrame Answer(const Hello& hello, const AcceptPolicy& policy) {
  if (hello.protocol_version != kProtocolVersion) {
    return Refusal{fmt::format("protocol version {} is not supported (this server speaks {})",
                               hello.protocol_version, kProtocolVersion)};
  }
  if (absl::Status s = ValidateNodeId(hello.node_id); !s.ok()) {
    return Refusal{fmt::format("Hello.node_id: {}", ToStd(s.message()))};
  }
  if (!TokensEqual(hello.token, policy.token)) {
    return Refusal{hello.token.empty() ? "a token is required" : "wrong token"};
  }
  if (hello.role == Role::kServer && !policy.accept_servers) {
    return Refusal{"this node accepts no server connections"};
  }
  if (hello.node_id == policy.local_id) {
    return Refusal{fmt::format("node id '{}' is this server's own", hello.node_id)};
  }
  return Welcome{kProtocolVersion, policy.local_id, policy.servers};
}

absl::Status CheckAnswer(const HandshakeFrame& answer, const NodeId& expected_id,
                         std::string_view address) {
  if (const auto* r = std::get_if<Refusal>(&answer)) {
    return absl::FailedPreconditionError(
        fmt::format("server at {} refused the connection: {}", address, r->reason));
  }
  const auto* w = std::get_if<Welcome>(&answer);
  if (w == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("server at {} answered the handshake with a Hello", address));
  }
  if (w->protocol_version != kProtocolVersion) {
    return absl::FailedPreconditionError(
        fmt::format("server at {} speaks protocol version {}, this node {}", address,
                    w->protocol_version, kProtocolVersion));
  }
  if (w->node_id != expected_id) {
    return absl::FailedPreconditionError(
        fmt::format("the server at {} is node '{}', not '{}'; name it as {}@{}", address,
                    w->node_id, expected_id, w->node_id, address));
  }
  return absl::OkStatus();
}

std::string HostPort::ToString() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

NodeId HostPort::DefaultNodeId() const {
  std::string id = fmt::format("{}-{}", host, port);
  std::replace(id.begin(), id.end(), ':', '-');
  return id;
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view text, bool allow_any_port) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("address '{}' {}; expected HOST:PORT (for example 127.0.0.1:7001)", text, why));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("has no host and port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad("has an unclosed [");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("has an IPv6 host without [ ]");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("has a port that is not a number in 0..65535");
  }
  if (port == 0 && !allow_any_port) return bad("has port 0");
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

absl::StatusOr<ServerAddress> ParseServerAddress(std::string_view text) {
  const size_t at = text.find('@');
  const std::string_view addr_text = at == std::string_view::npos ? text : text.substr(at + 1);
  absl::StatusOr<HostPort> addr = ParseHostPort(addr_text);
  if (!addr.ok()) return addr.status();
  NodeId id =
      at == std::string_view::npos ? addr->DefaultNodeId() : std::string(text.substr(0, at));
  if (absl::Status s = ValidateNodeId(id); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("server '{}': {}", text, ToStd(s.message())));
  }
  return ServerAddress{std::move(id), *std::move(addr)};
}

}  // namespace seedgrid::net
