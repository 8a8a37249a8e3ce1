#include "mjpeg_server.h"

#include <esp_http_server.h>
#include <esp_timer.h>

#include "camera.h"
#include "hearth/mjpeg.h"

namespace mjpeg_server {
namespace {
httpd_handle_t server = nullptr;
volatile bool streaming = false;

esp_err_t stream(httpd_req_t* request) {
  const std::string type = hearth::mjpeg::contentType();
  httpd_resp_set_type(request, type.c_str());
  httpd_resp_set_hdr(request, "Access-Control-Allow-Origin", "*");
  esp_err_t result = ESP_OK;
  while (streaming && result == ESP_OK) {
    const uint8_t* jpeg = nullptr;
    size_t length = 0;
    if (!camera::grab(jpeg, length)) continue;
    const int64_t us = esp_timer_get_time();
    const std::string head = hearth::mjpeg::partHeader(length, static_cast<uint64_t>(us));
    result = httpd_resp_send_chunk(request, head.data(), head.size());
    if (result == ESP_OK) result = httpd_resp_send_chunk(request, reinterpret_cast<const char*>(jpeg), length);
    camera::release();
  }
  return result;
}
}  // namespace

bool start() {
  if (server) return true;
  httpd_config_t config = HTTPD_DEFAULT_CONFIG();
  config.server_port = 81;
  config.ctrl_port = 32769;
  if (httpd_start(&server, &config) != ESP_OK) return false;
  static const httpd_uri_t route = {"/stream", HTTP_GET, stream, nullptr};
  httpd_register_uri_handler(server, &route);
  streaming = true;
  return true;
}

void stop() {
  streaming = false;
  if (server) httpd_stop(server);
  server = nullptr;
}
}  // namespace mjpeg_server
