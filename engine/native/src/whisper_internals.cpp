// whisper.cpp's own source, compiled here in place of its src/whisper.cpp (see CMakeLists.txt), followed by the
// accessors of whisper_internals.h, which need its private struct definitions.
#include "whisper.cpp"

#include "whisper_internals.h"

namespace wsa {

void reset_decoder_rngs(whisper_state* state) {
  for (int j = 0; j < WHISPER_MAX_DECODERS; ++j) state->decoders[j].rng = std::mt19937(j);
}

void enable_dtw(whisper_context* ctx) {
  const whisper_hparams& h = ctx->model.hparams;
  const bool multi = whisper_is_multilingual(ctx) != 0;
  whisper_alignment_heads_preset preset = WHISPER_AHEADS_N_TOP_MOST;
  switch (h.n_audio_layer) {
    case 4: preset = multi ? WHISPER_AHEADS_TINY : WHISPER_AHEADS_TINY_EN; break;
    case 6: preset = multi ? WHISPER_AHEADS_BASE : WHISPER_AHEADS_BASE_EN; break;
    case 12: preset = multi ? WHISPER_AHEADS_SMALL : WHISPER_AHEADS_SMALL_EN; break;
    case 24: preset = multi ? WHISPER_AHEADS_MEDIUM : WHISPER_AHEADS_MEDIUM_EN; break;
    case 32:
      if (h.n_mels == 128) preset = h.n_text_layer == 4 ? WHISPER_AHEADS_LARGE_V3_TURBO : WHISPER_AHEADS_LARGE_V3;
      else preset = WHISPER_AHEADS_LARGE_V2;
      break;
    default: break;
  }
  ctx->params.dtw_token_timestamps = true;
  ctx->params.dtw_aheads_preset = preset;
  ctx->params.dtw_n_top = std::max(1, h.n_text_layer / 2);
}

void reserve_segments(whisper_state* state, size_t n_samples) {
  // Each 30 s window yields at most one segment per text token, and whisper_full decodes at most n_text_ctx / 2 (224)
  // tokens in one; it keeps the capacity between calls (it only clears the list).
  constexpr size_t kTokensPerWindow = 224;
  const size_t window = static_cast<size_t>(WHISPER_SAMPLE_RATE) * WHISPER_CHUNK_SIZE;
  const size_t windows = n_samples / window + 2;
  const size_t needed = windows * kTokensPerWindow + 1;
  if (state->result_all.capacity() < needed) state->result_all.reserve(needed);
}

size_t vad_state_size(whisper_vad_context* vctx) {
  return static_cast<size_t>(ggml_nelements(vctx->h_state) + ggml_nelements(vctx->c_state));
}

void vad_get_state(whisper_vad_context* vctx, float* out) {
  const size_t h = ggml_nbytes(vctx->h_state);
  ggml_backend_tensor_get(vctx->h_state, out, 0, h);
  ggml_backend_tensor_get(vctx->c_state, reinterpret_cast<char*>(out) + h, 0, ggml_nbytes(vctx->c_state));
}

void vad_set_state(whisper_vad_context* vctx, const float* in) {
  const size_t h = ggml_nbytes(vctx->h_state);
  ggml_backend_tensor_set(vctx->h_state, in, 0, h);
  ggml_backend_tensor_set(vctx->c_state, reinterpret_cast<const char*>(in) + h, 0, ggml_nbytes(vctx->c_state));
}

}  // namespace wsa
