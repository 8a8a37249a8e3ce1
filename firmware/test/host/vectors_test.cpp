// Every entry of docs/protocol-vectors.json, which the hub's tests read too: valid ones decode to
// `decoded` and encode back to `hex` (canonical ones); invalid ones are refused.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "hearth/chunks.h"
#include "hearth/improv.h"
#include "hearth/tlv.h"

using nlohmann::json;
using namespace hearth;

namespace {

json vectors() {
  std::ifstream in(HEARTH_VECTORS);
  REQUIRE_MESSAGE(in.good(), "cannot read " HEARTH_VECTORS);
  return json::parse(in);
}

Bytes fromHex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string toHex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

/** Same rule as the hub's tests: values with skipped parts do not round-trip byte for byte. */
bool canonical(const json& v) {
  const std::string name = v["name"];
  return name.find("unknown") == std::string::npos && name.find("skipped") == std::string::npos;
}

int frameSizeIndex(const std::string& name) {
  for (int i = 0; i < tlv::kFrameSizeCount; i++)
    if (name == tlv::kFrameSizes[i]) return i;
  return -1;
}

json settingsJson(const tlv::Settings& s) {
  json j = json::object();
  if (s.settingsVersion) j["settingsVersion"] = *s.settingsVersion;
  if (s.frameSize) j["frameSize"] = tlv::kFrameSizes[*s.frameSize];
  if (s.jpegQuality) j["jpegQuality"] = *s.jpegQuality;
  if (s.wakeIntervalSeconds) j["wakeIntervalSeconds"] = *s.wakeIntervalSeconds;
  if (s.pirEnabled) j["pirEnabled"] = *s.pirEnabled;
  if (s.burstLength) j["burstLength"] = *s.burstLength;
  return j;
}

tlv::Settings settingsFrom(const json& j) {
  tlv::Settings s;
  if (j.contains("settingsVersion")) s.settingsVersion = j["settingsVersion"].get<uint32_t>();
  if (j.contains("frameSize")) s.frameSize = static_cast<uint8_t>(frameSizeIndex(j["frameSize"]));
  if (j.contains("jpegQuality")) s.jpegQuality = j["jpegQuality"].get<uint8_t>();
  if (j.contains("wakeIntervalSeconds")) s.wakeIntervalSeconds = j["wakeIntervalSeconds"].get<uint32_t>();
  if (j.contains("pirEnabled")) s.pirEnabled = j["pirEnabled"].get<bool>();
  if (j.contains("burstLength")) s.burstLength = j["burstLength"].get<uint8_t>();
  return s;
}

const char* kCommandNames[] = {"", "capture_now", "start_stream", "stop_stream", "sleep", "reboot", "factory_reset"};

json commandsJson(const std::vector<tlv::Command>& commands) {
  json list = json::array();
  for (const auto& c : commands) {
    json j{{"id", c.id}};
    if (!c.known) {
      j["kind"] = nullptr;
      j["code"] = c.code;
    } else {
      j["kind"] = kCommandNames[c.code];
      if (c.seconds) j["seconds"] = *c.seconds;
    }
    list.push_back(j);
  }
  return list;
}

std::vector<tlv::Command> commandsFrom(const json& list) {
  std::vector<tlv::Command> out;
  for (const auto& j : list) {
    tlv::Command c;
    c.id = j["id"].get<uint32_t>();
    for (uint8_t code = 1; code <= 6; code++)
      if (!j["kind"].is_null() && j["kind"] == kCommandNames[code]) c.code = code;
    c.known = c.code != 0;
    if (j.contains("seconds")) c.seconds = j["seconds"].get<uint32_t>();
    out.push_back(c);
  }
  return out;
}

json enrolmentJson(const tlv::Enrolment& e) {
  json j{{"hubUrl", e.hubUrl}, {"deviceToken", e.deviceToken}};
  if (e.hubAddressUrl) j["hubAddressUrl"] = *e.hubAddressUrl;
  if (e.signingKey) j["signingKey"] = toHex(Bytes(e.signingKey->begin(), e.signingKey->end()));
  return j;
}

tlv::Enrolment enrolmentFrom(const json& j) {
  tlv::Enrolment e;
  e.hubUrl = j["hubUrl"];
  e.deviceToken = j["deviceToken"];
  if (j.contains("hubAddressUrl")) e.hubAddressUrl = j["hubAddressUrl"].get<std::string>();
  if (j.contains("signingKey")) {
    Bytes key = fromHex(j["signingKey"]);
    std::array<uint8_t, 32> k{};
    std::copy(key.begin(), key.end(), k.begin());
    e.signingKey = k;
  }
  return e;
}

json statusJson(const tlv::StatusReport& r) {
  json j = json::object();
  if (r.settingsVersion) j["settingsVersion"] = *r.settingsVersion;
  if (r.batteryMv) j["batteryMv"] = *r.batteryMv;
  if (r.rssi) j["rssi"] = *r.rssi;
  if (r.firmware) j["firmware"] = *r.firmware;
  if (r.wifiState) j["wifiState"] = tlv::kWifiStates[static_cast<int>(*r.wifiState)];
  if (r.lastUpload) j["lastUpload"] = *r.lastUpload;
  if (r.freeHeap) j["freeHeap"] = *r.freeHeap;
  if (r.lastCommandId) j["lastCommandId"] = *r.lastCommandId;
  if (r.enrolled) j["enrolled"] = *r.enrolled;
  return j;
}

tlv::StatusReport statusFrom(const json& j) {
  tlv::StatusReport r;
  if (j.contains("settingsVersion")) r.settingsVersion = j["settingsVersion"].get<uint32_t>();
  if (j.contains("batteryMv")) r.batteryMv = j["batteryMv"].get<uint16_t>();
  if (j.contains("rssi")) r.rssi = j["rssi"].get<int8_t>();
  if (j.contains("firmware")) r.firmware = j["firmware"].get<std::string>();
  if (j.contains("wifiState"))
    for (int i = 0; i < 4; i++)
      if (j["wifiState"] == tlv::kWifiStates[i]) r.wifiState = static_cast<tlv::WifiState>(i);
  if (j.contains("lastUpload")) r.lastUpload = j["lastUpload"].get<uint16_t>();
  if (j.contains("freeHeap")) r.freeHeap = j["freeHeap"].get<uint32_t>();
  if (j.contains("lastCommandId")) r.lastCommandId = j["lastCommandId"].get<uint32_t>();
  if (j.contains("enrolled")) r.enrolled = j["enrolled"].get<bool>();
  return r;
}

/** The value an entry describes: joined from its writes when it lists them. */
Status joinedHearth(const json& v, Bytes& value) {
  if (!v.contains("writes")) {
    value = fromHex(v["hex"]);
    return {};
  }
  chunks::Joiner joiner;
  const auto& writes = v["writes"];
  for (size_t i = 0; i < writes.size(); i++) {
    Bytes w = fromHex(writes[i]);
    auto outcome = joiner.push(w.data(), w.size());
    if (outcome == chunks::Joiner::Outcome::Complete) {
      CHECK_MESSAGE(i == writes.size() - 1, "complete only at the last chunk");
      value = joiner.value();
      return {};
    }
    if (outcome != chunks::Joiner::Outcome::Incomplete) return Status::fail("chunk refused");
  }
  return Status::fail("no last chunk");
}

}  // namespace

