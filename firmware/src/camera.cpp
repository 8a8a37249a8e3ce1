#include "camera.h"

#include <esp_camera.h>

#include "board.h"
#include "hearth/upload.h"

namespace camera {
namespace {
// Index order of the compact encoding's frame sizes (tlv::kFrameSizes).
constexpr framesize_t kSizes[] = {FRAMESIZE_QVGA, FRAMESIZE_VGA,  FRAMESIZE_SVGA, FRAMESIZE_XGA,
                                  FRAMESIZE_HD,   FRAMESIZE_SXGA, FRAMESIZE_UXGA};
camera_fb_t* held = nullptr;
int appliedSize = -1;
int appliedQuality = -1;

void apply(const hearth::tlv::Settings& settings) {
  sensor_t* sensor = esp_camera_sensor_get();
  const int size = settings.frameSize.value_or(1);
  const int quality = settings.jpegQuality.value_or(12);
  if (size != appliedSize && size < 7) sensor->set_framesize(sensor, kSizes[size]);
  if (quality != appliedQuality) sensor->set_quality(sensor, quality);
  appliedSize = size;
  appliedQuality = quality;
}
}  // namespace

bool begin(const hearth::tlv::Settings& settings) {
  camera_config_t config = {};
  config.pin_pwdn = board::kPwdn;
  config.pin_reset = board::kReset;
  config.pin_xclk = board::kXclk;
  config.pin_sccb_sda = board::kSiod;
  config.pin_sccb_scl = board::kSioc;
  config.pin_d7 = board::kY9;
  config.pin_d6 = board::kY8;
  config.pin_d5 = board::kY7;
  config.pin_d4 = board::kY6;
  config.pin_d3 = board::kY5;
  config.pin_d2 = board::kY4;
  config.pin_d1 = board::kY3;
  config.pin_d0 = board::kY2;
  config.pin_vsync = board::kVsync;
  config.pin_href = board::kHref;
  config.pin_pclk = board::kPclk;
  config.xclk_freq_hz = 20000000;
  config.ledc_timer = LEDC_TIMER_0;
  config.ledc_channel = LEDC_CHANNEL_0;
  config.pixel_format = PIXFORMAT_JPEG;
  // Allocated at the largest size once, so a later change of size needs no new buffers.
  config.frame_size = FRAMESIZE_UXGA;
  config.jpeg_quality = settings.jpegQuality.value_or(12);
  config.fb_count = 2;
  config.fb_location = CAMERA_FB_IN_PSRAM;
  config.grab_mode = CAMERA_GRAB_LATEST;
  if (esp_camera_init(&config) != ESP_OK) return false;
  apply(settings);
  return true;
}

bool capture(const hearth::tlv::Settings& settings, hearth::Bytes& jpeg) {
  apply(settings);
  camera_fb_t* frame = esp_camera_fb_get();
  if (!frame) return false;
  const size_t length = hearth::upload::jpegLength(frame->buf, frame->len);
  if (length) jpeg.assign(frame->buf, frame->buf + length);
  esp_camera_fb_return(frame);
  return length > 0;
}

bool grab(const uint8_t*& data, size_t& length) {
  release();
  held = esp_camera_fb_get();
  if (!held) return false;
  data = held->buf;
  length = hearth::upload::jpegLength(held->buf, held->len);
  return length > 0;
}

void release() {
  if (held) esp_camera_fb_return(held);
  held = nullptr;
}
}  // namespace camera
