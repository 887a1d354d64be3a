#include "tools/seedgrid/data_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {
namespace {

constexpr const char* kIdFile = "node-id";

}  // namespace

DataDir::DataDir(std::string path, const std::string& temp_prefix, std::string node_id)
    : path_(std::move(path)) {
  if (path_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = fmt::format("{}/{}-XXXXXX", tmp && *tmp ? tmp : "/tmp", temp_prefix);
    if (mkdtemp(pattern.data()) == nullptr) {
      throw InputError{fmt::format("cannot create a temporary data directory {}: {}", pattern,
                                   std::strerror(errno))};
    }
    path_ = pattern;
    temporary_ = true;
  }
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec || !std::filesystem::is_directory(path_)) {
    throw InputError{fmt::format("data directory {}: {}", path_,
                                 ec ? ec.message() : "exists and is not a directory")};
  }
  lock_fd_ = ::open(File("lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    throw InputError{fmt::format("data directory {}: cannot open its lock file: {}", path_,
                                 std::strerror(errno))};
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw InputError{fmt::format("data directory {} is in use by another seedgrid process", path_)};
  }
  std::ifstream in(File(kIdFile));
  std::stringstream stored;
  stored << in.rdbuf();
  node_id_ = stored.str();
  while (!node_id_.empty() && (node_id_.back() == '\n' || node_id_.back() == ' ')) {
    node_id_.pop_back();
  }
  if (!node_id.empty()) Bind(node_id);
}

DataDir::~DataDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

void DataDir::Bind(const std::string& node_id) {
  if (!node_id_.empty() && node_id_ != node_id) {
    throw InputError{fmt::format(
        "data directory {} belongs to node '{}', not '{}' (use that node id, or another "
        "directory)",
        path_, node_id_, node_id)};
  }
  if (node_id_.empty()) {
    const std::string tmp = File(std::string(kIdFile) + ".tmp");
    std::ofstream out(tmp, std::ios::trunc);
    out << node_id << "\n";
    out.close();
    if (!out || std::rename(tmp.c_str(), File(kIdFile).c_str()) != 0) {
      throw InputError{fmt::format("data directory {}: cannot write {}", path_, kIdFile)};
    }
  }
  node_id_ = node_id;
}

}  // namespace seedgrid::tools