TEST_CASE("settings, commands and upload replies: every shared vector, both ways") {
  const json all = vectors();
  for (const auto& v : all["settings"]) {
    CAPTURE(v["name"].get<std::string>());
    Bytes bytes = fromHex(v["hex"]);
    tlv::Settings s;
    Status st = tlv::decodeSettings(bytes.data(), bytes.size(), s);
    CHECK(st.ok == v["valid"].get<bool>());
    if (!st.ok || !v["valid"]) continue;
    CHECK(settingsJson(s) == v["decoded"]);
    if (!canonical(v)) continue;
    Bytes encoded;
    REQUIRE(tlv::encodeSettings(settingsFrom(v["decoded"]), encoded).ok);
    CHECK(toHex(encoded) == v["hex"]);
  }
  for (const auto& v : all["commands"]) {
    CAPTURE(v["name"].get<std::string>());
    Bytes bytes = fromHex(v["hex"]);
    std::vector<tlv::Command> commands;
    Status st = tlv::decodeCommands(bytes.data(), bytes.size(), commands);
    CHECK(st.ok == v["valid"].get<bool>());
    if (!st.ok || !v["valid"]) continue;
    CHECK(commandsJson(commands) == v["decoded"]);
    if (!canonical(v)) continue;
    Bytes encoded;
    REQUIRE(tlv::encodeCommands(commandsFrom(v["decoded"]), encoded).ok);
    CHECK(toHex(encoded) == v["hex"]);
  }
  for (const auto& v : all["uploadReply"]) {
    CAPTURE(v["name"].get<std::string>());
    Bytes bytes = fromHex(v["hex"]);
    tlv::UploadReply reply;
    Status st = tlv::decodeUploadReply(bytes.data(), bytes.size(), reply);
    CHECK(st.ok == v["valid"].get<bool>());
    if (!st.ok || !v["valid"]) continue;
    json j{{"stored", reply.stored}, {"duplicates", reply.duplicates}, {"hubTime", reply.hubTime},
           {"commands", commandsJson(reply.commands)}};
    if (!reply.settings.empty()) j["settings"] = settingsJson(reply.settings);
    if (reply.update) {
      const auto& u = *reply.update;
      j["update"] = json{{"version", u.version}, {"size", u.size},
                         {"sha256", toHex(Bytes(u.sha256.begin(), u.sha256.end()))},
                         {"signature", toHex(Bytes(u.signature.begin(), u.signature.end()))}, {"url", u.url}};
    }
    CHECK(j == v["decoded"]);
    if (!canonical(v)) continue;
    tlv::UploadReply back{v["decoded"]["stored"], v["decoded"]["duplicates"], v["decoded"]["hubTime"], {}, {}, std::nullopt};
    if (v["decoded"].contains("settings")) back.settings = settingsFrom(v["decoded"]["settings"]);
    back.commands = commandsFrom(v["decoded"]["commands"]);
    if (v["decoded"].contains("update")) {
      const auto& u = v["decoded"]["update"];
      tlv::FirmwareOffer offer;
      offer.version = u["version"];
      offer.size = u["size"];
      Bytes sha = fromHex(u["sha256"]), signature = fromHex(u["signature"]);
      std::copy(sha.begin(), sha.end(), offer.sha256.begin());
      std::copy(signature.begin(), signature.end(), offer.signature.begin());
      offer.url = u["url"];
      back.update = offer;
    }
    Bytes encoded;
    REQUIRE(tlv::encodeUploadReply(back, encoded).ok);
    CHECK(toHex(encoded) == v["hex"]);
  }
}

