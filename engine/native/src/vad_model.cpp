#include "vad_model.h"

#include <string>

#include "audio_input.h"
#include "js_errors.h"
#include "log_capture.h"
#include "model_file_check.h"
#include "options.h"
#include "scope_guard.h"
#include "whisper_internals.h"

namespace wsa {
namespace {

// Silero's window at 16 kHz; whisper.cpp zero-pads a partial last window, which is why push() holds the
// remainder back instead of handing it over.
constexpr size_t kWindow = 512;

// Appends PCM from a Float32Array or Int16Array to `out` without an intermediate buffer.
void append_pcm(const Napi::Value& value, std::vector<float>& out) {
  const Napi::Env env = value.Env();
  if (!value.IsTypedArray()) throw Napi::TypeError::New(env, "audio must be a Float32Array or Int16Array of 16 kHz mono PCM");
  const Napi::TypedArray array = value.As<Napi::TypedArray>();
  const size_t n = array.ElementLength();
  const size_t base = out.size();
  if (array.TypedArrayType() == napi_float32_array) {
    const float* src = array.As<Napi::Float32Array>().Data();
    out.insert(out.end(), src, src + n);
  } else if (array.TypedArrayType() == napi_int16_array) {
    const int16_t* src = array.As<Napi::Int16Array>().Data();
    out.resize(base + n);
    for (size_t i = 0; i < n; ++i) out[base + i] = static_cast<float>(src[i]) / 32768.0f;
  } else {
    throw Napi::TypeError::New(env, "audio must be a Float32Array or Int16Array of 16 kHz mono PCM");
  }
}

Napi::Float32Array copy_probs(Napi::Env env, whisper_vad_context* vctx, size_t n) {
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  const float* probs = whisper_vad_probs(vctx);
  for (size_t i = 0; i < n; ++i) out[i] = probs[i];
  return out;
}

struct VadSegment {
  double start_ms;
  double end_ms;
};

}  // namespace

class VadJob : public Napi::AsyncWorker {
 public:
  VadJob(Napi::Env env, VadModel* owner, std::shared_ptr<VadContextPool> pool, std::vector<float> samples, bool want_segments,
         whisper_vad_params params)
      : Napi::AsyncWorker(env, "whisper.vad"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        pool_(std::move(pool)),
        samples_(std::move(samples)),
        want_segments_(want_segments),
        params_(params) {}

  Napi::Promise promise() const { return deferred_.Promise(); }
  // See InferenceJob::queued: once queued, the job gives the model back when it is destroyed.
  void queued() { queued_ = true; }
  ~VadJob() override {
    if (queued_) owner_->job_finished();
  }

 protected:
  void Execute() override {
    std::unique_ptr<VadContextPool::Lease> lease;
    try {
      lease = pool_->acquire();
    } catch (const std::exception& e) {
      SetError(e.what());
      return;
    }
    whisper_vad_context* vctx = lease->vctx;
    take_logged_errors();
    if (!want_segments_) {
      if (!whisper_vad_detect_speech(vctx, samples_.data(), static_cast<int>(samples_.size()))) {
        SetError("VAD failed: " + take_logged_errors());
        return;
      }
      probs_.assign(whisper_vad_probs(vctx), whisper_vad_probs(vctx) + whisper_vad_n_probs(vctx));
      return;
    }
    whisper_vad_segments* segs =
        whisper_vad_segments_from_samples(vctx, params_, samples_.data(), static_cast<int>(samples_.size()));
    if (segs == nullptr) {
      SetError("VAD failed: " + take_logged_errors());
      return;
    }
    // whisper.cpp reports segment bounds in centiseconds.
    for (int i = 0; i < whisper_vad_segments_n_segments(segs); ++i) {
      segments_.push_back({whisper_vad_segments_get_segment_t0(segs, i) * 10.0, whisper_vad_segments_get_segment_t1(segs, i) * 10.0});
    }
    whisper_vad_free_segments(segs);
  }

  // See InferenceJob::OnOK: a Napi::Error means the environment is being torn down.
  void OnOK() override {
    try {
      settle();
    } catch (const Napi::Error&) {
    }
  }

  void OnError(const Napi::Error& e) override {
    try {
      deferred_.Reject(make_error(Env(), error_code::INFERENCE_FAILED, e.Message()).Value());
    } catch (const Napi::Error&) {
    }
  }

 private:
  void settle() {
    const Napi::Env env = Env();
    if (!want_segments_) {
      Napi::Float32Array out = Napi::Float32Array::New(env, probs_.size());
      for (size_t i = 0; i < probs_.size(); ++i) out[i] = probs_[i];
      deferred_.Resolve(out);
      return;
    }
    Napi::Array out = Napi::Array::New(env, segments_.size());
    for (size_t i = 0; i < segments_.size(); ++i) {
      Napi::Object s = Napi::Object::New(env);
      s.Set("startMs", segments_[i].start_ms);
      s.Set("endMs", segments_[i].end_ms);
      out.Set(static_cast<uint32_t>(i), s);
    }
    deferred_.Resolve(out);
  }

  Napi::Promise::Deferred deferred_;
  VadModel* owner_;
  std::shared_ptr<VadContextPool> pool_;
  std::vector<float> samples_;
  bool want_segments_;
  whisper_vad_params params_;
  std::vector<float> probs_;
  std::vector<VadSegment> segments_;
  bool queued_ = false;
};

Napi::Function VadModel::Define(Napi::Env env) {
  return DefineClass(env, "VadModel",
                     {
                         InstanceMethod<&VadModel::Push>("push"),
                         InstanceMethod<&VadModel::Flush>("flush"),
                         InstanceMethod<&VadModel::Reset>("reset"),
                         InstanceMethod<&VadModel::Detect>("detect"),
                         InstanceMethod<&VadModel::Segments>("segments"),
                         InstanceMethod<&VadModel::Free>("free"),
                         InstanceAccessor<&VadModel::WindowSize>("windowSize"),
                     });
}

VadModel::VadModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VadModel>(info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "VadModel(path): path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  Options(info[1], "options");
  try {
    pool_ = VadContextPool::for_path(path);
  } catch (const ModelFileError& e) {
    throw make_error(env, error_code::MODEL_FILE, e.what());
  } catch (const std::exception& e) {
    throw make_error(env, error_code::MODEL_LOAD, e.what());
  }
  // A zeroed LSTM state is what whisper_vad_reset_state gives a fresh context.
  state_.assign(pool_->state_size(), 0.0f);
  pending_.reserve(kWindow * 64);
}

void VadModel::check_usable(Napi::Env env, const char* method) const {
  if (!pool_) throw make_error(env, error_code::FREED, std::string("VadModel.") + method + "() called after free()");
  if (busy_) throw make_error(env, error_code::BUSY, std::string("VadModel.") + method + "(): a detect() or segments() call is still running");
}

Napi::Float32Array VadModel::run_windows(Napi::Env env, size_t n_samples) {
  if (n_samples == 0) return Napi::Float32Array::New(env, 0);
  std::unique_ptr<VadContextPool::Lease> lease;
  try {
    lease = pool_->acquire();
  } catch (const std::exception& e) {
    throw make_error(env, error_code::MODEL_LOAD, e.what());
  }
  whisper_vad_context* vctx = lease->vctx;
  vad_set_state(vctx, state_.data());
  take_logged_errors();
  if (!whisper_vad_detect_speech_no_reset(vctx, pending_.data(), static_cast<int>(n_samples))) {
    throw make_error(env, error_code::INFERENCE_FAILED, "VAD failed: " + take_logged_errors());
  }
  vad_get_state(vctx, state_.data());
  Napi::Float32Array probs = copy_probs(env, vctx, n_samples / kWindow);
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n_samples));
  return probs;
}

