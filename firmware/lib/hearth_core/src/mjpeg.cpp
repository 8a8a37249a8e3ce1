#include "hearth/mjpeg.h"

#include <cinttypes>
#include <cstdio>

namespace hearth {
namespace mjpeg {

std::string contentType() { return std::string("multipart/x-mixed-replace;boundary=") + kBoundary; }

std::string partHeader(size_t jpegLength, uint64_t timestampUs) {
  char fields[160];
  std::snprintf(fields, sizeof fields,
                "Content-Type: image/jpeg\r\nContent-Length: %zu\r\nX-Timestamp: %" PRIu64 ".%06" PRIu64 "\r\n\r\n",
                jpegLength, timestampUs / 1000000, timestampUs % 1000000);
  return std::string("\r\n--") + kBoundary + "\r\n" + fields;
}

}  // namespace mjpeg
}  // namespace hearth