TEST_CASE("improv: every shared vector, split writes joined, both ways") {
  const json all = vectors();
  for (const auto& v : all["improv"]) {
    CAPTURE(v["name"].get<std::string>());
    Bytes bytes = fromHex(v["hex"]);
    if (v.contains("writes")) {
      improv::Reassembler reassembler;
      const auto& writes = v["writes"];
      for (size_t i = 0; i < writes.size(); i++) {
        Bytes w = fromHex(writes[i]);
        auto outcome = reassembler.push(w.data(), w.size());
        CHECK((outcome == improv::Reassembler::Outcome::Complete) == (i == writes.size() - 1));
      }
      bytes = reassembler.frame();
    }
    const bool request = v["direction"] == "request";
    if (request) {
      improv::Request out;
      improv::Error error = improv::Error::None;
      Status st = improv::parseRequest(bytes.data(), bytes.size(), out, error);
      CHECK(st.ok == v["valid"].get<bool>());
      if (!v["valid"]) {
        const bool unknown = v["error"].get<std::string>().find("unknown RPC") != std::string::npos;
        CHECK(error == (unknown ? improv::Error::UnknownRpc : improv::Error::InvalidRpc));
        continue;
      }
      const char* names[] = {"", "wifi_settings", "identify", "device_info", "scan_networks"};
      json j{{"command", names[static_cast<int>(out.command)]}};
      if (out.command == improv::Rpc::WifiSettings) {
        j["ssid"] = out.ssid;
        j["password"] = out.password;
      }
      CHECK(j == v["decoded"]);
      CHECK(toHex(improv::encodeRequest(out)) == v["hex"]);
    } else {
      improv::Result out;
      Status st = improv::parseResult(bytes.data(), bytes.size(), out);
      CHECK(st.ok == v["valid"].get<bool>());
      if (!v["valid"]) continue;
      CHECK(json(out.strings) == v["decoded"]["strings"]);
      CHECK(toHex(improv::encodeResult(out)) == v["hex"]);
    }
  }
}

TEST_CASE("hearth service: enrolment, status and commands from their chunks, both ways") {
  const json all = vectors();
  for (const auto& v : all["hearth"]) {
    CAPTURE(v["name"].get<std::string>());
    Bytes value;
    Status st = joinedHearth(v, value);
    const std::string characteristic = v["characteristic"];
    json decoded;
    if (st.ok) {
      if (characteristic == "enrolment") {
        tlv::Enrolment e;
        st = tlv::decodeEnrolment(value.data(), value.size(), e);
        if (st.ok) decoded = enrolmentJson(e);
      } else if (characteristic == "status") {
        tlv::StatusReport r;
        st = tlv::decodeStatus(value.data(), value.size(), r);
        if (st.ok) decoded = statusJson(r);
      } else {
        std::vector<tlv::Command> commands;
        st = tlv::decodeCommands(value.data(), value.size(), commands);
        if (st.ok) decoded = commandsJson(commands);
      }
    }
    CHECK(st.ok == v["valid"].get<bool>());
    if (!st.ok || !v["valid"]) continue;
    CHECK(decoded == v["decoded"]);
    if (!canonical(v)) continue;
    Bytes encoded;
    if (characteristic == "enrolment") REQUIRE(tlv::encodeEnrolment(enrolmentFrom(v["decoded"]), encoded).ok);
    else if (characteristic == "status") REQUIRE(tlv::encodeStatus(statusFrom(v["decoded"]), encoded).ok);
    else REQUIRE(tlv::encodeCommands(commandsFrom(v["decoded"]), encoded).ok);
    CHECK(toHex(encoded) == v["hex"]);
    if (v.contains("writes")) {
      json writes = json::array();
      for (const auto& w : chunks::split(encoded)) writes.push_back(toHex(w));
      CHECK(writes == v["writes"]);
    }
  }
}
