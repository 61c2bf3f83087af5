#include "inference_jobs.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

#include "js_errors.h"
#include "log_capture.h"
#include "options.h"

namespace wsa {
namespace {

// whisper.cpp skips input under 100 ms and the smallest encoder context covers 1.28 s, so short input is
// padded with silence to one second rather than silently producing nothing.
constexpr size_t kMinSamples = 16000;
constexpr int kSamplesPerEncoderFrame = 320;
constexpr int kAudioCtxStep = 64;

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

struct TokenOut {
  int id;
  std::string text;
  float p;
};

struct SegmentOut {
  std::string text;
  int64_t start_ms;
  int64_t end_ms;
  float no_speech_prob;
  std::vector<TokenOut> tokens;
};

// Splits whisper_full's wall time into encoder and the rest: the encoder begins at encoder_begin_callback
// and has finished by the first logits the decoder produces for that window.
struct PhaseClock {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point encode_begin;
  std::atomic<bool> encoding{false};
  double encode_ms = 0;

  void begin_encode() {
    encode_begin = std::chrono::steady_clock::now();
    encoding = true;
  }
  void end_encode() {
    if (encoding.exchange(false)) encode_ms += elapsed_ms(encode_begin);
  }
};

class InferenceJob : public Napi::AsyncWorker {
 public:
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  InferenceJob(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance, std::vector<float> samples)
      : Napi::AsyncWorker(env, "whisper.inference"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        instance_(std::move(instance)),
        samples_(std::move(samples)) {
    if (samples_.size() < kMinSamples) samples_.resize(kMinSamples, 0.0f);
  }

  whisper_context* ctx() const { return instance_->model->ctx; }
  whisper_state* state() const { return instance_->state; }
  bool aborted() const { return instance_->abort_requested.load(); }

  void fail(const char* code, const std::string& message) {
    code_ = code;
    SetError(message);
  }

  // Fails with `what` plus whatever whisper.cpp logged as the reason.
  void fail_from_log(const std::string& what, int rc) {
    const std::string why = take_logged_errors();
    fail("INFERENCE_FAILED", what + " failed (whisper.cpp code " + std::to_string(rc) + ")" + (why.empty() ? "" : ": " + why));
  }

  // Computes the mel spectrogram and records `audio_ctx` on the state without running the encoder.
  // whisper.cpp detects the language before it applies params.audio_ctx, at whatever size the previous call
  // left (the full 30 s the first time); priming makes detection run at the size asked for.
  bool prime(int audio_ctx, int threads) {
    whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    p.n_threads = threads;
    p.language = "en";
    p.audio_ctx = audio_ctx;
    p.no_context = true;
    p.print_progress = false;
    p.print_realtime = false;
    p.print_timestamps = false;
    p.encoder_begin_callback = [](whisper_context*, whisper_state*, void*) { return false; };
    const int rc = whisper_full_with_state(ctx(), state(), p, samples_.data(), static_cast<int>(samples_.size()));
    take_logged_errors();
    if (rc != 0) {
      fail("INFERENCE_FAILED", "computing the mel spectrogram failed (whisper.cpp code " + std::to_string(rc) + ")");
      return false;
    }
    return true;
  }

  // Napi::Error here means the thread's JavaScript environment is being torn down (a worker terminated mid-job):
  // nobody is left to settle the promise for, and letting the exception escape would abort the whole process.
  void OnOK() override {
    owner_->job_finished();
    try {
      deferred_.Resolve(result(Env()));
    } catch (const Napi::Error&) {
    }
  }

  void OnError(const Napi::Error& e) override {
    owner_->job_finished();
    try {
      deferred_.Reject(make_error(Env(), code_, e.Message()).Value());
    } catch (const Napi::Error&) {
    }
  }

  virtual Napi::Value result(Napi::Env env) = 0;

  Napi::Promise::Deferred deferred_;
  WhisperModel* owner_;
  std::shared_ptr<WhisperInstance> instance_;
  std::vector<float> samples_;
  std::string code_ = "INFERENCE_FAILED";
};

class TranscribeJob : public InferenceJob {
 public:
  TranscribeJob(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance, std::vector<float> samples,
                TranscribeOptions options)
      : InferenceJob(env, owner, std::move(instance), std::move(samples)), options_(std::move(options)) {}

