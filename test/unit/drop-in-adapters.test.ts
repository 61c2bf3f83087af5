// The Deepgram and AssemblyAI adapters fed session events by hand: what each sends for partials, finals, Finalize,
// UtteranceEnd and errors, how query strings and messages are read, and how their audio is converted. No server.
import t from 'tap';
import { LanguagePolicy, type TranscriptEvent } from '../../engine/pipeline/index.js';
import { ProtocolError } from '../../protocol/errors.js';
import type { Command } from '../../server/ws/adapter.js';
import { AssemblyAiAdapter } from '../../server/ws/adapters/assemblyai.js';
import { AudioInput } from '../../server/ws/adapters/audio-input.js';
import { DeepgramAdapter } from '../../server/ws/adapters/deepgram.js';
import type { AdapterSettings } from '../../server/ws/routes.js';

type Message = Record<string, unknown>;

const settings: AdapterSettings = {
  ackIntervalMs: 1000,
  languages: new LanguagePolicy(['en', 'de'], true),
  maxSessionMs: 3_600_000,
  endSilenceMs: 400,
};
const session = { id: 'session-1', resumeToken: null, resumeTtlMs: 0, resumed: false, samplesReceived: 0 };
const text = (data: string): { data: Buffer; binary: boolean } => ({ data: Buffer.from(data), binary: false });

/** A transcript; unless it says otherwise, its segment is its turn's only one (a final ends the turn). */
function event(
  fields: Partial<TranscriptEvent> & Pick<TranscriptEvent, 'text' | 'isFinal' | 'segmentId'>,
): TranscriptEvent {
  return {
    language: 'en',
    seq: 0,
    startMs: 1000,
    endMs: 2000,
    words: [],
    endOfSpeech: fields.isFinal,
    turnId: fields.segmentId,
    ...fields,
  };
}

function deepgram(query: string): { adapter: DeepgramAdapter; sent: Message[] } {
  const sent: Message[] = [];
  const adapter = new DeepgramAdapter(
    (m) => sent.push(JSON.parse(m) as Message),
    new URLSearchParams(`encoding=linear16&sample_rate=16000&${query}`),
    settings,
  );
  adapter.started(session);
  return { adapter, sent };
}

function flushOf(commands: Command[]): { done: () => void; settled: () => void } {
  const command = commands.find((c) => c.type === 'flush');
  if (command?.type !== 'flush' || !command.done || !command.settled)
    throw new Error('expected a flush with done and settled');
  return { done: command.done, settled: command.settled };
}

const alternative = (m: Message | undefined): Message =>
  ((m as Message)['channel'] as { alternatives: Message[] }).alternatives[0] as Message;

t.test('deepgram: partials and finals as Results, words in seconds, the tail of a partial estimated', async (t) => {
  const { adapter, sent } = deepgram('interim_results=true&punctuate=true');
  adapter.transcript(
    event({
      text: 'And so my',
      isFinal: false,
      segmentId: 0,
      words: [{ text: 'And', startMs: 1000, endMs: 1200, confidence: 0.9 }],
    }),
  );
  adapter.transcript(
    event({
      text: 'And so, my.',
      isFinal: true,
      segmentId: 0,
      endMs: 1800,
      words: [
        { text: 'And', startMs: 1000, endMs: 1200, confidence: 0.9 },
        { text: 'so,', startMs: 1200, endMs: 1500, confidence: 0.7 },
        { text: 'my.', startMs: 1500, endMs: 1800, confidence: 0.5 },
      ],
    }),
  );
  t.match(sent[0], {
    type: 'Results',
    is_final: false,
    speech_final: false,
    from_finalize: false,
    start: 1,
    duration: 1,
    metadata: { request_id: 'session-1' },
  });
  t.same(alternative(sent[0])['words'], [
    { word: 'and', start: 1, end: 1.2, confidence: 0.9, punctuated_word: 'And' },
    { word: 'so', start: 1.2, end: 1.6, confidence: 0, punctuated_word: 'so' },
    { word: 'my', start: 1.6, end: 2, confidence: 0, punctuated_word: 'my' },
  ]);
  t.match(alternative(sent[0]), { transcript: 'And so my', confidence: 0.9 });
  t.match(sent[1], { is_final: true, speech_final: true, from_finalize: false, duration: 0.8 });
  t.match(alternative(sent[1]), { transcript: 'And so, my.', confidence: 0.7 });
  adapter.transcript(event({ text: 'A sentence.', isFinal: true, endOfSpeech: false, segmentId: 1, turnId: 1 }));
  t.match(
    sent[2],
    { is_final: true, speech_final: false },
    'a segment final while speech goes on: is_final, not speech_final',
  );

  const plain = deepgram('');
  plain.adapter.transcript(event({ text: 'And so', isFinal: false, segmentId: 0 }));
  plain.adapter.transcript(
    event({
      text: 'And so, my.',
      isFinal: true,
      segmentId: 0,
      words: [{ text: 'my.', startMs: 1500, endMs: 1800, confidence: 0.5 }],
    }),
  );
  t.equal(plain.sent.length, 1, 'no interim_results: finals only');
  t.equal(alternative(plain.sent[0])['transcript'], 'and so my', 'no punctuate: lower case, no punctuation');
  t.same(alternative(plain.sent[0])['words'], [{ word: 'my', start: 1.5, end: 1.8, confidence: 0.5 }]);
});

