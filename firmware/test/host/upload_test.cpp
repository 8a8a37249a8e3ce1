// The burst upload body: the length announced is the length sent, photos are handed out in place, and
// the meta JSON is what the hub's schema reads.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "hearth/upload.h"

using namespace hearth;

TEST_CASE("a burst body: meta first, each photo in place, the announced length exact, rewindable") {
  const Bytes first(5000, 0xab);
  const Bytes second(70000, 0xcd);
  upload::Meta meta;
  meta.burstId = "b-42_x";
  meta.seq = 3;
  meta.capturedAtMs = 1796181686867ull;
  meta.intervalMs = 200;
  meta.wakeReason = "pir";
  meta.batteryMv = 3950;
  meta.rssi = -61;
  meta.firmware = "0.3.1 \"beta\"";
  meta.settingsVersion = 7;
  meta.ack = {41, 42};
  upload::Body body("hearthburst", meta, {{first.data(), first.size()}, {second.data(), second.size()}});
  CHECK(body.contentType() == "multipart/form-data; boundary=hearthburst");

  std::string all;
  const uint8_t* piece = nullptr;
  size_t length = 0;
  int pieces = 0;
  bool photoInPlace = false;
  while (body.next(piece, length)) {
    if (piece == second.data()) photoInPlace = length == second.size();
    all.append(reinterpret_cast<const char*>(piece), length);
    pieces++;
  }
  CHECK(photoInPlace);
  CHECK(pieces == 1 + 2 * 3 + 1);
  CHECK(all.size() == body.contentLength());
  CHECK(all.rfind("--hearthburst\r\nContent-Disposition: form-data; name=\"meta\"\r\n", 0) == 0);
  CHECK(all.find("filename=\"b-42_x_4.jpg\"") != std::string::npos);
  CHECK(all.substr(all.size() - 17) == "--hearthburst--\r\n");

  const size_t start = all.find("\r\n\r\n") + 4;
  const auto meta_json = nlohmann::json::parse(all.substr(start, all.find("\r\n", start) - start));
  CHECK(meta_json == nlohmann::json{{"burstId", "b-42_x"}, {"seq", 3}, {"capturedAt", 1796181686867ull},
                                   {"intervalMs", 200}, {"wakeReason", "pir"}, {"batteryMv", 3950},
                                   {"rssi", -61}, {"firmware", "0.3.1 \"beta\""}, {"settingsVersion", 7},
                                   {"ack", {41, 42}}});

  body.rewind();
  std::string again;
  while (body.next(piece, length)) again.append(reinterpret_cast<const char*>(piece), length);
  CHECK(again == all);
}
