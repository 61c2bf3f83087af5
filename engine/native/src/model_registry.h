#pragma once

#include <memory>
#include <string>

#include "whisper.h"

namespace wsa {

// One loaded set of Whisper weights. whisper_context holds only read-only weights once created without a
// state, so every thread of the process can run its own whisper_state against it at the same time.
struct SharedModel {
  whisper_context* ctx;
  std::string path;
  ~SharedModel();
};

struct ModelLoadOptions {
  bool use_gpu = false;
  bool flash_attn = false;
  // DTW token timestamps (whisper_internals.h); whisper.cpp offers them only without flash attention.
  bool word_timestamps = false;
  int gpu_device = 0;
};

// Returns the process-wide model for `path` (resolved to its real path), loading it on first use. The
// weights are freed when the last holder lets go. Throws ModelFileError or std::runtime_error.
std::shared_ptr<SharedModel> acquire_model(const std::string& path, const ModelLoadOptions& options);

// Number of distinct weight sets loaded right now (lets tests observe sharing).
int loaded_model_count();

}  // namespace wsa
