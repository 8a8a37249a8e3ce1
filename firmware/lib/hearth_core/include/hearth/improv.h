// Improv Wi-Fi over BLE, the camera's side (docs/protocols.md, "Improv Wi-Fi"): RPC frames from the
// hub, split writes joined, result frames back. No Arduino headers: tested on the host.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hearth/bytes.h"

namespace hearth {
namespace improv {

enum class State : uint8_t { AuthorizationRequired = 1, Authorized = 2, Provisioning = 3, Provisioned = 4 };
enum class Error : uint8_t {
  None = 0x00,
  InvalidRpc = 0x01,
  UnknownRpc = 0x02,
  UnableToConnect = 0x03,
  NotAuthorized = 0x04,
  BadHostname = 0x05,
  Unknown = 0xff,
};
enum class Rpc : uint8_t { WifiSettings = 0x01, Identify = 0x02, DeviceInfo = 0x03, ScanNetworks = 0x04 };

constexpr size_t kSsidMax = 32;
constexpr size_t kPasswordMax = 64;

struct Request {
  Rpc command = Rpc::Identify;
  std::string ssid;
  std::string password;
};

struct Result {
  Rpc command = Rpc::DeviceInfo;
  std::vector<std::string> strings;
};

/** Parses one whole RPC frame. On failure `error` says which Improv error to report. */
Status parseRequest(const uint8_t* data, size_t length, Request& out, Error& error);
/** The hub side's reading of a result frame (for symmetry and tests). */
Status parseResult(const uint8_t* data, size_t length, Result& out);

Bytes encodeRequest(const Request& request);
Bytes encodeResult(const Result& result);

/** Joins writes until the frame holds its declared length + 3 bytes (ESPHome's rule). */
class Reassembler {
 public:
  enum class Outcome { Incomplete, Complete, Overflow };
  Outcome push(const uint8_t* data, size_t length);
  const Bytes& frame() const { return frame_; }
  void reset() { buffer_.clear(); }

 private:
  Bytes buffer_;
  Bytes frame_;
};

}  // namespace improv
}  // namespace hearth
