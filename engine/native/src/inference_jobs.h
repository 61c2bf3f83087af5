#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "whisper_model.h"

namespace wsa {

struct TranscribeOptions {
  std::string language = "en";
  int audio_ctx = 0;  // resolved before the job starts
  int max_tokens = 0;
  bool single_segment = false;
  bool no_timestamps = false;
  int beam_size = 1;
  bool temperature_fallback = true;
  std::string prompt;
  float no_speech_thold = 0.6f;
  int threads = 1;
};

struct LanguageOptions {
  int audio_ctx = 0;
  int top = 5;
  int threads = 1;
};

int default_threads();

// Smallest multiple of 64 encoder frames covering `n_samples` (two mel frames of 160 samples each per
// encoder frame), capped at the model's context: the encoder's cost grows with this number, not the audio.
int auto_audio_ctx(size_t n_samples, int model_audio_ctx);

TranscribeOptions parse_transcribe_options(const Napi::Value& value, whisper_context* ctx, size_t n_samples);
LanguageOptions parse_language_options(const Napi::Value& value, whisper_context* ctx, size_t n_samples);

// Both return a promise and run whisper.cpp on the libuv thread pool.
Napi::Promise queue_transcription(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                  std::vector<float> samples, TranscribeOptions options);
Napi::Promise queue_language_detection(Napi::Env env, WhisperModel* owner, std::shared_ptr<WhisperInstance> instance,
                                       std::vector<float> samples, LanguageOptions options);

}  // namespace wsa
