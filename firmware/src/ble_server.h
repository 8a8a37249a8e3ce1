// Improv Wi-Fi and the Hearth camera service on NimBLE (docs/protocols.md), as thin as it can be: every
// read and write goes to the core's ble::Engine, which answers with the ATT error to send; what the engine
// queues goes out as notifications.
#pragma once
#include <string>

#include "hearth/ble_engine.h"

namespace ble_server {
/** Registers both services and advertises Improv (with its state) and Hearth. */
bool begin(hearth::ble::Engine& engine, const std::string& name);
/** Sends the engine's notifications; re-advertises when the Improv state changed. */
void poll();
}  // namespace ble_server
