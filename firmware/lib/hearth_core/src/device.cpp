#include "hearth/device.h"

#include <algorithm>

#include "hearth/upload.h"

namespace hearth {
namespace device {

Life::Life(Platform& platform, Persisted state, std::string wakeReason, std::string firmware)
    : platform_(platform),
      state_(std::move(state)),
      wakeReason_(std::move(wakeReason)),
      firmware_(std::move(firmware)),
      phase_(state_.provisioned() ? Phase::JoiningWifi : Phase::Unprovisioned) {
  phaseStarted_ = platform_.nowMs();
  ota::Memory& update = state_.update;
  if (!update.pendingVersion.empty()) {
    if (update.pendingVersion == firmware_) {
      confirming_ = true;
    } else {
      // Switched to the new image, yet the old one runs: the bootloader rolled back.
      update.refuse(update.pendingVersion, "rolled_back", "the new image did not confirm itself");
      update.pendingVersion.clear();
    }
  }
  if (phase_ == Phase::JoiningWifi) platform_.wifiBegin(state_.ssid, state_.password);
}

uint32_t Life::wakeSeconds() const { return state_.settings.wakeIntervalSeconds.value_or(kDefaultWakeSeconds); }

Next Life::sleep(uint32_t seconds) {
  if (confirming_) {
    // A new image that could not upload in its first wake is not trusted with a second one.
    state_.update.pendingVersion.clear();
    state_.update.refuse(firmware_, "rolled_back", "no successful upload in its first wake");
    platform_.save(state_);
    phase_ = Phase::Rebooting;
    platform_.rollback();
    return {Phase::Rebooting, 0};
  }
  phase_ = Phase::Sleeping;
  platform_.save(state_);
  return {Phase::Sleeping, seconds * 1000};
}

Next Life::afterReply(const Bytes& reply) {
  tlv::UploadReply parsed;
  if (!tlv::decodeUploadReply(reply.data(), reply.size(), parsed).ok) return sleep(wakeSeconds());
  // Settings first: a wake interval changed now already decides this sleep.
  const tlv::Settings& s = parsed.settings;
  if (s.settingsVersion) state_.settings.settingsVersion = s.settingsVersion;
  if (s.frameSize) state_.settings.frameSize = s.frameSize;
  if (s.jpegQuality) state_.settings.jpegQuality = s.jpegQuality;
  if (s.wakeIntervalSeconds) state_.settings.wakeIntervalSeconds = s.wakeIntervalSeconds;
  if (s.pirEnabled) state_.settings.pirEnabled = s.pirEnabled;
  if (s.burstLength) state_.settings.burstLength = s.burstLength;
  state_.ack.clear();
  bool captureAgain = false;
  uint32_t sleepFor = wakeSeconds();
  for (const auto& command : parsed.commands) {
    state_.ack.push_back(command.id);
    if (!command.known) continue;
    if (command.kind() == tlv::CommandKind::CaptureNow) captureAgain = true;
    if (command.kind() == tlv::CommandKind::Sleep && command.seconds) sleepFor = *command.seconds;
  }
  if (captureAgain) {
    wakeReason_ = "command";
    phase_ = Phase::Capturing;
    return {Phase::Capturing, 0};
  }
  if (parsed.update) {
    const ota::Decision decision = ota::decide(*parsed.update, firmware_, state_.update, state_.signingKey.has_value(),
                                               platform_.batteryMv(), platform_.otaSlotBytes());
    if (decision == ota::Decision::Install) {
      offer_ = parsed.update;
      phase_ = Phase::Updating;
      return {Phase::Updating, 0};
    }
  }
  return sleep(sleepFor);
}

Next Life::update() {
  const tlv::FirmwareOffer offer = *offer_;
  offer_.reset();
  if (!platform_.otaBegin(offer.size)) return sleep(wakeSeconds());
  ota::ImageCheck check(offer, *state_.signingKey);
  bool written = true;
  const int status = platform_.download(state_.hubUrl, offer.url, state_.token, [&](const uint8_t* data, size_t length) {
    if (!check.update(data, length)) return false;
    written = platform_.otaWrite(data, length);
    return written;
  });
  ota::Verdict verdict = check.finish();
  if (verdict == ota::Verdict::Ok && (status != 200 || !written)) verdict = ota::Verdict::Interrupted;
  if (verdict == ota::Verdict::Ok && platform_.otaEnd(true)) {
    state_.update.pendingVersion = offer.version;
    platform_.save(state_);
    phase_ = Phase::Rebooting;
    return {Phase::Rebooting, 0};
  }
  platform_.otaEnd(false);
  // A cut download is tried again on a later wake; an image that is not what the hub signed, never.
  if (verdict != ota::Verdict::Interrupted && verdict != ota::Verdict::Ok)
    state_.update.refuse(offer.version, "refused", ota::describe(verdict));
  return sleep(wakeSeconds());
}

Next Life::step() {
  const uint64_t now = platform_.nowMs();
  switch (phase_) {
    case Phase::Unprovisioned:
      // BLE (Improv + Hearth) runs meanwhile; the Arduino layer restarts this once provisioned.
      return {Phase::Unprovisioned, 1000};
    case Phase::JoiningWifi:
      if (platform_.wifiConnected()) {
        phase_ = Phase::Capturing;
        return {Phase::Capturing, 0};
      }
      if (now - phaseStarted_ > kWifiTimeoutMs) {
        lastStatus_ = 1;
        // No network: try again after a while instead of draining the battery here.
        return sleep(std::min<uint32_t>(wakeSeconds() * 2, 3600));
      }
      return {Phase::JoiningWifi, 250};
    case Phase::Capturing: {
      if (platform_.batteryMv() < kLowBatteryMv) return sleep(std::max<uint32_t>(wakeSeconds() * 4, 1800));
      burst_.clear();
      const uint8_t count = state_.settings.burstLength.value_or(3);
      for (uint8_t i = 0; i < count; i++) {
        Bytes jpeg;
        if (platform_.capture(state_.settings, jpeg)) burst_.push_back(std::move(jpeg));
      }
      if (burst_.empty()) return sleep(wakeSeconds());
      state_.bursts += 1;
      capturedAt_ = now;
      attempts_ = 0;
      phase_ = Phase::Uploading;
      return {Phase::Uploading, 0};
    }
    case Phase::Uploading: {
      upload::Meta meta;
      // The same id on every retry of this burst: the hub stores it once.
      meta.burstId = "b" + std::to_string(state_.bursts) + "-" + std::to_string(capturedAt_);
      meta.capturedAtMs = capturedAt_;
      meta.intervalMs = 200;
      meta.wakeReason = wakeReason_;
      meta.batteryMv = platform_.batteryMv();
      meta.firmware = firmware_;
      meta.settingsVersion = state_.settings.settingsVersion.value_or(0);
      meta.ack = state_.ack;
      if (state_.update.report) {
        const auto& report = *state_.update.report;
        meta.update = upload::UpdateReport{report.version, report.result, report.reason};
      }
      Bytes reply;
      attempts_ += 1;
      lastStatus_ = platform_.upload(state_.hubUrl, state_.token, burst_, upload::metaJson(meta), reply);
      if (lastStatus_ == 200 || lastStatus_ == 201) {
        burst_.clear();
        state_.update.report.reset();
        if (confirming_) {
          platform_.markImageValid();
          confirming_ = false;
          state_.update.pendingVersion.clear();
        }
        return afterReply(reply);
      }
      if (lastStatus_ >= 400 && lastStatus_ < 500 && lastStatus_ != 429) {
        // Refused for good (revoked token, bad request): keep nothing, say so over BLE.
        burst_.clear();
        phase_ = Phase::Failed;
        return sleep(wakeSeconds());
      }
      if (attempts_ >= kUploadAttempts) return sleep(wakeSeconds());
      const uint32_t backoff = std::min<uint32_t>(1000u << (attempts_ - 1), 30000);
      return {Phase::Uploading, backoff};
    }
    case Phase::Updating:
      return update();
    case Phase::Rebooting:
      return {Phase::Rebooting, 0};
    case Phase::Sleeping:
    case Phase::Failed:
      return {Phase::Sleeping, wakeSeconds() * 1000};
  }
  return {Phase::Sleeping, wakeSeconds() * 1000};
}

}  // namespace device
}  // namespace hearth
