// The camera's life with a fake platform: provisioned boot → Wi-Fi → burst → upload → settings and
// commands applied → sleep; hub down → retries with backoff, same burst id, success later; low battery;
// no Wi-Fi; a refused token; first boot over Bluetooth through to the first upload.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>

#include "hearth/chunks.h"
#include "hearth/device.h"
#include "hearth/improv.h"
#include "hearth/provision.h"
#include "fake_platform.h"

using namespace hearth;

namespace {

device::Persisted provisioned() {
  device::Persisted p;
  p.ssid = "HomeNet";
  p.password = "correct horse";
  p.hubUrl = "http://hearth.local:8080";
  p.token = "hd_0123456789";
  return p;
}

Bytes reply(tlv::UploadReply r) {
  Bytes out;
  REQUIRE(tlv::encodeUploadReply(r, out).ok);
  return out;
}

device::Next runUntilSleep(device::Life& life, FakePlatform& platform, int maxSteps = 50) {
  for (int i = 0; i < maxSteps; i++) {
    auto next = life.step();
    if (next.phase == device::Phase::Sleeping) return next;
    platform.now += next.delayMs;
  }
  FAIL("never went to sleep");
  return {device::Phase::Failed, 0};
}

}  // namespace

TEST_CASE("a wake: Wi-Fi, a burst uploaded, new settings and a capture-now applied, then sleep") {
  FakePlatform platform;
  tlv::Settings settings;
  settings.settingsVersion = 4;
  settings.wakeIntervalSeconds = 120;
  settings.burstLength = 2;
  platform.replies.push_back({201, reply({3, 0, 1, settings, {tlv::Command{7, 1, true, std::nullopt}}, std::nullopt})});
  platform.replies.push_back({201, reply({2, 0, 2, {}, {}, std::nullopt})});
  device::Life life(platform, provisioned(), "pir", "0.1.0");
  CHECK(platform.joinedSsid == "HomeNet");
  auto next = runUntilSleep(life, platform);
  CHECK(next.delayMs == 120000);
  REQUIRE(platform.metas.size() == 2);
  CHECK(platform.photoCounts[0] == 3);
  CHECK(platform.photoCounts[1] == 2);  // the new burst length
  CHECK(platform.metas[0].find("\"wakeReason\":\"pir\"") != std::string::npos);
  CHECK(platform.metas[1].find("\"wakeReason\":\"command\"") != std::string::npos);
  CHECK(platform.metas[1].find("\"ack\":[7]") != std::string::npos);
  CHECK(platform.metas[1].find("\"settingsVersion\":4") != std::string::npos);
  CHECK(life.state().ack.empty());
  CHECK(platform.saves == 1);
}

TEST_CASE("hub down: retries with growing pauses and the same burst id, then success") {
  FakePlatform platform;
  platform.replies.push_back({0, {}});
  platform.replies.push_back({503, {}});
  platform.replies.push_back({201, reply({3, 0, 1, {}, {}, std::nullopt})});
  device::Life life(platform, provisioned(), "timer", "0.1.0");
  std::vector<uint32_t> pauses;
  for (int i = 0; i < 20; i++) {
    auto next = life.step();
    if (next.phase == device::Phase::Sleeping) break;
    if (next.phase == device::Phase::Uploading && next.delayMs) pauses.push_back(next.delayMs);
    platform.now += next.delayMs;
  }
  CHECK(pauses == std::vector<uint32_t>{1000, 2000});
  REQUIRE(platform.metas.size() == 3);
  CHECK(platform.metas[0] == platform.metas[2]);
  CHECK(life.lastUploadStatus() == 201);
}

TEST_CASE("the hub away for good: five tries, then sleep with the burst dropped") {
  FakePlatform platform;
  device::Life life(platform, provisioned(), "timer", "0.1.0");
  runUntilSleep(life, platform);
  CHECK(platform.metas.size() == device::Life::kUploadAttempts);
}