 protected:
  void Execute() override {
    PhaseClock& clock = clock_;
    take_logged_errors();
    if (options_.language == "auto" && !prime(options_.audio_ctx, options_.threads)) return;
    clock.start = std::chrono::steady_clock::now();

    const bool beam = options_.beam_size > 1;
    whisper_full_params p = whisper_full_default_params(beam ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
    p.n_threads = options_.threads;
    // Every call stands alone: context from earlier calls on this state would make results depend on history.
    p.no_context = true;
    p.no_timestamps = options_.no_timestamps;
    p.single_segment = options_.single_segment;
    p.max_tokens = options_.max_tokens;
    p.audio_ctx = options_.audio_ctx;
    p.language = options_.language.c_str();
    p.initial_prompt = options_.prompt.empty() ? nullptr : options_.prompt.c_str();
    p.temperature_inc = options_.temperature_fallback ? 0.2f : 0.0f;
    p.no_speech_thold = options_.no_speech_thold;
    if (beam) p.beam_search.beam_size = options_.beam_size;
    p.print_progress = false;
    p.print_realtime = false;
    p.print_timestamps = false;
    p.print_special = false;

    std::atomic<bool>* abort_flag = &instance_->abort_requested;
    p.abort_callback = [](void* data) { return static_cast<std::atomic<bool>*>(data)->load(); };
    p.abort_callback_user_data = abort_flag;
    p.encoder_begin_callback_user_data = this;
    p.encoder_begin_callback = [](whisper_context*, whisper_state*, void* data) {
      auto* job = static_cast<TranscribeJob*>(data);
      job->clock_.begin_encode();
      return !job->aborted();
    };
    p.logits_filter_callback_user_data = &clock;
    p.logits_filter_callback = [](whisper_context*, whisper_state*, const whisper_token_data*, int, float*, void* data) {
      static_cast<PhaseClock*>(data)->end_encode();
    };

    const int rc = whisper_full_with_state(ctx(), state(), p, samples_.data(), static_cast<int>(samples_.size()));
    clock.end_encode();
    total_ms_ = elapsed_ms(clock.start);
    if (aborted()) return fail("ABORTED", "transcription aborted");
    if (rc != 0) return fail_from_log("transcription", rc);
    collect();
  }

  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    std::string text;
    Napi::Array segments = Napi::Array::New(env, segments_.size());
    for (size_t i = 0; i < segments_.size(); ++i) {
      const SegmentOut& s = segments_[i];
      text += s.text;
      Napi::Object seg = Napi::Object::New(env);
      seg.Set("text", s.text);
      seg.Set("startMs", Napi::Number::New(env, static_cast<double>(s.start_ms)));
      seg.Set("endMs", Napi::Number::New(env, static_cast<double>(s.end_ms)));
      seg.Set("noSpeechProb", s.no_speech_prob);
      Napi::Array tokens = Napi::Array::New(env, s.tokens.size());
      for (size_t j = 0; j < s.tokens.size(); ++j) {
        Napi::Object tok = Napi::Object::New(env);
        tok.Set("id", s.tokens[j].id);
        tok.Set("text", s.tokens[j].text);
        tok.Set("p", s.tokens[j].p);
        tokens.Set(static_cast<uint32_t>(j), tok);
      }
      seg.Set("tokens", tokens);
      segments.Set(static_cast<uint32_t>(i), seg);
    }
    const size_t first = text.find_first_not_of(' ');
    out.Set("text", first == std::string::npos ? std::string() : text.substr(first));
    out.Set("language", language_);
    out.Set("segments", segments);
    out.Set("audioCtx", options_.audio_ctx);
    Napi::Object timings = Napi::Object::New(env);
    timings.Set("encodeMs", clock_.encode_ms);
    timings.Set("decodeMs", std::max(0.0, total_ms_ - clock_.encode_ms));
    timings.Set("totalMs", total_ms_);
    out.Set("timings", timings);
    return out;
  }

