// AI-Thinker ESP32-CAM wiring (README.md, "Wiring"). Camera pins are the board's; the rest are the
// free GPIOs Hearth uses: a PIR on 13 (wakes the camera), a button on 15 (to ground), the battery
// through a 100k/100k divider on 14 (ADC2: read before Wi-Fi starts), the red LED on 33 (active low).
#pragma once
#include <driver/gpio.h>

namespace board {
constexpr int kPwdn = 32, kReset = -1, kXclk = 0, kSiod = 26, kSioc = 27;
constexpr int kY9 = 35, kY8 = 34, kY7 = 39, kY6 = 36, kY5 = 21, kY4 = 19, kY3 = 18, kY2 = 5;
constexpr int kVsync = 25, kHref = 23, kPclk = 22;

constexpr gpio_num_t kPir = GPIO_NUM_13;
constexpr gpio_num_t kButton = GPIO_NUM_15;
constexpr int kBattery = 14;
constexpr int kLed = 33;
constexpr float kBatteryDivider = 2.0f;
}  // namespace board
