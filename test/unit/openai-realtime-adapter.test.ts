/**
 * The OpenAI Realtime adapter driven by scripted session events, no server: deltas are the turn's segment finals and
 * never need taking back, their concatenation is the completed transcript, one item per speech turn, and client input
 * is bounded and refused in OpenAI's error shape.
 */
import t from 'tap';
import type { TranscriptEvent, Word } from '../../engine/pipeline/index.js';
import { ProtocolError } from '../../protocol/errors.js';
import { MAX_APPEND_CHARS } from '../../protocol/openai-realtime.js';
import type { Command } from '../../server/ws/adapter.js';
import { OpenAiRealtimeAdapter, realtimeAdapter } from '../../server/ws/adapters/openai-realtime.js';

type Event = Record<string, unknown> & { type: string };

function harness(): { adapter: OpenAiRealtimeAdapter; sent: Event[]; decode: (message: unknown) => Command[] } {
  const sent: Event[] = [];
  const adapter = new OpenAiRealtimeAdapter((message) => sent.push(JSON.parse(message) as Event), 'ga');
  adapter.started({ id: 'abc', resumeToken: null, resumeTtlMs: 0, resumed: false, samplesReceived: 0 });
  const decode = (message: unknown): Command[] =>
    adapter.decode({
      data: Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)),
      binary: false,
    });
  return { adapter, sent, decode };
}

const words = (...texts: string[]): Word[] =>
  texts.map((text, i) => ({ text, startMs: i * 100, endMs: i * 100 + 90, confidence: 0.9 }));
let seq = 0;
/** A partial of segment `segmentId`; unless told otherwise, its turn has the same number. */
const partial = (segmentId: number, text: string, committed: Word[], turnId = segmentId): TranscriptEvent => ({
  text,
  isFinal: false,
  endOfSpeech: false,
  language: 'en',
  segmentId,
  turnId,
  seq: seq++,
  startMs: 0,
  endMs: 1000,
  words: committed,
});
/** A final; unless told otherwise, of its turn's last segment. */
const final = (segmentId: number, text: string, turnId = segmentId, endOfSpeech = true): TranscriptEvent => ({
  ...partial(segmentId, text, [], turnId),
  isFinal: true,
  endOfSpeech,
  endMs: 1500,
});
const speech = (type: 'started' | 'stopped', turnId: number, ms: number, segmentId = turnId) => ({
  type,
  turnId,
  segmentId,
  ms,
});

/** The binding's way: decode, then report what it threw as an error in the protocol. */
function reject(adapter: OpenAiRealtimeAdapter, run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    adapter.error(error.code, error.message);
  }
}

t.test(
  'deltas are the segment finals of the turn as they come, and together they are its completed transcript',
  async (t) => {
    const { adapter, sent } = harness();
    adapter.speech(speech('started', 0, 120));
    adapter.transcript(partial(0, 'and so', []));
    adapter.transcript(partial(0, 'and so my fellow', words('and', 'so')));
    adapter.transcript(final(0, 'And so, my fellow Americans.', 0, false));
    adapter.transcript(partial(1, 'ask not', words('ask')));
    adapter.speech(speech('stopped', 0, 2300, 1));
    adapter.transcript(final(1, 'Ask not.', 0, true));
    const types = sent.map((e) => e.type);
    t.same(
      types,
      [
        'session.created',
        'input_audio_buffer.speech_started',
        'conversation.item.input_audio_transcription.delta',
        'input_audio_buffer.speech_stopped',
        'input_audio_buffer.committed',
        'conversation.item.added',
        'conversation.item.done',
        'conversation.item.input_audio_transcription.delta',
        'conversation.item.input_audio_transcription.completed',
      ],
      'partials make no deltas: they may still change',
    );
    const deltas = sent.filter((e) => e.type.endsWith('.delta')).map((e) => e['delta']);
    t.same(deltas, ['And so, my fellow Americans.', ' Ask not.']);
    t.equal(sent.at(-1)?.['transcript'], deltas.join(''), 'the completed transcript is the deltas joined');
    const itemIds = new Set(sent.filter((e) => 'item_id' in e).map((e) => e['item_id']));
    t.equal(itemIds.size, 1, 'one item for the turn');
    t.match(sent.at(-5), { type: 'input_audio_buffer.committed', previous_item_id: null });
    t.match(sent.at(-1), { content_index: 0, usage: { type: 'duration', seconds: 1.38 } });
    t.ok(
      sent.every((e) => typeof e['event_id'] === 'string'),
      'every server event has an event_id',
    );
    t.equal(new Set(sent.map((e) => e['event_id'])).size, sent.length, 'event ids are unique');
  },
);

