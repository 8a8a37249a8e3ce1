#include "hearth/ota.h"

#include <sodium/core.h>
#include <sodium/crypto_hash_sha256.h>
#include <sodium/crypto_sign_ed25519.h>

#include <algorithm>
#include <cstring>

namespace hearth {
namespace ota {

namespace {
constexpr char kManifestMagic[] = "HEARTH-FW";
constexpr uint8_t kManifestFormat = 1;
constexpr uint16_t kMinBatteryMv = 3600;  // a flash write cut by a brown-out wastes the wake, not the camera

bool parseVersion(const std::string& version, std::vector<uint32_t>& parts) {
  parts.clear();
  size_t digits = 0;
  uint32_t value = 0;
  for (char c : version) {
    if (c >= '0' && c <= '9') {
      if (++digits > 6) return false;
      value = value * 10 + static_cast<uint32_t>(c - '0');
    } else if (c == '.' && digits > 0) {
      parts.push_back(value);
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (digits == 0) return false;
  parts.push_back(value);
  return parts.size() <= 4;
}
}  // namespace

bool validVersion(const std::string& version) {
  std::vector<uint32_t> parts;
  return parseVersion(version, parts);
}

std::optional<int> compareVersions(const std::string& a, const std::string& b) {
  std::vector<uint32_t> left, right;
  if (!parseVersion(a, left) || !parseVersion(b, right)) return std::nullopt;
  for (size_t i = 0; i < std::max(left.size(), right.size()); i++) {
    const uint32_t l = i < left.size() ? left[i] : 0;
    const uint32_t r = i < right.size() ? right[i] : 0;
    if (l != r) return l > r ? 1 : -1;
  }
  return 0;
}

Bytes manifest(const std::string& version, uint32_t size, const std::array<uint8_t, 32>& sha256) {
  Bytes out(kManifestMagic, kManifestMagic + std::strlen(kManifestMagic));
  out.push_back(kManifestFormat);
  out.push_back(static_cast<uint8_t>(version.size()));
  out.insert(out.end(), version.begin(), version.end());
  putU32(out, size);
  out.insert(out.end(), sha256.begin(), sha256.end());
  return out;
}

bool verifyManifest(const Bytes& manifest, const std::array<uint8_t, 64>& signature, const PublicKey& key) {
  if (sodium_init() < 0) return false;
  return crypto_sign_ed25519_verify_detached(signature.data(), manifest.data(), manifest.size(), key.data()) == 0;
}

const char* describe(Verdict verdict) {
  switch (verdict) {
    case Verdict::Ok: return "verified";
    case Verdict::Interrupted: return "download interrupted";
    case Verdict::TooLong: return "image longer than offered";
    case Verdict::DigestMismatch: return "SHA-256 does not match";
    case Verdict::BadSignature: return "bad signature";
  }
  return "?";
}

struct ImageCheck::Hash {
  crypto_hash_sha256_state state;
};

ImageCheck::ImageCheck(const tlv::FirmwareOffer& offer, const PublicKey& key)
    : offer_(offer), key_(key), hash_(new Hash) {
  crypto_hash_sha256_init(&hash_->state);
}

ImageCheck::~ImageCheck() { delete hash_; }

bool ImageCheck::update(const uint8_t* data, size_t length) {
  if (overflow_ || length > offer_.size - received_) {
    overflow_ = true;
    return false;
  }
  crypto_hash_sha256_update(&hash_->state, data, length);
  received_ += static_cast<uint32_t>(length);
  return true;
}

Verdict ImageCheck::finish() {
  if (overflow_) return Verdict::TooLong;
  if (received_ < offer_.size) return Verdict::Interrupted;
  std::array<uint8_t, 32> digest{};
  crypto_hash_sha256_final(&hash_->state, digest.data());
  if (digest != offer_.sha256) return Verdict::DigestMismatch;
  // The signature covers the version and size too: an old image cannot come back as a newer one.
  if (!verifyManifest(manifest(offer_.version, offer_.size, digest), offer_.signature, key_))
    return Verdict::BadSignature;
  return Verdict::Ok;
}

void Memory::refuse(const std::string& version, const std::string& result, const std::string& reason) {
  refused.erase(std::remove(refused.begin(), refused.end(), version), refused.end());
  refused.push_back(version);
  if (refused.size() > kMaxRefused) refused.erase(refused.begin());
  report = Report{version, result, reason};
}

const char* describe(Decision decision) {
  switch (decision) {
    case Decision::Install: return "install";
    case Decision::NoKey: return "no signing key from enrolment";
    case Decision::NotNewer: return "not newer than the running version";
    case Decision::Refused: return "refused before";
    case Decision::TooLarge: return "larger than the OTA slot";
    case Decision::LowBattery: return "battery too low to write flash";
  }
  return "?";
}

Decision decide(const tlv::FirmwareOffer& offer, const std::string& running, const Memory& memory, bool hasKey,
                uint16_t batteryMv, uint32_t slotBytes) {
  if (!hasKey) return Decision::NoKey;
  const auto order = compareVersions(offer.version, running);
  if (!order || *order <= 0) return Decision::NotNewer;
  if (std::find(memory.refused.begin(), memory.refused.end(), offer.version) != memory.refused.end())
    return Decision::Refused;
  if (offer.size > slotBytes) return Decision::TooLarge;
  if (batteryMv < kMinBatteryMv) return Decision::LowBattery;
  return Decision::Install;
}

}  // namespace ota
}  // namespace hearth