TEST_CASE("low battery: one QVGA photo reports the voltage, then a long sleep; a brown-out: nothing, a long sleep; no Wi-Fi: sleep and try later") {
  FakePlatform low;
  low.battery = 3300;
  low.replies.push_back({201, reply({1, 0, 1, {}, {tlv::Command{8, 1, true, std::nullopt}}, std::nullopt})});
  device::Life weak(low, provisioned(), "timer", "0.1.0");
  CHECK(runUntilSleep(weak, low).delayMs == 1800000);
  REQUIRE(low.metas.size() == 1);  // not even a capture-now on a weak battery
  CHECK(low.photoCounts[0] == 1);
  CHECK(low.frameSizes == std::vector<uint8_t>{0});
  CHECK(low.metas[0].find("\"batteryMv\":3300") != std::string::npos);

  FakePlatform sagged;
  sagged.brownOut = true;
  device::Life browned(sagged, provisioned(), "timer", "0.1.0");
  CHECK(runUntilSleep(browned, sagged).delayMs == 1800000);
  CHECK(sagged.metas.empty());
  CHECK(sagged.frameSizes.empty());

  FakePlatform away;
  away.wifiUp = false;
  device::Life lost(away, provisioned(), "timer", "0.1.0");
  CHECK(runUntilSleep(lost, away, 200).delayMs == 600000);
  CHECK(lost.lastUploadStatus() == 1);
}

TEST_CASE("a revoked token is not retried; an unprovisioned camera waits for Bluetooth") {
  FakePlatform platform;
  platform.replies.push_back({401, {}});
  device::Life life(platform, provisioned(), "timer", "0.1.0");
  runUntilSleep(life, platform);
  CHECK(platform.metas.size() == 1);

  FakePlatform fresh;
  device::Life waiting(fresh, device::Persisted{}, "timer", "0.1.0");
  CHECK(waiting.step().phase == device::Phase::Unprovisioned);
  CHECK(fresh.joinedSsid.empty());
}


TEST_CASE("first boot: waits for Bluetooth; a wrong password is refused with Improv error 03; the right one and the enrolment provision it; the next wake uploads with that token") {
  device::Persisted state;
  device::Provisioner provisioner(state);
  std::string joining;
  ble::Engine engine(false, ble::DeviceInfo{}, provisioner.hooks([&](const std::string& ssid, const std::string&) {
                       joining = ssid;
                     }));
  FakePlatform platform;
  {
    device::Life unprovisioned(platform, state, "timer", "0.1.0");
    CHECK(unprovisioned.step().phase == device::Phase::Unprovisioned);
  }
  auto sendImprov = [&](const std::string& ssid, const std::string& password) {
    Bytes frame = improv::encodeRequest({improv::Rpc::WifiSettings, ssid, password});
    for (size_t at = 0; at < frame.size(); at += 20)
      CHECK(engine.write(ble::Characteristic::ImprovRpc, frame.data() + at, std::min<size_t>(20, frame.size() - at), 0) ==
            ble::AttError::None);
  };
  sendImprov("HomeNet", "wrong password");
  CHECK(joining == "HomeNet");
  provisioner.wifiJoined(false);
  engine.wifiResult(false, "");
  bool sawError03 = false;
  for (const auto& n : engine.takeNotifications())
    if (n.characteristic == ble::Characteristic::ImprovError && n.value == Bytes{0x03}) sawError03 = true;
  CHECK(sawError03);
  CHECK(state.ssid.empty());

  sendImprov("HomeNet", "correct horse battery");
  provisioner.wifiJoined(true);
  engine.wifiResult(true, "http://192.168.1.50");
  CHECK(engine.improvState() == improv::State::Provisioned);
  Bytes enrolment;
  REQUIRE(tlv::encodeEnrolment({"http://hearth.local:8080", std::string("http://192.168.1.10:8080"), "hd_first-boot-token", std::nullopt}, enrolment).ok);
  for (const auto& write : chunks::split(enrolment))
    CHECK(engine.write(ble::Characteristic::Enrolment, write.data(), write.size(), 0) == ble::AttError::None);
  REQUIRE(state.provisioned());
  CHECK(state.password == "correct horse battery");
  CHECK(state.token == "hd_first-boot-token");

  platform.replies.push_back({201, reply({3, 0, 1, {}, {}, std::nullopt})});
  device::Life provisioned(platform, state, "timer", "0.1.0");
  CHECK(platform.joinedSsid == "HomeNet");
  runUntilSleep(provisioned, platform);
  CHECK(platform.metas.size() == 1);
  CHECK(platform.tokens == std::vector<std::string>{"hd_first-boot-token"});
}

