#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "error_codes.h"
#include "whisper.h"

namespace wsa {

struct TranscribeOptions {
  std::string language = "en";
  int audio_ctx = 0;  // resolved before the run starts
  int max_tokens = 0;
  bool single_segment = false;
  bool no_timestamps = false;
  int beam_size = 1;
  bool translate = false;
  bool temperature_fallback = true;
  std::string prompt;
  float no_speech_thold = 0.6f;
  int threads = 1;
  // Benchmark-only: exactly this many text tokens per segment (0: the model decides). See TranscribeOptions in types.ts.
  int exact_tokens = 0;
};

struct LanguageOptions {
  int audio_ctx = 0;
  int top = 5;
  int threads = 1;
};

// Polled during inference; true stops it at the next check.
struct AbortCheck {
  ggml_abort_callback fn = nullptr;
  void* data = nullptr;
  bool operator()() const { return fn != nullptr && fn(data); }
};

struct TokenOut {
  int id;
  std::string text;
  float p;
  // DTW time of the token in the audio given (where it begins), or -1 when the model has no word timestamps.
  int64_t time_ms;
};

struct SegmentOut {
  std::string text;
  int64_t start_ms;
  int64_t end_ms;
  float no_speech_prob;
  std::vector<TokenOut> tokens;
};

struct TranscriptionOutput {
  std::vector<SegmentOut> segments;
  std::string language;
  int audio_ctx = 0;
  double encode_ms = 0;
  double total_ms = 0;
};

struct LanguageOutput {
  std::vector<float> probs;
  int audio_ctx = 0;
  int top = 5;
  double total_ms = 0;
};

// Why a run failed: a stable code (engine/error-codes.json) and a message for people.
struct Failure {
  ErrorCode code = error_code::INFERENCE_FAILED;
  std::string message;
};

int default_threads();

// Smallest multiple of 64 encoder frames covering `n_samples` (two mel frames of 160 samples each per
// encoder frame), capped at the model's context: the encoder's cost grows with this number, not the audio.
int auto_audio_ctx(size_t n_samples, int model_audio_ctx);

// whisper.cpp skips input under 100 ms and the smallest encoder context covers 1.28 s, so short input is
// padded with silence to one second rather than silently producing nothing.
void pad_short_input(std::vector<float>& samples);

TranscribeOptions parse_transcribe_options(const Napi::Value& value, whisper_context* ctx, size_t n_samples);
LanguageOptions parse_language_options(const Napi::Value& value, whisper_context* ctx, size_t n_samples);

// Both run on the calling thread and return false with `failure` filled when the run did not complete.
bool run_transcription(whisper_context* ctx, whisper_state* state, const std::vector<float>& samples,
                       const TranscribeOptions& options, AbortCheck aborted, TranscriptionOutput& out, Failure& failure);
bool run_language_detection(whisper_context* ctx, whisper_state* state, const std::vector<float>& samples,
                            const LanguageOptions& options, AbortCheck aborted, LanguageOutput& out, Failure& failure);

Napi::Object transcription_to_js(Napi::Env env, const TranscriptionOutput& out);
Napi::Object language_to_js(Napi::Env env, const LanguageOutput& out);

}  // namespace wsa
