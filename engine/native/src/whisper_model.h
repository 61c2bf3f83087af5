#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "model_registry.h"

namespace wsa {

class InferenceJob;

// One inference state over shared weights. Jobs hold it by shared_ptr, so free() or garbage collection of
// the JS object never pulls the state from under a transcription still running on the thread pool.
struct WhisperInstance {
  std::shared_ptr<SharedModel> model;
  whisper_state* state = nullptr;
  std::atomic<bool> abort_requested{false};

  WhisperInstance(std::shared_ptr<SharedModel> m, whisper_state* s) : model(std::move(m)), state(s) {}
  ~WhisperInstance() { whisper_free_state(state); }
};

// JS class `WhisperModel`: a whisper_state of its own over weights shared by path across the process.
class WhisperModel : public Napi::ObjectWrap<WhisperModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit WhisperModel(const Napi::CallbackInfo& info);

  // Called on the JS thread when a job settles.
  void job_finished() noexcept;

 private:
  Napi::Value Transcribe(const Napi::CallbackInfo& info);
  Napi::Value TranscribeSync(const Napi::CallbackInfo& info);
  Napi::Value DetectLanguage(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  void Free(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);

  // The instance, or a thrown FREED/BUSY error when no new job may start on it.
  const std::shared_ptr<WhisperInstance>& idle(Napi::Env env, const char* method) const;
  // Marks the instance busy and pins the JS object until job_finished(), then queues the job.
  Napi::Promise start(InferenceJob* job);
  const std::shared_ptr<WhisperInstance>& live(Napi::Env env, const char* method) const;

  std::shared_ptr<WhisperInstance> instance_;
  bool busy_ = false;
};

}  // namespace wsa
