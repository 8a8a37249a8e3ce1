#include "hearth/chunks.h"

namespace hearth {
namespace chunks {

std::vector<Bytes> split(const Bytes& value, size_t writeSize) {
  std::vector<Bytes> writes;
  if (writeSize < 2 || value.size() > kMaxValue) return writes;
  const size_t payload = writeSize - 1;
  const size_t count = value.empty() ? 1 : (value.size() + payload - 1) / payload;
  if (count > 128) return writes;
  for (size_t i = 0; i < count; i++) {
    Bytes write;
    write.push_back(static_cast<uint8_t>(i | (i == count - 1 ? 0x80 : 0)));
    const size_t from = i * payload;
    const size_t to = from + payload < value.size() ? from + payload : value.size();
    write.insert(write.end(), value.begin() + static_cast<long>(from), value.begin() + static_cast<long>(to));
    writes.push_back(write);
  }
  return writes;
}

Joiner::Outcome Joiner::push(const uint8_t* data, size_t length) {
  if (length < 1) {
    reset();
    return Outcome::Empty;
  }
  const size_t index = data[0] & 0x7f;
  if (index == 0) reset();
  else if (index != next_) {
    reset();
    return Outcome::OutOfOrder;
  }
  if (buffer_.size() + length - 1 > kMaxValue) {
    reset();
    return Outcome::TooLong;
  }
  buffer_.insert(buffer_.end(), data + 1, data + length);
  next_ = index + 1;
  if (!(data[0] & 0x80)) return Outcome::Incomplete;
  value_.swap(buffer_);
  reset();
  return Outcome::Complete;
}

}  // namespace chunks
}  // namespace hearth
