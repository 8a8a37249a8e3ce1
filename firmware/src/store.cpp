#include "store.h"

#include <Preferences.h>

namespace store {
namespace {
constexpr const char* kNamespace = "hearth";

std::string text(Preferences& p, const char* key) { return p.getString(key, "").c_str(); }

hearth::Bytes bytes(Preferences& p, const char* key) {
  hearth::Bytes out(p.getBytesLength(key));
  if (!out.empty()) p.getBytes(key, out.data(), out.size());
  return out;
}

/** `a,b,c` ⇄ list: versions are dotted numbers, never commas. */
std::vector<std::string> split(const std::string& joined) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < joined.size()) {
    size_t comma = joined.find(',', at);
    if (comma == std::string::npos) comma = joined.size();
    if (comma > at) out.push_back(joined.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}
}  // namespace

hearth::device::Persisted load() {
  Preferences p;
  hearth::device::Persisted state;
  if (!p.begin(kNamespace, true)) return state;
  state.ssid = text(p, "ssid");
  state.password = text(p, "pass");
  state.hubUrl = text(p, "hub");
  state.hubAddressUrl = text(p, "hubaddr");
  state.token = text(p, "token");
  const hearth::Bytes key = bytes(p, "sigkey");
  if (key.size() == 32) {
    hearth::ota::PublicKey k{};
    std::copy(key.begin(), key.end(), k.begin());
    state.signingKey = k;
  }
  // Settings as the compact frame the hub sent them in: one decoder for both.
  const hearth::Bytes settings = bytes(p, "settings");
  if (!settings.empty()) hearth::tlv::decodeSettings(settings.data(), settings.size(), state.settings);
  const hearth::Bytes ack = bytes(p, "ack");
  for (size_t i = 0; i + 4 <= ack.size(); i += 4) state.ack.push_back(hearth::readU32(ack.data() + i));
  state.bursts = p.getUInt("bursts", 0);
  state.update.pendingVersion = text(p, "otapend");
  state.update.refused = split(text(p, "otarefused"));
  if (p.isKey("otaver"))
    state.update.report = hearth::ota::Memory::Report{text(p, "otaver"), text(p, "otares"), text(p, "otawhy")};
  state.kept = split(text(p, "kept"));
  p.end();
  return state;
}

void save(const hearth::device::Persisted& state) {
  Preferences p;
  if (!p.begin(kNamespace, false)) return;
  p.putString("ssid", state.ssid.c_str());
  p.putString("pass", state.password.c_str());
  p.putString("hub", state.hubUrl.c_str());
  p.putString("hubaddr", state.hubAddressUrl.c_str());
  p.putString("token", state.token.c_str());
  if (state.signingKey) p.putBytes("sigkey", state.signingKey->data(), 32);
  else p.remove("sigkey");
  hearth::Bytes settings;
  if (hearth::tlv::encodeSettings(state.settings, settings).ok) p.putBytes("settings", settings.data(), settings.size());
  hearth::Bytes ack;
  for (uint32_t id : state.ack) hearth::putU32(ack, id);
  p.putBytes("ack", ack.data(), ack.size());
  p.putUInt("bursts", state.bursts);
  p.putString("otapend", state.update.pendingVersion.c_str());
  std::string refused, kept;
  for (const auto& v : state.update.refused) refused += (refused.empty() ? "" : ",") + v;
  for (const auto& id : state.kept) kept += (kept.empty() ? "" : ",") + id;
  p.putString("otarefused", refused.c_str());
  p.putString("kept", kept.c_str());
  if (state.update.report) {
    p.putString("otaver", state.update.report->version.c_str());
    p.putString("otares", state.update.report->result.c_str());
    p.putString("otawhy", state.update.report->reason.c_str());
  } else {
    p.remove("otaver");
  }
  p.end();
}

void erase() {
  Preferences p;
  if (p.begin(kNamespace, false)) {
    p.clear();
    p.end();
  }
}
}  // namespace store