t.test('items chain by previous_item_id; a turn without words never becomes one', async (t) => {
  const { adapter, sent } = harness();
  for (const turnId of [0, 1, 2]) {
    adapter.speech(speech('started', turnId, turnId * 1000));
    adapter.transcript(final(turnId * 2, turnId === 1 ? '' : `Turn ${turnId}.`, turnId, false));
    if (turnId !== 1) adapter.transcript(final(turnId * 2 + 1, '', turnId, true));
  }
  const completed = sent.filter((e) => e.type.endsWith('.completed'));
  t.same(
    completed.map((e) => e['transcript']),
    ['Turn 0.', 'Turn 2.'],
  );
  const committed = sent.filter((e) => e.type === 'input_audio_buffer.committed');
  t.equal(committed.length, 2);
  t.equal(committed[1]?.['previous_item_id'], committed[0]?.['item_id']);
  const started = sent.filter((e) => e.type === 'input_audio_buffer.speech_started').map((e) => e['item_id']);
  t.same(
    [committed[0]?.['item_id'], committed[1]?.['item_id']],
    [started[0], started[2]],
    'speech events and items share ids',
  );
});

t.test('a failed transcription completes its item as failed', async (t) => {
  const { adapter, sent } = harness();
  adapter.speech(speech('started', 0, 0));
  adapter.transcript(partial(0, 'hello', words('hello')));
  adapter.error('transcription_failed', 'transcription failed: boom');
  adapter.transcript(final(0, ''));
  t.match(sent.at(-1), {
    type: 'conversation.item.input_audio_transcription.failed',
    error: { type: 'server_error', code: 'transcription_failed', message: 'transcription failed: boom' },
  });
  t.notOk(
    sent.some((e) => e.type === 'error'),
    'no separate error event',
  );
});

t.test('session.update in both shapes maps onto session options and is confirmed once applied', async (t) => {
  const { decode, sent } = harness();
  const [ga] = decode({
    type: 'session.update',
    session: {
      type: 'transcription',
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: { model: 'gpt-4o-transcribe', language: 'de', prompt: 'Kennedy' },
          turn_detection: { type: 'server_vad', threshold: 0.6, prefix_padding_ms: 300, silence_duration_ms: 700 },
          noise_reduction: { type: 'near_field' },
        },
      },
    },
  });
  t.match(ga, { type: 'configure', options: { language: 'de', prompt: 'Kennedy', endpointingMs: 700 } });
  t.equal(sent.length, 1, 'nothing confirmed before it is applied');
  if (ga?.type === 'configure') ga.done?.();
  t.match(sent.at(-1), {
    type: 'session.updated',
    session: {
      type: 'transcription',
      audio: {
        input: {
          transcription: { model: 'gpt-4o-transcribe', language: 'de', prompt: 'Kennedy' },
          turn_detection: { type: 'server_vad', silence_duration_ms: 700 },
        },
      },
    },
  });

  const [beta] = decode({
    type: 'transcription_session.update',
    session: { input_audio_format: 'pcm16', input_audio_transcription: { model: 'whisper-1' }, turn_detection: null },
  });
  t.match(beta, { type: 'configure', options: { endpointingMs: null } });
  if (beta?.type === 'configure') beta.done?.();
  t.match(sent.at(-1), {
    type: 'transcription_session.updated',
    session: { input_audio_format: 'pcm16', turn_detection: null, input_audio_transcription: { model: 'whisper-1' } },
  });
});

