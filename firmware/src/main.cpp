// The ESP32-CAM's Arduino entry points: wiring the core's state machines (lib/hearth_core) to the
// hardware in platform.cpp and ble_server.cpp. Every decision is made in the core, host-tested.
#include <Arduino.h>
#include <WiFi.h>
#include <esp_sleep.h>

#include <memory>

#include "ble_server.h"
#include "board.h"
#include "camera.h"
#include "hearth/device.h"
#include "hearth/provision.h"
#include "led.h"
#include "platform.h"
#include "store.h"
#include "version.h"

using namespace hearth;

// Arduino-ESP32 marks a new image valid at boot unless this says otherwise: Hearth does it only after the
// new image's first successful upload (device::Life), or rolls back.
bool verifyRollbackLater() { return true; }

namespace {
constexpr uint32_t kFactoryResetHoldMs = 5000;
constexpr uint32_t kProvisionJoinTimeoutMs = 20000;

device::Persisted state;
Esp32Platform platform;
std::unique_ptr<device::Life> life;
std::unique_ptr<device::Provisioner> provisioner;
std::unique_ptr<ble::Engine> engine;  // first boot: provisioning
std::unique_ptr<ble::Engine> awake;   // a normal wake: the hub's GATT control
uint32_t nextStepAt = 0;
uint32_t joinStartedAt = 0;
uint32_t identifyUntil = 0;
bool buttonWasDown = false;

const char* wakeReason() {
  switch (esp_sleep_get_wakeup_cause()) {
    case ESP_SLEEP_WAKEUP_EXT0: return "pir";
    case ESP_SLEEP_WAKEUP_EXT1: return "manual";
    default: return "timer";  // the timer, or power-on
  }
}

bool buttonDown() { return digitalRead(board::kButton) == LOW; }

[[noreturn]] void deepSleep(uint32_t ms) {
  Serial.printf("[hearth] sleep %u s\n", static_cast<unsigned>(ms / 1000));
  Serial.flush();
  WiFi.disconnect(true);
  esp_sleep_enable_timer_wakeup(static_cast<uint64_t>(ms) * 1000ULL);
  if (state.settings.pirEnabled.value_or(true)) esp_sleep_enable_ext0_wakeup(board::kPir, 1);
  esp_sleep_enable_ext1_wakeup(1ULL << board::kButton, ESP_EXT1_WAKEUP_ALL_LOW);
  esp_deep_sleep_start();
}

ble::DeviceInfo deviceInfo() { return ble::DeviceInfo{"Hearth Camera", HEARTH_FW_VERSION, "ESP32", "ESP32-CAM"}; }

std::string bleName() {
  const std::string mac = WiFi.macAddress().c_str();
  return "Hearth-" + mac.substr(12, 2) + mac.substr(15, 2);
}

void factoryReset() {
  Serial.println("[hearth] factory reset");
  for (const auto& id : state.kept) platform.dropKeptBurst(id);
  store::erase();
  led::playOnce(led::Pattern::Identify);
  ESP.restart();
}

/**
 * A normal wake: the Hearth service runs too while the camera is awake, so a hub in range delivers
 * settings and commands at once (and the owner's factory reset) instead of with the next upload reply.
 */
void startAwakeBluetooth() {
  ble::Hooks hooks;
  hooks.command = [](const tlv::Command& command) {
    if (command.kind() == tlv::CommandKind::Reboot) ESP.restart();
    life->bleCommand(command);
  };
  hooks.settingsChanged = [](const tlv::Settings& settings) { life->bleSettings(settings); };
  hooks.factoryReset = factoryReset;
  hooks.identify = [] { identifyUntil = millis() + 2000; };
  awake.reset(new ble::Engine(true, deviceInfo(), hooks));
  awake->resume(state.settings);
  ble_server::begin(*awake, bleName());
}

/** Not provisioned yet: Improv + Hearth over Bluetooth until the household's hub has enrolled us. */
void startProvisioning() {
  provisioner.reset(new device::Provisioner(state));
  ble::Hooks hooks = provisioner->hooks([](const std::string& ssid, const std::string& password) {
    Serial.printf("[hearth] joining %s\n", ssid.c_str());
    platform.wifiBegin(ssid, password);
    joinStartedAt = millis();
  });
  hooks.identify = [] { identifyUntil = millis() + 2000; };
  engine.reset(new ble::Engine(true, deviceInfo(), hooks));
  ble_server::begin(*engine, bleName());
  led::show(led::Pattern::WaitingForSetup);
  Serial.println("[hearth] not set up: advertising Improv and Hearth over Bluetooth");
}

void provisioningLoop() {
  const uint32_t now = millis();
  engine->tick(now);
  const bool down = buttonDown();
  if (down && !buttonWasDown) engine->buttonPressed(now);
  buttonWasDown = down;
  if (joinStartedAt) {
    if (platform.wifiConnected()) {
      joinStartedAt = 0;
      provisioner->wifiJoined(true);
      engine->wifiResult(true, std::string("http://") + WiFi.localIP().toString().c_str());
    } else if (now - joinStartedAt > kProvisionJoinTimeoutMs) {
      joinStartedAt = 0;
      provisioner->wifiJoined(false);
      engine->wifiResult(false, "");
    }
  }
  ble_server::poll();
  if (now < identifyUntil) led::show(led::Pattern::Identify);
  else if (engine->improvState() == improv::State::AuthorizationRequired) led::show(led::Pattern::WaitingForSetup);
  else led::show(led::Pattern::Authorized);
  if (state.provisioned()) {
    store::save(state);
    Serial.println("[hearth] set up: restarting into normal operation");
    delay(1000);  // lets the last notifications (status: enrolled) go out
    ESP.restart();
  }
}
}  // namespace

