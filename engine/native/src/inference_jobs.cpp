#include "inference_jobs.h"

#include "js_errors.h"

namespace wsa {
namespace {

class TranscribeJob : public InferenceJob {
 public:
  TranscribeJob(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance, std::vector<float> samples,
                TranscribeOptions options)
      : InferenceJob(env, owner, std::move(instance), std::move(samples)), options_(std::move(options)) {}

 protected:
  void Execute() override {
    Failure failure;
    if (!run_transcription(ctx(), state(), samples_, options_, abort_check(), out_, failure)) fail(failure);
  }

  Napi::Value result(Napi::Env env) override { return transcription_to_js(env, out_); }

 private:
  TranscribeOptions options_;
  TranscriptionOutput out_;
};

class LanguageJob : public InferenceJob {
 public:
  LanguageJob(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance, std::vector<float> samples,
              LanguageOptions options)
      : InferenceJob(env, owner, std::move(instance), std::move(samples)), options_(options) {}

 protected:
  void Execute() override {
    Failure failure;
    if (!run_language_detection(ctx(), state(), samples_, options_, abort_check(), out_, failure)) fail(failure);
  }

  Napi::Value result(Napi::Env env) override { return language_to_js(env, out_); }

 private:
  LanguageOptions options_;
  LanguageOutput out_;
};

}  // namespace

InferenceJob::InferenceJob(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance, std::vector<float> samples)
    : Napi::AsyncWorker(env, "whisper.inference"),
      deferred_(Napi::Promise::Deferred::New(env)),
      owner_(owner),
      instance_(std::move(instance)),
      samples_(std::move(samples)) {
  pad_short_input(samples_);
}

AbortCheck InferenceJob::abort_check() const {
  return {[](void* flag) { return static_cast<std::atomic<bool>*>(flag)->load(); }, &instance_->abort_requested};
}

void InferenceJob::fail(const Failure& failure) {
  code_ = failure.code;
  SetError(failure.message);
}

InferenceJob::~InferenceJob() {
  if (queued_) owner_->job_finished();
}

// Napi::Error here means the thread's JavaScript environment is being torn down (a worker terminated mid-job):
// nobody is left to settle the promise for, and letting the exception escape would abort the whole process.
void InferenceJob::OnOK() {
  try {
    deferred_.Resolve(result(Env()));
  } catch (const Napi::Error&) {
  }
}

void InferenceJob::OnError(const Napi::Error& e) {
  try {
    deferred_.Reject(make_error(Env(), code_, e.Message()).Value());
  } catch (const Napi::Error&) {
  }
}

InferenceJob* make_transcription_job(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                     std::vector<float> samples, TranscribeOptions options) {
  return new TranscribeJob(env, owner, std::move(instance), std::move(samples), std::move(options));
}

InferenceJob* make_language_job(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                std::vector<float> samples, LanguageOptions options) {
  return new LanguageJob(env, owner, std::move(instance), std::move(samples), options);
}

}  // namespace wsa