t.test('deepgram: Finalize marks the last final of the turn it ended, and always gets an answer', async (t) => {
  const { adapter, sent } = deepgram('');
  const first = flushOf(adapter.decode(text('{"type": "Finalize"}')));
  adapter.speech({ type: 'stopped', turnId: 0, segmentId: 1, ms: 2000 });
  first.done();
  adapter.speech({ type: 'stopped', turnId: 1, segmentId: 2, ms: 4000 });
  adapter.transcript(event({ text: 'Hello.', isFinal: true, endOfSpeech: false, segmentId: 0, turnId: 0 }));
  adapter.transcript(event({ text: 'There.', isFinal: true, segmentId: 1, turnId: 0 }));
  adapter.transcript(event({ text: 'Later.', isFinal: true, segmentId: 2, turnId: 1 }));
  first.settled();
  t.same(
    sent.map((m) => [alternative(m)['transcript'], m['from_finalize'], m['speech_final']]),
    [
      ['hello', false, false],
      ['there', true, false],
      ['later', false, true],
    ],
    'only the final that closed the turn the flush ended, which endpointing did not end; and no extra answer',
  );

  const empty = flushOf(adapter.decode(text('{"type": "Finalize", "channel": 0}')));
  adapter.audio(16000 * 5);
  empty.done();
  empty.settled();
  t.match(
    sent.at(-1),
    {
      type: 'Results',
      is_final: true,
      speech_final: false,
      from_finalize: true,
      start: 5,
      duration: 0,
      channel: { alternatives: [{ transcript: '', words: [] }] },
    },
    'nothing to finalize: an empty final says so',
  );
});

t.test(
  "deepgram: UtteranceEnd after utterance_end_ms of settled audio past a turn's last word, unless speech resumes",
  async (t) => {
    const { adapter, sent } = deepgram('utterance_end_ms=1000&vad_events=true');
    adapter.speech({ type: 'started', turnId: 0, segmentId: 0, ms: 500 });
    adapter.transcript(
      event({
        text: 'Zero.',
        isFinal: true,
        endOfSpeech: false,
        segmentId: 0,
        turnId: 0,
        words: [{ text: 'Zero.', startMs: 300, endMs: 600, confidence: 1 }],
      }),
    );
    adapter.settled(16000 * 1.7);
    t.equal(
      sent.filter((m) => m['type'] === 'UtteranceEnd').length,
      0,
      'a segment final while the turn goes on is no utterance end',
    );
    adapter.transcript(
      event({
        text: 'One.',
        isFinal: true,
        segmentId: 1,
        turnId: 0,
        words: [{ text: 'One.', startMs: 600, endMs: 1000, confidence: 1 }],
      }),
    );
    adapter.settled(16000 * 1.9);
    t.equal(sent.filter((m) => m['type'] === 'UtteranceEnd').length, 0, 'not yet');
    adapter.settled(16000 * 2);
    t.match(sent.at(-1), { type: 'UtteranceEnd', channel: [0, 1], last_word_end: 1 });

    adapter.speech({ type: 'started', turnId: 1, segmentId: 2, ms: 3000 });
    adapter.speech({ type: 'started', turnId: 2, segmentId: 3, ms: 4500 });
    adapter.transcript(
      event({
        text: 'Two.',
        isFinal: true,
        segmentId: 2,
        turnId: 1,
        words: [{ text: 'Two.', startMs: 3100, endMs: 4000, confidence: 1 }],
      }),
    );
    adapter.settled(16000 * 6);
    t.equal(
      sent.filter((m) => m['type'] === 'UtteranceEnd').length,
      1,
      'the next utterance began 500 ms after the last word: no UtteranceEnd',
    );
    t.same(
      sent.filter((m) => m['type'] === 'SpeechStarted').map((m) => m['timestamp']),
      [0.5, 3, 4.5],
    );
  },
);

