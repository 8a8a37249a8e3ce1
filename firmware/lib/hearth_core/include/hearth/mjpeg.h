// The MJPEG stream a camera serves while streaming, byte for byte as Arduino's CameraWebServer sends it,
// because that is what the hub's reader expects (docs/protocols.md, "ESP32 CameraWebServer MJPEG").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace hearth {
namespace mjpeg {

constexpr const char* kBoundary = "123456789000000000000987654321";

/** `multipart/x-mixed-replace;boundary=…` */
std::string contentType();
/** What precedes each JPEG: `\r\n--<boundary>\r\nContent-Type: image/jpeg\r\nContent-Length: N\r\nX-Timestamp: s.us\r\n\r\n`. */
std::string partHeader(size_t jpegLength, uint64_t timestampUs);

}  // namespace mjpeg
}  // namespace hearth