TEST_CASE("the hub away: the burst goes to flash; the next wake sends it first, under its first id, then its own") {
  FakePlatform platform;  // every upload unanswered
  device::Life first(platform, provisioned(), "pir", "0.1.0");
  runUntilSleep(first, platform);
  REQUIRE(platform.saved.kept.size() == 1);
  const std::string keptId = platform.saved.kept[0];
  CHECK(platform.spool.count(keptId) == 1);
  CHECK(platform.burstIds.front() == keptId);

  platform.now += 300000;
  platform.metas.clear();
  platform.burstIds.clear();
  platform.replies.push_back({201, reply({3, 0, 1796181999000ull, {}, {}, std::nullopt})});
  platform.replies.push_back({201, reply({3, 0, 1796181999500ull, {}, {}, std::nullopt})});
  device::Life second(platform, platform.saved, "timer", "0.1.0");
  runUntilSleep(second, platform);
  REQUIRE(platform.burstIds.size() == 2);
  CHECK(platform.burstIds[0] == keptId);
  CHECK(platform.burstIds[1] != keptId);
  CHECK(platform.metas[0].find("\"wakeReason\":\"pir\"") != std::string::npos);  // as it was taken
  CHECK(platform.spool.empty());
  CHECK(platform.saved.kept.empty());
  CHECK(platform.clockSetTo == 1796181999500ull);  // the camera learns the hub's time
}

TEST_CASE("kept bursts are bounded: four at most, and a full spool makes room by dropping the oldest") {
  FakePlatform platform;
  device::Persisted state = provisioned();
  std::vector<std::string> ids;
  for (int wake = 0; wake < 6; wake++) {
    device::Life life(platform, state, "timer", "0.1.0");
    runUntilSleep(life, platform);
    state = platform.saved;
    ids.push_back(state.kept.back());  // this wake's burst: the hub was away, so it joined the spool
    platform.now += 60000;
  }
  CHECK(state.kept == std::vector<std::string>(ids.end() - 4, ids.end()));
  CHECK(platform.spool.size() == 4);

  FakePlatform small;
  small.spoolCapacity = 2;
  device::Persisted s = provisioned();
  for (int wake = 0; wake < 3; wake++) {
    device::Life life(small, s, "timer", "0.1.0");
    runUntilSleep(life, small);
    s = small.saved;
    small.now += 60000;
  }
  CHECK(s.kept.size() == 2);
  CHECK(s.kept.back().rfind("b3-", 0) == 0);  // the newest is always kept
  CHECK(small.spool.count(s.kept.back()) == 1);
  CHECK(small.spool.count(s.kept.front()) == 1);
}

TEST_CASE("no Wi-Fi: the burst is still taken (the moment the PIR saw) and kept for later") {
  FakePlatform platform;
  platform.wifiUp = false;
  device::Life life(platform, provisioned(), "pir", "0.1.0");
  CHECK(runUntilSleep(life, platform, 200).delayMs == 600000);
  CHECK(platform.metas.empty());
  CHECK(platform.saved.kept.size() == 1);
}

