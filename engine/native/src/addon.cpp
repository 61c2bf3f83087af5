#include <napi.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "transcription.h"
#include "vad_contexts.h"
#include "log_capture.h"
#include "model_registry.h"
#include "vad_model.h"
#include "whisper_model.h"

namespace wsa {
namespace {

Napi::Value Version(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), whisper_version()); }

Napi::Value SystemInfo(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), whisper_print_system_info());
}

Napi::Value Languages(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const int n = whisper_lang_max_id() + 1;
  Napi::Array out = Napi::Array::New(env, n);
  for (int id = 0; id < n; ++id) {
    Napi::Object lang = Napi::Object::New(env);
    lang.Set("code", whisper_lang_str(id));
    lang.Set("name", whisper_lang_str_full(id));
    out.Set(static_cast<uint32_t>(id), lang);
  }
  return out;
}

Napi::Value AutoAudioCtx(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "autoAudioCtx(nSamples, modelAudioCtx) takes two numbers");
  }
  const double n = info[0].As<Napi::Number>().DoubleValue();
  const int model_ctx = info[1].As<Napi::Number>().Int32Value();
  if (!(n >= 0) || model_ctx < 1) throw Napi::RangeError::New(env, "autoAudioCtx: nSamples must be >= 0 and modelAudioCtx >= 1");
  return Napi::Number::New(env, auto_audio_ctx(static_cast<size_t>(n), model_ctx));
}

Napi::Value LoadedModelCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), loaded_model_count()); }

Napi::Value VadContextCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), VadContextPool::loaded_count()); }

// Hands memory freed by finished sessions back to the system. glibc keeps freed heap memory (in every thread's arena)
// for reuse, so after a burst of sessions a process would stay at its peak size for good.
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// The C heap as glibc's allocator sees it, summed over every thread's arena: bytes handed out, bytes free inside the
// arenas (kept for reuse, or stranded by fragmentation), and large blocks mapped on their own. Lets a soak tell native
// growth apart from the JavaScript heap and ArrayBuffers.
Napi::Value MallocStats(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
#ifdef __GLIBC__
  const struct mallinfo2 m = mallinfo2();
  out.Set("inUseBytes", static_cast<double>(m.uordblks));
  out.Set("freeBytes", static_cast<double>(m.fordblks));
  out.Set("mmappedBytes", static_cast<double>(m.hblkhd));
#endif
  return out;
}

Napi::Value DefaultThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), default_threads()); }

}  // namespace
}  // namespace wsa

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  using namespace wsa;
  install_log_capture();
  exports.Set("WhisperModel", WhisperModel::Define(env));
  exports.Set("VadModel", VadModel::Define(env));
  exports.Set("version", Napi::Function::New<Version>(env, "version"));
  exports.Set("systemInfo", Napi::Function::New<SystemInfo>(env, "systemInfo"));
  exports.Set("languages", Napi::Function::New<Languages>(env, "languages"));
  exports.Set("autoAudioCtx", Napi::Function::New<AutoAudioCtx>(env, "autoAudioCtx"));
  exports.Set("loadedModelCount", Napi::Function::New<LoadedModelCount>(env, "loadedModelCount"));
  exports.Set("vadContextCount", Napi::Function::New<VadContextCount>(env, "vadContextCount"));
  exports.Set("trimMemory", Napi::Function::New<TrimMemory>(env, "trimMemory"));
  exports.Set("mallocStats", Napi::Function::New<MallocStats>(env, "mallocStats"));
  exports.Set("defaultThreads", Napi::Function::New<DefaultThreads>(env, "defaultThreads"));
  return exports;
}

NODE_API_MODULE(whisper, InitAddon)
