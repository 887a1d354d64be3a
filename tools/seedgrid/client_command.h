// `seedgrid client`: a GridClient over the real network, for people and scripts.
//
//   seedgrid client --server HOST:PORT [--server ...] [--token T] [--data DIR] [--timeout 10s]
//     put MAP KEY JSON [--concern applied|replicated|fire-and-forget]
//     rm MAP KEY [--concern ...]
//     get MAP KEY            the document as JSON (exit 3: not found)
//     dump MAP               every live record, one {"key", "value"} JSON line each, key order
//     query MAP 'QUERY'      the result rows as JSON lines (query text: docs/queries.md)
//     subscribe MAP 'QUERY'  ENTER/UPDATE/LEAVE deltas as JSON lines until SIGINT/SIGTERM
//     import MAP [FILE]      {"key", "value"} JSON lines (FILE or stdin); every line is
//                            checked before anything is written
//     sync                   send the op log kept in --data and wait until it is acknowledged
//
// Contract: writes wait for their acknowledgement at the write concern; reads wait until the
// local replica has caught up with the servers (a sync round whose root matched). Exit 0 on
// success, 1 when the wait ran out (--timeout; the message names the server and why it cannot
// be reached), 2 for bad flags or input, 3 when `get` found no such key. Without --data the client
// keeps its op log in memory (a fresh client id each run); with --data its op log and replica live
// in DIR/client.db under a client id bound to DIR, so a write not yet acknowledged when the process
// ends is sent, exactly once, by the next command using DIR.
#ifndef SEEDGRID_TOOLS_SEEDGRID_CLIENT_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_CLIENT_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

inline constexpr int kExitNotFound = 3;  // `get`: the key has no live value

CommandMain SetUpClientCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_CLIENT_COMMAND_H_
