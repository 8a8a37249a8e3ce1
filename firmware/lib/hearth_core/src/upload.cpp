#include "hearth/upload.h"

#include <cstdio>

namespace hearth {
namespace upload {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

size_t jpegLength(const uint8_t* data, size_t length) {
  if (length < 4 || data[0] != 0xff || data[1] != 0xd8) return 0;
  for (size_t end = length; end >= 4; end--)
    if (data[end - 2] == 0xff && data[end - 1] == 0xd9) return end;
  return 0;
}

std::string metaJson(const Meta& m) {
  std::string json = "{\"burstId\":" + quoted(m.burstId) + ",\"seq\":" + std::to_string(m.seq) +
                     ",\"capturedAt\":" + std::to_string(m.capturedAtMs) + ",\"intervalMs\":" +
                     std::to_string(m.intervalMs) + ",\"wakeReason\":" + quoted(m.wakeReason);
  if (m.batteryMv) json += ",\"batteryMv\":" + std::to_string(*m.batteryMv);
  if (m.rssi) json += ",\"rssi\":" + std::to_string(*m.rssi);
  if (!m.firmware.empty()) json += ",\"firmware\":" + quoted(m.firmware);
  if (m.settingsVersion) json += ",\"settingsVersion\":" + std::to_string(*m.settingsVersion);
  if (!m.ack.empty()) {
    json += ",\"ack\":[";
    for (size_t i = 0; i < m.ack.size(); i++) json += (i ? "," : "") + std::to_string(m.ack[i]);
    json += "]";
  }
  if (m.update) {
    json += ",\"update\":{\"version\":" + quoted(m.update->version) + ",\"result\":" + quoted(m.update->result);
    if (!m.update->reason.empty()) json += ",\"reason\":" + quoted(m.update->reason.substr(0, 200));
    json += "}";
  }
  return json + "}";
}

Body::Body(std::string boundary, const Meta& meta, std::vector<Photo> photos)
    : boundary_(std::move(boundary)), photos_(std::move(photos)) {
  texts_.push_back("--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"meta\"\r\n" +
                   "Content-Type: application/json\r\n\r\n" + metaJson(meta) + "\r\n");
  for (size_t i = 0; i < photos_.size(); i++)
    texts_.push_back("--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"" +
                     meta.burstId + "_" + std::to_string(meta.seq + i) + ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
  texts_.push_back("--" + boundary_ + "--\r\n");
}

size_t Body::contentLength() const {
  size_t total = 0;
  for (const auto& text : texts_) total += text.size();
  for (const auto& photo : photos_) total += photo.length + 2;  // each photo is followed by CRLF
  return total;
}

// Pieces in order: meta part; then per photo its head, its bytes, CRLF; then the closing boundary.
bool Body::next(const uint8_t*& data, size_t& length) {
  static const uint8_t kCrlf[] = {'\r', '\n'};
  const size_t photoSteps = photos_.size() * 3;
  if (step_ == 0) {
    data = reinterpret_cast<const uint8_t*>(texts_[0].data());
    length = texts_[0].size();
  } else if (step_ <= photoSteps) {
    const size_t photo = (step_ - 1) / 3;
    switch ((step_ - 1) % 3) {
      case 0:
        data = reinterpret_cast<const uint8_t*>(texts_[1 + photo].data());
        length = texts_[1 + photo].size();
        break;
      case 1:
        data = photos_[photo].data;
        length = photos_[photo].length;
        break;
      default:
        data = kCrlf;
        length = 2;
    }
  } else if (step_ == photoSteps + 1) {
    data = reinterpret_cast<const uint8_t*>(texts_.back().data());
    length = texts_.back().size();
  } else {
    return false;
  }
  step_++;
  return true;
}

}  // namespace upload
}  // namespace hearth
