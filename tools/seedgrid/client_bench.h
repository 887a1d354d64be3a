// `seedgrid client bench`: what the network layer costs, against running servers.
//   throughput: --connections clients (one thread) write --ops documents of --value-bytes at
//               --concern (default fire-and-forget), as fast as acknowledgements come back;
//               reports acknowledged ops/s
//   latency:    one client writes --latency-writes documents one at a time at REPLICATED,
//               pushing each at once; reports p50/p90/p99/max round trips
// Prints a human summary on stderr and one JSON object on stdout.
#ifndef SEEDGRID_TOOLS_SEEDGRID_CLIENT_BENCH_H_
#define SEEDGRID_TOOLS_SEEDGRID_CLIENT_BENCH_H_

#include "tools/seedgrid/client_session.h"

namespace seedgrid::tools {

int RunClientBench(const ClientFlags& f);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_CLIENT_BENCH_H_
