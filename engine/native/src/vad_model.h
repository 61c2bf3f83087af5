#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "vad_contexts.h"

namespace wsa {

class VadJob;

// JS class `VadModel`: Silero VAD through whisper.cpp, over contexts shared per model file (VadContextPool).
// push() is the streaming path: it runs on the calling thread and keeps this stream's LSTM state and any samples
// short of a whole window for the next call. detect() and segments() look at a whole buffer on the thread pool.
class VadModel : public Napi::ObjectWrap<VadModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit VadModel(const Napi::CallbackInfo& info);

  void job_finished() noexcept;

 private:
  Napi::Value Push(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  void Reset(const Napi::CallbackInfo& info);
  Napi::Value Detect(const Napi::CallbackInfo& info);
  Napi::Value Segments(const Napi::CallbackInfo& info);
  void Free(const Napi::CallbackInfo& info);
  Napi::Value WindowSize(const Napi::CallbackInfo& info);

  void check_usable(Napi::Env env, const char* method) const;
  // Marks the model busy, pins the JS object until job_finished() (which the job calls when destroyed), and queues
  // `job`, taking ownership of it.
  void start_job(VadJob* job);
  Napi::Float32Array run_windows(Napi::Env env, size_t n_samples);

  std::shared_ptr<VadContextPool> pool_;
  std::vector<float> state_;
  std::vector<float> pending_;
  bool busy_ = false;
};

}  // namespace wsa
