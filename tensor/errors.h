/// \file
/// \brief The exceptions thrown for bad input from a caller.
///
/// Every message starts with the operation's name and prints the values involved,
/// e.g. `add: shapes [32, 10] and [3] do not broadcast`. Broken internal invariants
/// are `assert`s, never exceptions.
#pragma once

#include <stdexcept>
#include <string>

namespace tensor {

/// \ingroup tensor
/// \brief Base of every error the library throws for bad input.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// \ingroup tensor
/// \brief Shapes that do not fit the operation (mismatch, rank, broadcasting).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// \ingroup tensor
/// \brief An axis or element index outside the tensor.
class IndexError : public Error {
 public:
  using Error::Error;
};

/// \ingroup tensor
/// \brief An argument with a value the operation does not accept (e.g. a temperature \f$T \le 0\f$).
class ValueError : public Error {
 public:
  using Error::Error;
};

}  // namespace tensor
