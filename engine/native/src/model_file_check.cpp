#include "model_file_check.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <memory>

#include "ggml.h"

namespace wsa {
namespace {

constexpr uint32_t kGgmlMagic = 0x67676d6c;  // "ggml"

class Reader {
 public:
  Reader(const std::string& path, uint64_t size) : path_(path), size_(size), file_(std::fopen(path.c_str(), "rb"), &std::fclose) {
    if (!file_) throw ModelFileError("cannot open model file: " + path);
  }

  uint64_t remaining() const { return size_ - pos_; }

  int32_t i32(const char* field) {
    int32_t v = 0;
    bytes(&v, sizeof v, field);
    return v;
  }

  void bytes(void* dst, uint64_t n, const char* field) {
    need(n, field);
    if (std::fread(dst, 1, n, file_.get()) != n) fail(std::string("read error at ") + field);
    pos_ += n;
  }

  void skip(uint64_t n, const char* field) {
    need(n, field);
    if (std::fseek(file_.get(), static_cast<long>(n), SEEK_CUR) != 0) fail(std::string("seek error at ") + field);
    pos_ += n;
  }

  int32_t bounded(const char* field, int32_t lo, int32_t hi) {
    const int32_t v = i32(field);
    if (v < lo || v > hi) {
      fail(std::string(field) + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
           std::to_string(hi) + "]");
    }
    return v;
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw ModelFileError("model file is truncated or corrupt (" + why + " at byte " + std::to_string(pos_) + "): " + path_);
  }

 private:
  void need(uint64_t n, const char* field) const {
    if (n > remaining()) {
      fail(std::string("file ends inside ") + field + ", " + std::to_string(n) + " bytes needed, " +
           std::to_string(remaining()) + " left");
    }
  }

  std::string path_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::unique_ptr<FILE, int (*)(FILE*)> file_;
};

void check_tensors(Reader& r) {
  int n_tensors = 0;
  while (r.remaining() > 0) {
    const int32_t n_dims = r.bounded("tensor n_dims", 0, 4);
    const int32_t name_len = r.bounded("tensor name length", 1, 1024);
    const int32_t type = r.bounded("tensor type", 0, GGML_TYPE_COUNT - 1);
    const auto gtype = static_cast<ggml_type>(type);
    const int64_t block = ggml_blck_size(gtype);
    if (ggml_type_size(gtype) == 0 || block <= 0) r.fail("unsupported tensor type " + std::to_string(type));
    int64_t ne[4] = {1, 1, 1, 1};
    for (int i = 0; i < n_dims; ++i) ne[i] = r.bounded("tensor dimension", 1, 1 << 24);
    r.skip(static_cast<uint64_t>(name_len), "tensor name");
    if (ne[0] % block != 0) r.fail("tensor row not a whole number of blocks");
    const uint64_t n_bytes = ggml_row_size(gtype, ne[0]) * static_cast<uint64_t>(ne[1] * ne[2] * ne[3]);
    r.skip(n_bytes, "tensor data");
    ++n_tensors;
  }
  if (n_tensors == 0) r.fail("no tensors");
}

// Bins of whisper.cpp's 400-point FFT (WHISPER_N_FFT), the only width its mel code handles.
constexpr int32_t kMelFilterWidth = 1 + 400 / 2;

void check_whisper(Reader& r) {
  int32_t h[10];
  int i = 0;
  for (const char* field : {"n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
                            "n_text_state", "n_text_head", "n_text_layer", "n_mels"}) {
    h[i++] = r.bounded(field, 1, 1 << 20);
  }
  // whisper.cpp's loader checks every tensor shape against these, but not the head counts or the mel filters,
  // which only matter once it computes: there a mismatch is an assertion that aborts the process, or a read past
  // a buffer. They are checked here instead.
  const int32_t n_audio_state = h[2], n_audio_head = h[3], n_text_state = h[6], n_text_head = h[7], n_mels = h[9];
  if (n_audio_state % n_audio_head != 0) r.fail("n_audio_head does not divide n_audio_state");
  if (n_text_state % n_text_head != 0) r.fail("n_text_head does not divide n_text_state");
  r.bounded("ftype", 0, 1 << 20);
  const int32_t n_mel = r.bounded("mel filter count", n_mels, n_mels);
  const int32_t n_fft = r.bounded("mel filter width", kMelFilterWidth, kMelFilterWidth);
  r.skip(static_cast<uint64_t>(n_mel) * static_cast<uint64_t>(n_fft) * sizeof(float), "mel filters");
  const int32_t n_vocab = r.bounded("vocabulary size", 0, 1 << 20);
  for (int32_t i = 0; i < n_vocab; ++i) r.skip(static_cast<uint64_t>(r.bounded("token length", 0, 1024)), "token");
  check_tensors(r);
}

void check_silero(Reader& r) {
  r.skip(static_cast<uint64_t>(r.bounded("model type length", 0, 256)), "model type");
  for (const char* field : {"version major", "version minor", "version patch"}) r.bounded(field, 0, 1 << 16);
  r.bounded("n_window", 1, 1 << 16);
  r.bounded("n_context", 0, 1 << 16);
  const int32_t n_layers = r.bounded("encoder layer count", 1, 64);
  for (int32_t i = 0; i < n_layers * 3; ++i) r.bounded("encoder layer parameter", 0, 1 << 16);
  for (const char* field : {"lstm_input_size", "lstm_hidden_size", "final_conv_in", "final_conv_out"}) {
    r.bounded(field, 0, 1 << 16);
  }
  check_tensors(r);
}

}  // namespace

void check_model_file(const std::string& path, ModelKind kind) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw ModelFileError("model file not found: " + path);
  if (S_ISDIR(st.st_mode)) throw ModelFileError("model path is a directory, not a file: " + path);
  if (st.st_size < 4) throw ModelFileError("model file is empty or truncated (" + std::to_string(st.st_size) + " bytes): " + path);

  Reader r(path, static_cast<uint64_t>(st.st_size));
  uint32_t magic = 0;
  r.bytes(&magic, sizeof magic, "magic");
  if (magic != kGgmlMagic) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", magic);
    throw ModelFileError(std::string("not a whisper.cpp ggml model file (magic ") + hex +
                         ", expected 0x67676d6c 'ggml'): " + path);
  }
  if (kind == ModelKind::Whisper) {
    check_whisper(r);
  } else {
    check_silero(r);
  }
}

}  // namespace wsa
