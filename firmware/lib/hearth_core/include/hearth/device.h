// The camera's life between two deep sleeps, as a state machine with everything outside injected
// (time, camera, Wi-Fi, HTTP, flash spool, OTA slot, persistent storage, battery): boot → (not provisioned:
// wait for BLE) → capture a burst while Wi-Fi joins → upload bursts kept from earlier wakes, then this one
// (retries with backoff; still unsent: kept in flash, bounded) → apply the settings and commands in the
// replies → capture again, stream MJPEG until an auto-stop, or take a signed firmware update → sleep.
// Low battery: one small photo instead of a burst (the upload reports the voltage), then a long sleep; after
// a brown-out not even that. The first wake on a new image must upload, or it rolls back.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hearth/bytes.h"
#include "hearth/ota.h"
#include "hearth/tlv.h"
#include "hearth/upload.h"

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
  /** Bursts the hub has not taken yet, kept in flash, oldest first (their ids). */
  std::vector<std::string> kept;
  bool provisioned() const { return !ssid.empty() && !token.empty(); }
};

/** A burst that could not be sent before sleeping: what its upload needs, the same on every retry. */
struct KeptBurst {
  std::string id;
  uint64_t capturedAt = 0;
  std::string wakeReason;
  std::vector<Bytes> photos;
};

struct Platform {
  virtual ~Platform() = default;
  /** Wall-clock ms since the epoch (the RTC, which runs through deep sleep). */
  virtual uint64_t nowMs() = 0;
  /** The hub's clock from an upload reply: a camera without a battery-backed clock learns the time here. */
  virtual void setClock(uint64_t epochMs) = 0;
  /** Starts joining; `wifiConnected` answers later. */
  virtual void wifiBegin(const std::string& ssid, const std::string& password) = 0;
  virtual bool wifiConnected() = 0;
  /** One JPEG at the given settings; false when the sensor fails. */
  virtual bool capture(const tlv::Settings& settings, Bytes& jpeg) = 0;
  /**
   * POSTs the burst (upload::Body) to `<hubUrl>/api/device/photos` with the token, asking for the
   * compact reply. Returns the HTTP status (0: no answer) and the body.
   */
  virtual int upload(const std::string& hubUrl, const std::string& token, const std::vector<Bytes>& photos,
                     const upload::Meta& meta, Bytes& reply) = 0;
  virtual uint16_t batteryMv() = 0;
  /** This boot follows a brown-out reset: the battery sagged under load. */
  virtual bool brownedOut() = 0;
  virtual void save(const Persisted& state) = 0;

  /** Writes a burst to the flash spool; false when it does not fit (nothing of it is left behind). */
  virtual bool keepBurst(const KeptBurst& burst) = 0;
  virtual bool loadKeptBurst(const std::string& id, KeptBurst& burst) = 0;
  virtual void dropKeptBurst(const std::string& id) = 0;

  /** Serves the MJPEG stream (mjpeg.h) until `streamStop`. */
  virtual bool streamStart() = 0;
  virtual void streamStop() = 0;

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

enum class Phase {
  Unprovisioned,
  Capturing,
  JoiningWifi,
  Uploading,
  Streaming,
  Updating,
  Rebooting,
  Sleeping,
  Failed
};

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
  /** Bursts kept in flash at most; a fifth pushes out the oldest. */
  static constexpr size_t kMaxKeptBursts = 4;

  Life(Platform& platform, Persisted state, std::string wakeReason, std::string firmware);
  Next step();
  const Persisted& state() const { return state_; }
  int uploadAttempts() const { return attempts_; }
  /** Status for the BLE status characteristic. */
  int lastUploadStatus() const { return lastStatus_; }
  /** This wake runs an image that has not uploaded yet. */
  bool confirmingImage() const { return confirming_; }
  /** A command the hub sent over Bluetooth during this wake (the BLE engine ran it once per id). */
  void bleCommand(const tlv::Command& command);
  /** Settings the hub wrote over Bluetooth: in force from now, saved with the next sleep. */
  void bleSettings(const tlv::Settings& settings);
  /** Kept bursts pushed out by newer ones since boot (logged on the serial port). */
  int droppedBursts() const { return dropped_; }

 private:
  Next sleep(uint32_t seconds);
  uint32_t wakeSeconds() const;
  uint32_t lowBatterySleep() const;
  void applyReply(const Bytes& reply);
  Next afterUploads();
  Next update();
  void keep(const KeptBurst& burst);
  void forget(const std::string& id);

  Platform& platform_;
  Persisted state_;
  std::string wakeReason_;
  std::string firmware_;
  Phase phase_;
  uint64_t phaseStarted_ = 0;
  /** This wake's burst, until the hub has it (or it is kept). */
  std::optional<KeptBurst> current_;
  /** What the next upload sends: a kept burst (loaded from flash) or the current one. */
  std::optional<KeptBurst> sending_;
  bool sendingKept_ = false;
  int attempts_ = 0;
  int lastStatus_ = 0;
  int dropped_ = 0;
  bool confirming_ = false;
  bool lowBattery_ = false;
  // Decisions from the replies, carried out once every burst is sent.
  bool captureAgain_ = false;
  uint32_t sleepFor_ = 0;
  uint64_t streamUntil_ = 0;
  bool streamRequested_ = false;
  std::optional<tlv::FirmwareOffer> offer_;
};

}  // namespace device
}  // namespace hearth
