// The red LED's codes (README.md, "LED codes"), driven from loop().
#pragma once
#include <cstdint>

namespace led {
enum class Pattern { Off, On, WaitingForSetup, Authorized, JoiningWifi, Updating, Identify, Error, LowBattery };
void begin();
void show(Pattern pattern);
void tick(uint32_t nowMs);
/** Plays a pattern to its end (before deep sleep), blocking. */
void playOnce(Pattern pattern);
}  // namespace led
