// `seedgrid serve`: one grid server over a real network (engine/env/real/ws_network.h), its data in
// SQLite, until SIGINT or SIGTERM. Flags and behaviour: `seedgrid serve --help` and
// docs/deployment.md.
//
// Contract: prints one line on stderr when listening ("listening on HOST:PORT as node ID") and one
// line per notable event; exits 0 after a graceful stop (stop accepting, leave the cluster and hand
// partitions off within --leave-timeout, sync storage), 2 for bad flags or a data directory that
// cannot be used (in use by another process, another node's, not writable).
#ifndef SEEDGRID_TOOLS_SEEDGRID_SERVE_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_SERVE_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

CommandMain SetUpServeCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_SERVE_COMMAND_H_
