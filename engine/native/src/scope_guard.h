#pragma once

#include <utility>

namespace wsa {

// Runs `undo` when the scope ends unless dismissed: a busy flag or a reference taken for a job is given back on
// every way out, a thrown exception included, so a failure never leaves an instance busy or pinned for good.
template <typename Undo>
class ScopeGuard {
 public:
  explicit ScopeGuard(Undo undo) : undo_(std::move(undo)) {}
  ~ScopeGuard() {
    if (active_) undo_();
  }
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;

  // The work succeeded and now owns what was taken: keep it.
  void dismiss() { active_ = false; }

 private:
  Undo undo_;
  bool active_ = true;
};

}  // namespace wsa
