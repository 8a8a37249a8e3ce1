// The stream's framing, compared with the bytes Arduino's CameraWebServer sends (the hub's reader is
// checked against the core's output in hub/src/media/firmware-mjpeg.test.ts).
#include <doctest/doctest.h>

#include "hearth/mjpeg.h"
#include "hearth/upload.h"

using namespace hearth;

TEST_CASE("MJPEG part headers as CameraWebServer writes them") {
  CHECK(mjpeg::contentType() == "multipart/x-mixed-replace;boundary=123456789000000000000987654321");
  CHECK(mjpeg::partHeader(43210, 12345678901ull) ==
        "\r\n--123456789000000000000987654321\r\nContent-Type: image/jpeg\r\nContent-Length: 43210\r\n"
        "X-Timestamp: 12345.678901\r\n\r\n");
  CHECK(mjpeg::partHeader(1, 5).find("X-Timestamp: 0.000005\r\n") != std::string::npos);
}

TEST_CASE("a frame is trimmed at its last end marker; a buffer that is not a JPEG has length 0") {
  const Bytes padded{0xff, 0xd8, 0x01, 0xff, 0xd9, 0x02, 0xff, 0xd9, 0x00, 0x00, 0x00};
  CHECK(upload::jpegLength(padded.data(), padded.size()) == 8);
  const Bytes noEnd{0xff, 0xd8, 0x01, 0x02, 0x03};
  CHECK(upload::jpegLength(noEnd.data(), noEnd.size()) == 0);
  const Bytes notJpeg{0x89, 0x50, 0x4e, 0x47, 0xff, 0xd9};
  CHECK(upload::jpegLength(notJpeg.data(), notJpeg.size()) == 0);
  CHECK(upload::jpegLength(padded.data(), 3) == 0);
}
