// The firmware core's BLE engine as a process, for the hub's BLE harness (hub/src/testing/ble/
// firmware-camera.ts): the fake radio forwards each GATT write and read here, one line each, so the hub
// and the firmware core talk end to end without a radio.
//
//   in:  write <characteristic> <hex>   read <characteristic>   button
//   out: ack <code> | value <code> <hex|->, then notify <characteristic> <hex> and
//        enrolled <hubUrl> <hubAddressUrl|-> <token> <signingKey hex|-> lines, then end
//
// Arguments: --ssid S --password P (the network it can join) [--require-authorization].
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "hearth/ble_engine.h"

using namespace hearth;

namespace {

const std::map<std::string, ble::Characteristic> kNames = {
    {"improv-state", ble::Characteristic::ImprovState},     {"improv-error", ble::Characteristic::ImprovError},
    {"improv-rpc", ble::Characteristic::ImprovRpc},         {"improv-result", ble::Characteristic::ImprovResult},
    {"improv-capabilities", ble::Characteristic::ImprovCapabilities},
    {"enrolment", ble::Characteristic::Enrolment},          {"command", ble::Characteristic::Command},
    {"settings", ble::Characteristic::Settings},            {"status", ble::Characteristic::Status},
};

std::string nameOf(ble::Characteristic c) {
  for (const auto& [name, value] : kNames)
    if (value == c) return name;
  return "?";
}

std::string hex(const Bytes& bytes) {
  if (bytes.empty()) return "-";
  std::string out;
  char buf[3];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

Bytes unhex(const std::string& text) {
  Bytes out;
  if (text == "-") return out;
  for (size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ssid, password;
  bool requireAuthorization = false;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--ssid" && i + 1 < argc) ssid = argv[++i];
    else if (arg == "--password" && i + 1 < argc) password = argv[++i];
    else if (arg == "--require-authorization") requireAuthorization = true;
  }
  std::string lines;
  bool joinPending = false;
  bool joinOk = false;
  ble::Hooks hooks;
  hooks.connectWifi = [&](const std::string& s, const std::string& p) {
    joinPending = true;
    joinOk = s == ssid && p == password;
  };
  hooks.enrolled = [&](const tlv::Enrolment& e) {
    const std::string key = e.signingKey ? hex(Bytes(e.signingKey->begin(), e.signingKey->end())) : "-";
    lines += "enrolled " + e.hubUrl + " " + e.hubAddressUrl.value_or("-") + " " + e.deviceToken + " " + key + "\n";
  };
  ble::Engine engine(requireAuthorization, ble::DeviceInfo{"Hearth Camera", "0.1.0-host", "ESP32", "ESP32-CAM"}, hooks);
  uint32_t now = 0;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op, which, data;
    in >> op >> which >> data;
    now += 10;
    std::string reply;
    if (op == "write" && kNames.count(which)) {
      Bytes value = unhex(data);
      auto code = engine.write(kNames.at(which), value.data(), value.size(), now);
      reply = "ack " + std::to_string(static_cast<int>(code)) + "\n";
      if (joinPending) {
        joinPending = false;
        engine.wifiResult(joinOk, "http://192.168.1.60");
      }
    } else if (op == "read" && kNames.count(which)) {
      Bytes value;
      auto code = engine.read(kNames.at(which), value);
      reply = "value " + std::to_string(static_cast<int>(code)) + " " + hex(value) + "\n";
    } else if (op == "button") {
      engine.buttonPressed(now);
      reply = "ack 0\n";
    } else {
      reply = "ack 255\n";
    }
    std::cout << reply;
    for (const auto& n : engine.takeNotifications()) std::cout << "notify " << nameOf(n.characteristic) << " " << hex(n.value) << "\n";
    std::cout << lines << "end" << std::endl;
    lines.clear();
  }
  return 0;
}
