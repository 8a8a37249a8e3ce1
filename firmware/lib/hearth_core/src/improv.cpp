#include "hearth/improv.h"

namespace hearth {
namespace improv {
namespace {

uint8_t checksum(const uint8_t* data, size_t length) {
  unsigned sum = 0;
  for (size_t i = 0; i < length; i++) sum += data[i];
  return static_cast<uint8_t>(sum & 0xff);
}

/** RFC 3629 UTF-8 (no overlong forms, no surrogates), as the hub's strict decoder accepts it. */
bool validUtf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t extra = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (extra > n - i - 1) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

Status openFrame(const uint8_t* data, size_t length, uint8_t& command, const uint8_t*& payload, size_t& payloadLength) {
  if (length < 3) return Status::fail("frame shorter than 3");
  size_t declared = data[1];
  if (length != declared + 3) return Status::fail("length byte does not match the frame");
  if (data[length - 1] != checksum(data, length - 1)) return Status::fail("bad checksum");
  command = data[0];
  payload = data + 2;
  payloadLength = declared;
  return {};
}

Status readStrings(const uint8_t* data, size_t length, std::vector<std::string>& out) {
  size_t at = 0;
  while (at < length) {
    size_t n = data[at];
    if (at + 1 + n > length) return Status::fail("a string runs past the data");
    if (!validUtf8(data + at + 1, n)) return Status::fail("a string is not UTF-8");
    out.emplace_back(reinterpret_cast<const char*>(data + at + 1), n);
    at += 1 + n;
  }
  return {};
}

bool knownRpc(uint8_t command) { return command >= 0x01 && command <= 0x04; }

void putString(Bytes& out, const std::string& s) {
  out.push_back(static_cast<uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

Bytes frame(uint8_t command, const Bytes& payload) {
  Bytes out{command, static_cast<uint8_t>(payload.size())};
  out.insert(out.end(), payload.begin(), payload.end());
  out.push_back(checksum(out.data(), out.size()));
  return out;
}

}  // namespace

Status parseRequest(const uint8_t* data, size_t length, Request& out, Error& error) {
  error = Error::InvalidRpc;
  uint8_t command = 0;
  const uint8_t* payload = nullptr;
  size_t payloadLength = 0;
  Status opened = openFrame(data, length, command, payload, payloadLength);
  if (!opened.ok) return opened;
  if (!knownRpc(command)) {
    error = Error::UnknownRpc;
    return Status::fail("unknown RPC");
  }
  out = Request{};
  out.command = static_cast<Rpc>(command);
  if (out.command != Rpc::WifiSettings) {
    if (payloadLength != 0) return Status::fail("takes no data");
    error = Error::None;
    return {};
  }
  std::vector<std::string> strings;
  Status read = readStrings(payload, payloadLength, strings);
  if (!read.ok) return read;
  if (strings.size() != 2) return Status::fail("Wi-Fi settings carry 2 strings");
  if (strings[0].empty()) return Status::fail("the SSID is empty");
  if (strings[0].size() > kSsidMax) return Status::fail("the SSID is longer than 32 bytes");
  if (strings[1].size() > kPasswordMax) return Status::fail("the password is longer than 64 bytes");
  out.ssid = strings[0];
  out.password = strings[1];
  error = Error::None;
  return {};
}

Status parseResult(const uint8_t* data, size_t length, Result& out) {
  uint8_t command = 0;
  const uint8_t* payload = nullptr;
  size_t payloadLength = 0;
  Status opened = openFrame(data, length, command, payload, payloadLength);
  if (!opened.ok) return opened;
  if (!knownRpc(command)) return Status::fail("unknown RPC");
  out = Result{};
  out.command = static_cast<Rpc>(command);
  return readStrings(payload, payloadLength, out.strings);
}

Bytes encodeRequest(const Request& request) {
  Bytes payload;
  if (request.command == Rpc::WifiSettings) {
    putString(payload, request.ssid);
    putString(payload, request.password);
  }
  return frame(static_cast<uint8_t>(request.command), payload);
}

Bytes encodeResult(const Result& result) {
  Bytes payload;
  for (const auto& s : result.strings) putString(payload, s.size() > 255 ? s.substr(0, 255) : s);
  return frame(static_cast<uint8_t>(result.command), payload);
}

Reassembler::Outcome Reassembler::push(const uint8_t* data, size_t length) {
  buffer_.insert(buffer_.end(), data, data + length);
  if (buffer_.size() < 2) return Outcome::Incomplete;
  size_t total = static_cast<size_t>(buffer_[1]) + 3;
  if (buffer_.size() < total) return Outcome::Incomplete;
  if (buffer_.size() > total) {
    buffer_.clear();
    return Outcome::Overflow;
  }
  frame_.swap(buffer_);
  buffer_.clear();
  return Outcome::Complete;
}

}  // namespace improv
}  // namespace hearth
