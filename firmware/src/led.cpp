#include "led.h"

#include <Arduino.h>

#include "board.h"

namespace led {
namespace {
Pattern current = Pattern::Off;
uint32_t startedAt = 0;

void write(bool on) { digitalWrite(board::kLed, on ? LOW : HIGH); }

/** Whether the LED is lit `t` ms into the pattern. */
bool lit(Pattern pattern, uint32_t t) {
  switch (pattern) {
    case Pattern::Off: return false;
    case Pattern::On: return true;
    case Pattern::WaitingForSetup: return t % 2000 < 1000;           // slow blink
    case Pattern::Authorized: return t % 400 < 200;                  // fast blink: button pressed, send Wi-Fi
    case Pattern::JoiningWifi: return t % 1000 < 100;                // short flash each second
    case Pattern::Updating: return t % 1000 < 100 || (t % 1000 >= 200 && t % 1000 < 300);  // double flash
    case Pattern::Identify: return t < 2000 && t % 200 < 100;        // ten quick flashes
    case Pattern::Error: return t < 3000 && t % 1000 < 600;          // three long blinks
    case Pattern::LowBattery: return t < 1500;                       // one long blink
  }
  return false;
}
}  // namespace

void begin() {
  pinMode(board::kLed, OUTPUT);
  write(false);
}

void show(Pattern pattern) {
  if (pattern == current) return;
  current = pattern;
  startedAt = millis();
}

void tick(uint32_t nowMs) { write(lit(current, nowMs - startedAt)); }

void playOnce(Pattern pattern) {
  const uint32_t start = millis();
  for (uint32_t t = 0; t < 3000; t = millis() - start) {
    write(lit(pattern, t));
    delay(20);
  }
  write(false);
}
}  // namespace led
