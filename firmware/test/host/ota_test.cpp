// Signed firmware updates in the core: the manifest and signatures from the shared vectors, the
// streaming check (a flipped byte, a truncated or overlong download, another key, a replayed signature),
// which offers are taken (downgrades, refused versions, no key), and the camera's life through an
// update: download into the slot, switch, confirm with the first upload, or roll back.
#include <doctest/doctest.h>
#include <sodium.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "fake_platform.h"
#include "hearth/ota.h"

using nlohmann::json;
using namespace hearth;

namespace {

Bytes unhex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

template <size_t N>
std::array<uint8_t, N> array(const Bytes& bytes) {
  std::array<uint8_t, N> out{};
  REQUIRE(bytes.size() == N);
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

/** What the hub does on upload: hash, sign the manifest with its key. */
struct Signer {
  std::array<uint8_t, 32> publicKey{};
  std::array<uint8_t, 64> secretKey{};
  Signer() {
    REQUIRE(sodium_init() >= 0);
    crypto_sign_ed25519_keypair(publicKey.data(), secretKey.data());
  }
  tlv::FirmwareOffer offer(const Bytes& image, const std::string& version) const {
    tlv::FirmwareOffer o;
    o.version = version;
    o.size = static_cast<uint32_t>(image.size());
    crypto_hash_sha256(o.sha256.data(), image.data(), image.size());
    const Bytes m = ota::manifest(version, o.size, o.sha256);
    crypto_sign_ed25519_detached(o.signature.data(), nullptr, m.data(), m.size(), secretKey.data());
    o.url = "/api/device/firmware/7";
    return o;
  }
};

Bytes image(size_t size, uint8_t seed = 1) {
  Bytes out(size);
  for (size_t i = 0; i < size; i++) out[i] = static_cast<uint8_t>(i * 31 + seed);
  return out;
}

ota::Verdict check(const tlv::FirmwareOffer& offer, const ota::PublicKey& key, const Bytes& data) {
  ota::ImageCheck c(offer, key);
  for (size_t at = 0; at < data.size(); at += 700)
    if (!c.update(data.data() + at, std::min<size_t>(700, data.size() - at))) break;
  return c.finish();
}

device::Persisted enrolled(const Signer& signer) {
  device::Persisted p;
  p.ssid = "HomeNet";
  p.password = "correct horse";
  p.hubUrl = "http://hearth.local:8080";
  p.token = "hd_0123456789";
  p.signingKey = signer.publicKey;
  return p;
}

Bytes replyOffering(const std::optional<tlv::FirmwareOffer>& offer) {
  Bytes out;
  REQUIRE(tlv::encodeUploadReply({1, 0, 1796181686000ull, {}, {}, offer}, out).ok);
  return out;
}

device::Next run(device::Life& life, FakePlatform& platform) {
  for (int i = 0; i < 60; i++) {
    auto next = life.step();
    if (next.phase == device::Phase::Sleeping || next.phase == device::Phase::Rebooting) return next;
    platform.now += next.delayMs;
  }
  FAIL("never slept or rebooted");
  return {device::Phase::Failed, 0};
}

}  // namespace

TEST_CASE("manifest vectors: the bytes the hub signs, and which signatures verify") {
  std::ifstream in(HEARTH_VECTORS);
  const json all = json::parse(in);
  REQUIRE(all["firmwareManifest"].size() >= 4);
  for (const auto& v : all["firmwareManifest"]) {
    CAPTURE(v["name"].get<std::string>());
    const Bytes m = ota::manifest(v["version"], v["size"], array<32>(unhex(v["sha256"])));
    CHECK(m == unhex(v["manifestHex"]));
    CHECK(ota::verifyManifest(m, array<64>(unhex(v["signature"])), array<32>(unhex(v["publicKey"]))) ==
          v["verifies"].get<bool>());
    // The whole image streamed through the check, as the camera does it.
    tlv::FirmwareOffer offer;
    offer.version = v["version"];
    offer.size = v["size"];
    offer.sha256 = array<32>(unhex(v["sha256"]));
    offer.signature = array<64>(unhex(v["signature"]));
    const ota::Verdict verdict = check(offer, array<32>(unhex(v["publicKey"])), unhex(v["imageHex"]));
    CHECK((verdict == ota::Verdict::Ok) == v["verifies"].get<bool>());
  }
}

TEST_CASE("the streaming check refuses a flipped byte, a cut or overlong download, another key, a replayed signature") {
  Signer hub, stranger;
  const Bytes data = image(50000);
  const auto offer = hub.offer(data, "1.4.0");
  CHECK(check(offer, hub.publicKey, data) == ota::Verdict::Ok);

  Bytes flipped = data;
  flipped[31337] ^= 0x01;
  CHECK(check(offer, hub.publicKey, flipped) == ota::Verdict::DigestMismatch);
  CHECK(check(offer, hub.publicKey, Bytes(data.begin(), data.begin() + 40000)) == ota::Verdict::Interrupted);
  Bytes longer = data;
  longer.push_back(0);
  CHECK(check(offer, hub.publicKey, longer) == ota::Verdict::TooLong);
  CHECK(check(offer, stranger.publicKey, data) == ota::Verdict::BadSignature);
  CHECK(check(stranger.offer(data, "1.4.0"), hub.publicKey, data) == ota::Verdict::BadSignature);

  // An old image's genuine signature presented as a newer version.
  auto replayed = offer;
  replayed.version = "9.0.0";
  CHECK(check(replayed, hub.publicKey, data) == ota::Verdict::BadSignature);
  auto flippedSignature = offer;
  flippedSignature.signature[10] ^= 0x80;
  CHECK(check(flippedSignature, hub.publicKey, data) == ota::Verdict::BadSignature);
}

TEST_CASE("which offers are taken: only newer, never a refused version, never without a key or with a low battery") {
  Signer hub;
  const auto offer = hub.offer(image(1000), "1.4.0");
  ota::Memory memory;
  CHECK(ota::decide(offer, "1.3.9", memory, true, 3900, 0x1A0000) == ota::Decision::Install);
  CHECK(ota::decide(offer, "1.4.0", memory, true, 3900, 0x1A0000) == ota::Decision::NotNewer);
  CHECK(ota::decide(offer, "1.10", memory, true, 3900, 0x1A0000) == ota::Decision::NotNewer);  // a downgrade
  CHECK(ota::decide(offer, "dev-build", memory, true, 3900, 0x1A0000) == ota::Decision::NotNewer);
  CHECK(ota::decide(offer, "1.3.9", memory, false, 3900, 0x1A0000) == ota::Decision::NoKey);
  CHECK(ota::decide(offer, "1.3.9", memory, true, 3500, 0x1A0000) == ota::Decision::LowBattery);
  CHECK(ota::decide(offer, "1.3.9", memory, true, 3900, 999) == ota::Decision::TooLarge);
  memory.refuse("1.4.0", "refused", "bad signature");
  CHECK(ota::decide(offer, "1.3.9", memory, true, 3900, 0x1A0000) == ota::Decision::Refused);
  for (const char* v : {"1.5", "1.6", "1.7", "1.8"}) memory.refuse(v, "refused", "x");
  CHECK(memory.refused.size() == ota::Memory::kMaxRefused);
  CHECK(ota::compareVersions("1.2", "1.2.0") == 0);
  CHECK(!ota::compareVersions("1..2", "1"));
  CHECK(!ota::validVersion("1.2.3.4.5"));
}

TEST_CASE("an update end to end: offered with an upload, downloaded into the slot, switched; the first wake on it uploads and keeps it") {
  Signer hub;
  const Bytes data = image(300000);
  FakePlatform platform;
  platform.served = data;
  platform.replies.push_back({201, replyOffering(hub.offer(data, "1.4.0"))});
  device::Life wake(platform, enrolled(hub), "timer", "1.3.0");
  CHECK(run(wake, platform).phase == device::Phase::Rebooting);
  CHECK(platform.downloads == std::vector<std::string>{"http://hearth.local:8080/api/device/firmware/7"});
  CHECK(platform.slot == data);
  CHECK(platform.committed);
  CHECK(platform.saved.update.pendingVersion == "1.4.0");

  // The reboot runs 1.4.0, pending verification: its first upload confirms it.
  FakePlatform after;
  after.replies.push_back({201, replyOffering(std::nullopt)});
  device::Life first(after, platform.saved, "timer", "1.4.0");
  CHECK(first.confirmingImage());
  CHECK(run(first, after).phase == device::Phase::Sleeping);
  CHECK(after.markedValid);
  CHECK(!after.rolledBack);
  CHECK(after.metas[0].find("\"firmware\":\"1.4.0\"") != std::string::npos);
  CHECK(after.saved.update.pendingVersion.empty());
}

TEST_CASE("a failed first boot: no upload in the new image's first wake rolls back; the old image reports it and never takes that version again") {
  Signer hub;
  const Bytes data = image(20000);
  const auto offer = hub.offer(data, "1.4.0");
  device::Persisted state = enrolled(hub);
  state.update.pendingVersion = "1.4.0";

  FakePlatform broken;  // the new image never reaches the hub
  device::Life first(broken, state, "timer", "1.4.0");
  CHECK(run(first, broken).phase == device::Phase::Rebooting);
  CHECK(broken.rolledBack);
  CHECK(!broken.markedValid);
  CHECK(broken.metas.size() == static_cast<size_t>(device::Life::kUploadAttempts));

  // Back on 1.3.0 (the bootloader took the previous slot): says so, and refuses the same offer.
  FakePlatform old;
  old.served = data;
  old.replies.push_back({201, replyOffering(offer)});
  device::Life back(old, broken.saved, "timer", "1.3.0");
  CHECK(run(back, old).phase == device::Phase::Sleeping);
  REQUIRE(old.metas.size() == 1);
  CHECK(old.metas[0].find("\"update\":{\"version\":\"1.4.0\",\"result\":\"rolled_back\"") != std::string::npos);
  CHECK(old.downloads.empty());
  CHECK(!old.saved.update.report);  // said once
}

TEST_CASE("a crash in the new image: the bootloader rolled back before any upload; the old image notices on its next wake") {
  Signer hub;
  device::Persisted state = enrolled(hub);
  state.update.pendingVersion = "1.4.0";
  FakePlatform platform;
  platform.replies.push_back({201, replyOffering(std::nullopt)});
  device::Life life(platform, state, "timer", "1.3.0");
  CHECK(!life.confirmingImage());
  run(life, platform);
  CHECK(platform.metas[0].find("\"result\":\"rolled_back\"") != std::string::npos);
  CHECK(platform.saved.update.refused == std::vector<std::string>{"1.4.0"});
}

TEST_CASE("a tampered image is refused and reported, the slot abandoned; a cut download is tried again later") {
  Signer hub;
  const Bytes data = image(60000);
  FakePlatform platform;
  platform.served = data;
  platform.served[100] ^= 0xff;
  platform.replies.push_back({201, replyOffering(hub.offer(data, "1.4.0"))});
  platform.replies.push_back({201, replyOffering(std::nullopt)});
  device::Life life(platform, enrolled(hub), "timer", "1.3.0");
  CHECK(run(life, platform).phase == device::Phase::Sleeping);
  CHECK(platform.abandoned);
  CHECK(!platform.committed);
  CHECK(platform.saved.update.report->reason == "SHA-256 does not match");

  FakePlatform next;
  next.replies.push_back({201, replyOffering(std::nullopt)});
  device::Life later(next, platform.saved, "timer", "1.3.0");
  run(later, next);
  CHECK(next.metas[0].find("\"update\":{\"version\":\"1.4.0\",\"result\":\"refused\",\"reason\":\"SHA-256 does not match\"}") !=
        std::string::npos);

  FakePlatform cut;
  cut.served = data;
  cut.cutAfter = 30000;
  cut.replies.push_back({201, replyOffering(hub.offer(data, "1.4.0"))});
  device::Life interrupted(cut, enrolled(hub), "timer", "1.3.0");
  CHECK(run(interrupted, cut).phase == device::Phase::Sleeping);
  CHECK(cut.abandoned);
  CHECK(cut.saved.update.refused.empty());
  CHECK(!cut.saved.update.report);
}

TEST_CASE("no signing key from the enrolment: offers are ignored") {
  Signer hub;
  device::Persisted state = enrolled(hub);
  state.signingKey.reset();
  FakePlatform platform;
  platform.served = image(1000);
  platform.replies.push_back({201, replyOffering(hub.offer(platform.served, "1.4.0"))});
  device::Life life(platform, state, "timer", "1.3.0");
  CHECK(run(life, platform).phase == device::Phase::Sleeping);
  CHECK(platform.downloads.empty());
}
