#pragma once

#include <napi.h>

#include <string>

#include "error_codes.h"

namespace wsa {

// Errors carry a stable `code` so callers can branch without parsing messages; the codes are the constants of
// error_codes.h, generated from engine/error-codes.json.
inline Napi::Error make_error(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code.name));
  return error;
}

}  // namespace wsa
