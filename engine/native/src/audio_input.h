#pragma once

#include <napi.h>

#include <vector>

namespace wsa {

// Copies a Float32Array (-1..1) or Int16Array of 16 kHz mono PCM into `out` (resized to fit).
// Throws a JS TypeError for any other value and a RangeError for empty audio. Copying keeps the
// samples valid while a worker thread reads them, even if the caller transfers or reuses its buffer.
void read_pcm(const Napi::Value& value, const char* what, std::vector<float>& out);

}  // namespace wsa
