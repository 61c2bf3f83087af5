#pragma once

#include <napi.h>

#include <string>

namespace wsa {

// Typed readers for an optional JS options object. Each returns `fallback` when the key is absent or
// undefined and throws a TypeError/RangeError naming the option otherwise.
class Options {
 public:
  Options(const Napi::Value& value, const char* what);

  bool has(const char* key) const;
  bool boolean(const char* key, bool fallback) const;
  int integer(const char* key, int fallback, int lo, int hi) const;
  float number(const char* key, float fallback, float lo, float hi) const;
  std::string string(const char* key, const std::string& fallback) const;

 private:
  Napi::Value get(const char* key) const;
  std::string name(const char* key) const;

  Napi::Env env_;
  Napi::Object object_;
  bool present_;
  std::string what_;
};

}  // namespace wsa
