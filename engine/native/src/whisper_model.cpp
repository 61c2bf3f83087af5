#include "whisper_model.h"

#include <string>
#include <vector>

#include "audio_input.h"
#include "inference_jobs.h"
#include "js_errors.h"
#include "log_capture.h"
#include "model_file_check.h"
#include "options.h"
#include "scope_guard.h"

namespace wsa {

Napi::Function WhisperModel::Define(Napi::Env env) {
  return DefineClass(env, "WhisperModel",
                     {
                         InstanceMethod<&WhisperModel::Transcribe>("transcribe"),
                         InstanceMethod<&WhisperModel::TranscribeSync>("transcribeSync"),
                         InstanceMethod<&WhisperModel::DetectLanguage>("detectLanguage"),
                         InstanceMethod<&WhisperModel::Abort>("abort"),
                         InstanceMethod<&WhisperModel::Free>("free"),
                         InstanceMethod<&WhisperModel::Info>("info"),
                     });
}

WhisperModel::WhisperModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WhisperModel>(info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "WhisperModel(path): path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const Options o(info[1], "options");
  ModelLoadOptions load;
  load.use_gpu = o.boolean("useGpu", true);
  load.flash_attn = o.boolean("flashAttn", false);
  load.gpu_device = o.integer("gpuDevice", 0, 0, 64);
  load.word_timestamps = o.boolean("wordTimestamps", false);
  if (load.word_timestamps && load.flash_attn) {
    throw Napi::TypeError::New(env, "options.wordTimestamps needs flashAttn off (whisper.cpp computes them without flash attention)");
  }

  std::shared_ptr<SharedModel> model;
  try {
    model = acquire_model(path, load);
  } catch (const ModelFileError& e) {
    throw make_error(env, error_code::MODEL_FILE, e.what());
  } catch (const std::exception& e) {
    throw make_error(env, error_code::MODEL_LOAD, e.what());
  }
  take_logged_errors();
  whisper_state* state = whisper_init_state(model->ctx);
  if (state == nullptr) {
    const std::string why = take_logged_errors();
    throw make_error(env, error_code::MODEL_LOAD, "failed to allocate a whisper state for " + path + (why.empty() ? "" : ": " + why));
  }
  instance_ = std::make_shared<WhisperInstance>(std::move(model), state);
}

const std::shared_ptr<WhisperInstance>& WhisperModel::live(Napi::Env env, const char* method) const {
  if (!instance_) throw make_error(env, error_code::FREED, std::string("WhisperModel.") + method + "() called after free()");
  return instance_;
}

const std::shared_ptr<WhisperInstance>& WhisperModel::idle(Napi::Env env, const char* method) const {
  const auto& instance = live(env, method);
  if (busy_) {
    throw make_error(env, error_code::BUSY, std::string("WhisperModel.") + method +
                                      "(): this instance is already running a job; wait for it or use another instance");
  }
  return instance;
}

Napi::Promise WhisperModel::start(InferenceJob* job) {
  // Until queued, the job is ours to delete; once queued, it deletes itself after settling its promise.
  std::unique_ptr<InferenceJob> owned(job);
  busy_ = true;
  ScopeGuard not_busy([this] { busy_ = false; });
  instance_->abort_requested = false;
  Ref();
  ScopeGuard unpin([this] { Unref(); });
  Napi::Promise promise = job->promise();
  job->Queue();
  owned.release()->queued();
  not_busy.dismiss();
  unpin.dismiss();
  return promise;
}

// Called when a job settles, also while the thread's JavaScript environment is torn down, when Unref may fail: the
// instance is free again either way, and nothing may throw out of a job's completion.
void WhisperModel::job_finished() noexcept {
  busy_ = false;
  try {
    Unref();
  } catch (const Napi::Error&) {
  }
}

Napi::Value WhisperModel::Transcribe(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const auto& instance = idle(env, "transcribe");
  std::vector<float> samples;
  read_pcm(info[0], "audio", samples);
  TranscribeOptions options = parse_transcribe_options(info[1], instance->model->ctx, samples.size());
  return start(make_transcription_job(env, this, instance, std::move(samples), std::move(options)));
}

// For a caller that is already off the main thread (a worker): runs on the calling thread and returns the result.
// `abortFlag`, an Int32Array over a SharedArrayBuffer, lets another thread stop it by storing a non-zero value.
Napi::Value WhisperModel::TranscribeSync(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const std::shared_ptr<WhisperInstance> instance = idle(env, "transcribeSync");
  std::vector<float> samples;
  read_pcm(info[0], "audio", samples);
  const TranscribeOptions options = parse_transcribe_options(info[1], instance->model->ctx, samples.size());
  AbortCheck abort;
  if (!info[2].IsUndefined()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        info[2].As<Napi::Int32Array>().ElementLength() < 1) {
      throw Napi::TypeError::New(env, "transcribeSync: abortFlag must be an Int32Array of at least one element");
    }
    abort.fn = [](void* flag) { return __atomic_load_n(static_cast<const int32_t*>(flag), __ATOMIC_RELAXED) != 0; };
    abort.data = info[2].As<Napi::Int32Array>().Data();
  }
  pad_short_input(samples);
  TranscriptionOutput out;
  Failure failure;
  {
    busy_ = true;
    ScopeGuard not_busy([this] { busy_ = false; });
    if (!run_transcription(instance->model->ctx, instance->state, samples, options, abort, out, failure)) {
      throw make_error(env, failure.code, failure.message);
    }
  }
  return transcription_to_js(env, out);
}

Napi::Value WhisperModel::DetectLanguage(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const auto& instance = idle(env, "detectLanguage");
  std::vector<float> samples;
  read_pcm(info[0], "audio", samples);
  LanguageOptions options = parse_language_options(info[1], instance->model->ctx, samples.size());
  return start(make_language_job(env, this, instance, std::move(samples), options));
}

Napi::Value WhisperModel::Abort(const Napi::CallbackInfo& info) {
  if (instance_ && busy_) instance_->abort_requested = true;
  return Napi::Boolean::New(info.Env(), busy_);
}

void WhisperModel::Free(const Napi::CallbackInfo&) {
  if (!instance_) return;
  // A running job keeps its own reference; it stops at the next abort check and the state goes with it.
  if (busy_) instance_->abort_requested = true;
  instance_.reset();
}

Napi::Value WhisperModel::Info(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const auto& instance = live(env, "info");
  whisper_context* ctx = instance->model->ctx;
  Napi::Object out = Napi::Object::New(env);
  out.Set("path", instance->model->path);
  out.Set("type", whisper_model_type_readable(ctx));
  out.Set("multilingual", Napi::Boolean::New(env, whisper_is_multilingual(ctx) != 0));
  out.Set("nVocab", whisper_model_n_vocab(ctx));
  out.Set("nAudioCtx", whisper_model_n_audio_ctx(ctx));
  out.Set("nAudioState", whisper_model_n_audio_state(ctx));
  out.Set("nAudioLayer", whisper_model_n_audio_layer(ctx));
  out.Set("nTextCtx", whisper_model_n_text_ctx(ctx));
  out.Set("nTextLayer", whisper_model_n_text_layer(ctx));
  out.Set("nMels", whisper_model_n_mels(ctx));
  out.Set("ftype", whisper_model_ftype(ctx));
  return out;
}

}  // namespace wsa