t.test('deepgram: audio received past the gap is not a gap until speech detection has been through it', async (t) => {
  // Speech detection runs behind the audio: the final of turn 0 can arrive when 2 s more audio has been received but
  // only 1.2 s of it detected, and the next turn, starting 600 ms after the last word, is not known yet.
  const { adapter, sent } = deepgram('utterance_end_ms=1000&interim_results=true&vad_events=true');
  adapter.speech({ type: 'started', turnId: 0, segmentId: 0, ms: 0 });
  adapter.audio(16000 * 3);
  adapter.settled(16000 * 1.2);
  adapter.transcript(
    event({
      text: 'Hello.',
      isFinal: true,
      segmentId: 0,
      turnId: 0,
      startMs: 0,
      endMs: 1200,
      words: [{ text: 'Hello.', startMs: 200, endMs: 1000, confidence: 1 }],
    }),
  );
  adapter.audio(16000 * 3.2);
  adapter.settled(16000 * 1.5);
  adapter.speech({ type: 'started', turnId: 1, segmentId: 1, ms: 1600 });
  adapter.settled(16000 * 3.2);
  t.notOk(
    sent.some((m) => m['type'] === 'UtteranceEnd'),
    'speech resumed 600 ms after the last word: no UtteranceEnd, however far the audio received ran ahead',
  );
});

t.test('deepgram: control messages, errors in its shape, Metadata', async (t) => {
  const { adapter, sent } = deepgram('channels=2');
  t.same(adapter.decode(text('{"type": "KeepAlive"}')), [{ type: 'keepalive' }]);
  t.same(adapter.decode(text('{"type": "CloseStream"}')), [{ type: 'end' }]);
  t.throws(() => adapter.decode(text('{"type": "Nope"}')), { code: 'unknown_type' });
  adapter.error('bad_json', 'not JSON');
  adapter.error('frame_too_large', 'too big');
  t.same(sent, [
    { type: 'Error', code: 'UNPARSABLE_CLIENT_MESSAGE', description: 'not JSON' },
    { type: 'Error', code: 'FRAME_TOO_LARGE', description: 'too big' },
  ]);
  const [audio] = adapter.decode({ data: Buffer.alloc(16000 * 4), binary: true });
  t.equal(audio?.type === 'audio' && audio.pcm.byteLength, 32000, '1 s of stereo: one channel');
  adapter.audio(16000);
  adapter.closing();
  t.match(sent.at(-1), {
    type: 'Metadata',
    transaction_key: 'deprecated',
    request_id: 'session-1',
    sha256: /^[0-9a-f]{64}$/,
    duration: 1,
    channels: 2,
  });
});

