// Signed firmware updates (docs/protocols.md, "Firmware updates"): which offers to take, and the check an
// image must pass before the camera switches to it. The hub signs a manifest (version, size, SHA-256)
// with its Ed25519 key; the camera streams the image into the inactive OTA slot while hashing it, and
// switches only when the digest matches the manifest and the signature verifies with the key it was
// given at enrolment. Ed25519 and SHA-256 come from libsodium (Debian's on the host; the copy in the
// ESP32 Arduino core on the camera).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/bytes.h"
#include "hearth/tlv.h"

namespace hearth {
namespace ota {

using PublicKey = std::array<uint8_t, 32>;

/** Dotted numbers, 1 to 4 parts of at most 6 digits (`1.4.0`): what the hub accepts and compares. */
bool validVersion(const std::string& version);
/** -1, 0 or 1 comparing part by part as numbers (`1.10` > `1.9`, `1.2` == `1.2.0`); nullopt if either is invalid. */
std::optional<int> compareVersions(const std::string& a, const std::string& b);

/** The bytes the hub signs: "HEARTH-FW", 0x01, version length, version, size (u32 LE), SHA-256. */
Bytes manifest(const std::string& version, uint32_t size, const std::array<uint8_t, 32>& sha256);
bool verifyManifest(const Bytes& manifest, const std::array<uint8_t, 64>& signature, const PublicKey& key);

enum class Verdict { Ok, Interrupted, TooLong, DigestMismatch, BadSignature };
const char* describe(Verdict verdict);

/** Hashes an image as it streams in; `finish` says whether it is exactly the image the hub signed. */
class ImageCheck {
 public:
  ImageCheck(const tlv::FirmwareOffer& offer, const PublicKey& key);
  ~ImageCheck();
  ImageCheck(const ImageCheck&) = delete;
  ImageCheck& operator=(const ImageCheck&) = delete;
  /** False once more bytes arrive than the offer's size (the write must stop there). */
  bool update(const uint8_t* data, size_t length);
  Verdict finish();
  uint32_t received() const { return received_; }

 private:
  tlv::FirmwareOffer offer_;
  PublicKey key_;
  uint32_t received_ = 0;
  bool overflow_ = false;
  struct Hash;
  Hash* hash_;
};

/** What the camera remembers about updates across sleeps and reboots (NVS). */
struct Memory {
  /** Switched to, not yet confirmed by a successful upload. */
  std::string pendingVersion;
  /** Versions this camera refused or rolled back; never taken again (the newest few). */
  std::vector<std::string> refused;
  /** Said in the next upload's meta, then forgotten. */
  struct Report {
    std::string version;
    std::string result;  // installed | rolled_back | refused
    std::string reason;
  };
  std::optional<Report> report;
  static constexpr size_t kMaxRefused = 4;
  void refuse(const std::string& version, const std::string& result, const std::string& reason);
};

enum class Decision { Install, NoKey, NotNewer, Refused, TooLarge, LowBattery };
const char* describe(Decision decision);

/** Whether to take an offer now. */
Decision decide(const tlv::FirmwareOffer& offer, const std::string& running, const Memory& memory, bool hasKey,
                uint16_t batteryMv, uint32_t slotBytes);

}  // namespace ota
}  // namespace hearth
