#include "platform.h"

#include <Arduino.h>
#include <HTTPClient.h>
#include <LittleFS.h>
#include <Update.h>
#include <WiFi.h>
#include <esp_ota_ops.h>
#include <esp_system.h>
#include <sys/time.h>

#include "board.h"
#include "camera.h"
#include "mjpeg_server.h"
#include "store.h"

namespace {
constexpr uint32_t kHttpTimeoutMs = 15000;
constexpr const char* kSpool = "/spool";

/** The upload body as an Arduino Stream: HTTPClient pulls it piece by piece, JPEGs straight from PSRAM. */
class BodyStream : public Stream {
 public:
  explicit BodyStream(hearth::upload::Body& body) : body_(body) {}
  int available() override { return fill() ? static_cast<int>(length_ - at_) : 0; }
  int read() override { return fill() ? data_[at_++] : -1; }
  int peek() override { return fill() ? data_[at_] : -1; }
  size_t readBytes(char* out, size_t wanted) override {
    size_t done = 0;
    while (done < wanted && fill()) {
      const size_t n = std::min(wanted - done, length_ - at_);
      memcpy(out + done, data_ + at_, n);
      at_ += n;
      done += n;
    }
    return done;
  }
  size_t write(uint8_t) override { return 0; }
  void flush() override {}

 private:
  bool fill() {
    while (at_ == length_) {
      if (!body_.next(data_, length_)) return false;
      at_ = 0;
    }
    return true;
  }
  hearth::upload::Body& body_;
  const uint8_t* data_ = nullptr;
  size_t length_ = 0;
  size_t at_ = 0;
};

bool readAll(HTTPClient& http, hearth::Bytes& out, size_t limit) {
  WiFiClient* stream = http.getStreamPtr();
  const int declared = http.getSize();
  const uint32_t start = millis();
  uint8_t buffer[512];
  while (http.connected() && (declared < 0 || out.size() < static_cast<size_t>(declared)) && out.size() < limit) {
    const int n = stream->readBytes(reinterpret_cast<char*>(buffer), std::min<size_t>(sizeof buffer, limit - out.size()));
    if (n > 0) out.insert(out.end(), buffer, buffer + n);
    else if (millis() - start > kHttpTimeoutMs) return false;
  }
  return declared < 0 || out.size() == static_cast<size_t>(declared);
}
}  // namespace

void Esp32Platform::begin() {
  batteryMv_ = static_cast<uint16_t>(analogReadMilliVolts(board::kBattery) * board::kBatteryDivider);
  // The spool partition (partitions.csv): formatted on first use.
  spool_ = LittleFS.begin(true, kSpool, 10, "spool");
}

uint64_t Esp32Platform::nowMs() {
  // The RTC keeps counting through deep sleep, so a clock set once from the hub stays right.
  timeval now;
  gettimeofday(&now, nullptr);
  return static_cast<uint64_t>(now.tv_sec) * 1000 + now.tv_usec / 1000;
}

void Esp32Platform::setClock(uint64_t epochMs) {
  timeval now{static_cast<time_t>(epochMs / 1000), static_cast<suseconds_t>((epochMs % 1000) * 1000)};
  settimeofday(&now, nullptr);
}

void Esp32Platform::wifiBegin(const std::string& ssid, const std::string& password) {
  WiFi.persistent(false);  // credentials live in Hearth's NVS namespace, not the Wi-Fi driver's
  WiFi.mode(WIFI_STA);
  WiFi.begin(ssid.c_str(), password.c_str());
}

bool Esp32Platform::wifiConnected() { return WiFi.status() == WL_CONNECTED; }

bool Esp32Platform::capture(const hearth::tlv::Settings& settings, hearth::Bytes& jpeg) {
  return camera::capture(settings, jpeg);
}

int Esp32Platform::upload(const std::string& hubUrl, const std::string& token, const std::vector<hearth::Bytes>& photos,
                          const hearth::upload::Meta& meta, hearth::Bytes& reply) {
  std::vector<hearth::upload::Photo> parts;
  for (const auto& photo : photos) parts.push_back({photo.data(), photo.size()});
  hearth::upload::Body body("hearth-" + meta.burstId, meta, parts);
  HTTPClient http;
  http.setTimeout(kHttpTimeoutMs);
  if (!http.begin((hubUrl + "/api/device/photos").c_str())) return 0;
  http.addHeader("Authorization", ("Bearer " + token).c_str());
  http.addHeader("Accept", "application/x-hearth-tlv");
  http.addHeader("Content-Type", body.contentType().c_str());
  BodyStream stream(body);
  const int status = http.sendRequest("POST", &stream, body.contentLength());
  if (status > 0 && !readAll(http, reply, 512)) reply.clear();
  http.end();
  return status > 0 ? status : 0;
}