t.test('deepgram: the query string', async (t) => {
  const query = (q: string): URLSearchParams => new URLSearchParams(q);
  const make = (q: string) => new DeepgramAdapter(() => undefined, query(q), settings);
  t.same(
    make('encoding=linear16&sample_rate=16000&language=de-CH&endpointing=10&keyterm=Kennedy&keyterm=%20Berlin%20')
      .connectOptions,
    { language: 'de', prompt: 'Kennedy, Berlin', endpointingMs: 100 },
  );
  t.same(make('encoding=linear16&sample_rate=16000&language=multi&endpointing=false').connectOptions, {
    language: 'auto',
    endpointingMs: null,
  });
  t.same(
    make('encoding=linear16&sample_rate=16000&endpointing=60000').connectOptions,
    { endpointingMs: 5000 },
    'held to 5 s',
  );
  t.same(
    make('encoding=LINEAR16&sample_rate=44100&endpointing=true&model=nova-3&diarize=true').connectOptions,
    {},
    'defaults; unknown parameters ignored',
  );
  for (const audio of [
    'encoding=mulaw&sample_rate=8000',
    'encoding=alaw&sample_rate=8000',
    'encoding=linear32&sample_rate=48000',
    '',
    'encoding=opus',
    'encoding=ogg-opus&sample_rate=48000',
  ]) {
    t.doesNotThrow(() => make(audio), `taken: ${audio || 'no encoding (a container)'}`);
  }
  for (const [bad, code] of [
    ['encoding=flac&sample_rate=16000', 'bad_option'],
    ['encoding=linear16', 'bad_option'],
    ['encoding=mulaw', 'bad_option'],
    ['encoding=linear16&sample_rate=16000.5', 'bad_option'],
    ['encoding=linear16&sample_rate=16000&channels=0', 'bad_option'],
    ['encoding=linear16&sample_rate=16000&multichannel=true', 'bad_option'],
    ['encoding=linear16&sample_rate=16000&callback=http://x', 'bad_option'],
    ['encoding=linear16&sample_rate=16000&interim_results=yes', 'bad_option'],
    ['encoding=linear16&sample_rate=16000&language=english!', 'bad_option'],
    ['encoding=linear16&sample_rate=16000&language=xx', 'unknown_language'],
    ['encoding=linear16&sample_rate=16000&utterance_end_ms=0', 'bad_option'],
    [`encoding=linear16&sample_rate=16000&keyterm=${'k'.repeat(1025)}`, 'prompt_too_long'],
  ] as const) {
    t.throws(() => make(bad), new ProtocolError(code, ''), bad.slice(0, 80));
  }
});

function assemblyAi(query = ''): { adapter: AssemblyAiAdapter; sent: Message[] } {
  const sent: Message[] = [];
  const adapter = new AssemblyAiAdapter(
    (m) => sent.push(JSON.parse(m) as Message),
    new URLSearchParams(query),
    settings,
  );
  return { adapter, sent };
}

t.test(
  'assemblyai: Begin, Turns from partials and segment finals, the end of turn unformatted then formatted, Termination',
  async (t) => {
    const { adapter, sent } = assemblyAi('format_turns=true');
    adapter.started(session);
    t.match(sent[0], { type: 'Begin', id: 'session-1' });
    t.ok(
      Math.abs((sent[0]?.['expires_at'] as number) - (Date.now() / 1000 + 3600)) < 5,
      'expires_at: MAX_SESSION_MS from now, in seconds',
    );
    adapter.transcript(
      event({
        text: 'Hi my name',
        isFinal: false,
        segmentId: 4,
        turnId: 2,
        words: [{ text: 'Hi', startMs: 1000, endMs: 1300, confidence: 0.8 }],
      }),
    );
    adapter.transcript(
      event({
        text: 'Hi, my name.',
        isFinal: true,
        endOfSpeech: false,
        segmentId: 4,
        turnId: 2,
        words: [
          { text: 'Hi,', startMs: 1000, endMs: 1300, confidence: 0.8 },
          { text: 'my', startMs: 1300, endMs: 1500, confidence: 0.6 },
          { text: 'name.', startMs: 1500, endMs: 2000, confidence: 0.4 },
        ],
      }),
    );
    adapter.transcript(event({ text: 'is Ann', isFinal: false, segmentId: 5, turnId: 2, startMs: 2000, endMs: 2600 }));
    adapter.transcript(
      event({
        text: 'Is Ann.',
        isFinal: true,
        segmentId: 5,
        turnId: 2,
        startMs: 2000,
        endMs: 2600,
        words: [
          { text: 'Is', startMs: 2000, endMs: 2200, confidence: 0.9 },
          { text: 'Ann.', startMs: 2200, endMs: 2600, confidence: 0.7 },
        ],
      }),
    );
    adapter.transcript(event({ text: 'Next', isFinal: false, segmentId: 6, turnId: 3 }));
    t.same(
      sent[1],
      {
        type: 'Turn',
        turn_order: 0,
        turn_is_formatted: false,
        end_of_turn: false,
        transcript: '',
        end_of_turn_confidence: 0,
        words: [
          { start: 1000, end: 1300, text: 'hi', confidence: 0.8, word_is_final: false },
          { start: 1300, end: 1650, text: 'my', confidence: 0, word_is_final: false },
          { start: 1650, end: 2000, text: 'name', confidence: 0, word_is_final: false },
        ],
        utterance: '',
      },
      'a partial: no word is final yet',
    );
    t.match(
      sent[2],
      { turn_order: 0, end_of_turn: false, transcript: 'hi my name' },
      'a segment final makes its words final',
    );
    t.same(
      (sent[3]?.['words'] as Message[] | undefined)?.map((w) => [w['text'], w['word_is_final']]),
      [
        ['hi', true],
        ['my', true],
        ['name', true],
        ['is', false],
        ['ann', false],
      ],
      'the next partial of the turn keeps them, then its own',
    );
    t.match(
      sent[4],
      {
        turn_order: 0,
        turn_is_formatted: false,
        end_of_turn: true,
        transcript: 'hi my name is ann',
        utterance: 'hi my name is ann',
        end_of_turn_confidence: 0.313,
      },
      'the end-of-turn silence (400 ms) against max_turn_silence (1280 ms)',
    );
    t.match(sent[5], {
      turn_order: 0,
      turn_is_formatted: true,
      end_of_turn: true,
      transcript: 'Hi, my name. Is Ann.',
      utterance: 'Hi, my name. Is Ann.',
    });
    t.same(
      (sent[5]?.['words'] as Message[] | undefined)?.map((w) => [w['text'], w['word_is_final']]),
      [
        ['Hi,', true],
        ['my', true],
        ['name.', true],
        ['Is', true],
        ['Ann.', true],
      ],
    );
    t.match(sent[6], { turn_order: 1, transcript: '' }, 'the next turn');
    adapter.audio(16000 * 2.5);
    adapter.closing();
    t.match(sent.at(-1), { type: 'Termination', audio_duration_seconds: 2.5, session_duration_seconds: Number });
  },
);

