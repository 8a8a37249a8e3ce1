// The camera's hardware for host tests: a clock, a Wi-Fi that joins or not, a sensor that returns a tiny
// JPEG, a hub that answers uploads from a queue and serves one firmware image, an OTA slot, and NVS.
#pragma once
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hearth/device.h"

struct FakePlatform : hearth::device::Platform {
  using Bytes = hearth::Bytes;
  uint64_t now = 1796181686000ull;
  bool wifiUp = true;
  std::string joinedSsid;
  uint16_t battery = 3900;
  bool brownOut = false;
  std::deque<std::pair<int, Bytes>> replies;  // what the hub answers, in order
  std::vector<std::string> metas;
  std::vector<std::string> tokens;
  std::vector<size_t> photoCounts;
  int saves = 0;
  hearth::device::Persisted saved;
  std::vector<std::string> burstIds;
  uint64_t clockSetTo = 0;

  // The flash spool: bursts by id, and how many fit.
  std::map<std::string, hearth::device::KeptBurst> spool;
  size_t spoolCapacity = 10;
  bool streaming = false;
  int streamsStarted = 0;

  // The firmware download and the inactive OTA slot.
  Bytes served;             // what GET <url> returns
  int downloadStatus = 200;
  size_t cutAfter = SIZE_MAX;  // the connection drops after this many bytes
  std::vector<std::string> downloads;
  Bytes slot;
  bool slotOpen = false;
  bool committed = false;
  bool abandoned = false;
  bool markedValid = false;
  bool rolledBack = false;

  uint64_t nowMs() override { return now; }
  void setClock(uint64_t epochMs) override { clockSetTo = epochMs; }
  void wifiBegin(const std::string& ssid, const std::string&) override { joinedSsid = ssid; }
  bool wifiConnected() override { return wifiUp; }
  std::vector<uint8_t> frameSizes;
  bool capture(const hearth::tlv::Settings& settings, Bytes& jpeg) override {
    frameSizes.push_back(settings.frameSize.value_or(1));
    jpeg = Bytes{0xff, 0xd8, 0xff, 0xd9};
    return true;
  }
  int upload(const std::string&, const std::string& token, const std::vector<Bytes>& photos,
             const hearth::upload::Meta& meta, Bytes& reply) override {
    metas.push_back(hearth::upload::metaJson(meta));
    burstIds.push_back(meta.burstId);
    tokens.push_back(token);
    photoCounts.push_back(photos.size());
    if (replies.empty()) return 0;
    auto [status, body] = replies.front();
    replies.pop_front();
    reply = body;
    return status;
  }
  uint16_t batteryMv() override { return battery; }
  bool brownedOut() override { return brownOut; }
  void save(const hearth::device::Persisted& state) override {
    saves++;
    saved = state;
  }
  bool keepBurst(const hearth::device::KeptBurst& burst) override {
    if (spool.size() >= spoolCapacity) return false;
    spool[burst.id] = burst;
    return true;
  }
  bool loadKeptBurst(const std::string& id, hearth::device::KeptBurst& burst) override {
    auto found = spool.find(id);
    if (found == spool.end()) return false;
    burst = found->second;
    return true;
  }
  void dropKeptBurst(const std::string& id) override { spool.erase(id); }
  bool streamStart() override {
    streaming = true;
    streamsStarted++;
    return true;
  }
  void streamStop() override { streaming = false; }
  uint32_t otaSlotBytes() override { return 0x1A0000; }
  int download(const std::string& hubUrl, const std::string& path, const std::string&,
               const std::function<bool(const uint8_t*, size_t)>& sink) override {
    downloads.push_back(hubUrl + path);
    const size_t total = std::min(served.size(), cutAfter);
    for (size_t at = 0; at < total; at += 1024)
      if (!sink(served.data() + at, std::min<size_t>(1024, total - at))) break;
    return total < served.size() ? 0 : downloadStatus;
  }
  bool otaBegin(uint32_t) override {
    slot.clear();
    slotOpen = true;
    return true;
  }
  bool otaWrite(const uint8_t* data, size_t length) override {
    if (!slotOpen) return false;
    slot.insert(slot.end(), data, data + length);
    return true;
  }
  bool otaEnd(bool commit) override {
    slotOpen = false;
    (commit ? committed : abandoned) = true;
    return true;
  }
  void markImageValid() override { markedValid = true; }
  void rollback() override { rolledBack = true; }
};
