#pragma once

#include <cstddef>

#include "whisper.h"

// Two things whisper.cpp 1.9's API does not offer, reached through its internals (whisper_internals.cpp compiles
// whisper.cpp itself as part of the same translation unit, so nothing of whisper.cpp is copied or changed).
namespace wsa {

// Seeds every decoder's random generator as a fresh state does. whisper_full re-seeds decoders 1..n on each call
// but seeds decoder 0 only when the state is created, so sampling (beam search, temperature fallback) would
// otherwise depend on every earlier call on that state.
void reset_decoder_rngs(whisper_state* state);

// Turns on whisper.cpp's DTW token timestamps for a context that has no state yet, with the alignment heads of the
// model's size (or all heads of the top half of the text layers for sizes it has no preset for). whisper.cpp asks for
// the preset before loading; choosing it from the loaded weights lets one call serve every model file.
void enable_dtw(whisper_context* ctx);

// Makes room in the state's segment list for every segment a call on `n_samples` of audio can produce, and one more.
// whisper.cpp 1.9's DTW timestamps step one segment past the last after timing its last token and read that segment's
// token list (AddressSanitizer: heap-buffer-overflow in whisper_exp_compute_token_level_timestamps_dtw); with spare
// capacity the read stays inside the list's own allocation, and nothing read there is used.
void reserve_segments(whisper_state* state, size_t n_samples);

// Floats in the Silero LSTM state (hidden and cell vectors together).
size_t vad_state_size(whisper_vad_context* vctx);
// Copies the LSTM state out of / into a context, so one context (one copy of the weights) can serve many streams.
void vad_get_state(whisper_vad_context* vctx, float* out);
void vad_set_state(whisper_vad_context* vctx, const float* in);

}  // namespace wsa
