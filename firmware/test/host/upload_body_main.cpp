// Writes the firmware core's upload body for JPEG files to stdout (its Content-Type on stderr), so a
// hub test can POST exactly the bytes a camera would send.
//   upload-body --burst ID --seq N --at MS --ack 7,8 photo1.jpg photo2.jpg
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "hearth/upload.h"

using namespace hearth;

int main(int argc, char** argv) {
  upload::Meta meta;
  meta.firmware = "0.1.0-host";
  meta.wakeReason = "timer";
  std::vector<Bytes> files;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--burst" && i + 1 < argc) meta.burstId = argv[++i];
    else if (arg == "--seq" && i + 1 < argc) meta.seq = static_cast<uint32_t>(std::stoul(argv[++i]));
    else if (arg == "--at" && i + 1 < argc) meta.capturedAtMs = std::stoull(argv[++i]);
    else if (arg == "--ack" && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      for (std::string id; std::getline(list, id, ',');) meta.ack.push_back(static_cast<uint32_t>(std::stoul(id)));
    } else {
      std::ifstream in(arg, std::ios::binary);
      if (!in) {
        std::cerr << "cannot read " << arg << "\n";
        return 2;
      }
      files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  std::vector<upload::Photo> photos;
  for (const auto& file : files) photos.push_back({file.data(), file.size()});
  upload::Body body("hearth-" + meta.burstId, meta, photos);
  std::cerr << body.contentType() << "\n" << body.contentLength() << "\n";
  const uint8_t* piece = nullptr;
  size_t length = 0;
  while (body.next(piece, length)) std::fwrite(piece, 1, length, stdout);
  return 0;
}
