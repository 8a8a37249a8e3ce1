#include "hearth/ble_engine.h"

#include <algorithm>

namespace hearth {
namespace ble {

Engine::Engine(bool requireAuthorization, DeviceInfo info, Hooks hooks)
    : requireAuthorization_(requireAuthorization),
      info_(std::move(info)),
      hooks_(std::move(hooks)),
      state_(requireAuthorization ? improv::State::AuthorizationRequired : improv::State::Authorized) {
  status_.settingsVersion = 0;
  status_.firmware = info_.version;
  status_.wifiState = tlv::WifiState::Unprovisioned;
  status_.enrolled = false;
}

void Engine::setState(improv::State state) {
  state_ = state;
  outbox_.push_back({Characteristic::ImprovState, Bytes{static_cast<uint8_t>(state)}});
}

void Engine::setError(improv::Error error) {
  error_ = error;
  outbox_.push_back({Characteristic::ImprovError, Bytes{static_cast<uint8_t>(error)}});
}

void Engine::sendResult(improv::Rpc command, const std::vector<std::string>& strings) {
  lastResult_ = improv::encodeResult({command, strings});
  // Improv results travel in plain 20-byte pieces; the hub joins them by the length byte.
  for (size_t at = 0; at < lastResult_.size(); at += 20) {
    const size_t end = std::min(lastResult_.size(), at + 20);
    outbox_.push_back({Characteristic::ImprovResult, Bytes(lastResult_.begin() + static_cast<long>(at),
                                                          lastResult_.begin() + static_cast<long>(end))});
  }
}

void Engine::notifyStatus() {
  Bytes value;
  if (!tlv::encodeStatus(status_, value).ok) return;
  for (auto& piece : chunks::split(value)) outbox_.push_back({Characteristic::Status, std::move(piece)});
}

void Engine::buttonPressed(uint32_t nowMs) {
  if (state_ != improv::State::AuthorizationRequired) return;
  authorizedUntil_ = nowMs + kAuthorizationMs;
  setState(improv::State::Authorized);
}

void Engine::tick(uint32_t nowMs) {
  if (requireAuthorization_ && state_ == improv::State::Authorized && authorizedUntil_ != 0 &&
      static_cast<int32_t>(nowMs - authorizedUntil_) >= 0) {
    authorizedUntil_ = 0;
    setState(improv::State::AuthorizationRequired);
  }
}

void Engine::wifiResult(bool connected, const std::string& url) {
  if (state_ != improv::State::Provisioning) return;
  if (connected) {
    status_.wifiState = tlv::WifiState::Connected;
    setState(improv::State::Provisioned);
    sendResult(improv::Rpc::WifiSettings, url.empty() ? std::vector<std::string>{} : std::vector<std::string>{url});
  } else {
    status_.wifiState = tlv::WifiState::Failed;
    setError(improv::Error::UnableToConnect);
    setState(requireAuthorization_ ? improv::State::AuthorizationRequired : improv::State::Authorized);
  }
}

void Engine::factoryReset() {
  status_.enrolled = false;
  status_.wifiState = tlv::WifiState::Unprovisioned;
  authorizedUntil_ = 0;
  setState(requireAuthorization_ ? improv::State::AuthorizationRequired : improv::State::Authorized);
  if (hooks_.factoryReset) hooks_.factoryReset();
}

void Engine::resume(const tlv::Settings& settings) {
  settings_ = settings;
  status_.settingsVersion = settings.settingsVersion.value_or(0);
  status_.enrolled = true;
  status_.wifiState = tlv::WifiState::Connected;
  state_ = improv::State::Provisioned;
}

AttError Engine::onImprov(const uint8_t* data, size_t length, uint32_t nowMs) {
  tick(nowMs);
  const auto outcome = rpc_.push(data, length);
  if (outcome == improv::Reassembler::Outcome::Incomplete) return AttError::None;
  if (outcome == improv::Reassembler::Outcome::Overflow) {
    setError(improv::Error::InvalidRpc);
    return AttError::None;
  }
  improv::Request request;
  improv::Error error = improv::Error::None;
  if (!improv::parseRequest(rpc_.frame().data(), rpc_.frame().size(), request, error).ok) {
    setError(error);
    return AttError::None;
  }
  if (error_ != improv::Error::None) setError(improv::Error::None);
  switch (request.command) {
    case improv::Rpc::Identify:
      if (hooks_.identify) hooks_.identify();
      break;
    case improv::Rpc::DeviceInfo:
      sendResult(improv::Rpc::DeviceInfo, {info_.firmware, info_.version, info_.chip, info_.name});
      break;
    case improv::Rpc::ScanNetworks:
      sendResult(improv::Rpc::ScanNetworks, {});
      break;
    case improv::Rpc::WifiSettings:
      if (state_ == improv::State::AuthorizationRequired) {
        setError(improv::Error::NotAuthorized);
        break;
      }
      status_.wifiState = tlv::WifiState::Connecting;
      setState(improv::State::Provisioning);
      if (hooks_.connectWifi) hooks_.connectWifi(request.ssid, request.password);
      break;
  }
  return AttError::None;
}

AttError Engine::onHearth(Characteristic characteristic, const uint8_t* data, size_t length) {
  chunks::Joiner& joiner = joiners_[static_cast<int>(characteristic) - static_cast<int>(Characteristic::Enrolment)];
  switch (joiner.push(data, length)) {
    case chunks::Joiner::Outcome::Incomplete: return AttError::None;
    case chunks::Joiner::Outcome::OutOfOrder:
    case chunks::Joiner::Outcome::Empty: return AttError::ChunkOutOfOrder;
    case chunks::Joiner::Outcome::TooLong: return AttError::ValueTooLong;
    case chunks::Joiner::Outcome::Complete: break;
  }
  const Bytes& value = joiner.value();
  if (characteristic == Characteristic::Enrolment) {
    tlv::Enrolment enrolment;
    if (!tlv::decodeEnrolment(value.data(), value.size(), enrolment).ok) return AttError::InvalidFrame;
    if (status_.enrolled.value_or(false)) return AttError::NotAllowedNow;
    status_.enrolled = true;
    if (hooks_.enrolled) hooks_.enrolled(enrolment);
  } else if (characteristic == Characteristic::Command) {
    std::vector<tlv::Command> commands;
    if (!tlv::decodeCommands(value.data(), value.size(), commands).ok) return AttError::InvalidFrame;
    for (const auto& command : commands) {
      // At most once per id, whichever way it came.
      if (std::find(done_.begin(), done_.end(), command.id) != done_.end()) continue;
      done_.push_back(command.id);
      if (done_.size() > 32) done_.erase(done_.begin());
      status_.lastCommandId = command.id;
      if (command.known && command.kind() == tlv::CommandKind::FactoryReset) factoryReset();
      else if (command.known && hooks_.command) hooks_.command(command);
    }
  } else {
    tlv::Settings incoming;
    if (!tlv::decodeSettings(value.data(), value.size(), incoming).ok) return AttError::InvalidFrame;
    if (incoming.settingsVersion) settings_.settingsVersion = incoming.settingsVersion;
    if (incoming.frameSize) settings_.frameSize = incoming.frameSize;
    if (incoming.jpegQuality) settings_.jpegQuality = incoming.jpegQuality;
    if (incoming.wakeIntervalSeconds) settings_.wakeIntervalSeconds = incoming.wakeIntervalSeconds;
    if (incoming.pirEnabled) settings_.pirEnabled = incoming.pirEnabled;
    if (incoming.burstLength) settings_.burstLength = incoming.burstLength;
    status_.settingsVersion = settings_.settingsVersion.value_or(0);
    if (hooks_.settingsChanged) hooks_.settingsChanged(settings_);
  }
  notifyStatus();
  return AttError::None;
}

AttError Engine::write(Characteristic characteristic, const uint8_t* data, size_t length, uint32_t nowMs) {
  switch (characteristic) {
    case Characteristic::ImprovRpc: return onImprov(data, length, nowMs);
    case Characteristic::Enrolment:
    case Characteristic::Command:
    case Characteristic::Settings: return onHearth(characteristic, data, length);
    default: return AttError::WriteNotPermitted;
  }
}

AttError Engine::read(Characteristic characteristic, Bytes& out) const {
  switch (characteristic) {
    case Characteristic::ImprovState: out = Bytes{static_cast<uint8_t>(state_)}; return AttError::None;
    case Characteristic::ImprovError: out = Bytes{static_cast<uint8_t>(error_)}; return AttError::None;
    case Characteristic::ImprovResult: out = lastResult_; return AttError::None;
    case Characteristic::ImprovCapabilities: out = Bytes{1}; return AttError::None;
    case Characteristic::Settings: return tlv::encodeSettings(settings_, out).ok ? AttError::None : AttError::InvalidFrame;
    case Characteristic::Status: return tlv::encodeStatus(status_, out).ok ? AttError::None : AttError::InvalidFrame;
    default: return AttError::ReadNotPermitted;
  }
}

std::vector<Notification> Engine::takeNotifications() {
  std::vector<Notification> out;
  out.swap(outbox_);
  return out;
}

}  // namespace ble
}  // namespace hearth
