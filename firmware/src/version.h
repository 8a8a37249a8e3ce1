#pragma once
#ifndef HEARTH_FW_VERSION
#error "HEARTH_FW_VERSION comes from platformio.ini build_flags"
#endif
extern "C" const char kHearthVersionMarker[];
