#include "vad_contexts.h"

#include <map>
#include <stdexcept>

#include "log_capture.h"
#include "model_file_check.h"
#include "whisper_internals.h"

namespace wsa {
namespace {

std::mutex g_pools_mutex;
std::map<std::string, std::shared_ptr<VadContextPool>> g_pools;
int g_loaded = 0;

}  // namespace

std::shared_ptr<VadContextPool> VadContextPool::for_path(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_pools_mutex);
  auto found = g_pools.find(path);
  if (found != g_pools.end()) return found->second;
  check_model_file(path, ModelKind::SileroVad);
  std::shared_ptr<VadContextPool> pool(new VadContextPool(path));
  // Loading one context now reports a broken file at construction and tells the state size.
  whisper_vad_context* first = pool->load();
  pool->state_size_ = vad_state_size(first);
  pool->all_.push_back(first);
  pool->free_.push_back(first);
  g_pools.emplace(path, pool);
  return pool;
}

int VadContextPool::loaded_count() {
  std::lock_guard<std::mutex> lock(g_pools_mutex);
  return g_loaded;
}

VadContextPool::VadContextPool(std::string path) : path_(std::move(path)) {}

VadContextPool::~VadContextPool() {
  for (whisper_vad_context* vctx : all_) whisper_vad_free(vctx);
}

whisper_vad_context* VadContextPool::load() const {
  whisper_vad_context_params params = whisper_vad_default_context_params();
  params.n_threads = 1;
  params.use_gpu = false;
  take_logged_errors();
  whisper_vad_context* vctx = whisper_vad_init_from_file_with_params(path_.c_str(), params);
  if (vctx == nullptr) {
    const std::string why = take_logged_errors();
    throw std::runtime_error("failed to load Silero VAD model " + path_ + (why.empty() ? "" : ": " + why));
  }
  ++g_loaded;
  return vctx;
}

std::unique_ptr<VadContextPool::Lease> VadContextPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      whisper_vad_context* vctx = free_.back();
      free_.pop_back();
      return std::make_unique<Lease>(this, vctx);
    }
  }
  whisper_vad_context* vctx;
  {
    std::lock_guard<std::mutex> lock(g_pools_mutex);
    vctx = load();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  all_.push_back(vctx);
  return std::make_unique<Lease>(this, vctx);
}

void VadContextPool::release(whisper_vad_context* vctx) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(vctx);
}

}  // namespace wsa