void setup() {
  Serial.begin(115200);
  led::begin();
  pinMode(board::kButton, INPUT_PULLUP);
  pinMode(board::kPir, INPUT);
  Serial.printf("\n[hearth] camera %s, woken by %s\n", HEARTH_FW_VERSION, wakeReason());
  state = store::load();
  if (buttonDown()) {
    const uint32_t start = millis();
    while (buttonDown() && millis() - start < kFactoryResetHoldMs) delay(20);
    if (millis() - start >= kFactoryResetHoldMs) factoryReset();
  }
  platform.begin();
  if (!camera::begin(state.settings)) Serial.println("[hearth] camera did not start");
  if (!state.provisioned()) return startProvisioning();
  life.reset(new device::Life(platform, state, wakeReason(), HEARTH_FW_VERSION));
  startAwakeBluetooth();
}

void loop() {
  led::tick(millis());
  if (engine) return provisioningLoop();
  awake->tick(millis());
  awake->status().batteryMv = platform.batteryMv();
  awake->status().lastUpload = static_cast<uint16_t>(life->lastUploadStatus());
  ble_server::poll();
  if (millis() < nextStepAt) return delay(5);
  const device::Next next = life->step();
  switch (next.phase) {
    case device::Phase::JoiningWifi: led::show(led::Pattern::JoiningWifi); break;
    case device::Phase::Uploading: led::show(led::Pattern::On); break;
    case device::Phase::Updating: led::show(led::Pattern::Updating); break;
    case device::Phase::Streaming: led::show(led::Pattern::Off); break;
    case device::Phase::Rebooting:
      Serial.println("[hearth] restarting into the new firmware");
      Serial.flush();
      ESP.restart();
      break;
    case device::Phase::Sleeping:
      if (life->lastUploadStatus() >= 400 && life->lastUploadStatus() < 500) led::playOnce(led::Pattern::Error);
      if (platform.batteryMv() < device::Life::kLowBatteryMv) led::playOnce(led::Pattern::LowBattery);
      deepSleep(next.delayMs);
    default: break;
  }
  nextStepAt = millis() + next.delayMs;
}
