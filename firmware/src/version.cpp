// The version marker the hub reads from an uploaded image (docs/protocols.md, "Firmware updates").
#include "version.h"

extern "C" __attribute__((used)) const char kHearthVersionMarker[] = "HEARTH-FIRMWARE-VERSION=" HEARTH_FW_VERSION;