t.test('assemblyai: client messages, UpdateConfiguration, errors with its codes', async (t) => {
  const { adapter, sent } = assemblyAi(
    'sample_rate=16000&min_turn_silence=300&max_turn_silence=200&keyterms_prompt=%5B%22Kennedy%22%5D' +
      '&end_of_turn_confidence_threshold=0.7&speech_model=universal-streaming-english',
  );
  t.same(adapter.connectOptions, { prompt: 'Kennedy', endpointingMs: 200 }, 'max_turn_silence caps min_turn_silence');
  t.same(adapter.decode(text('{"type": "ForceEndpoint"}')), [{ type: 'flush' }]);
  t.same(adapter.decode(text('{"type": "KeepAlive"}')), [{ type: 'keepalive' }]);
  t.same(adapter.decode(text('{"type": "Terminate"}')), [{ type: 'end' }]);
  const minAndTerms = JSON.stringify({
    type: 'UpdateConfiguration',
    min_end_of_turn_silence_when_confident: 20,
    keyterms_prompt: ['a', 'b'],
  });
  t.match(
    adapter.decode(text(minAndTerms)),
    [{ type: 'configure', options: { prompt: 'a, b', endpointingMs: 140 } }],
    'with the threshold of the query: 0.7 × max_turn_silence (200 ms)',
  );
  t.match(
    adapter.decode(text('{"type": "UpdateConfiguration", "max_turn_silence": 900, "vad_threshold": 0.5}')),
    [{ type: 'configure', options: { endpointingMs: 630 } }],
    'a longer max_turn_silence: 0.7 × 900 ms',
  );
  const plain = assemblyAi('sample_rate=16000');
  t.same(
    plain.adapter.decode(text('{"type": "UpdateConfiguration", "max_turn_silence": 900}')),
    [],
    'without a threshold or min_turn_silence, max_turn_silence alone changes nothing',
  );
  t.same(adapter.decode(text('{"type": "UpdateConfiguration", "format_turns": true}')), []);
  adapter.transcript(event({ text: 'Done.', isFinal: true, segmentId: 0 }));
  t.match(sent.at(-1), { turn_is_formatted: true, transcript: 'Done.' }, 'format_turns took effect');
  t.throws(() => adapter.decode(text('{"type": "UpdateConfiguration", "format_turns": "yes"}')), {
    code: 'bad_message',
  });
  t.throws(() => adapter.decode(text('{"type": "UpdateConfiguration", "end_of_turn_confidence_threshold": 3}')), {
    code: 'bad_option',
  });
  t.throws(() => adapter.decode(text('{"type": "Nope"}')), { code: 'unknown_type' });
  t.throws(() => adapter.decode({ data: Buffer.alloc(3), binary: true }), { code: 'odd_frame_length' });
  for (const code of ['bad_json', 'frame_too_large', 'too_many_sessions', 'transcription_failed'] as const)
    adapter.error(code, code);
  t.same(
    sent.slice(-4).map((m) => [m['type'], m['error_code'], m['error']]),
    [
      ['Error', 3006, 'bad_json'],
      ['Error', 3007, 'frame_too_large'],
      ['Error', 3009, 'too_many_sessions'],
      ['Error', 3005, 'transcription_failed'],
    ],
  );
  const bads = ['encoding=pcm_alaw', 'encoding=opus', 'sample_rate=7999', 'keyterms_prompt=[1]', 'keyterms_prompt=x'];
  bads.push('format_turns=1', 'end_of_turn_confidence_threshold=x');
  bads.push('inactivity_timeout=4', 'inactivity_timeout=3601', 'inactivity_timeout=1.5');
  for (const bad of bads) {
    t.throws(() => assemblyAi(bad), { code: 'bad_option' }, bad);
  }
});

