/// \file
/// \brief Files written whole or not at all, and the clean-up an interrupted program needs.
#pragma once

#include <string>
#include <string_view>

namespace nn {

/// \defgroup files files: writing whole files, and cleaning up after an interrupt
/// \ingroup nn
/// \brief Every file the library and the chapters write goes through here.

/// \ingroup files
/// \brief Writes `bytes` to `path` through a temporary file beside it and a rename, so a
/// reader (or a crash, or Ctrl-C) sees the old file or the new one, never half of one.
///
/// The temporary name is unique per process and call (`path.tmp.PID.N`). While it exists it
/// is registered, so `remove_unfinished_writes` can delete it from a signal handler.
/// \param path the file \param bytes its new contents
/// \param durable also flush the data and the directory entry to disk (for checkpoints)
/// \returns 0, or the errno of the step that failed (the temporary file is then removed)
int write_atomically(const std::string& path, std::string_view bytes, bool durable = false) noexcept;

/// \ingroup files
/// \brief A temporary file that `remove_unfinished_writes` deletes if the program is
/// interrupted while this guard lives (e.g. an image a child process renders to `path`).
class UnfinishedFile {
 public:
  /// \brief Registers `path` (if a slot is free: at most 16 at once; a path longer than
  /// 1023 bytes is not registered).
  explicit UnfinishedFile(const std::string& path) noexcept;
  /// \brief Unregisters it (the file itself is left to the caller: renamed or removed).
  ~UnfinishedFile();
  UnfinishedFile(const UnfinishedFile&) = delete;             ///< one guard per file
  UnfinishedFile& operator=(const UnfinishedFile&) = delete;  ///< one guard per file

 private:
  int slot_;
};

/// \ingroup files
/// \brief Deletes every registered temporary file. Async-signal-safe: a SIGINT handler calls
/// it, then lets the signal end the program, so an interrupt leaves no `.tmp` file behind.
/// \see \ref ch02_teacher, whose teacher cache a reader may interrupt.
void remove_unfinished_writes() noexcept;

}  // namespace nn