t.test(
  'manual turns: no VAD events; a commit commits at once and completes with the final; silence makes an empty ' +
    'item; nothing is refused',
  async (t) => {
    const { adapter, decode, sent } = harness();
    const [update] = decode({
      type: 'session.update',
      session: { type: 'transcription', audio: { input: { turn_detection: null } } },
    });
    if (update?.type === 'configure') update.done?.();
    adapter.audio(16000);
    adapter.speech(speech('started', 0, 0));
    const [commit] = decode({ type: 'input_audio_buffer.commit', event_id: 'client-1' });
    t.equal(commit?.type, 'flush');
    adapter.speech(speech('stopped', 0, 900));
    if (commit?.type === 'flush') commit.done?.();
    t.notOk(
      sent.some((e) => e.type.startsWith('input_audio_buffer.speech')),
      'no speech events without server VAD',
    );
    t.same(
      sent.slice(-3).map((e) => e.type),
      ['input_audio_buffer.committed', 'conversation.item.added', 'conversation.item.done'],
      'committed, and the item added to the conversation, as the commit is handled, before its transcription',
    );
    adapter.transcript(final(0, 'Hello.'));
    if (commit?.type === 'flush') commit.settled?.();
    t.same(
      sent.slice(-2).map((e) => e.type),
      ['conversation.item.input_audio_transcription.delta', 'conversation.item.input_audio_transcription.completed'],
      'the final completes the item, once',
    );

    // Speech that held no words: the session sends nothing, the commit still gets its item.
    adapter.speech(speech('started', 1, 1000));
    const [quiet] = decode({ type: 'input_audio_buffer.commit' });
    adapter.speech(speech('stopped', 1, 1300));
    if (quiet?.type === 'flush') quiet.done?.();
    if (quiet?.type === 'flush') quiet.settled?.();
    t.match(sent.slice(-4), [
      { type: 'input_audio_buffer.committed', previous_item_id: sent.at(-6)?.['item_id'] },
      { type: 'conversation.item.added' },
      { type: 'conversation.item.done' },
      { type: 'conversation.item.input_audio_transcription.completed', transcript: '' },
    ]);

    // Audio without speech: an item with an empty transcript, as OpenAI makes one.
    adapter.audio(16000 * 2);
    const [silent] = decode({ type: 'input_audio_buffer.commit' });
    if (silent?.type === 'flush') silent.done?.();
    t.match(sent.slice(-4), [
      { type: 'input_audio_buffer.committed' },
      { type: 'conversation.item.added' },
      { type: 'conversation.item.done' },
      { type: 'conversation.item.input_audio_transcription.completed', transcript: '' },
    ]);

    const [empty] = decode({ type: 'input_audio_buffer.commit', event_id: 'client-2' });
    reject(adapter, () => (empty?.type === 'flush' ? empty.done?.() : undefined));
    t.match(
      sent.at(-1),
      {
        type: 'error',
        error: { type: 'invalid_request_error', code: 'input_audio_buffer_commit_empty', event_id: 'client-2' },
      },
      'less than 100 ms since the last commit: nothing to commit',
    );
  },
);

t.test(
  'a committed item joins the conversation as OpenAI announces it: GA item.added and item.done, beta item.created',
  async (t) => {
    // As OpenAI sends them for a transcription session's input audio: right after input_audio_buffer.committed, the
    // user message with its input_audio part, whose transcript comes in the transcription events.
    const { adapter, sent } = harness();
    adapter.speech(speech('started', 0, 0));
    adapter.speech(speech('stopped', 0, 900));
    const committed = sent.findIndex((e) => e.type === 'input_audio_buffer.committed');
    const item = {
      id: sent[committed]?.['item_id'],
      object: 'realtime.item',
      type: 'message',
      status: 'completed',
      role: 'user',
      content: [{ type: 'input_audio', transcript: null }],
    };
    t.same(
      sent.slice(committed + 1).map(({ event_id: _id, ...rest }) => rest),
      [
        { type: 'conversation.item.added', previous_item_id: null, item },
        { type: 'conversation.item.done', previous_item_id: null, item },
      ],
    );

    const betaSent: Event[] = [];
    const beta = new OpenAiRealtimeAdapter((m) => betaSent.push(JSON.parse(m) as Event), 'beta');
    beta.speech(speech('started', 0, 0));
    beta.speech(speech('stopped', 0, 900));
    beta.speech(speech('started', 1, 1000));
    beta.speech(speech('stopped', 1, 1900));
    const created = betaSent.filter((e) => e.type === 'conversation.item.created');
    t.equal(created.length, 2, 'one item each');
    t.match(created[1], {
      previous_item_id: (created[0]?.['item'] as { id: string } | undefined)?.id,
      item: { type: 'message', role: 'user', content: [{ type: 'input_audio', transcript: null }] },
    });
    t.notOk(
      betaSent.some((e) => e.type === 'conversation.item.added'),
      'beta clients get the beta name only',
    );
  },
);

