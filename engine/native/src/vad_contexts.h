#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "whisper.h"

namespace wsa {

// Silero VAD contexts for one model file, shared by every VadModel of the process. A context holds the weights and
// compute buffers (about 3 MB); a stream's own state is only its LSTM vectors (whisper_internals.h), swapped in for
// each call. Streams fed from one thread therefore share one context; a second is loaded only while two threads
// need one at the same time (a whole-buffer job on the thread pool, say).
class VadContextPool {
 public:
  // The pool for `path`, created (and the file checked) on first use; pools live as long as the process.
  static std::shared_ptr<VadContextPool> for_path(const std::string& path);
  // Contexts loaded so far across all pools (lets tests observe sharing).
  static int loaded_count();

  struct Lease {
    VadContextPool* pool;
    whisper_vad_context* vctx;
    Lease(VadContextPool* p, whisper_vad_context* v) : pool(p), vctx(v) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool->release(vctx); }
  };

  // A free context, loading one when all are in use. Throws std::runtime_error when loading fails.
  std::unique_ptr<Lease> acquire();
  size_t state_size() const { return state_size_; }
  ~VadContextPool();

 private:
  explicit VadContextPool(std::string path);
  whisper_vad_context* load() const;
  void release(whisper_vad_context* vctx);

  const std::string path_;
  std::mutex mutex_;
  std::vector<whisper_vad_context*> free_;
  std::vector<whisper_vad_context*> all_;
  size_t state_size_ = 0;
};

}  // namespace wsa