Napi::Value VadModel::Push(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  check_usable(env, "push");
  append_pcm(info[0], pending_);
  return run_windows(env, pending_.size() / kWindow * kWindow);
}

Napi::Value VadModel::Flush(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  check_usable(env, "flush");
  if (pending_.empty()) return Napi::Float32Array::New(env, 0);
  pending_.resize(kWindow, 0.0f);
  return run_windows(env, kWindow);
}

void VadModel::Reset(const Napi::CallbackInfo& info) {
  check_usable(info.Env(), "reset");
  std::fill(state_.begin(), state_.end(), 0.0f);
  pending_.clear();
}

void VadModel::start_job(VadJob* job) {
  // Until queued, the job is ours to delete; once queued, it deletes itself after settling its promise.
  std::unique_ptr<VadJob> owned(job);
  busy_ = true;
  ScopeGuard not_busy([this] { busy_ = false; });
  std::fill(state_.begin(), state_.end(), 0.0f);
  pending_.clear();
  Ref();
  ScopeGuard unpin([this] { Unref(); });
  job->Queue();
  owned.release()->queued();
  not_busy.dismiss();
  unpin.dismiss();
}

// See WhisperModel::job_finished: nothing may throw out of a job's completion.
void VadModel::job_finished() noexcept {
  busy_ = false;
  try {
    Unref();
  } catch (const Napi::Error&) {
  }
}

Napi::Value VadModel::Detect(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  check_usable(env, "detect");
  std::vector<float> samples;
  read_pcm(info[0], "audio", samples);
  auto* job = new VadJob(env, this, pool_, std::move(samples), false, whisper_vad_default_params());
  Napi::Promise promise = job->promise();
  start_job(job);
  return promise;
}

Napi::Value VadModel::Segments(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  check_usable(env, "segments");
  std::vector<float> samples;
  read_pcm(info[0], "audio", samples);
  const Options o(info[1], "params");
  whisper_vad_params params = whisper_vad_default_params();
  params.threshold = o.number("threshold", params.threshold, 0.0f, 1.0f);
  params.min_speech_duration_ms = o.integer("minSpeechDurationMs", params.min_speech_duration_ms, 0, 600000);
  params.min_silence_duration_ms = o.integer("minSilenceDurationMs", params.min_silence_duration_ms, 0, 600000);
  params.max_speech_duration_s = o.number("maxSpeechDurationS", params.max_speech_duration_s, 0.0f, 3.0e38f);
  params.speech_pad_ms = o.integer("speechPadMs", params.speech_pad_ms, 0, 600000);
  auto* job = new VadJob(env, this, pool_, std::move(samples), true, params);
  Napi::Promise promise = job->promise();
  start_job(job);
  return promise;
}

void VadModel::Free(const Napi::CallbackInfo&) {
  pool_.reset();
  state_.clear();
  state_.shrink_to_fit();
  pending_.clear();
  pending_.shrink_to_fit();
}

Napi::Value VadModel::WindowSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(kWindow));
}

}  // namespace wsa
