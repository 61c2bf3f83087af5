#include "model_registry.h"

#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

#include "log_capture.h"
#include "model_file_check.h"
#include "whisper_internals.h"

namespace wsa {
namespace {

std::mutex g_mutex;
std::map<std::string, std::weak_ptr<SharedModel>> g_models;

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return path;
  return buf;
}

}  // namespace

SharedModel::~SharedModel() { whisper_free(ctx); }

std::shared_ptr<SharedModel> acquire_model(const std::string& path, const ModelLoadOptions& options) {
  check_model_file(path, ModelKind::Whisper);
  const std::string resolved = real_path(path);
  const std::string key = resolved + (options.use_gpu ? "|gpu" + std::to_string(options.gpu_device) : "|cpu") +
                          (options.flash_attn ? "|fa" : "") + (options.word_timestamps ? "|dtw" : "");

  // Loading under the lock makes a second thread asking for the same file wait and share, not load twice.
  std::lock_guard<std::mutex> lock(g_mutex);
  if (auto existing = g_models[key].lock()) return existing;

  whisper_context_params params = whisper_context_default_params();
  params.use_gpu = options.use_gpu;
  params.flash_attn = options.flash_attn;
  params.gpu_device = options.gpu_device;
  take_logged_errors();
  whisper_context* ctx = nullptr;
  try {
    ctx = whisper_init_from_file_with_params_no_state(resolved.c_str(), params);
  } catch (const std::exception& e) {
    throw std::runtime_error("failed to load whisper model " + path + ": " + e.what());
  }
  if (ctx == nullptr) {
    const std::string why = take_logged_errors();
    throw std::runtime_error("failed to load whisper model " + path + (why.empty() ? "" : ": " + why));
  }
  if (options.word_timestamps) enable_dtw(ctx);
  auto model = std::shared_ptr<SharedModel>(new SharedModel{ctx, resolved});
  g_models[key] = model;
  return model;
}

int loaded_model_count() {
  std::lock_guard<std::mutex> lock(g_mutex);
  int n = 0;
  for (auto it = g_models.begin(); it != g_models.end();) {
    if (it->second.expired()) {
      it = g_models.erase(it);
    } else {
      ++n;
      ++it;
    }
  }
  return n;
}

}  // namespace wsa
