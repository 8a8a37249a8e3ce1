#include "ble_server.h"

#include <Arduino.h>
#include <NimBLEDevice.h>
// NimBLE-Arduino bundles the NimBLE host; its raw GATT API is what lets a write be refused with an
// ATT error code (the C++ wrapper's onWrite cannot).
#if __has_include("nimble/nimble/host/include/host/ble_hs.h")
#include "nimble/nimble/host/include/host/ble_hs.h"
#else
#include "host/ble_hs.h"
#endif

namespace ble_server {
namespace {
using hearth::ble::AttError;
using hearth::ble::Characteristic;

// Big-endian as written in docs/protocols.md; the last byte names the characteristic.
constexpr uint8_t kImprov[16] = {0x00, 0x46, 0x77, 0x68, 0x62, 0x28, 0x22, 0x72,
                                 0x46, 0x63, 0x27, 0x74, 0x78, 0x26, 0x80, 0x00};
constexpr uint8_t kHearth[16] = {0x09, 0x8a, 0xe3, 0x19, 0xf6, 0x8e, 0x43, 0x39,
                                 0xb4, 0x76, 0xa1, 0x94, 0xe0, 0x99, 0x15, 0x00};
constexpr uint16_t kImprovServiceData = 0x4677;

struct Entry {
  Characteristic characteristic;
  const uint8_t* base;
  uint8_t last;
  ble_gatt_chr_flags flags;
};
constexpr Entry kEntries[] = {
    {Characteristic::ImprovState, kImprov, 0x01, BLE_GATT_CHR_F_READ | BLE_GATT_CHR_F_NOTIFY},
    {Characteristic::ImprovError, kImprov, 0x02, BLE_GATT_CHR_F_READ | BLE_GATT_CHR_F_NOTIFY},
    {Characteristic::ImprovRpc, kImprov, 0x03, BLE_GATT_CHR_F_WRITE},
    {Characteristic::ImprovResult, kImprov, 0x04, BLE_GATT_CHR_F_READ | BLE_GATT_CHR_F_NOTIFY},
    {Characteristic::ImprovCapabilities, kImprov, 0x05, BLE_GATT_CHR_F_READ},
    {Characteristic::Enrolment, kHearth, 0x01, BLE_GATT_CHR_F_WRITE | BLE_GATT_CHR_F_WRITE_ENC},
    {Characteristic::Command, kHearth, 0x02, BLE_GATT_CHR_F_WRITE},
    {Characteristic::Settings, kHearth, 0x03, BLE_GATT_CHR_F_READ | BLE_GATT_CHR_F_WRITE},
    {Characteristic::Status, kHearth, 0x04, BLE_GATT_CHR_F_READ | BLE_GATT_CHR_F_NOTIFY},
};
constexpr size_t kCount = sizeof kEntries / sizeof kEntries[0];
constexpr size_t kImprovCount = 5;

hearth::ble::Engine* engine = nullptr;
uint16_t connection = BLE_HS_CONN_HANDLE_NONE;
ble_uuid128_t serviceUuids[2];
ble_uuid128_t uuids[kCount];
uint16_t handles[kCount];
ble_gatt_chr_def characteristics[kCount + 2] = {};  // two lists, each ended by an empty entry
ble_gatt_svc_def services[3] = {};
uint8_t advertisedState = 0;

ble_uuid128_t littleEndian(const uint8_t* bigEndian, uint8_t last) {
  ble_uuid128_t uuid = {};
  uuid.u.type = BLE_UUID_TYPE_128;
  for (int i = 0; i < 16; i++) uuid.value[i] = bigEndian[15 - i];
  uuid.value[0] = last;
  return uuid;
}

int access(uint16_t conn, uint16_t, ble_gatt_access_ctxt* context, void* arg) {
  const auto which = static_cast<Characteristic>(reinterpret_cast<uintptr_t>(arg));
  if (context->op == BLE_GATT_ACCESS_OP_READ_CHR) {
    hearth::Bytes value;
    const AttError error = engine->read(which, value);
    if (error != AttError::None) return static_cast<int>(error);
    return os_mbuf_append(context->om, value.data(), value.size()) == 0 ? 0 : BLE_ATT_ERR_INSUFFICIENT_RES;
  }
  if (context->op == BLE_GATT_ACCESS_OP_WRITE_CHR) {
    uint8_t buffer[515];
    uint16_t length = 0;
    if (ble_hs_mbuf_to_flat(context->om, buffer, sizeof buffer, &length) != 0) return BLE_ATT_ERR_INVALID_ATTR_VALUE_LEN;
    connection = conn;
    return static_cast<int>(engine->write(which, buffer, length, millis()));
  }
  return BLE_ATT_ERR_UNLIKELY;
}

class Connections : public NimBLEServerCallbacks {
  void onConnect(NimBLEServer*, ble_gap_conn_desc* description) override { connection = description->conn_handle; }
  void onDisconnect(NimBLEServer*) override { connection = BLE_HS_CONN_HANDLE_NONE; }
};

void advertise() {
  hearth::Bytes capabilities;
  engine->read(Characteristic::ImprovCapabilities, capabilities);
  advertisedState = static_cast<uint8_t>(engine->improvState());
  NimBLEAdvertising* advertising = NimBLEDevice::getAdvertising();
  advertising->stop();
  NimBLEAdvertisementData data;
  data.setFlags(BLE_HS_ADV_F_DISC_GEN | BLE_HS_ADV_F_BREDR_UNSUP);
  data.setCompleteServices(NimBLEUUID(serviceUuids[0].value, 16, false));
  const uint8_t serviceData[6] = {advertisedState, capabilities.empty() ? uint8_t(0) : capabilities[0], 0, 0, 0, 0};
  data.setServiceData(NimBLEUUID(kImprovServiceData), std::string(reinterpret_cast<const char*>(serviceData), 6));
  NimBLEAdvertisementData scanResponse;
  scanResponse.setCompleteServices(NimBLEUUID(serviceUuids[1].value, 16, false));
  scanResponse.setName(NimBLEDevice::toString().c_str());
  advertising->setAdvertisementData(data);
  advertising->setScanResponseData(scanResponse);
  advertising->start();
}
}  // namespace

bool begin(hearth::ble::Engine& target, const std::string& name) {
  engine = &target;
  NimBLEDevice::init(name);
  // LE Secure Connections, "just works": the enrolment characteristic needs an encrypted link.
  NimBLEDevice::setSecurityAuth(true, false, true);
  NimBLEServer* server = NimBLEDevice::createServer();
  server->setCallbacks(new Connections());
  serviceUuids[0] = littleEndian(kImprov, 0x00);
  serviceUuids[1] = littleEndian(kHearth, 0x00);
  size_t slot = 0;
  for (size_t i = 0; i < kCount; i++) {
    if (i == kImprovCount) slot++;  // the empty entry that ends Improv's list
    uuids[i] = littleEndian(kEntries[i].base, kEntries[i].last);
    ble_gatt_chr_def& c = characteristics[slot++];
    c.uuid = &uuids[i].u;
    c.access_cb = access;
    c.arg = reinterpret_cast<void*>(static_cast<uintptr_t>(kEntries[i].characteristic));
    c.flags = kEntries[i].flags;
    c.val_handle = &handles[i];
  }
  services[0] = {BLE_GATT_SVC_TYPE_PRIMARY, &serviceUuids[0].u, nullptr, &characteristics[0]};
  services[1] = {BLE_GATT_SVC_TYPE_PRIMARY, &serviceUuids[1].u, nullptr, &characteristics[kImprovCount + 1]};
  // Registered with the host before NimBLE-Arduino starts the GATT server (server->start()).
  if (ble_gatts_count_cfg(services) != 0 || ble_gatts_add_svcs(services) != 0) return false;
  server->start();
  advertise();
  return true;
}

void poll() {
  for (const auto& notification : engine->takeNotifications()) {
    if (connection == BLE_HS_CONN_HANDLE_NONE) continue;
    for (size_t i = 0; i < kCount; i++) {
      if (kEntries[i].characteristic != notification.characteristic) continue;
      os_mbuf* value = ble_hs_mbuf_from_flat(notification.value.data(), notification.value.size());
      ble_gattc_notify_custom(connection, handles[i], value);
    }
  }
  if (static_cast<uint8_t>(engine->improvState()) != advertisedState) advertise();
}
}  // namespace ble_server
