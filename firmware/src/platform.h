// device::Platform on the ESP32-CAM: the only place the core's life touches the hardware.
#pragma once
#include "hearth/device.h"

class Esp32Platform : public hearth::device::Platform {
 public:
  /** Reads the battery (ADC2, so before Wi-Fi starts) and mounts the burst spool. */
  void begin();

  uint64_t nowMs() override;
  void setClock(uint64_t epochMs) override;
  void wifiBegin(const std::string& ssid, const std::string& password) override;
  bool wifiConnected() override;
  bool capture(const hearth::tlv::Settings& settings, hearth::Bytes& jpeg) override;
  int upload(const std::string& hubUrl, const std::string& token, const std::vector<hearth::Bytes>& photos,
             const hearth::upload::Meta& meta, hearth::Bytes& reply) override;
  uint16_t batteryMv() override { return batteryMv_; }
  bool brownedOut() override;
  void save(const hearth::device::Persisted& state) override;

  bool keepBurst(const hearth::device::KeptBurst& burst) override;
  bool loadKeptBurst(const std::string& id, hearth::device::KeptBurst& burst) override;
  void dropKeptBurst(const std::string& id) override;

  bool streamStart() override;
  void streamStop() override;

  uint32_t otaSlotBytes() override;
  int download(const std::string& hubUrl, const std::string& path, const std::string& token,
               const std::function<bool(const uint8_t*, size_t)>& sink) override;
  bool otaBegin(uint32_t size) override;
  bool otaWrite(const uint8_t* data, size_t length) override;
  bool otaEnd(bool commit) override;
  void markImageValid() override;
  void rollback() override;

 private:
  uint16_t batteryMv_ = 0;
  bool spool_ = false;
};
