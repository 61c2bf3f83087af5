#pragma once

#include <napi.h>

#include <string>

namespace wsa {

// Errors carry a stable `code` so callers can branch without parsing messages.
inline Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

}  // namespace wsa
