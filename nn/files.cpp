#include "nn/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace nn {

namespace {

// The registry a signal handler reads: fixed slots, no allocation, claimed with an atomic flag.
constexpr int kSlots = 16;
constexpr size_t kMaxPath = 1024;
// A slot is claimed by one guard, then its path is published by setting `ready`. (A handler
// racing with two other threads that release and re-claim the same slot could read a path
// being overwritten; the chapters write their files from one thread.)
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler reads these flags");
struct Slot {
  std::atomic<bool> claimed{false};
  std::atomic<bool> ready{false};
  char path[kMaxPath] = {};
};
Slot slots[kSlots];

}  // namespace

UnfinishedFile::UnfinishedFile(const std::string& path) noexcept : slot_(-1) {
  if (path.size() >= kMaxPath) return;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!slots[i].claimed.compare_exchange_strong(expected, true)) continue;
    std::memcpy(slots[i].path, path.c_str(), path.size() + 1);
    slots[i].ready.store(true);
    slot_ = i;
    return;
  }
}

UnfinishedFile::~UnfinishedFile() {
  if (slot_ < 0) return;
  slots[slot_].ready.store(false);
  slots[slot_].claimed.store(false);
}

void remove_unfinished_writes() noexcept {
  for (Slot& s : slots) {
    if (s.ready.load()) ::unlink(s.path);  // unlink is async-signal-safe
  }
}

int write_atomically(const std::string& path, std::string_view bytes, bool durable) noexcept {
  static std::atomic<uint64_t> writes{0};
  const std::string temporary = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(writes++);
  const UnfinishedFile guard(temporary);
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) return errno;
  errno = 0;
  int error = 0;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() || std::fflush(file) != 0 ||
      (durable && ::fsync(::fileno(file)) != 0)) {
    error = errno != 0 ? errno : EIO;  // a short write need not set errno: never rename it into place
  }
  if (std::fclose(file) != 0 && error == 0) error = errno != 0 ? errno : EIO;
  if (error == 0 && std::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    std::remove(temporary.c_str());
    return error;
  }
  if (durable) {  // make the rename itself durable: flush the directory entry
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return 0;
}

}  // namespace nn
