// Little-endian reads and writes over plain byte buffers; every read is bounds-checked by its caller.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hearth {

using Bytes = std::vector<uint8_t>;

inline uint16_t readU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t readU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t readU64(const uint8_t* p) {
  return static_cast<uint64_t>(readU32(p)) | (static_cast<uint64_t>(readU32(p + 4)) << 32);
}
inline void putU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v & 0xff));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
inline void putU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; i++) out.push_back(static_cast<uint8_t>((v >> (8 * i)) & 0xff));
}
inline void putU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; i++) out.push_back(static_cast<uint8_t>((v >> (8 * i)) & 0xff));
}

/** The outcome of a parse: ok, or the reason (logged on the serial port, never parsed further). */
struct Status {
  bool ok = true;
  std::string error;
  static Status fail(std::string why) { return Status{false, std::move(why)}; }
};

}  // namespace hearth