TEST_CASE("start_stream: the camera serves MJPEG, then stops by itself and sleeps; stop_stream in the same reply cancels it") {
  FakePlatform platform;
  platform.replies.push_back({201, reply({3, 0, 1, {}, {tlv::Command{4, 2, true, 30}}, std::nullopt})});
  device::Life life(platform, provisioned(), "timer", "0.1.0");
  device::Next next{device::Phase::Capturing, 0};
  uint64_t streamStarted = 0;
  for (int i = 0; i < 200; i++) {
    next = life.step();
    if (next.phase == device::Phase::Sleeping) break;
    if (next.phase == device::Phase::Streaming && !streamStarted) streamStarted = platform.now;
    platform.now += next.delayMs;
  }
  CHECK(platform.streamsStarted == 1);
  CHECK(!platform.streaming);
  CHECK(platform.now - streamStarted >= 30000);
  CHECK(platform.now - streamStarted <= 31000);
  CHECK(next.phase == device::Phase::Sleeping);

  FakePlatform cancelled;
  cancelled.replies.push_back(
      {201, reply({3, 0, 1, {}, {tlv::Command{5, 2, true, 30}, tlv::Command{6, 3, true, std::nullopt}}, std::nullopt})});
  device::Life other(cancelled, provisioned(), "timer", "0.1.0");
  runUntilSleep(other, cancelled);
  CHECK(cancelled.streamsStarted == 0);
}

TEST_CASE("awake and in Bluetooth range: the hub's GATT command and settings reach the wake in progress; a factory reset reaches the Arduino layer") {
  FakePlatform platform;
  platform.replies.push_back({201, reply({3, 0, 1, {}, {}, std::nullopt})});
  platform.replies.push_back({201, reply({1, 0, 2, {}, {}, std::nullopt})});
  device::Persisted state = provisioned();
  device::Life life(platform, state, "timer", "0.1.0");
  bool erased = false;
  ble::Hooks hooks;
  hooks.command = [&](const tlv::Command& c) { life.bleCommand(c); };
  hooks.settingsChanged = [&](const tlv::Settings& s) { life.bleSettings(s); };
  hooks.factoryReset = [&] { erased = true; };
  ble::Engine engine(true, ble::DeviceInfo{}, hooks);
  engine.resume(state.settings);

  Bytes enrolment;
  REQUIRE(tlv::encodeEnrolment({"http://other.local:8080", std::nullopt, "hd_someone-else", std::nullopt}, enrolment).ok);
  ble::AttError answer = ble::AttError::None;
  for (const auto& piece : chunks::split(enrolment))
    answer = engine.write(ble::Characteristic::Enrolment, piece.data(), piece.size(), 0);
  CHECK(answer == ble::AttError::NotAllowedNow);  // set up already: nobody else enrols it over the air

  tlv::Settings quicker;
  quicker.settingsVersion = 9;
  quicker.wakeIntervalSeconds = 60;
  Bytes settings;
  REQUIRE(tlv::encodeSettings(quicker, settings).ok);
  for (const auto& piece : chunks::split(settings))
    CHECK(engine.write(ble::Characteristic::Settings, piece.data(), piece.size(), 0) == ble::AttError::None);
  Bytes capture;
  REQUIRE(tlv::encodeCommands({tlv::Command{21, 1, true, std::nullopt}}, capture).ok);
  for (const auto& piece : chunks::split(capture))
    CHECK(engine.write(ble::Characteristic::Command, piece.data(), piece.size(), 0) == ble::AttError::None);

  auto next = runUntilSleep(life, platform);
  CHECK(platform.metas.size() == 2);  // the capture-now over GATT made a second burst
  CHECK(platform.metas[1].find("\"wakeReason\":\"command\"") != std::string::npos);
  CHECK(platform.metas[0].find("\"ack\":[21]") != std::string::npos);
  CHECK(next.delayMs == 60000);  // the wake interval written over GATT decides this sleep
  CHECK(platform.saved.settings.settingsVersion == 9u);

  Bytes reset;
  REQUIRE(tlv::encodeCommands({tlv::Command{22, 6, true, std::nullopt}}, reset).ok);
  for (const auto& piece : chunks::split(reset)) engine.write(ble::Characteristic::Command, piece.data(), piece.size(), 0);
  CHECK(erased);
}
