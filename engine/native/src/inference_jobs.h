#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "transcription.h"
#include "whisper_model.h"

namespace wsa {

// A transcription or language detection on the libuv thread pool, settling a promise. Made first and queued by
// the caller once the instance is marked busy, so a job that could not be made leaves the instance free.
class InferenceJob : public Napi::AsyncWorker {
 public:
  Napi::Promise promise() const { return deferred_.Promise(); }
  // Once queued, the job gives the instance back (not busy, not pinned) when it is destroyed, after settling or not:
  // Napi::AsyncWorker destroys it after its completion whatever the outcome, a torn-down environment included.
  void queued() { queued_ = true; }
  ~InferenceJob() override;

 protected:
  InferenceJob(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance, std::vector<float> samples);

  void OnOK() override;
  void OnError(const Napi::Error& e) override;
  virtual Napi::Value result(Napi::Env env) = 0;

  whisper_context* ctx() const { return instance_->model->ctx; }
  whisper_state* state() const { return instance_->state; }
  AbortCheck abort_check() const;
  void fail(const Failure& failure);

  Napi::Promise::Deferred deferred_;
  WhisperModel* owner_;
  std::shared_ptr<WhisperInstance> instance_;
  std::vector<float> samples_;
  ErrorCode code_ = error_code::INFERENCE_FAILED;
  bool queued_ = false;
};

InferenceJob* make_transcription_job(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                     std::vector<float> samples, TranscribeOptions options);
InferenceJob* make_language_job(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                std::vector<float> samples, LanguageOptions options);

}  // namespace wsa
