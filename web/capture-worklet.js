// AudioWorklet processor: hands each block of microphone samples (mono, at the context's rate) to the page.
// The page converts to 16 kHz s16le with the client library, so this stays as small as the audio thread needs.
class CaptureProcessor extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0]?.[0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor('capture', CaptureProcessor);
