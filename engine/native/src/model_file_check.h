#pragma once

#include <stdexcept>
#include <string>

namespace wsa {

enum class ModelKind { Whisper, SileroVad };

struct ModelFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Walks a legacy ggml model file and checks that every length, count and tensor lies inside the file.
// whisper.cpp's loaders trust these fields, so a truncated or foreign file could make them read past the
// end or allocate from garbage; after this check they only ever see well-formed files.
void check_model_file(const std::string& path, ModelKind kind);

}  // namespace wsa
