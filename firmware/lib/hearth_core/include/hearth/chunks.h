// The Hearth service's transport (docs/protocols.md, "Hearth camera service"): one header byte per ATT
// write or notification, bit 7 = last chunk, bits 0-6 = index. Values up to 512 bytes.
#pragma once
#include <cstdint>
#include <vector>

#include "hearth/bytes.h"

namespace hearth {
namespace chunks {

constexpr size_t kMaxValue = 512;

/** Splits a value into writes of at most `writeSize` bytes (ATT MTU - 3). Empty on a value too long. */
std::vector<Bytes> split(const Bytes& value, size_t writeSize = 20);

class Joiner {
 public:
  enum class Outcome { Incomplete, Complete, OutOfOrder, TooLong, Empty };
  Outcome push(const uint8_t* data, size_t length);
  /** The joined value after `Complete`. */
  const Bytes& value() const { return value_; }
  void reset() {
    buffer_.clear();
    next_ = 0;
  }

 private:
  Bytes buffer_;
  Bytes value_;
  size_t next_ = 0;
};

}  // namespace chunks
}  // namespace hearth
