// The camera's two BLE services as one engine, without a radio: Improv Wi-Fi (state, error, RPC,
// result, capabilities) and the Hearth camera service (enrolment, command, settings, status). The
// Arduino layer feeds it writes from NimBLE and sends what it queues as notifications; the host build
// runs the same engine against the hub's BLE harness.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hearth/bytes.h"
#include "hearth/chunks.h"
#include "hearth/improv.h"
#include "hearth/tlv.h"

namespace hearth {
namespace ble {

enum class Characteristic : uint8_t {
  ImprovState,
  ImprovError,
  ImprovRpc,
  ImprovResult,
  ImprovCapabilities,
  Enrolment,
  Command,
  Settings,
  Status,
};

/** ATT errors the engine answers writes with (docs/protocols.md, "Hearth camera service"). */
enum class AttError : uint8_t {
  None = 0x00,
  ReadNotPermitted = 0x02,
  WriteNotPermitted = 0x03,
  ChunkOutOfOrder = 0x80,
  ValueTooLong = 0x81,
  InvalidFrame = 0x82,
  NotAllowedNow = 0x83,
};

struct Notification {
  Characteristic characteristic;
  Bytes value;
};

struct Hooks {
  /** Join this network; answer later with `wifiResult`. */
  std::function<void(const std::string& ssid, const std::string& password)> connectWifi;
  std::function<void()> identify;
  std::function<void(const tlv::Enrolment&)> enrolled;
  std::function<void(const tlv::Command&)> command;
  std::function<void(const tlv::Settings&)> settingsChanged;
  /** The owner's factory reset over GATT: the Arduino layer erases NVS and the spool, then restarts. */
  std::function<void()> factoryReset;
};

struct DeviceInfo {
  std::string firmware = "Hearth Camera";
  std::string version = "0.0.0";
  std::string chip = "ESP32";
  std::string name = "Hearth Camera";
};

class Engine {
 public:
  static constexpr uint32_t kAuthorizationMs = 60000;

  Engine(bool requireAuthorization, DeviceInfo info, Hooks hooks);

  AttError write(Characteristic characteristic, const uint8_t* data, size_t length, uint32_t nowMs);
  /** The value a read answers (status and settings whole; enrolment is never readable). */
  AttError read(Characteristic characteristic, Bytes& out) const;

  /** The camera's button: authorizes Improv for a minute. */
  void buttonPressed(uint32_t nowMs);
  /** Time passing: an unused authorization runs out. */
  void tick(uint32_t nowMs);
  /** What the Wi-Fi layer found after `connectWifi`. */
  void wifiResult(bool connected, const std::string& url);

  /** Notifications to send, oldest first (each at most 20 bytes: the smallest MTU). */
  std::vector<Notification> takeNotifications();

  tlv::StatusReport& status() { return status_; }
  const tlv::Settings& settings() const { return settings_; }
  improv::State improvState() const { return state_; }
  /** Forgets Wi-Fi and enrolment (the factory_reset command, or the button held at boot). */
  void factoryReset();
  /**
   * A camera that is set up already (a normal wake): enrolled, on Wi-Fi, with these settings, so the hub
   * can reach it over GATT while it is awake; a second enrolment is refused (0x83) as always.
   */
  void resume(const tlv::Settings& settings);

 private:
  void setState(improv::State state);
  void setError(improv::Error error);
  void sendResult(improv::Rpc command, const std::vector<std::string>& strings);
  void notifyStatus();
  AttError onImprov(const uint8_t* data, size_t length, uint32_t nowMs);
  AttError onHearth(Characteristic characteristic, const uint8_t* data, size_t length);

  bool requireAuthorization_;
  DeviceInfo info_;
  Hooks hooks_;
  improv::State state_;
  improv::Error error_ = improv::Error::None;
  uint32_t authorizedUntil_ = 0;
  improv::Reassembler rpc_;
  chunks::Joiner joiners_[3];
  Bytes lastResult_;
  tlv::Settings settings_;
  tlv::StatusReport status_;
  std::vector<uint32_t> done_;
  std::vector<Notification> outbox_;
};

}  // namespace ble
}  // namespace hearth
