#include "log_capture.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "whisper.h"

namespace wsa {
namespace {

constexpr size_t kMaxKept = 2048;

thread_local std::string t_errors;
thread_local bool t_last_was_error = false;

bool verbose() {
  static const bool on = [] {
    const char* v = std::getenv("WHISPER_LOG");
    return v != nullptr && v[0] != '\0' && v[0] != '0';
  }();
  return on;
}

void on_log(ggml_log_level level, const char* text, void*) {
  if (text == nullptr) return;
  if (verbose()) std::fputs(text, stderr);
  const bool is_error = level == GGML_LOG_LEVEL_ERROR || (level == GGML_LOG_LEVEL_CONT && t_last_was_error);
  if (level != GGML_LOG_LEVEL_CONT) t_last_was_error = level == GGML_LOG_LEVEL_ERROR;
  if (!is_error || t_errors.size() >= kMaxKept) return;
  t_errors.append(text);
}

}  // namespace

void install_log_capture() {
  static std::once_flag once;
  std::call_once(once, [] { whisper_log_set(on_log, nullptr); });
}

std::string take_logged_errors() {
  std::string out;
  out.swap(t_errors);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace wsa