 private:
  void collect() {
    whisper_state* st = state();
    const whisper_token eot = whisper_token_eot(ctx());
    const int n = whisper_full_n_segments_from_state(st);
    segments_.reserve(n);
    for (int i = 0; i < n; ++i) {
      SegmentOut seg;
      seg.text = whisper_full_get_segment_text_from_state(st, i);
      seg.start_ms = whisper_full_get_segment_t0_from_state(st, i) * 10;
      seg.end_ms = whisper_full_get_segment_t1_from_state(st, i) * 10;
      seg.no_speech_prob = whisper_full_get_segment_no_speech_prob_from_state(st, i);
      const int n_tokens = whisper_full_n_tokens_from_state(st, i);
      for (int j = 0; j < n_tokens; ++j) {
        const whisper_token id = whisper_full_get_token_id_from_state(st, i, j);
        if (id >= eot) continue;  // special and timestamp tokens carry no text
        seg.tokens.push_back({id, whisper_full_get_token_text_from_state(ctx(), st, i, j),
                              whisper_full_get_token_p_from_state(st, i, j)});
      }
      segments_.push_back(std::move(seg));
    }
    const char* lang = whisper_lang_str(whisper_full_lang_id_from_state(st));
    language_ = lang != nullptr ? lang : options_.language;
  }

  TranscribeOptions options_;
  PhaseClock clock_;
  double total_ms_ = 0;
  std::vector<SegmentOut> segments_;
  std::string language_;
};

class LanguageJob : public InferenceJob {
 public:
  LanguageJob(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance, std::vector<float> samples,
              LanguageOptions options)
      : InferenceJob(env, owner, std::move(instance), std::move(samples)), options_(options) {}

 protected:
  void Execute() override {
    const auto start = std::chrono::steady_clock::now();
    take_logged_errors();
    if (!prime(options_.audio_ctx, options_.threads)) return;
    if (aborted()) return fail("ABORTED", "language detection aborted");
    probs_.assign(whisper_lang_max_id() + 1, 0.0f);
    const int id = whisper_lang_auto_detect_with_state(ctx(), state(), 0, options_.threads, probs_.data());
    if (id < 0) return fail_from_log("language detection", id);
    total_ms_ = elapsed_ms(start);
  }

  Napi::Value result(Napi::Env env) override {
    std::vector<int> order(probs_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs_[a] > probs_[b]; });
    const size_t top = std::min(order.size(), static_cast<size_t>(options_.top));
    Napi::Array candidates = Napi::Array::New(env, top);
    for (size_t i = 0; i < top; ++i) {
      Napi::Object c = Napi::Object::New(env);
      c.Set("language", whisper_lang_str(order[i]));
      c.Set("probability", probs_[order[i]]);
      candidates.Set(static_cast<uint32_t>(i), c);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("language", whisper_lang_str(order[0]));
    out.Set("probability", probs_[order[0]]);
    out.Set("candidates", candidates);
    out.Set("audioCtx", options_.audio_ctx);
    Napi::Object timings = Napi::Object::New(env);
    timings.Set("totalMs", total_ms_);
    out.Set("timings", timings);
    return out;
  }