t.test(
  'include logprobs: deltas and completed carry the tokens of the finals, as natural logs of their probabilities',
  async (t) => {
    const { adapter, decode, sent } = harness();
    const [update] = decode({
      type: 'session.update',
      session: { type: 'transcription', include: ['item.input_audio_transcription.logprobs'] },
    });
    if (update?.type === 'configure') update.done?.();
    t.match(sent.at(-1), {
      type: 'session.updated',
      session: { include: ['item.input_audio_transcription.logprobs'] },
    });
    adapter.speech(speech('started', 0, 0));
    adapter.transcript({
      ...final(0, 'Hello there.', 0, false),
      tokens: [
        { text: ' Hello', p: 0.5 },
        { text: ' there.', p: 1 },
      ],
    });
    adapter.transcript({
      ...final(1, 'Bye.', 0, true),
      tokens: [
        { text: ' Bye', p: 0.25 },
        { text: '.', p: 0 },
      ],
    });
    const [first, second] = sent.filter((e) => e.type.endsWith('.delta'));
    t.same(first?.['logprobs'], [
      { token: ' Hello', logprob: Math.log(0.5), bytes: [...Buffer.from(' Hello')] },
      { token: ' there.', logprob: 0, bytes: [...Buffer.from(' there.')] },
    ]);
    t.same(
      (second?.['logprobs'] as { token: string }[] | undefined)?.map((l) => l.token),
      [' Bye', '.'],
    );
    const floor = (second?.['logprobs'] as { logprob: number }[] | undefined)?.[1]?.logprob ?? 0;
    t.ok(Number.isFinite(floor) && floor < -20, 'a token of probability 0 gets a finite, very low logprob');
    const completed = sent.find((e) => e.type.endsWith('.completed'));
    t.same(
      (completed?.['logprobs'] as { token: string }[] | undefined)?.map((l) => l.token),
      [' Hello', ' there.', ' Bye', '.'],
      'completed: every token of the item',
    );

    const plain = harness();
    plain.adapter.transcript({ ...final(0, 'Hello.'), tokens: [{ text: ' Hello.', p: 0.5 }] });
    t.notOk(
      plain.sent.some((e) => 'logprobs' in e),
      'without include, no logprobs',
    );
    t.match(plain.sent[0], { session: { include: null } });
  },
);

t.test(
  'semantic_vad is accepted: its eagerness becomes the silence that ends a turn, and it is shown as asked',
  async (t) => {
    const { decode, sent } = harness();
    const silences: Record<string, number> = {};
    for (const eagerness of ['low', 'medium', 'high', 'auto', undefined]) {
      const [update] = decode({
        type: 'session.update',
        session: {
          type: 'transcription',
          audio: {
            input: {
              turn_detection: { type: 'semantic_vad', ...(eagerness ? { eagerness } : {}), create_response: false },
            },
          },
        },
      });
      t.equal(update?.type, 'configure', `eagerness ${eagerness ?? '(absent)'} accepted`);
      if (update?.type !== 'configure') continue;
      silences[eagerness ?? 'absent'] = update.options.endpointingMs ?? -1;
      update.done?.();
      t.match(sent.at(-1), {
        type: 'session.updated',
        session: { audio: { input: { turn_detection: { type: 'semantic_vad', eagerness: eagerness ?? 'auto' } } } },
      });
    }
    t.same(silences, { low: 2000, medium: 1000, high: 500, auto: 1000, absent: 1000 });
    const [back] = decode({
      type: 'session.update',
      session: { audio: { input: { turn_detection: { type: 'server_vad' } } } },
    });
    if (back?.type === 'configure') back.done?.();
    t.match(
      sent.at(-1),
      { session: { audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } } },
      'server_vad again',
    );
    const [beta] = decode({
      type: 'transcription_session.update',
      session: { turn_detection: { type: 'semantic_vad', eagerness: 'low' } },
    });
    t.match(beta, { type: 'configure', options: { endpointingMs: 2000 } }, 'the beta shape too');
  },
);