bool Esp32Platform::brownedOut() { return esp_reset_reason() == ESP_RST_BROWNOUT; }

void Esp32Platform::save(const hearth::device::Persisted& state) { store::save(state); }

bool Esp32Platform::keepBurst(const hearth::device::KeptBurst& burst) {
  if (!spool_) return false;
  const String dir = String(kSpool) + "/" + burst.id.c_str();
  LittleFS.mkdir(dir);
  File meta = LittleFS.open(dir + "/meta", "w");
  if (!meta) return false;
  meta.printf("%llu\n%s\n", static_cast<unsigned long long>(burst.capturedAt), burst.wakeReason.c_str());
  meta.close();
  for (size_t i = 0; i < burst.photos.size(); i++) {
    File file = LittleFS.open(dir + "/" + String(i) + ".jpg", "w");
    const bool whole = file && file.write(burst.photos[i].data(), burst.photos[i].size()) == burst.photos[i].size();
    file.close();
    if (!whole) {
      dropKeptBurst(burst.id);  // the spool is full: nothing half-kept
      return false;
    }
  }
  return true;
}

bool Esp32Platform::loadKeptBurst(const std::string& id, hearth::device::KeptBurst& burst) {
  const String dir = String(kSpool) + "/" + id.c_str();
  File meta = LittleFS.open(dir + "/meta", "r");
  if (!meta) return false;
  burst.id = id;
  burst.capturedAt = strtoull(meta.readStringUntil('\n').c_str(), nullptr, 10);
  burst.wakeReason = meta.readStringUntil('\n').c_str();
  meta.close();
  burst.photos.clear();
  for (int i = 0;; i++) {
    File file = LittleFS.open(dir + "/" + String(i) + ".jpg", "r");
    if (!file) break;
    hearth::Bytes jpeg(file.size());
    file.read(jpeg.data(), jpeg.size());
    burst.photos.push_back(std::move(jpeg));
  }
  return !burst.photos.empty();
}

void Esp32Platform::dropKeptBurst(const std::string& id) {
  const String dir = String(kSpool) + "/" + id.c_str();
  File folder = LittleFS.open(dir);
  for (File file = folder.openNextFile(); file; file = folder.openNextFile()) {
    const String path = dir + "/" + file.name();
    file.close();
    LittleFS.remove(path);
  }
  LittleFS.rmdir(dir);
}

bool Esp32Platform::streamStart() { return mjpeg_server::start(); }
void Esp32Platform::streamStop() { mjpeg_server::stop(); }

uint32_t Esp32Platform::otaSlotBytes() {
  const esp_partition_t* next = esp_ota_get_next_update_partition(nullptr);
  return next ? next->size : 0;
}

int Esp32Platform::download(const std::string& hubUrl, const std::string& path, const std::string& token,
                            const std::function<bool(const uint8_t*, size_t)>& sink) {
  HTTPClient http;
  http.setTimeout(kHttpTimeoutMs);
  if (!http.begin((hubUrl + path).c_str())) return 0;
  http.addHeader("Authorization", ("Bearer " + token).c_str());
  const int status = http.GET();
  if (status == 200) {
    WiFiClient* stream = http.getStreamPtr();
    int left = http.getSize();
    static uint8_t buffer[4096];
    uint32_t lastByte = millis();
    while (http.connected() && left != 0 && millis() - lastByte < kHttpTimeoutMs) {
      const size_t wanted = left < 0 ? sizeof buffer : std::min<size_t>(sizeof buffer, left);
      const size_t n = stream->readBytes(reinterpret_cast<char*>(buffer), wanted);
      if (n == 0) continue;
      lastByte = millis();
      if (left > 0) left -= n;
      if (!sink(buffer, n)) break;
    }
  }
  http.end();
  return status > 0 ? status : 0;
}

bool Esp32Platform::otaBegin(uint32_t size) { return Update.begin(size, U_FLASH); }
bool Esp32Platform::otaWrite(const uint8_t* data, size_t length) {
  return Update.write(const_cast<uint8_t*>(data), length) == length;
}
bool Esp32Platform::otaEnd(bool commit) {
  if (commit) return Update.end(true);  // also checks the image and selects the slot for the next boot
  Update.abort();
  return true;
}
void Esp32Platform::markImageValid() { esp_ota_mark_app_valid_cancel_rollback(); }
void Esp32Platform::rollback() { esp_ota_mark_app_invalid_rollback_and_reboot(); }
