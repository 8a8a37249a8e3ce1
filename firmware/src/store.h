// What survives deep sleep and power loss, in NVS (the `hearth` namespace).
#pragma once
#include "hearth/device.h"

namespace store {
hearth::device::Persisted load();
void save(const hearth::device::Persisted& state);
/** Factory reset: Wi-Fi, enrolment, settings, update memory. Kept bursts are erased by the spool. */
void erase();
}  // namespace store
