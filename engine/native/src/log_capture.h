#pragma once

#include <string>

namespace wsa {

// Routes whisper.cpp/ggml logging through us: silent unless WHISPER_LOG is set, and error lines are kept per
// thread so a failed call can say why in its exception instead of only on stderr.
void install_log_capture();

// Returns the error lines logged on the calling thread since the last call, and forgets them.
std::string take_logged_errors();

}  // namespace wsa
