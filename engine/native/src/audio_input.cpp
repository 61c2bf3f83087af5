#include "audio_input.h"

#include <string>

namespace wsa {

void read_pcm(const Napi::Value& value, const char* what, std::vector<float>& out) {
  const Napi::Env env = value.Env();
  if (!value.IsTypedArray()) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Float32Array or Int16Array of 16 kHz mono PCM");
  }
  const Napi::TypedArray array = value.As<Napi::TypedArray>();
  const size_t n = array.ElementLength();
  if (n == 0) throw Napi::RangeError::New(env, std::string(what) + " is empty: no samples to process");

  switch (array.TypedArrayType()) {
    case napi_float32_array: {
      const float* src = array.As<Napi::Float32Array>().Data();
      out.assign(src, src + n);
      return;
    }
    case napi_int16_array: {
      const int16_t* src = array.As<Napi::Int16Array>().Data();
      out.resize(n);
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(src[i]) / 32768.0f;
      return;
    }
    default:
      throw Napi::TypeError::New(env, std::string(what) + " must be a Float32Array or Int16Array of 16 kHz mono PCM");
  }
}

}  // namespace wsa
