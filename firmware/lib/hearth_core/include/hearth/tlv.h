// The compact encoding (Hearth TLV, docs/protocols.md "Compact encoding"): settings, commands, upload
// replies, enrolment and status, as the camera reads and writes them. Unknown tags are skipped; every
// length is checked before a byte is read.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/bytes.h"

namespace hearth {
namespace tlv {

constexpr uint8_t kMagic = 0x48;
constexpr uint8_t kVersion = 1;
constexpr size_t kMaxBytes = 512;

enum class Kind : uint8_t { Settings = 1, Commands = 2, UploadReply = 3, Enrolment = 4, Status = 5 };

/** esp32-camera's frame sizes, by the index the wire carries. */
constexpr const char* kFrameSizes[] = {"QVGA", "VGA", "SVGA", "XGA", "HD", "SXGA", "UXGA"};
constexpr uint8_t kFrameSizeCount = 7;

struct Settings {
  std::optional<uint32_t> settingsVersion;
  std::optional<uint8_t> frameSize;  // index into kFrameSizes
  std::optional<uint8_t> jpegQuality;
  std::optional<uint32_t> wakeIntervalSeconds;
  std::optional<bool> pirEnabled;
  std::optional<uint8_t> burstLength;
  bool empty() const {
    return !settingsVersion && !frameSize && !jpegQuality && !wakeIntervalSeconds && !pirEnabled && !burstLength;
  }
};

enum class CommandKind : uint8_t { CaptureNow = 1, StartStream = 2, StopStream = 3, Sleep = 4, Reboot = 5, FactoryReset = 6 };

struct Command {
  uint32_t id = 0;
  uint8_t code = 0;
  /** false: a kind this firmware does not know; not run, but acknowledged. */
  bool known = false;
  std::optional<uint32_t> seconds;
  CommandKind kind() const { return static_cast<CommandKind>(code); }
};

/** A signed firmware image the hub offers (docs/protocols.md, "Firmware updates"). */
struct FirmwareOffer {
  std::string version;
  uint32_t size = 0;
  std::array<uint8_t, 32> sha256{};
  std::array<uint8_t, 64> signature{};
  /** A path on the hub, fetched with the device token. */
  std::string url;
};

struct UploadReply {
  uint8_t stored = 0;
  uint8_t duplicates = 0;
  uint64_t hubTime = 0;
  Settings settings;
  std::vector<Command> commands;
  std::optional<FirmwareOffer> update;
};

struct Enrolment {
  std::string hubUrl;
  std::optional<std::string> hubAddressUrl;
  std::string deviceToken;
  std::optional<std::array<uint8_t, 32>> signingKey;
};

enum class WifiState : uint8_t { Unprovisioned = 0, Connecting = 1, Connected = 2, Failed = 3 };
constexpr const char* kWifiStates[] = {"unprovisioned", "connecting", "connected", "failed"};

struct StatusReport {
  std::optional<uint32_t> settingsVersion;
  std::optional<uint16_t> batteryMv;
  std::optional<int8_t> rssi;
  std::optional<std::string> firmware;
  std::optional<WifiState> wifiState;
  std::optional<uint16_t> lastUpload;
  std::optional<uint32_t> freeHeap;
  std::optional<uint32_t> lastCommandId;
  std::optional<bool> enrolled;
};

Status decodeSettings(const uint8_t* data, size_t length, Settings& out);
Status decodeCommands(const uint8_t* data, size_t length, std::vector<Command>& out);
Status decodeUploadReply(const uint8_t* data, size_t length, UploadReply& out);
Status decodeEnrolment(const uint8_t* data, size_t length, Enrolment& out);
Status decodeStatus(const uint8_t* data, size_t length, StatusReport& out);

/** Encoders refuse (empty result + reason) what the other side would refuse. */
Status encodeSettings(const Settings& settings, Bytes& out);
Status encodeCommands(const std::vector<Command>& commands, Bytes& out);
Status encodeUploadReply(const UploadReply& reply, Bytes& out);
Status encodeEnrolment(const Enrolment& enrolment, Bytes& out);
Status encodeStatus(const StatusReport& status, Bytes& out);

}  // namespace tlv
}  // namespace hearth
