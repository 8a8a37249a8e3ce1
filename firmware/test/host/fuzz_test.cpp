// Random and mutated frames through every parser, under AddressSanitizer and UBSan: nothing may read
// past a buffer, crash or hang, whatever a radio or a hub sends. Deterministic (fixed seeds).
#include <doctest/doctest.h>

#include <random>

#include "hearth/chunks.h"
#include "hearth/improv.h"
#include "hearth/tlv.h"

using namespace hearth;

namespace {

/** How many parsers accepted the frame. */
int feedAll(const Bytes& frame) {
  improv::Request request;
  improv::Error error;
  int accepted = improv::parseRequest(frame.data(), frame.size(), request, error).ok;
  improv::Result result;
  accepted += improv::parseResult(frame.data(), frame.size(), result).ok;
  tlv::Settings settings;
  accepted += tlv::decodeSettings(frame.data(), frame.size(), settings).ok;
  std::vector<tlv::Command> commands;
  accepted += tlv::decodeCommands(frame.data(), frame.size(), commands).ok;
  tlv::UploadReply reply;
  accepted += tlv::decodeUploadReply(frame.data(), frame.size(), reply).ok;
  tlv::Enrolment enrolment;
  accepted += tlv::decodeEnrolment(frame.data(), frame.size(), enrolment).ok;
  tlv::StatusReport status;
  accepted += tlv::decodeStatus(frame.data(), frame.size(), status).ok;
  return accepted;
}

Bytes seedFrames(std::mt19937& rng) {
  // Valid frames of every kind, to mutate from.
  static const std::vector<Bytes> seeds = [] {
    std::vector<Bytes> out;
    improv::Request wifi{improv::Rpc::WifiSettings, "HomeNet", "correct horse battery"};
    out.push_back(improv::encodeRequest(wifi));
    out.push_back(improv::encodeResult({improv::Rpc::DeviceInfo, {"Hearth Camera", "0.3.1", "ESP32", "cam"}}));
    Bytes b;
    tlv::Settings s;
    s.settingsVersion = 7;
    s.frameSize = 1;
    s.jpegQuality = 12;
    s.wakeIntervalSeconds = 300;
    s.pirEnabled = true;
    s.burstLength = 3;
    tlv::encodeSettings(s, b);
    out.push_back(b);
    tlv::Command stream{5, 2, true, 120};
    tlv::encodeUploadReply({1, 0, 1796181686867ull, s, {stream}, std::nullopt}, b);
    out.push_back(b);
    tlv::FirmwareOffer offer;
    offer.version = "1.4.0";
    offer.size = 1200000;
    offer.sha256.fill(0xab);
    offer.signature.fill(0xcd);
    offer.url = "/api/device/firmware/3";
    tlv::encodeUploadReply({1, 0, 1796181686867ull, {}, {}, offer}, b);
    out.push_back(b);
    tlv::encodeEnrolment({"http://hearth.local:8080", std::string("http://192.168.1.10:8080"), "hd_0123456789abcdef", std::nullopt}, b);
    out.push_back(b);
    tlv::StatusReport r;
    r.batteryMv = 3950;
    r.firmware = "0.3.1";
    r.lastCommandId = 42;
    tlv::encodeStatus(r, b);
    out.push_back(b);
    return out;
  }();
  return seeds[rng() % seeds.size()];
}

}  // namespace

TEST_CASE("random bytes and mutated valid frames never break a parser") {
  std::mt19937 rng(20261202);
  std::uniform_int_distribution<int> byte(0, 255);
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 60000; i++) {
    Bytes frame;
    if (i % 2) {
      frame.resize(rng() % 600);
      for (auto& b : frame) b = static_cast<uint8_t>(byte(rng));
      if (frame.size() > 3 && i % 4 == 1) {  // a plausible header, so the record loop gets exercised
        frame[0] = 0x48;
        frame[1] = 1;
        frame[2] = static_cast<uint8_t>(1 + rng() % 5);
      }
    } else {
      frame = seedFrames(rng);
      const int mutations = 1 + static_cast<int>(rng() % 4);
      for (int m = 0; m < mutations && !frame.empty(); m++) {
        switch (rng() % 4) {
          case 0: frame[rng() % frame.size()] = static_cast<uint8_t>(byte(rng)); break;
          case 1: frame.resize(rng() % frame.size()); break;
          case 2: frame.insert(frame.begin() + static_cast<long>(rng() % frame.size()), static_cast<uint8_t>(byte(rng))); break;
          default: frame.push_back(static_cast<uint8_t>(byte(rng)));
        }
      }
    }
    if (feedAll(frame) > 0) accepted++;
    else refused++;
    // And the same bytes as a stream of writes into both joiners.
    improv::Reassembler reassembler;
    chunks::Joiner joiner;
    for (size_t at = 0; at < frame.size(); at += 20) {
      const size_t n = frame.size() - at < 20 ? frame.size() - at : 20;
      if (reassembler.push(frame.data() + at, n) == improv::Reassembler::Outcome::Complete)
        feedAll(reassembler.frame());
      if (joiner.push(frame.data() + at, n) == chunks::Joiner::Outcome::Complete) feedAll(joiner.value());
    }
  }
  // The sanitizers abort the run on any bad read; these say the mutations reached both outcomes.
  CHECK(accepted > 1000);
  CHECK(refused > 10000);
  MESSAGE("frames accepted by some parser: " << accepted << ", refused by all: " << refused);
}
