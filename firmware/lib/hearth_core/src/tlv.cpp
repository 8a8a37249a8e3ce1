#include "hearth/tlv.h"

#include <cstring>

namespace hearth {
namespace tlv {
namespace {

enum Tag : uint8_t {
  kSettingsVersion = 0x01,
  kFrameSize = 0x02,
  kJpegQuality = 0x03,
  kWakeInterval = 0x04,
  kPir = 0x05,
  kBurstLength = 0x06,
  kCommand = 0x10,
  kStored = 0x20,
  kDuplicates = 0x21,
  kHubTime = 0x22,
  kHubUrl = 0x30,
  kHubAddressUrl = 0x31,
  kDeviceToken = 0x32,
  kSigningKey = 0x33,
  kBatteryMv = 0x40,
  kRssi = 0x41,
  kFirmware = 0x42,
  kWifiState = 0x43,
  kLastUpload = 0x44,
  kFreeHeap = 0x45,
  kLastCommandId = 0x46,
  kEnrolled = 0x47,
  kUpdateVersion = 0x50,
  kUpdateSize = 0x51,
  kUpdateSha256 = 0x52,
  kUpdateSignature = 0x53,
  kUpdateUrl = 0x54,
};

struct Range {
  uint32_t min;
  uint32_t max;
};
constexpr Range kJpegQualityRange{10, 63};
constexpr Range kWakeRange{10, 86400};
constexpr Range kBurstRange{1, 10};
constexpr Range kStreamRange{1, 3600};
constexpr Range kSleepRange{1, 604800};

bool inRange(uint32_t value, Range range) { return value >= range.min && value <= range.max; }

/** The fixed length of a tag, or 0 for variable ones. */
size_t fixedLength(uint8_t tag) {
  switch (tag) {
    case kSettingsVersion: case kWakeInterval: case kFreeHeap: case kLastCommandId: case kUpdateSize: return 4;
    case kFrameSize: case kJpegQuality: case kPir: case kBurstLength: case kStored: case kDuplicates:
    case kRssi: case kWifiState: case kEnrolled: return 1;
    case kBatteryMv: case kLastUpload: return 2;
    case kHubTime: return 8;
    case kSigningKey: case kUpdateSha256: return 32;
    case kUpdateSignature: return 64;
    default: return 0;
  }
}

bool textLimits(uint8_t tag, size_t& min, size_t& max) {
  switch (tag) {
    case kHubUrl: min = 8; max = 128; return true;
    case kHubAddressUrl: min = 8; max = 64; return true;
    case kDeviceToken: min = 8; max = 64; return true;
    case kFirmware: case kUpdateVersion: min = 1; max = 32; return true;
    case kUpdateUrl: min = 2; max = 128; return true;
    default: return false;
  }
}

bool allowed(Kind kind, uint8_t tag) {
  switch (kind) {
    case Kind::Settings: return tag >= kSettingsVersion && tag <= kBurstLength;
    case Kind::Commands: return tag == kCommand;
    case Kind::UploadReply:
      return (tag >= kSettingsVersion && tag <= kBurstLength) || tag == kCommand || tag == kStored ||
             tag == kDuplicates || tag == kHubTime || (tag >= kUpdateVersion && tag <= kUpdateUrl);
    case Kind::Enrolment: return tag >= kHubUrl && tag <= kSigningKey;
    case Kind::Status: return tag == kSettingsVersion || (tag >= kBatteryMv && tag <= kEnrolled);
  }
  return false;
}

bool printable(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x21 || p[i] > 0x7e) return false;
  return true;
}

/** `http(s)://host[:port][/]`: no path, query or fragment. */
bool baseUrl(const std::string& url) {
  size_t rest = 0;
  if (url.rfind("http://", 0) == 0) rest = 7;
  else if (url.rfind("https://", 0) == 0) rest = 8;
  else return false;
  std::string host = url.substr(rest);
  if (!host.empty() && host.back() == '/') host.pop_back();
  if (host.empty()) return false;
  return host.find_first_of("/?#") == std::string::npos;
}

struct Decoded {
  Kind kind = Kind::Settings;
  Settings settings;
  std::vector<Command> commands;
  std::optional<uint8_t> stored, duplicates;
  std::optional<uint64_t> hubTime;
  std::optional<std::string> hubUrl, hubAddressUrl, deviceToken;
  std::optional<std::array<uint8_t, 32>> signingKey;
  StatusReport status;
  FirmwareOffer update;
  int updateFields = 0;
};

Status decodeFrame(const uint8_t* data, size_t length, Decoded& out) {
  if (length > kMaxBytes) return Status::fail("frame longer than 512 bytes");
  if (length < 3) return Status::fail("frame shorter than its 3-byte header");
  if (data[0] != kMagic) return Status::fail("bad magic");
  if (data[1] != kVersion) return Status::fail("unsupported version");
  if (data[2] < 1 || data[2] > 5) return Status::fail("unknown frame kind");
  out = Decoded{};
  out.kind = static_cast<Kind>(data[2]);
  bool seen[256] = {};
  size_t at = 3;
  while (at < length) {
    if (length - at < 2) return Status::fail("truncated record header");
    const uint8_t tag = data[at];
    const size_t n = data[at + 1];
    const uint8_t* v = data + at + 2;
    if (n > length - at - 2) return Status::fail("record runs past the end");
    at += 2 + n;
    if (!allowed(out.kind, tag)) continue;
    const size_t fixed = fixedLength(tag);
    if (fixed && n != fixed) return Status::fail("record has the wrong length");
    size_t min = 0, max = 0;
    if (textLimits(tag, min, max) && (n < min || n > max)) return Status::fail("text record has the wrong length");
    if (tag != kCommand) {
      if (seen[tag]) return Status::fail("record appears twice");
      seen[tag] = true;
    }
    switch (tag) {
      case kSettingsVersion:
        if (out.kind == Kind::Status) out.status.settingsVersion = readU32(v);
        else out.settings.settingsVersion = readU32(v);
        break;
      case kFrameSize:
        if (v[0] >= kFrameSizeCount) return Status::fail("frame size index is unknown");
        out.settings.frameSize = v[0];
        break;
      case kJpegQuality:
        if (!inRange(v[0], kJpegQualityRange)) return Status::fail("jpegQuality is outside 10-63");
        out.settings.jpegQuality = v[0];
        break;
      case kWakeInterval:
        if (!inRange(readU32(v), kWakeRange)) return Status::fail("wakeIntervalSeconds is out of range");
        out.settings.wakeIntervalSeconds = readU32(v);
        break;
      case kPir:
        if (v[0] > 1) return Status::fail("pirEnabled must be 0 or 1");
        out.settings.pirEnabled = v[0] == 1;
        break;
      case kBurstLength:
        if (!inRange(v[0], kBurstRange)) return Status::fail("burstLength is outside 1-10");
        out.settings.burstLength = v[0];
        break;
      case kCommand: {
        if (n < 5) return Status::fail("command record is shorter than 5");
        Command command;
        command.id = readU32(v);
        if (command.id == 0) return Status::fail("command id 0 is reserved");
        command.code = v[4];
        command.known = command.code >= 1 && command.code <= 6;
        const size_t args = n - 5;
        if (!command.known) {
          // Skipped but acknowledged: its arguments are not ours to judge.
        } else if (command.kind() == CommandKind::StartStream) {
          if (args != 2) return Status::fail("start_stream takes 2 argument bytes");
          command.seconds = readU16(v + 5);
          if (!inRange(*command.seconds, kStreamRange)) return Status::fail("streamSeconds out of range");
        } else if (command.kind() == CommandKind::Sleep) {
          if (args != 4) return Status::fail("sleep takes 4 argument bytes");
          command.seconds = readU32(v + 5);
          if (!inRange(*command.seconds, kSleepRange)) return Status::fail("sleepSeconds out of range");
        } else if (args != 0) {
          return Status::fail("takes no arguments");
        }
        out.commands.push_back(command);
        break;
      }
      case kStored: out.stored = v[0]; break;
      case kDuplicates: out.duplicates = v[0]; break;
      case kHubTime: out.hubTime = readU64(v); break;
      case kHubUrl:
      case kHubAddressUrl: {
        if (!printable(v, n)) return Status::fail("not printable ASCII");
        std::string url(reinterpret_cast<const char*>(v), n);
        if (!baseUrl(url)) return Status::fail("not an http(s) base URL");
        (tag == kHubUrl ? out.hubUrl : out.hubAddressUrl) = url;
        break;
      }
      case kDeviceToken:
        if (!printable(v, n)) return Status::fail("not printable ASCII");
        out.deviceToken = std::string(reinterpret_cast<const char*>(v), n);
        break;
      case kSigningKey: {
        std::array<uint8_t, 32> key{};
        std::memcpy(key.data(), v, 32);
        out.signingKey = key;
        break;
      }
      case kBatteryMv: out.status.batteryMv = readU16(v); break;
      case kRssi: out.status.rssi = static_cast<int8_t>(v[0]); break;
      case kFirmware:
        if (!printable(v, n)) return Status::fail("not printable ASCII");
        out.status.firmware = std::string(reinterpret_cast<const char*>(v), n);
        break;
      case kWifiState:
        if (v[0] > 3) return Status::fail("Wi-Fi state is unknown");
        out.status.wifiState = static_cast<WifiState>(v[0]);
        break;
      case kLastUpload: out.status.lastUpload = readU16(v); break;
      case kFreeHeap: out.status.freeHeap = readU32(v); break;
      case kLastCommandId: out.status.lastCommandId = readU32(v); break;
      case kEnrolled:
        if (v[0] > 1) return Status::fail("enrolled must be 0 or 1");
        out.status.enrolled = v[0] == 1;
        break;
      case kUpdateVersion:
        if (!printable(v, n)) return Status::fail("not printable ASCII");
        out.update.version = std::string(reinterpret_cast<const char*>(v), n);
        out.updateFields++;
        break;
      case kUpdateSize:
        out.update.size = readU32(v);
        if (out.update.size == 0) return Status::fail("update size 0");
        out.updateFields++;
        break;
      case kUpdateSha256:
        std::memcpy(out.update.sha256.data(), v, 32);
        out.updateFields++;
        break;
      case kUpdateSignature:
        std::memcpy(out.update.signature.data(), v, 64);
        out.updateFields++;
        break;
      case kUpdateUrl:
        if (!printable(v, n)) return Status::fail("not printable ASCII");
        if (v[0] != '/') return Status::fail("update url is not a path starting with /");
        out.update.url = std::string(reinterpret_cast<const char*>(v), n);
        out.updateFields++;
        break;
      default: break;
    }
  }
  if (out.updateFields != 0 && out.updateFields != 5) return Status::fail("a firmware offer needs all of 0x50-0x54");
  return {};
}

Status expectKind(const Decoded& frame, Kind kind) {
  return frame.kind == kind ? Status{} : Status::fail("a frame of another kind");
}

class Writer {
 public:
  explicit Writer(Kind kind) : bytes_{kMagic, kVersion, static_cast<uint8_t>(kind)} {}
  void record(uint8_t tag, const Bytes& value) {
    bytes_.push_back(tag);
    bytes_.push_back(static_cast<uint8_t>(value.size()));
    bytes_.insert(bytes_.end(), value.begin(), value.end());
  }
  Status done(Bytes& out) {
    if (bytes_.size() > kMaxBytes) return Status::fail("frame exceeds 512 bytes");
    out = bytes_;
    return {};
  }

