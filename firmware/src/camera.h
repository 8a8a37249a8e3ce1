// The OV2640 through esp32-camera: frames into PSRAM, trimmed at their end marker.
#pragma once
#include "hearth/bytes.h"
#include "hearth/tlv.h"

namespace camera {
bool begin(const hearth::tlv::Settings& settings);
/** One JPEG at these settings (applied first when they changed). */
bool capture(const hearth::tlv::Settings& settings, hearth::Bytes& jpeg);
/** The latest frame, for the MJPEG stream: handed back with `release`. */
bool grab(const uint8_t*& data, size_t& length);
void release();
}  // namespace camera
