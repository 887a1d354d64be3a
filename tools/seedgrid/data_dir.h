// A node's data directory for `seedgrid serve` and `seedgrid client --data`: created if missing,
// locked for the life of the process (a second process on the same directory is refused), and
// bound to one node id (a directory written as another node is refused, so no node restores
// someone else's partitions or reuses someone else's op-log sequence numbers).
#ifndef SEEDGRID_TOOLS_SEEDGRID_DATA_DIR_H_
#define SEEDGRID_TOOLS_SEEDGRID_DATA_DIR_H_

#include <optional>
#include <string>

namespace seedgrid::tools {

class DataDir {
 public:
  // Throws InputError naming the directory and the problem. With an empty `path`, a fresh
  // directory under $TMPDIR (or /tmp) named after `temp_prefix`.
  // `node_id`: the id to bind; when empty, the id stored in the directory (if any) is adopted.
  DataDir(std::string path, const std::string& temp_prefix, std::string node_id);
  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  const std::string& path() const { return path_; }
  bool temporary() const { return temporary_; }
  // The bound node id; empty when none was given and none is stored (call Bind).
  const std::string& node_id() const { return node_id_; }
  void Bind(const std::string& node_id);
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
  bool temporary_ = false;
  int lock_fd_ = -1;
  std::string node_id_;
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_DATA_DIR_H_
