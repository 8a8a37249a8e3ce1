// A burst upload as the hub takes it (docs/protocols.md, "Photo upload"): multipart/form-data with one
// `meta` JSON part and one `photo` part per JPEG. The body is produced piece by piece; a JPEG sitting in
// PSRAM is handed out in place, never copied.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/bytes.h"

namespace hearth {
namespace upload {

/** What became of the last firmware offer (docs/protocols.md, "Firmware updates"). */
struct UpdateReport {
  std::string version;
  std::string result;  // installed | rolled_back | refused
  std::string reason;
};

struct Meta {
  /** Stays the same on every retry of this burst: the hub stores a (device, burst, seq) once. */
  std::string burstId;
  uint32_t seq = 0;
  uint64_t capturedAtMs = 0;
  uint32_t intervalMs = 0;
  /** timer | pir | manual | command */
  std::string wakeReason = "timer";
  std::optional<uint16_t> batteryMv;
  std::optional<int8_t> rssi;
  std::string firmware;
  std::optional<uint32_t> settingsVersion;
  /** Commands carried out since the last acknowledged upload. */
  std::vector<uint32_t> ack;
  std::optional<UpdateReport> update;
};

struct Photo {
  const uint8_t* data = nullptr;
  size_t length = 0;
};

/**
 * Bytes of a camera frame up to and including its last end-of-image marker (FF D9): the sensor's buffer
 * may carry padding after it, which the hub would refuse. 0 when it does not start with SOI or has no EOI.
 */
size_t jpegLength(const uint8_t* data, size_t length);

/** The `meta` part's JSON (strings escaped; burst ids are [A-Za-z0-9_-] by contract). */
std::string metaJson(const Meta& meta);

class Body {
 public:
  Body(std::string boundary, const Meta& meta, std::vector<Photo> photos);
  std::string contentType() const { return "multipart/form-data; boundary=" + boundary_; }
  /** Known before the first byte is sent (the HTTP client sets Content-Length). */
  size_t contentLength() const;
  /** The next piece, or false at the end. Photo pieces point into the photo's own memory. */
  bool next(const uint8_t*& data, size_t& length);
  /** Starts again from the first byte (a retry of the same burst). */
  void rewind() { step_ = 0; }

 private:
  std::string boundary_;
  std::vector<Photo> photos_;
  std::vector<std::string> texts_;  // meta part, each photo's head, the closing boundary
  size_t step_ = 0;
};

}  // namespace upload
}  // namespace hearth
