// What first boot over Bluetooth leaves behind: the Wi-Fi credentials (kept only once the camera has
// joined with them) and the hub's address and token from the Hearth enrolment, in the state that
// survives deep sleep. The glue between ble::Engine and device::Life.
#pragma once
#include <functional>
#include <string>

#include "hearth/ble_engine.h"
#include "hearth/device.h"

namespace hearth {
namespace device {

class Provisioner {
 public:
  explicit Provisioner(Persisted& state) : state_(state) {}

  /** Hooks for ble::Engine; `joinWifi` starts the radio's join (answer with `wifiJoined`). */
  ble::Hooks hooks(std::function<void(const std::string&, const std::string&)> joinWifi);
  /** The join's outcome: credentials that worked are kept, others forgotten. */
  void wifiJoined(bool ok);

 private:
  Persisted& state_;
  std::string pendingSsid_;
  std::string pendingPassword_;
};

}  // namespace device
}  // namespace hearth