t.test(
  'assemblyai: end_of_turn_confidence is the silence after the last word against max_turn_silence; the threshold acts',
  async (t) => {
    // AssemblyAI's turn detection example: a turn ends once the confidence reaches end_of_turn_confidence_threshold
    // after min_end_of_turn_silence_when_confident, or at max_turn_silence whatever the confidence.
    const { adapter, sent } = assemblyAi(
      'sample_rate=16000&end_of_turn_confidence_threshold=0.4' +
        '&min_end_of_turn_silence_when_confident=160&max_turn_silence=2400',
    );
    t.same(
      adapter.connectOptions,
      { endpointingMs: 960 },
      'confident once 40 % of 2400 ms of silence has passed: 960 ms',
    );
    adapter.transcript(
      event({
        text: 'Hello there',
        isFinal: false,
        segmentId: 0,
        startMs: 0,
        endMs: 900,
        words: [{ text: 'Hello', startMs: 100, endMs: 400, confidence: 0.9 }],
      }),
    );
    t.equal(sent.at(-1)?.['end_of_turn_confidence'], 0, 'a partial: words run to the newest audio, no silence yet');
    adapter.transcript(
      event({
        text: 'Hello there.',
        isFinal: true,
        endOfSpeech: false,
        segmentId: 0,
        startMs: 0,
        endMs: 1500,
        words: [
          { text: 'Hello', startMs: 100, endMs: 400, confidence: 0.9 },
          { text: 'there.', startMs: 400, endMs: 900, confidence: 0.9 },
        ],
      }),
    );
    t.equal(sent.at(-1)?.['end_of_turn_confidence'], 0.25, 'a segment final ending on 600 ms of pause: 600 / 2400');
    adapter.transcript(
      event({
        text: 'Bye.',
        isFinal: true,
        segmentId: 1,
        turnId: 0,
        startMs: 1500,
        endMs: 2460,
        words: [{ text: 'Bye.', startMs: 1500, endMs: 1800, confidence: 0.9 }],
      }),
    );
    t.match(sent.at(-1), { end_of_turn: true, end_of_turn_confidence: 0.4 }, 'the end of turn: the threshold, reached');

    const updated = adapter.decode(text('{"type": "UpdateConfiguration", "end_of_turn_confidence_threshold": 0.75}'));
    t.match(updated, [{ type: 'configure', options: { endpointingMs: 1800 } }], 'a higher threshold waits longer');
    const configure = updated[0];
    if (configure?.type === 'configure') configure.done?.();
    adapter.transcript(
      event({
        text: 'Again.',
        isFinal: true,
        segmentId: 2,
        turnId: 1,
        startMs: 3000,
        endMs: 4800,
        words: [{ text: 'Again.', startMs: 3000, endMs: 3000, confidence: 0.9 }],
      }),
    );
    t.match(sent.at(-1), { end_of_turn: true, end_of_turn_confidence: 0.75 });
    t.same(
      assemblyAi('sample_rate=16000&end_of_turn_confidence_threshold=1&max_turn_silence=700').adapter.connectOptions,
      { endpointingMs: 700 },
      'threshold 1: max_turn_silence',
    );
    t.same(
      assemblyAi('sample_rate=16000&end_of_turn_confidence_threshold=0').adapter.connectOptions,
      { endpointingMs: 100 },
      'threshold 0: the shortest silence the server takes',
    );
  },
);

