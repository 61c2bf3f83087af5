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

// Floats in the Silero LSTM state (hidden and cell vectors together).
size_t vad_state_size(whisper_vad_context* vctx);
// Copies the LSTM state out of / into a context, so one context (one copy of the weights) can serve many streams.
void vad_get_state(whisper_vad_context* vctx, float* out);
void vad_set_state(whisper_vad_context* vctx, const float* in);

}  // namespace wsa
