/// \file
/// \brief Checkpoints: named tensors (a module's parameters, or cached logits) in one checked file.
///
/// Format (little-endian; the code refuses to compile on a big-endian host), version 1:
///
/// | field | bytes |
/// |---|---|
/// | magic `KDCKPT` + `\0\0` | 8 |
/// | format version (1) | 4 |
/// | metadata length m, then m bytes of text (e.g. the configuration that made the file) | 8 + m |
/// | tensor count k | 8 |
/// | per tensor: name length, name, rank r, r dimensions (8 bytes each), the float32 values | |
/// | CRC-32 (zlib's) of everything after the version field | 4 |
///
/// Files are written to a temporary file beside the target and renamed over it, so an
/// interrupted write never leaves a half file under the real name.
#pragma once

#include "nn/module.h"
#include "tensor/errors.h"

#include <string>
#include <utility>
#include <vector>

namespace nn {

/// \defgroup checkpoints checkpoints: saving and loading tensors
/// \ingroup nn
/// \brief One file format for parameters and cached logits, checked by a CRC-32.

/// \ingroup checkpoints
/// \brief A checkpoint that cannot be written, read, or applied. The message starts with the path.
class CheckpointError : public tensor::Error {
 public:
  using tensor::Error::Error;
};

/// \ingroup checkpoints
/// \brief Tensors with names, in order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// \ingroup checkpoints
/// \brief What a checkpoint file holds.
struct Checkpoint {
  NamedTensors tensors;  ///< in the order saved
  std::string metadata;  ///< free text saved with them (e.g. the training configuration)
};

/// \ingroup checkpoints
/// \brief Writes tensors and metadata to `path` atomically (temporary file, then rename).
/// \throws CheckpointError `PATH: cannot write: ...` when the directory is missing or unwritable.
void save_tensors(const std::string& path, const NamedTensors& tensors, const std::string& metadata = "");

/// \ingroup checkpoints
/// \brief Reads a file written by `save_tensors`, verifying magic, version, sizes and CRC-32
/// before trusting any of it.
/// \throws CheckpointError `PATH: checksum mismatch (file corrupt)` and the like.
Checkpoint load_tensors(const std::string& path);

/// \ingroup checkpoints
/// \brief Parses the bytes of a checkpoint, exactly as `load_tensors` parses a file's (what
/// the fuzzer feeds it).
/// \param bytes the file's contents \param name what errors start with (the path)
/// \throws CheckpointError as `load_tensors`.
Checkpoint parse_tensors(const std::string& bytes, const std::string& name);

/// \ingroup checkpoints
/// \brief A copy of a module's named parameters, then its named buffers: what `save_checkpoint`
/// writes, kept in memory (e.g. the weights of an epoch, to save later with `save_tensors`).
NamedTensors module_tensors(const Module& module);

/// \ingroup checkpoints
/// \brief Saves a module's named parameters, then its named buffers (e.g. BatchNorm's running statistics).
/// \throws CheckpointError as `save_tensors`.
/// \see \ref ch02_teacher
void save_checkpoint(const std::string& path, const Module& module, const std::string& metadata = "");

/// \ingroup checkpoints
/// \brief Loads parameters and buffers saved by `save_checkpoint` into a module of the same architecture.
///
/// Every parameter and buffer must be present with the same shape, and nothing extra; otherwise the
/// module is left untouched and the error names the parameter with expected vs found.
/// \returns the metadata stored with the parameters
/// \throws CheckpointError `PATH: parameter 0.weight: expected [100, 784], found [10, 784]`.
/// \see \ref ch02_teacher
std::string load_checkpoint(const std::string& path, Module& module);

}  // namespace nn