t.test(
  "assemblyai: inactivity_timeout (5 to 3600 s) closes an idle session as a Terminate would; none keeps the server's",
  async (t) => {
    t.same(assemblyAi('sample_rate=16000&inactivity_timeout=5').adapter.idle, {
      ms: 5000,
      code: 1000,
      reason: 'inactivity timeout: no audio for 5 s',
    });
    t.equal(assemblyAi('sample_rate=16000').adapter.idle, undefined);
    t.same(
      deepgram('').adapter.idle,
      {
        ms: 10_000,
        code: 1011,
        reason: 'NET-0001: Deepgram did not receive audio data or a text message within the timeout window',
      },
      'Deepgram: 10 s, 1011 NET-0001',
    );
    t.same(
      deepgram('')
        .adapter.decode(text('{"type": "Finalize"}'))
        .map((c) => c.type),
      ['keepalive', 'flush'],
      'Deepgram: any text message keeps the stream alive',
    );
  },
);

t.test('audio input: mixed down, resampled, bounded; frames at odd offsets are read right', async (t) => {
  const pcmOf = (commands: Command[]): Int16Array => {
    const bytes = Buffer.concat(commands.map((c) => (c.type === 'audio' ? c.pcm : new Uint8Array(0))));
    return new Int16Array(new Uint8Array(bytes).buffer);
  };
  const raw = (encoding: 'linear16' | 'mulaw', sampleRate: number, channels = 1): AudioInput =>
    new AudioInput({ kind: 'raw', encoding, sampleRate, channels });
  const stereo = raw('linear16', 48000, 2);
  const frame = new Int16Array(4800 * 2).map((_, i) => (i % 2 === 0 ? 1000 : 3000));
  const first = pcmOf(stereo.commands(new Uint8Array(frame.buffer)));
  const second = pcmOf(stereo.commands(new Uint8Array(frame.buffer)));
  // The filter's look-ahead holds back a few samples of each message until the next one comes.
  t.ok(
    first.length > 1550 && first.length <= 1600,
    `100 ms at 48 kHz is about 1600 samples at 16 kHz (${first.length})`,
  );
  t.equal(first.length + second.length, 3200 - (1600 - first.length), 'what was held back comes with the next message');
  t.ok(
    second.every((s) => s === 2000),
    'the channels averaged',
  );

  const bytes = new Uint8Array(new Int16Array([100, -200, 300, -400]).buffer);
  const odd = Buffer.alloc(bytes.length + 1);
  odd.set(bytes, 1);
  t.same(
    pcmOf(raw('linear16', 8000).commands(odd.subarray(1))),
    pcmOf(raw('linear16', 8000).commands(bytes)),
    'same samples from an odd offset',
  );
  const passThrough = raw('linear16', 16000);
  t.same(passThrough.commands(bytes), [{ type: 'audio', pcm: bytes }], '16 kHz mono passes through untouched');
  t.throws(() => stereo.commands(new Uint8Array(6)), { code: 'odd_frame_length' }, 'stereo frames are 4 bytes');
  t.throws(() => passThrough.commands(new Uint8Array(32002)), { code: 'frame_too_large' }, 'over 1 s of audio');
  t.doesNotThrow(() => passThrough.commands(new Uint8Array(32000)));
  const mulaw = raw('mulaw', 8000);
  t.equal(pcmOf(mulaw.commands(new Uint8Array(160).fill(0xff))).length > 0, true, 'mu-law at 8 kHz: a byte a sample');
  t.throws(() => mulaw.commands(new Uint8Array(8001)), { code: 'frame_too_large' }, 'over 1 s of 8 kHz mu-law');

  const container = new AudioInput({ kind: 'container', accepted: ['ogg', 'webm'] });
  t.throws(
    () => container.commands(new TextEncoder().encode('not a container')),
    { code: 'bad_audio' },
    'neither Ogg nor WebM',
  );
  t.throws(
    () => container.commands(new Uint8Array(10)),
    { code: 'bad_audio', message: /cannot go on/ },
    'and it stays refused',
  );
});
