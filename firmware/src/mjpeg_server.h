// `GET http://<camera>:81/stream`, the multipart stream the hub reads (docs/protocols.md, "ESP32
// CameraWebServer MJPEG"), only while the hub asked for it (start_stream) and until it auto-stops.
#pragma once

namespace mjpeg_server {
bool start();
void stop();
}  // namespace mjpeg_server
