// The camera's life between two deep sleeps, as a state machine with everything outside injected
// (time, camera, Wi-Fi, HTTP, OTA slot, persistent storage, battery): boot → (not provisioned: wait for
// BLE) → join Wi-Fi → capture a burst → upload it (retries with backoff, the burst kept in memory) →
// apply the settings and commands in the reply → take a signed firmware update if offered → sleep.
// Low battery: no burst, report, sleep longer. The first wake on a new image must upload, or it rolls back.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hearth/bytes.h"
#include "hearth/ota.h"
#include "hearth/tlv.h"

namespace hearth {
namespace device {

/** What survives deep sleep (NVS on the camera). */
struct Persisted {
  std::string ssid;
  std::string password;
  std::string hubUrl;
  std::string hubAddressUrl;
  std::string token;
  /** The hub's firmware-signing key, from the enrolment; no key, no updates. */
  std::optional<ota::PublicKey> signingKey;
  tlv::Settings settings;
  ota::Memory update;
  /** Commands carried out, acknowledged with the next upload. */
  std::vector<uint32_t> ack;
  uint32_t bursts = 0;
  bool provisioned() const { return !ssid.empty() && !token.empty(); }
};

struct Platform {
  virtual ~Platform() = default;
  virtual uint64_t nowMs() = 0;
  /** Starts joining; `wifiConnected` answers later. */
  virtual void wifiBegin(const std::string& ssid, const std::string& password) = 0;
  virtual bool wifiConnected() = 0;
  /** One JPEG at the given settings; false when the sensor fails. */
  virtual bool capture(const tlv::Settings& settings, Bytes& jpeg) = 0;
  /**
   * POSTs the burst to `<hubUrl>/api/device/photos` with the token, asking for the compact reply.
   * Returns the HTTP status (0: no answer) and the body.
   */
  virtual int upload(const std::string& hubUrl, const std::string& token, const std::vector<Bytes>& photos,
                     const std::string& metaJson, Bytes& reply) = 0;
  virtual uint16_t batteryMv() = 0;
  virtual void save(const Persisted& state) = 0;

  /** Bytes one OTA slot holds. */
  virtual uint32_t otaSlotBytes() = 0;
  /** GETs `<hubUrl><path>` with the token, handing the body over in pieces; `sink` returns false to stop. */
  virtual int download(const std::string& hubUrl, const std::string& path, const std::string& token,
                       const std::function<bool(const uint8_t*, size_t)>& sink) = 0;
  virtual bool otaBegin(uint32_t size) = 0;
  virtual bool otaWrite(const uint8_t* data, size_t length) = 0;
  /** commit: the next boot runs the new image, pending verification. Otherwise the slot is abandoned. */
  virtual bool otaEnd(bool commit) = 0;
  /** The running image uploaded: keep it (esp_ota_mark_app_valid_cancel_rollback). */
  virtual void markImageValid() = 0;
  /** The running image failed its first wake: back to the previous one (marks it invalid, reboots). */
  virtual void rollback() = 0;
};

enum class Phase { Unprovisioned, JoiningWifi, Capturing, Uploading, Updating, Rebooting, Sleeping, Failed };

/** What the Arduino loop does after a step. */
struct Next {
  Phase phase;
  /** Milliseconds until the next step (awake), or the deep sleep length when `phase == Sleeping`. */
  uint32_t delayMs;
};

class Life {
 public:
  static constexpr uint32_t kWifiTimeoutMs = 15000;
  static constexpr int kUploadAttempts = 5;
  static constexpr uint16_t kLowBatteryMv = 3400;
  static constexpr uint32_t kDefaultWakeSeconds = 300;

  Life(Platform& platform, Persisted state, std::string wakeReason, std::string firmware);
  Next step();
  const Persisted& state() const { return state_; }
  int uploadAttempts() const { return attempts_; }
  /** Status for the BLE status characteristic. */
  int lastUploadStatus() const { return lastStatus_; }
  /** This wake runs an image that has not uploaded yet. */
  bool confirmingImage() const { return confirming_; }

 private:
  Next sleep(uint32_t seconds);
  uint32_t wakeSeconds() const;
  Next afterReply(const Bytes& reply);
  Next update();

  Platform& platform_;
  Persisted state_;
  std::string wakeReason_;
  std::string firmware_;
  Phase phase_;
  uint64_t phaseStarted_ = 0;
  std::vector<Bytes> burst_;
  uint64_t capturedAt_ = 0;
  int attempts_ = 0;
  int lastStatus_ = 0;
  bool confirming_ = false;
  std::optional<tlv::FirmwareOffer> offer_;
};

}  // namespace device
}  // namespace hearth
