#include "transcription.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

#include "js_errors.h"
#include "log_capture.h"
#include "options.h"
#include "whisper_internals.h"

namespace wsa {
namespace {

constexpr size_t kMinSamples = 16000;
constexpr int kSamplesPerEncoderFrame = 320;
constexpr int kAudioCtxStep = 64;
// whisper.cpp tokenizes the prompt with a std::regex that recurses once per character of a word and costs
// quadratic time in it: 30,000 letters overflow the stack, 4,000 take seconds that cannot be aborted. Whisper
// reads only the last 224 tokens of a prompt (about 1 KB of English), so only the last 1 KB is kept.
constexpr size_t kMaxPromptBytes = 1024;

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// The last `max` bytes of `text`, starting on a UTF-8 character boundary.
std::string prompt_tail(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t from = text.size() - max;
  while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) ++from;
  return text.substr(from);
}

// Splits whisper_full's wall time into encoder and the rest: the encoder begins at encoder_begin_callback
// and has finished by the first logits the decoder produces for that window. Beam search filters the logits of
// its decoders on several threads at once, hence the atomic.
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

struct CallbackData {
  PhaseClock clock;
  AbortCheck aborted;
  int exact_tokens = 0;
  whisper_token eot = 0;
};

// Computes the mel spectrogram and records `audio_ctx` on the state without running the encoder.
// whisper.cpp detects the language before it applies params.audio_ctx, at whatever size the previous call
// left (the full 30 s the first time); priming makes detection run at the size asked for.
bool prime(whisper_context* ctx, whisper_state* state, const std::vector<float>& samples, int audio_ctx, int threads, Failure& failure) {
  whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
  p.n_threads = threads;
  p.language = "en";
  p.audio_ctx = audio_ctx;
  p.no_context = true;
  p.print_progress = false;
  p.print_realtime = false;
  p.print_timestamps = false;
  p.encoder_begin_callback = [](whisper_context*, whisper_state*, void*) { return false; };
  const int rc = whisper_full_with_state(ctx, state, p, samples.data(), static_cast<int>(samples.size()));
  take_logged_errors();
  if (rc != 0) {
    failure = {error_code::INFERENCE_FAILED, "computing the mel spectrogram failed (whisper.cpp code " + std::to_string(rc) + ")"};
    return false;
  }
  return true;
}

Failure from_log(const std::string& what, int rc) {
  const std::string why = take_logged_errors();
  return {error_code::INFERENCE_FAILED, what + " failed (whisper.cpp code " + std::to_string(rc) + ")" + (why.empty() ? "" : ": " + why)};
}

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

void pad_short_input(std::vector<float>& samples) {
  if (samples.size() < kMinSamples) samples.resize(kMinSamples, 0.0f);
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
      throw Napi::RangeError::New(env, "options.language: unknown language '" + language.substr(0, 32) +
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
  const int half_ctx = whisper_model_n_text_ctx(ctx) / 2;
  t.max_tokens = o.integer("maxTokens", 0, 0, half_ctx);
  t.single_segment = o.boolean("singleSegment", false);
  t.no_timestamps = o.boolean("noTimestamps", false);
  // whisper.cpp runs at most WHISPER_MAX_DECODERS (8) decoders.
  t.beam_size = o.integer("beamSize", 1, 1, 8);
  t.translate = o.boolean("translate", false);
  if (t.translate && !whisper_is_multilingual(ctx)) {
    throw Napi::RangeError::New(env, "options.translate: this model is English-only; translating to English needs a multilingual model (e.g. tiny)");
  }
  t.temperature_fallback = o.boolean("temperatureFallback", true);
  t.prompt = prompt_tail(o.string("prompt", ""), kMaxPromptBytes);
  t.no_speech_thold = o.number("noSpeechThold", 0.6f, 0.0f, 1.0f);
  t.threads = o.integer("threads", default_threads(), 1, 64);
  t.exact_tokens = o.integer("exactTokens", 0, 0, half_ctx);
  return t;
}

LanguageOptions parse_language_options(const Napi::Value& value, whisper_context* ctx, size_t n_samples) {
  if (!whisper_is_multilingual(ctx)) {
    throw make_error(value.Env(), error_code::NOT_MULTILINGUAL, "detectLanguage needs a multilingual model; this model is English-only");
  }
  const Options o(value, "options");
  LanguageOptions l;
  l.audio_ctx = parse_audio_ctx(value, "options", ctx, n_samples);
  l.top = o.integer("top", 5, 1, whisper_lang_max_id() + 1);
  l.threads = o.integer("threads", default_threads(), 1, 64);
  return l;
}

bool run_transcription(whisper_context* ctx, whisper_state* state, const std::vector<float>& samples,
                       const TranscribeOptions& options, AbortCheck aborted, TranscriptionOutput& out, Failure& failure) {
  take_logged_errors();
  if (options.language == "auto" && !prime(ctx, state, samples, options.audio_ctx, options.threads, failure)) return false;
  reset_decoder_rngs(state);

  CallbackData data;
  data.aborted = aborted;
  data.exact_tokens = options.exact_tokens;
  data.eot = whisper_token_eot(ctx);

  const bool beam = options.beam_size > 1;
  whisper_full_params p = whisper_full_default_params(beam ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
  p.n_threads = options.threads;
  // Every call stands alone: context from earlier calls on this state would make results depend on history.
  p.no_context = true;
  p.no_timestamps = options.no_timestamps;
  p.single_segment = options.single_segment;
  p.max_tokens = options.max_tokens;
  p.audio_ctx = options.audio_ctx;
  p.language = options.language.c_str();
  p.translate = options.translate;
  p.initial_prompt = options.prompt.empty() ? nullptr : options.prompt.c_str();
  p.temperature_inc = options.temperature_fallback ? 0.2f : 0.0f;
  p.no_speech_thold = options.no_speech_thold;
  if (beam) p.beam_search.beam_size = options.beam_size;
  p.print_progress = false;
  p.print_realtime = false;
  p.print_timestamps = false;
  p.print_special = false;
  p.abort_callback = aborted.fn;
  p.abort_callback_user_data = aborted.data;
  p.encoder_begin_callback_user_data = &data;
  p.encoder_begin_callback = [](whisper_context*, whisper_state*, void* user) {
    auto* d = static_cast<CallbackData*>(user);
    d->clock.begin_encode();
    return !d->aborted();
  };
  p.logits_filter_callback_user_data = &data;
  p.logits_filter_callback = [](whisper_context* c, whisper_state*, const whisper_token_data* tokens, int n_tokens, float* logits, void* user) {
    auto* d = static_cast<CallbackData*>(user);
    d->clock.end_encode();
    if (d->exact_tokens == 0) return;
    int text_tokens = 0;
    for (int i = 0; i < n_tokens; ++i) text_tokens += tokens[i].id < d->eot ? 1 : 0;
    if (text_tokens < d->exact_tokens) {
      logits[d->eot] = -INFINITY;
      return;
    }
    const int n_vocab = whisper_n_vocab(c);
    for (int i = 0; i < n_vocab; ++i) {
      if (i != d->eot) logits[i] = -INFINITY;
    }
  };

  reserve_segments(state, samples.size());
  data.clock.start = std::chrono::steady_clock::now();
  const int rc = whisper_full_with_state(ctx, state, p, samples.data(), static_cast<int>(samples.size()));
  data.clock.end_encode();
  out.total_ms = elapsed_ms(data.clock.start);
  out.encode_ms = data.clock.encode_ms;
  if (aborted()) {
    failure = {error_code::ABORTED, "transcription aborted"};
    return false;
  }
  if (rc != 0) {
    failure = from_log("transcription", rc);
    return false;
  }

  const whisper_token eot = whisper_token_eot(ctx);
  const int n = whisper_full_n_segments_from_state(state);
  out.segments.clear();
  out.segments.reserve(n);
  for (int i = 0; i < n; ++i) {
    SegmentOut seg;
    seg.text = whisper_full_get_segment_text_from_state(state, i);
    seg.start_ms = whisper_full_get_segment_t0_from_state(state, i) * 10;
    seg.end_ms = whisper_full_get_segment_t1_from_state(state, i) * 10;
    seg.no_speech_prob = whisper_full_get_segment_no_speech_prob_from_state(state, i);
    const int n_tokens = whisper_full_n_tokens_from_state(state, i);
    for (int j = 0; j < n_tokens; ++j) {
      const whisper_token_data token = whisper_full_get_token_data_from_state(state, i, j);
      if (token.id >= eot) continue;  // special and timestamp tokens carry no text
      // t_dtw is in centiseconds, and -1 when the context computes no DTW timestamps.
      seg.tokens.push_back({token.id, whisper_full_get_token_text_from_state(ctx, state, i, j), token.p, token.t_dtw < 0 ? -1 : token.t_dtw * 10});
    }
    out.segments.push_back(std::move(seg));
  }
  const char* lang = whisper_lang_str(whisper_full_lang_id_from_state(state));
  out.language = lang != nullptr ? lang : options.language;
  out.audio_ctx = options.audio_ctx;
  return true;
}

bool run_language_detection(whisper_context* ctx, whisper_state* state, const std::vector<float>& samples,
                            const LanguageOptions& options, AbortCheck aborted, LanguageOutput& out, Failure& failure) {
  const auto start = std::chrono::steady_clock::now();
  take_logged_errors();
  if (!prime(ctx, state, samples, options.audio_ctx, options.threads, failure)) return false;
  if (aborted()) {
    failure = {error_code::ABORTED, "language detection aborted"};
    return false;
  }
  out.probs.assign(whisper_lang_max_id() + 1, 0.0f);
  const int id = whisper_lang_auto_detect_with_state(ctx, state, 0, options.threads, out.probs.data());
  if (id < 0) {
    failure = from_log("language detection", id);
    return false;
  }
  out.audio_ctx = options.audio_ctx;
  out.top = options.top;
  out.total_ms = elapsed_ms(start);
  return true;
}

Napi::Object transcription_to_js(Napi::Env env, const TranscriptionOutput& r) {
  Napi::Object out = Napi::Object::New(env);
  std::string text;
  Napi::Array segments = Napi::Array::New(env, r.segments.size());
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const SegmentOut& s = r.segments[i];
    text += s.text;
    Napi::Object seg = Napi::Object::New(env);
    seg.Set("text", s.text);
    seg.Set("startMs", Napi::Number::New(env, static_cast<double>(s.start_ms)));
    seg.Set("endMs", Napi::Number::New(env, static_cast<double>(s.end_ms)));
    seg.Set("noSpeechProb", s.no_speech_prob);
    Napi::Array tokens = Napi::Array::New(env, s.tokens.size());
    for (size_t j = 0; j < s.tokens.size(); ++j) {
      const TokenOut& t = s.tokens[j];
      Napi::Object tok = Napi::Object::New(env);
      tok.Set("id", t.id);
      tok.Set("text", t.text);
      tok.Set("p", t.p);
      if (t.time_ms >= 0) tok.Set("timeMs", Napi::Number::New(env, static_cast<double>(t.time_ms)));
      tokens.Set(static_cast<uint32_t>(j), tok);
    }
    seg.Set("tokens", tokens);
    segments.Set(static_cast<uint32_t>(i), seg);
  }
  const size_t first = text.find_first_not_of(' ');
  out.Set("text", first == std::string::npos ? std::string() : text.substr(first));
  out.Set("language", r.language);
  out.Set("segments", segments);
  out.Set("audioCtx", r.audio_ctx);
  Napi::Object timings = Napi::Object::New(env);
  timings.Set("encodeMs", r.encode_ms);
  timings.Set("decodeMs", std::max(0.0, r.total_ms - r.encode_ms));
  timings.Set("totalMs", r.total_ms);
  out.Set("timings", timings);
  return out;
}

Napi::Object language_to_js(Napi::Env env, const LanguageOutput& r) {
  std::vector<int> order(r.probs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return r.probs[a] > r.probs[b]; });
  const size_t top = std::min(order.size(), static_cast<size_t>(r.top));
  Napi::Array candidates = Napi::Array::New(env, top);
  for (size_t i = 0; i < top; ++i) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("language", whisper_lang_str(order[i]));
    c.Set("probability", r.probs[order[i]]);
    candidates.Set(static_cast<uint32_t>(i), c);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("language", whisper_lang_str(order[0]));
  out.Set("probability", r.probs[order[0]]);
  out.Set("candidates", candidates);
  out.Set("audioCtx", r.audio_ctx);
  Napi::Object timings = Napi::Object::New(env);
  timings.Set("totalMs", r.total_ms);
  out.Set("timings", timings);
  return out;
}

}  // namespace wsa
