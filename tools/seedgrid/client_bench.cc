#include "tools/seedgrid/client_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {
namespace {

// A wait that ran out: exit 1 (like the other client commands), not a usage error.
struct BenchStuck {
  std::string message;
};

double SecondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

Document Payload(uint32_t bytes, uint64_t i) {
  return Document{{"i", static_cast<int64_t>(i)}, {"v", std::string(bytes, 'x')}};
}

// Acknowledged ops per second over `connections` clients sharing one io_context.
nlohmann::json Throughput(const ClientFlags& f) {
  const msg::WriteConcern concern = ParseConcern(f.concern);
  auto io = std::make_shared<boost::asio::io_context>();
  std::vector<std::unique_ptr<Session>> sessions;
  for (uint32_t c = 0; c < f.connections; ++c) {
    // No periodic pull: a writer's map differs from the servers' until its writes are
    // acknowledged, so its sync rounds would pull whole partitions (docs/performance.md).
    sessions.push_back(std::make_unique<Session>(f, io, /*push_interval_ms=*/5,
                                                 /*sync_interval_ms=*/3'600'000));
  }
  const uint64_t per_client = f.ops / f.connections;
  constexpr size_t kWindow = 4000;  // unacknowledged writes per client at most
  std::vector<uint64_t> written(f.connections, 0);
  auto acked = [&] {
    uint64_t n = 0;
    for (auto& s : sessions) n += s->client().stats().acks;
    return n;
  };
  const Steady::time_point start = Steady::now();
  const bool ok = sessions[0]->RunUntil(
      [&] {
        bool all_done = true;
        for (uint32_t c = 0; c < f.connections; ++c) {
          GridClient& client = sessions[c]->client();
          while (written[c] < per_client && client.op_log().size() < kWindow) {
            client.Set("bench", fmt::format("c{}-{}", c, written[c]),
                       Payload(f.value_bytes, written[c]), concern);
            ++written[c];
          }
          all_done &= written[c] == per_client && client.op_log().empty();
        }
        return all_done;
      },
      acked);
  const double seconds = SecondsSince(start);
  if (!ok) throw BenchStuck{sessions[0]->Stuck("acknowledgement")};
  const uint64_t total = per_client * f.connections;
  uint64_t pushes = 0;
  for (auto& s : sessions) pushes += s->client().stats().batches_sent;
  return nlohmann::json{{"connections", f.connections},
                        {"pushes", pushes},
                        {"ops", total},
                        {"concern", msg::WriteConcernName(concern)},
                        {"value_bytes", f.value_bytes},
                        {"seconds", seconds},
                        {"ops_per_s", total / seconds}};
}

// Round trips of single REPLICATED writes, pushed at once.
nlohmann::json Latency(const ClientFlags& f) {
  Session s(f, nullptr, /*push_interval_ms=*/1000, /*sync_interval_ms=*/3'600'000);
  std::vector<double> ms;
  for (uint64_t i = 0; i < f.latency_writes; ++i) {
    const Steady::time_point t = Steady::now();
    s.client().Set("bench-latency", fmt::format("k{}", i % 1000), Payload(f.value_bytes, i),
                   msg::WriteConcern::kReplicated);
    s.client().SyncNow();
    if (!s.Flush()) throw BenchStuck{s.Stuck("acknowledgement")};
    ms.push_back(SecondsSince(t) * 1000);
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, size_t(p * ms.size()))]; };
  return nlohmann::json{{"writes", ms.size()}, {"concern", "REPLICATED"}, {"p50_ms", pct(0.5)},
                        {"p90_ms", pct(0.9)},  {"p99_ms", pct(0.99)},     {"max_ms", ms.back()}};
}

}  // namespace

int RunClientBench(const ClientFlags& f) {
  if (f.connections == 0 || f.ops < f.connections) {
    throw InputError{"bench: --ops must be at least --connections, and both positive"};
  }
  if (!f.data.empty() || !f.client_id.empty()) {
    throw InputError{"bench makes its own in-memory clients: no --data or --client-id"};
  }
  nlohmann::json out;
  try {
    out["throughput"] = Throughput(f);
    if (f.latency_writes > 0) out["latency"] = Latency(f);
  } catch (const BenchStuck& e) {
    std::fprintf(stderr, "seedgrid client: bench: %s\n", e.message.c_str());
    return kExitViolation;
  }
  const nlohmann::json& t = out["throughput"];
  std::fprintf(stderr, "throughput: %llu %s writes of %u bytes over %u connections: %.0f ops/s\n",
               static_cast<unsigned long long>(t["ops"].get<uint64_t>()),
               t["concern"].get<std::string>().c_str(), f.value_bytes, f.connections,
               t["ops_per_s"].get<double>());
  if (f.latency_writes > 0) {
    const nlohmann::json& l = out["latency"];
    std::fprintf(stderr,
                 "latency: %llu REPLICATED writes: p50 %.2f ms, p90 %.2f, p99 %.2f, "
                 "max %.2f\n",
                 static_cast<unsigned long long>(l["writes"].get<uint64_t>()),
                 l["p50_ms"].get<double>(), l["p90_ms"].get<double>(), l["p99_ms"].get<double>(),
                 l["max_ms"].get<double>());
  }
  std::cout << out.dump() << "\n";
  return kExitOk;
}

}  // namespace seedgrid::tools