t.test('clear discards, then says cleared', async (t) => {
  const { decode, sent } = harness();
  const [clear] = decode({ type: 'input_audio_buffer.clear' });
  t.equal(clear?.type, 'discard');
  if (clear?.type === 'discard') clear.done?.();
  t.equal(sent.at(-1)?.type, 'input_audio_buffer.cleared');
});

t.test('append: 24 kHz base64 PCM16 becomes 16 kHz audio commands of at most 1 s', async (t) => {
  const { decode } = harness();
  const samples = new Int16Array(24000 * 3).map((_, i) => Math.round(8000 * Math.sin(i / 10)));
  const commands = decode({ type: 'input_audio_buffer.append', audio: Buffer.from(samples.buffer).toString('base64') });
  t.ok(
    commands.every((c) => c.type === 'audio' && c.pcm.byteLength <= 32000),
    'no command over 1 s',
  );
  const total = commands.reduce((sum, c) => sum + (c.type === 'audio' ? c.pcm.byteLength / 2 : 0), 0);
  // Less the filter's look-ahead (a millisecond or two), which comes with the next append.
  t.ok(total > 47950 && total <= 48000, `3 s at 16 kHz (${total} samples)`);
  t.same(decode({ type: 'input_audio_buffer.append', audio: '' }), [], 'empty audio is nothing');
});

t.test('G.711: audio/pcmu and g711_alaw switch the appends that follow to 8 kHz, a byte a sample', async (t) => {
  const { decode, sent } = harness();
  const commands = (message: unknown): number =>
    decode(message).reduce((sum, c) => sum + (c.type === 'audio' ? c.pcm.byteLength / 2 : 0), 0);
  const [update] = decode({
    type: 'session.update',
    session: { audio: { input: { format: { type: 'audio/pcmu' } } } },
  });
  if (update?.type === 'configure') update.done?.();
  t.match(sent.at(-1), { type: 'session.updated', session: { audio: { input: { format: { type: 'audio/pcmu' } } } } });
  t.notMatch(JSON.stringify(sent.at(-1)), /"rate"/, 'G.711 formats have no rate');
  // 1 s of mu-law silence: 8,000 bytes, an odd count is fine.
  const second = commands({ type: 'input_audio_buffer.append', audio: Buffer.alloc(8001, 0xff).toString('base64') });
  t.ok(second > 15950 && second <= 16002, `8,001 bytes are about a second at 16 kHz (${second})`);
  const [beta] = decode({ type: 'transcription_session.update', session: { input_audio_format: 'g711_alaw' } });
  if (beta?.type === 'configure') beta.done?.();
  t.match(sent.at(-1), { type: 'transcription_session.updated', session: { input_audio_format: 'g711_alaw' } });
});

