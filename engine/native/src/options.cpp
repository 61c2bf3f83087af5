#include "options.h"

#include <cmath>

namespace wsa {

Options::Options(const Napi::Value& value, const char* what) : env_(value.Env()), present_(false), what_(what) {
  if (value.IsUndefined() || value.IsNull()) return;
  if (!value.IsObject() || value.IsArray()) throw Napi::TypeError::New(env_, what_ + " must be an object");
  object_ = value.As<Napi::Object>();
  present_ = true;
}

Napi::Value Options::get(const char* key) const { return present_ ? object_.Get(key) : env_.Undefined(); }

std::string Options::name(const char* key) const { return what_ + "." + key; }

bool Options::has(const char* key) const { return !get(key).IsUndefined(); }

bool Options::boolean(const char* key, bool fallback) const {
  const Napi::Value v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env_, name(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

int Options::integer(const char* key, int fallback, int lo, int hi) const {
  const Napi::Value v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env_, name(key) + " must be an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::floor(d) != d || d < lo || d > hi) {
    throw Napi::RangeError::New(env_, name(key) + " must be an integer from " + std::to_string(lo) + " to " +
                                          std::to_string(hi) + ", got " + v.ToString().Utf8Value());
  }
  return static_cast<int>(d);
}

float Options::number(const char* key, float fallback, float lo, float hi) const {
  const Napi::Value v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env_, name(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi)) {
    throw Napi::RangeError::New(env_, name(key) + " must be between " + std::to_string(lo) + " and " +
                                          std::to_string(hi) + ", got " + v.ToString().Utf8Value());
  }
  return static_cast<float>(d);
}

std::string Options::string(const char* key, const std::string& fallback) const {
  const Napi::Value v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw Napi::TypeError::New(env_, name(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace wsa
