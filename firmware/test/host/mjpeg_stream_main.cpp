// Writes the MJPEG stream the camera would serve for the given JPEG files (each frame's buffer padded
// as the sensor leaves it, then trimmed by the core) to stdout, for a hub test to read with its parser.
//   mjpeg-stream frame1.jpg frame2.jpg …     (Content-Type on stderr)
#include <fstream>
#include <iostream>
#include <iterator>

#include "hearth/mjpeg.h"
#include "hearth/upload.h"

using namespace hearth;

int main(int argc, char** argv) {
  std::cerr << mjpeg::contentType();
  for (int i = 1; i < argc; i++) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) return 2;
    Bytes frame((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    frame.insert(frame.end(), 37, 0x00);  // what esp32-camera leaves after the end marker
    const size_t length = upload::jpegLength(frame.data(), frame.size());
    if (!length) return 3;
    const std::string head = mjpeg::partHeader(length, 1000000ull * static_cast<uint64_t>(i));
    std::cout.write(head.data(), static_cast<std::streamsize>(head.size()));
    std::cout.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(length));
  }
  return 0;
}
