#include "hearth/device.h"

#include <algorithm>

namespace hearth {
namespace device {

Life::Life(Platform& platform, Persisted state, std::string wakeReason, std::string firmware)
    : platform_(platform),
      state_(std::move(state)),
      wakeReason_(std::move(wakeReason)),
      firmware_(std::move(firmware)),
      phase_(state_.provisioned() ? Phase::Capturing : Phase::Unprovisioned) {
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
  // The radio joins while the camera takes the burst: a PIR wake catches the moment, not the Wi-Fi delay.
  if (phase_ == Phase::Capturing) platform_.wifiBegin(state_.ssid, state_.password);
}

uint32_t Life::wakeSeconds() const { return state_.settings.wakeIntervalSeconds.value_or(kDefaultWakeSeconds); }

Next Life::sleep(uint32_t seconds) {
  if (current_) {
    keep(*current_);
    current_.reset();
  }
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

void Life::keep(const KeptBurst& burst) {
  if (std::find(state_.kept.begin(), state_.kept.end(), burst.id) != state_.kept.end()) return;
  while (state_.kept.size() >= kMaxKeptBursts) {
    forget(state_.kept.front());
    dropped_++;
  }
  // The spool is full: older bursts make room for this one, the newest moment.
  while (!platform_.keepBurst(burst)) {
    if (state_.kept.empty()) return;
    forget(state_.kept.front());
    dropped_++;
  }
  state_.kept.push_back(burst.id);
}

void Life::forget(const std::string& id) {
  platform_.dropKeptBurst(id);
  state_.kept.erase(std::remove(state_.kept.begin(), state_.kept.end(), id), state_.kept.end());
}

void Life::applyReply(const Bytes& reply) {
  tlv::UploadReply parsed;
  if (!tlv::decodeUploadReply(reply.data(), reply.size(), parsed).ok) return;
  platform_.setClock(parsed.hubTime);
  // Settings first: a wake interval changed now already decides this sleep.
  const tlv::Settings& s = parsed.settings;
  if (s.settingsVersion) state_.settings.settingsVersion = s.settingsVersion;
  if (s.frameSize) state_.settings.frameSize = s.frameSize;
  if (s.jpegQuality) state_.settings.jpegQuality = s.jpegQuality;
  if (s.wakeIntervalSeconds) state_.settings.wakeIntervalSeconds = s.wakeIntervalSeconds;
  if (s.pirEnabled) state_.settings.pirEnabled = s.pirEnabled;
  if (s.burstLength) state_.settings.burstLength = s.burstLength;
  state_.ack.clear();
  for (const auto& command : parsed.commands) {
    state_.ack.push_back(command.id);
    if (!command.known) continue;
    switch (command.kind()) {
      case tlv::CommandKind::CaptureNow: captureAgain_ = true; break;
      case tlv::CommandKind::Sleep: sleepFor_ = command.seconds.value_or(0); break;
      case tlv::CommandKind::StartStream:
        streamRequested_ = true;
        streamUntil_ = platform_.nowMs() + uint64_t(command.seconds.value_or(60)) * 1000;
        break;
      case tlv::CommandKind::StopStream: streamRequested_ = false; break;
      default: break;  // reboot and factory reset are Bluetooth matters (the Arduino layer)
    }
  }
  if (parsed.update) offer_ = parsed.update;
}

uint32_t Life::lowBatterySleep() const { return std::max<uint32_t>(wakeSeconds() * 4, 1800); }

void Life::bleCommand(const tlv::Command& command) {
  // Acknowledged in the next upload as well, so the hub also hears it that way.
  state_.ack.push_back(command.id);
  if (!command.known) return;
  switch (command.kind()) {
    case tlv::CommandKind::CaptureNow: captureAgain_ = true; break;
    case tlv::CommandKind::Sleep: sleepFor_ = command.seconds.value_or(0); break;
    case tlv::CommandKind::StartStream:
      streamRequested_ = true;
      streamUntil_ = platform_.nowMs() + uint64_t(command.seconds.value_or(60)) * 1000;
      break;
    case tlv::CommandKind::StopStream:
      streamRequested_ = false;
      streamUntil_ = 0;  // ends a stream in progress at the next step
      break;
    default: break;
  }
}

void Life::bleSettings(const tlv::Settings& settings) { state_.settings = settings; }

Next Life::afterUploads() {
  if (lowBattery_) return sleep(lowBatterySleep());
  if (captureAgain_) {
    captureAgain_ = false;
    wakeReason_ = "command";
    phase_ = Phase::Capturing;
    return {Phase::Capturing, 0};
  }
  if (streamRequested_ && platform_.streamStart()) {
    streamRequested_ = false;
    phase_ = Phase::Streaming;
    return {Phase::Streaming, 0};
  }
  if (offer_) {
    const ota::Decision decision = ota::decide(*offer_, firmware_, state_.update, state_.signingKey.has_value(),
                                               platform_.batteryMv(), platform_.otaSlotBytes());
    if (decision == ota::Decision::Install) {
      phase_ = Phase::Updating;
      return {Phase::Updating, 0};
    }
    offer_.reset();
  }
  return sleep(sleepFor_ ? sleepFor_ : wakeSeconds());
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
    case Phase::Capturing: {
      // A brown-out means the radio's current peaks already reset the camera: no Wi-Fi this time.
      if (platform_.brownedOut()) return sleep(lowBatterySleep());
      lowBattery_ = platform_.batteryMv() < kLowBatteryMv;
      tlv::Settings settings = state_.settings;
      // Low battery: one QVGA photo is the report (its upload carries the voltage), not a burst.
      if (lowBattery_) settings.frameSize = 0;
      KeptBurst burst;
      const uint8_t count = lowBattery_ ? 1 : state_.settings.burstLength.value_or(3);
      for (uint8_t i = 0; i < count; i++) {
        Bytes jpeg;
        if (platform_.capture(settings, jpeg)) burst.photos.push_back(std::move(jpeg));
      }
      if (!burst.photos.empty()) {
        state_.bursts += 1;
        // The same id on every retry, in this wake or a later one: the hub stores it once.
        burst.id = "b" + std::to_string(state_.bursts) + "-" + std::to_string(now);
        burst.capturedAt = now;
        burst.wakeReason = wakeReason_;
        current_ = std::move(burst);
      } else if (state_.kept.empty()) {
        return sleep(wakeSeconds());
      }
      phase_ = Phase::JoiningWifi;
      return {Phase::JoiningWifi, 0};
    }
    case Phase::JoiningWifi:
      if (platform_.wifiConnected()) {
        phase_ = Phase::Uploading;
        attempts_ = 0;
        return {Phase::Uploading, 0};
      }
      if (now - phaseStarted_ > kWifiTimeoutMs) {
        lastStatus_ = 1;
        // No network: the burst goes to flash; try again after a while instead of draining the battery.
        return sleep(std::min<uint32_t>(wakeSeconds() * 2, 3600));
      }
      return {Phase::JoiningWifi, 250};
    case Phase::Uploading: {
      if (!sending_) {
        // Oldest first: what was kept from earlier wakes, then this wake's burst.
        while (!state_.kept.empty() && !sending_) {
          KeptBurst kept;
          if (platform_.loadKeptBurst(state_.kept.front(), kept)) {
            sending_ = std::move(kept);
            sendingKept_ = true;
          } else {
            forget(state_.kept.front());  // unreadable: nothing to send
          }
        }
        if (!sending_ && current_) {
          sending_ = current_;
          sendingKept_ = false;
        }
        if (!sending_) return afterUploads();
      }
      upload::Meta meta;
      meta.burstId = sending_->id;
      meta.capturedAtMs = sending_->capturedAt;
      meta.intervalMs = 200;
      meta.wakeReason = sending_->wakeReason;
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
      lastStatus_ = platform_.upload(state_.hubUrl, state_.token, sending_->photos, meta, reply);
      const bool refused = lastStatus_ >= 400 && lastStatus_ < 500 && lastStatus_ != 429;
      if (lastStatus_ == 200 || lastStatus_ == 201 || refused) {
        // Taken, or refused for good (revoked token, bad request): either way never sent again.
        if (sendingKept_) forget(sending_->id);
        else current_.reset();
        sending_.reset();
        attempts_ = 0;
      }
      if (refused) {
        phase_ = Phase::Failed;
        return sleep(wakeSeconds());
      }
      if (lastStatus_ == 200 || lastStatus_ == 201) {
        state_.update.report.reset();
        if (confirming_) {
          platform_.markImageValid();
          confirming_ = false;
          state_.update.pendingVersion.clear();
        }
        applyReply(reply);
        return {Phase::Uploading, 0};
      }
      if (attempts_ >= kUploadAttempts) return sleep(wakeSeconds());
      const uint32_t backoff = std::min<uint32_t>(1000u << (attempts_ - 1), 30000);
      return {Phase::Uploading, backoff};
    }
    case Phase::Streaming:
      if (now < streamUntil_) {
        // A stop_stream can only come over Bluetooth now (bleCommand); the auto-stop always comes.
        return {Phase::Streaming, static_cast<uint32_t>(std::min<uint64_t>(streamUntil_ - now, 1000))};
      }
      platform_.streamStop();
      return sleep(sleepFor_ ? sleepFor_ : wakeSeconds());
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