 private:
  Bytes bytes_;
};

Bytes u8(uint8_t v) { return Bytes{v}; }
Bytes u16(uint16_t v) {
  Bytes b;
  putU16(b, v);
  return b;
}
Bytes u32(uint32_t v) {
  Bytes b;
  putU32(b, v);
  return b;
}
Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Status writeSettings(Writer& w, const Settings& s) {
  if (s.settingsVersion) w.record(kSettingsVersion, u32(*s.settingsVersion));
  if (s.frameSize) {
    if (*s.frameSize >= kFrameSizeCount) return Status::fail("unknown frame size");
    w.record(kFrameSize, u8(*s.frameSize));
  }
  if (s.jpegQuality) {
    if (!inRange(*s.jpegQuality, kJpegQualityRange)) return Status::fail("jpegQuality out of range");
    w.record(kJpegQuality, u8(*s.jpegQuality));
  }
  if (s.wakeIntervalSeconds) {
    if (!inRange(*s.wakeIntervalSeconds, kWakeRange)) return Status::fail("wakeIntervalSeconds out of range");
    w.record(kWakeInterval, u32(*s.wakeIntervalSeconds));
  }
  if (s.pirEnabled) w.record(kPir, u8(*s.pirEnabled ? 1 : 0));
  if (s.burstLength) {
    if (!inRange(*s.burstLength, kBurstRange)) return Status::fail("burstLength out of range");
    w.record(kBurstLength, u8(*s.burstLength));
  }
  return {};
}

Status writeCommand(Writer& w, const Command& c) {
  if (c.id == 0) return Status::fail("command id 0 is reserved");
  if (c.code < 1 || c.code > 6) return Status::fail("unknown command");
  Bytes value = u32(c.id);
  value.push_back(c.code);
  if (c.kind() == CommandKind::StartStream) {
    const uint32_t seconds = c.seconds.value_or(60);
    if (!inRange(seconds, kStreamRange)) return Status::fail("streamSeconds out of range");
    putU16(value, static_cast<uint16_t>(seconds));
  } else if (c.kind() == CommandKind::Sleep) {
    if (!c.seconds || !inRange(*c.seconds, kSleepRange)) return Status::fail("sleepSeconds out of range");
    putU32(value, *c.seconds);
  }
  w.record(kCommand, value);
  return {};
}

}  // namespace

Status decodeSettings(const uint8_t* data, size_t length, Settings& out) {
  Decoded frame;
  Status s = decodeFrame(data, length, frame);
  if (s.ok) s = expectKind(frame, Kind::Settings);
  if (s.ok) out = frame.settings;
  return s;
}

Status decodeCommands(const uint8_t* data, size_t length, std::vector<Command>& out) {
  Decoded frame;
  Status s = decodeFrame(data, length, frame);
  if (s.ok) s = expectKind(frame, Kind::Commands);
  if (s.ok) out = frame.commands;
  return s;
}

Status decodeUploadReply(const uint8_t* data, size_t length, UploadReply& out) {
  Decoded frame;
  Status s = decodeFrame(data, length, frame);
  if (s.ok) s = expectKind(frame, Kind::UploadReply);
  if (!s.ok) return s;
  if (!frame.stored || !frame.duplicates || !frame.hubTime)
    return Status::fail("an upload reply needs stored, duplicates and hubTime");
  out = UploadReply{*frame.stored, *frame.duplicates, *frame.hubTime, frame.settings, frame.commands, std::nullopt};
  if (frame.updateFields == 5) out.update = frame.update;
  return {};
}

Status decodeEnrolment(const uint8_t* data, size_t length, Enrolment& out) {
  Decoded frame;
  Status s = decodeFrame(data, length, frame);
  if (s.ok) s = expectKind(frame, Kind::Enrolment);
  if (!s.ok) return s;
  if (!frame.hubUrl || !frame.deviceToken) return Status::fail("an enrolment needs hubUrl and deviceToken");
  out = Enrolment{*frame.hubUrl, frame.hubAddressUrl, *frame.deviceToken, frame.signingKey};
  return {};
}

Status decodeStatus(const uint8_t* data, size_t length, StatusReport& out) {
  Decoded frame;
  Status s = decodeFrame(data, length, frame);
  if (s.ok) s = expectKind(frame, Kind::Status);
  if (s.ok) out = frame.status;
  return s;
}

Status encodeSettings(const Settings& settings, Bytes& out) {
  Writer w(Kind::Settings);
  Status s = writeSettings(w, settings);
  return s.ok ? w.done(out) : s;
}

Status encodeCommands(const std::vector<Command>& commands, Bytes& out) {
  Writer w(Kind::Commands);
  for (const auto& c : commands) {
    Status s = writeCommand(w, c);
    if (!s.ok) return s;
  }
  return w.done(out);
}

Status encodeUploadReply(const UploadReply& reply, Bytes& out) {
  Writer w(Kind::UploadReply);
  w.record(kStored, u8(reply.stored));
  w.record(kDuplicates, u8(reply.duplicates));
  Bytes time;
  putU64(time, reply.hubTime);
  w.record(kHubTime, time);
  Status s = writeSettings(w, reply.settings);
  if (!s.ok) return s;
  for (const auto& c : reply.commands) {
    if (!c.known) continue;
    s = writeCommand(w, c);
    if (!s.ok) return s;
  }
  if (reply.update) {
    const FirmwareOffer& u = *reply.update;
    if (u.version.empty() || u.version.size() > 32) return Status::fail("update version is 1-32 bytes");
    if (u.size == 0) return Status::fail("update size 0");
    if (u.url.size() < 2 || u.url.size() > 128 || u.url[0] != '/') return Status::fail("update url is not a path");
    w.record(kUpdateVersion, text(u.version));
    w.record(kUpdateSize, u32(u.size));
    w.record(kUpdateSha256, Bytes(u.sha256.begin(), u.sha256.end()));
    w.record(kUpdateSignature, Bytes(u.signature.begin(), u.signature.end()));
    w.record(kUpdateUrl, text(u.url));
  }
  return w.done(out);
}

Status encodeEnrolment(const Enrolment& e, Bytes& out) {
  Writer w(Kind::Enrolment);
  w.record(kHubUrl, text(e.hubUrl));
  if (e.hubAddressUrl) w.record(kHubAddressUrl, text(*e.hubAddressUrl));
  w.record(kDeviceToken, text(e.deviceToken));
  if (e.signingKey) w.record(kSigningKey, Bytes(e.signingKey->begin(), e.signingKey->end()));
  Status s = w.done(out);
  if (!s.ok) return s;
  Enrolment check;
  s = decodeEnrolment(out.data(), out.size(), check);
  if (!s.ok) out.clear();
  return s;
}

Status encodeStatus(const StatusReport& r, Bytes& out) {
  Writer w(Kind::Status);
  if (r.settingsVersion) w.record(kSettingsVersion, u32(*r.settingsVersion));
  if (r.batteryMv) w.record(kBatteryMv, u16(*r.batteryMv));
  if (r.rssi) w.record(kRssi, u8(static_cast<uint8_t>(*r.rssi)));
  if (r.firmware) {
    if (r.firmware->empty() || r.firmware->size() > 32) return Status::fail("firmware is 1-32 bytes");
    w.record(kFirmware, text(*r.firmware));
  }
  if (r.wifiState) w.record(kWifiState, u8(static_cast<uint8_t>(*r.wifiState)));
  if (r.lastUpload) w.record(kLastUpload, u16(*r.lastUpload));
  if (r.freeHeap) w.record(kFreeHeap, u32(*r.freeHeap));
  if (r.lastCommandId) w.record(kLastCommandId, u32(*r.lastCommandId));
  if (r.enrolled) w.record(kEnrolled, u8(*r.enrolled ? 1 : 0));
  return w.done(out);
}

}  // namespace tlv
}  // namespace hearth