t.test('bad input is refused in OpenAI error shape, quoting the client event id, never echoing much', async (t) => {
  const { adapter, decode, sent } = harness();
  const refused = (message: unknown, code: string, param: string | null): void => {
    reject(adapter, () => decode(message));
    t.match(
      sent.at(-1),
      { type: 'error', error: { type: 'invalid_request_error', code, param } },
      `${code} ${param ?? ''}`,
    );
  };
  refused('{not json', 'invalid_json', null);
  refused('[1]', 'invalid_type', null);
  refused({ type: 'response.create' }, 'invalid_value', 'type');
  refused({ type: 'x'.repeat(5000) }, 'invalid_value', 'type');
  t.ok(JSON.stringify(sent.at(-1)).length < 600, 'a huge type is quoted short');
  refused({ type: 'input_audio_buffer.append' }, 'missing_required_parameter', 'audio');
  refused({ type: 'input_audio_buffer.append', audio: 'not base64!' }, 'invalid_value', 'audio');
  refused({ type: 'input_audio_buffer.append', audio: 'AAA=' }, 'invalid_value', 'audio');
  refused({ type: 'input_audio_buffer.append', audio: 'A'.repeat(MAX_APPEND_CHARS + 4) }, 'invalid_value', 'audio');
  refused({ type: 'session.update', session: { type: 'realtime' } }, 'invalid_value', 'session.type');
  refused(
    { type: 'session.update', session: { audio: { input: { format: { type: 'audio/opus' } } } } },
    'invalid_value',
    'session.audio.input.format.type',
  );
  refused(
    { type: 'session.update', session: { audio: { input: { format: { type: 'audio/pcmu', rate: 24000 } } } } },
    'invalid_value',
    'session.audio.input.format.rate',
  );
  refused(
    { type: 'session.update', session: { audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } },
    'invalid_value',
    'session.audio.input.format.rate',
  );
  refused(
    { type: 'transcription_session.update', session: { input_audio_format: 'g729' } },
    'invalid_value',
    'session.input_audio_format',
  );
  const turnDetection = (fields: Record<string, unknown>): unknown => ({
    type: 'session.update',
    session: { audio: { input: { turn_detection: fields } } },
  });
  refused(turnDetection({ type: 'push_to_talk' }), 'invalid_value', 'session.audio.input.turn_detection.type');
  const eager = turnDetection({ type: 'semantic_vad', eagerness: 'eager' });
  refused(eager, 'invalid_value', 'session.audio.input.turn_detection.eagerness');
  const segments = ['item.input_audio_transcription.segments'];
  refused({ type: 'session.update', session: { include: segments } }, 'invalid_value', 'session.include');
  const notAList = 'item.input_audio_transcription.logprobs';
  refused({ type: 'transcription_session.update', session: { include: notAList } }, 'invalid_value', 'session.include');
  refused(
    { type: 'session.update', session: { audio: { input: { turn_detection: { silence_duration_ms: 50 } } } } },
    'invalid_value',
    'session.audio.input.turn_detection.silence_duration_ms',
  );
  refused(
    { type: 'session.update', session: { audio: { input: { transcription: { prompt: 'x'.repeat(5000) } } } } },
    'invalid_value',
    'session.audio.input.transcription.prompt',
  );
  refused(
    { type: 'session.update', session: { audio: { input: { transcription: { model: 'm'.repeat(500) } } } } },
    'invalid_value',
    'session.audio.input.transcription.model',
  );
  refused({ type: 'input_audio_buffer.commit', event_id: 'e'.repeat(500) }, 'invalid_value', 'event_id');
  reject(adapter, () => adapter.decode({ data: Buffer.from([1, 2]), binary: true }));
  t.match(sent.at(-1), { type: 'error', error: { code: 'invalid_type' } }, 'binary frames are refused');
  reject(adapter, () => decode({ type: 'nope', event_id: 'mine-7' }));
  t.match(sent.at(-1), { error: { event_id: 'mine-7' } }, 'the client event id comes back');
});

t.test('the upgrade: intent must be transcription, any model is fine, beta clients are told apart', async (t) => {
  const created = (query: string, headers: Record<string, string> = {}): string => {
    const sent: string[] = [];
    realtimeAdapter((m) => sent.push(m), new URLSearchParams(query), headers).started({
      id: 'x',
      resumeToken: null,
      resumeTtlMs: 0,
      resumed: false,
      samplesReceived: 0,
    });
    return (JSON.parse(sent[0] ?? '{}') as Event).type;
  };
  t.equal(created('intent=transcription'), 'session.created');
  t.equal(created('model=gpt-realtime-2099'), 'session.created');
  t.equal(created('intent=transcription', { 'openai-beta': 'realtime=v1' }), 'transcription_session.created');
  t.equal(
    created('intent=transcription', { 'sec-websocket-protocol': 'realtime, openai-beta.realtime-v1' }),
    'transcription_session.created',
  );
  t.throws(() => created('intent=conversation'), ProtocolError);
  t.throws(() => created('call_id=rtc_1'), ProtocolError);
});
