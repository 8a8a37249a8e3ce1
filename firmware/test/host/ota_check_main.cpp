// The core's update check as a process, for the hub's tests to run against what the real hub sends:
//   ota-check <signing key hex> <running version> <upload reply file> <image file>
// prints one line: `no offer`, `not taken: <why>` or `verdict: <verdict>` (exit 0 in each case).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "hearth/ota.h"
#include "hearth/tlv.h"

using namespace hearth;

namespace {
Bytes readFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: ota-check <key hex> <running version> <reply file> <image file>\n";
    return 2;
  }
  const std::string keyHex = argv[1];
  if (keyHex.size() != 64) {
    std::cerr << "the key is 32 bytes of hex\n";
    return 2;
  }
  ota::PublicKey key{};
  for (size_t i = 0; i < 32; i++) key[i] = static_cast<uint8_t>(std::stoi(keyHex.substr(2 * i, 2), nullptr, 16));
  const Bytes replyBytes = readFile(argv[3]);
  tlv::UploadReply reply;
  const Status decoded = tlv::decodeUploadReply(replyBytes.data(), replyBytes.size(), reply);
  if (!decoded.ok) {
    std::cout << "bad reply: " << decoded.error << "\n";
    return 1;
  }
  if (!reply.update) {
    std::cout << "no offer\n";
    return 0;
  }
  const ota::Decision decision = ota::decide(*reply.update, argv[2], ota::Memory{}, true, 3900, 0x1A0000);
  if (decision != ota::Decision::Install) {
    std::cout << "not taken: " << ota::describe(decision) << "\n";
    return 0;
  }
  std::ifstream image(argv[4], std::ios::binary);
  ota::ImageCheck check(*reply.update, key);
  char buffer[4096];
  while (image.read(buffer, sizeof buffer) || image.gcount() > 0)
    if (!check.update(reinterpret_cast<const uint8_t*>(buffer), static_cast<size_t>(image.gcount()))) break;
  std::cout << "verdict: " << ota::describe(check.finish()) << "\n";
  return 0;
}