 private:
  LanguageOptions options_;
  std::vector<float> probs_;
  double total_ms_ = 0;
};

int parse_audio_ctx(const Napi::Value& options, const char* what, whisper_context* ctx, size_t n_samples) {
  const int model_ctx = whisper_model_n_audio_ctx(ctx);
  const size_t padded = std::max(n_samples, kMinSamples);
  if (options.IsObject()) {
    const Napi::Value v = options.As<Napi::Object>().Get("audioCtx");
    if (v.IsString()) {
      const std::string mode = v.As<Napi::String>().Utf8Value();
      if (mode == "full") return model_ctx;
      if (mode == "auto") return auto_audio_ctx(padded, model_ctx);
      throw Napi::RangeError::New(options.Env(), std::string(what) + ".audioCtx must be 'auto', 'full' or a number of encoder frames");
    }
  }
  return Options(options, what).integer("audioCtx", auto_audio_ctx(padded, model_ctx), 1, model_ctx);
}

}  // namespace

int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(hw == 0 ? 1u : hw, 1u, 4u));
}

int auto_audio_ctx(size_t n_samples, int model_audio_ctx) {
  const size_t frames = (n_samples + kSamplesPerEncoderFrame - 1) / kSamplesPerEncoderFrame;
  const size_t rounded = (frames + kAudioCtxStep - 1) / kAudioCtxStep * kAudioCtxStep;
  return static_cast<int>(std::min(rounded, static_cast<size_t>(model_audio_ctx)));
}

TranscribeOptions parse_transcribe_options(const Napi::Value& value, whisper_context* ctx, size_t n_samples) {
  const Napi::Env env = value.Env();
  const Options o(value, "options");
  TranscribeOptions t;

  std::string language = o.string("language", "en");
  if (language.empty()) language = "auto";
  if (language != "auto") {
    const int id = whisper_lang_id(language.c_str());
    if (id < 0) {
      throw Napi::RangeError::New(env, "options.language: unknown language '" + language +
                                           "'; use an ISO 639-1 code such as 'en' or 'te', or 'auto'");
    }
    language = whisper_lang_str(id);
  }
  if (!whisper_is_multilingual(ctx)) {
    if (language != "en" && language != "auto") {
      throw Napi::RangeError::New(env, "options.language: this model is English-only, so it cannot transcribe '" + language +
                                           "'; load a multilingual model (e.g. tiny) or use 'en'");
    }
    language = "en";
  }
  t.language = language;
  t.audio_ctx = parse_audio_ctx(value, "options", ctx, n_samples);
  t.max_tokens = o.integer("maxTokens", 0, 0, whisper_model_n_text_ctx(ctx) / 2);
  t.single_segment = o.boolean("singleSegment", false);
  t.no_timestamps = o.boolean("noTimestamps", false);
  // whisper.cpp runs at most WHISPER_MAX_DECODERS (8) decoders.
  t.beam_size = o.integer("beamSize", 1, 1, 8);
  t.temperature_fallback = o.boolean("temperatureFallback", true);
  t.prompt = o.string("prompt", "");
  t.no_speech_thold = o.number("noSpeechThold", 0.6f, 0.0f, 1.0f);
  t.threads = o.integer("threads", default_threads(), 1, 64);
  return t;
}

LanguageOptions parse_language_options(const Napi::Value& value, whisper_context* ctx, size_t n_samples) {
  if (!whisper_is_multilingual(ctx)) {
    throw make_error(value.Env(), "NOT_MULTILINGUAL",
                     "detectLanguage needs a multilingual model; this model is English-only");
  }
  const Options o(value, "options");
  LanguageOptions l;
  l.audio_ctx = parse_audio_ctx(value, "options", ctx, n_samples);
  l.top = o.integer("top", 5, 1, whisper_lang_max_id() + 1);
  l.threads = o.integer("threads", default_threads(), 1, 64);
  return l;
}

Napi::Promise queue_transcription(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                  std::vector<float> samples, TranscribeOptions options) {
  auto* job = new TranscribeJob(env, owner, std::move(instance), std::move(samples), std::move(options));
  Napi::Promise promise = job->promise();
  job->Queue();
  return promise;
}

Napi::Promise queue_language_detection(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                       std::vector<float> samples, LanguageOptions options) {
  auto* job = new LanguageJob(env, owner, std::move(instance), std::move(samples), options);
  Napi::Promise promise = job->promise();
  job->Queue();
  return promise;
}

}  // namespace wsa
