#include "hearth/provision.h"

namespace hearth {
namespace device {

ble::Hooks Provisioner::hooks(std::function<void(const std::string&, const std::string&)> joinWifi) {
  ble::Hooks hooks;
  hooks.connectWifi = [this, joinWifi](const std::string& ssid, const std::string& password) {
    pendingSsid_ = ssid;
    pendingPassword_ = password;
    if (joinWifi) joinWifi(ssid, password);
  };
  hooks.enrolled = [this](const tlv::Enrolment& enrolment) {
    state_.hubUrl = enrolment.hubUrl;
    state_.hubAddressUrl = enrolment.hubAddressUrl.value_or("");
    state_.token = enrolment.deviceToken;
    state_.signingKey = enrolment.signingKey;
  };
  hooks.settingsChanged = [this](const tlv::Settings& settings) { state_.settings = settings; };
  return hooks;
}

void Provisioner::wifiJoined(bool ok) {
  if (ok) {
    state_.ssid = pendingSsid_;
    state_.password = pendingPassword_;
  }
  pendingSsid_.clear();
  pendingPassword_.clear();
}

}  // namespace device
}  // namespace hearth
