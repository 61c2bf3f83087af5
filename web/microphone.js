// Microphone capture for the demo pages: getUserMedia -> AudioWorklet -> blocks of Float32 samples (mono, at the
// audio context's rate), handed to whoever streams them.
export async function openMicrophone() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
  });
  const context = new AudioContext();
  await context.audioWorklet.addModule('/capture-worklet.js');
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, 'capture');
  return {
    sampleRate: context.sampleRate,
    start(onBlock) {
      node.port.onmessage = ({ data }) => onBlock(data);
      source.connect(node);
    },
    async close() {
      // Blocks the worklet already posted must not reach the stream after this.
      node.port.onmessage = null;
      source.disconnect();
      for (const track of stream.getTracks()) track.stop();
      await context.close();
    },
  };
}
