/**
 * Deepgram's live transcription protocol (`/v1/listen`): the upgrade's query string, the client's control messages,
 * and the server's messages, as types and (de)serialisers. docs/COMPATIBILITY.md says what is supported.
 */
import { ProtocolError, excerpt, parseObject, type ErrorCode } from './errors.js';
import {
  MAX_CHANNELS,
  MAX_SAMPLE_RATE,
  MIN_SAMPLE_RATE,
  booleanParam,
  integerParam,
  millisecondsParam,
  singleParam,
  termsPrompt,
  type AudioFormat,
  type RawAudioEncoding,
} from './params.js';

/**
 * What the query string asks for, checked (the language against the model, and endpointing's range, are the server's).
 */
export interface ListenOptions {
  /** Headerless audio as `encoding` and `sample_rate` say, or a container found from the stream's first bytes. */
  audio: AudioFormat;
  /** Channels of headerless audio (mixed down); 1 for containers, whose channels their header gives. */
  channels: number;
  /** Whisper's code for the `language` asked for (`multi` is `auto`); undefined: the server's default. */
  language: string | undefined;
  interimResults: boolean;
  /** Silence that ends an utterance; null: `endpointing=false`; undefined: the server's default. */
  endpointingMs: number | null | undefined;
  utteranceEndMs: number | undefined;
  vadEvents: boolean;
  /** `punctuate` or `smart_format`: punctuated, cased transcripts and `punctuated_word`s. */
  punctuate: boolean;
  /** The `keyterm`s as a vocabulary prompt. */
  prompt: string | undefined;
}

export type ListenControl = 'KeepAlive' | 'Finalize' | 'CloseStream';

/** Deepgram's names of headerless encodings this server reads. */
const RAW_ENCODINGS: readonly RawAudioEncoding[] = ['linear16', 'linear32', 'mulaw', 'alaw'];
/** Opus, which this server reads in a container (Ogg or WebM) only, as `encoding=opus` or `ogg-opus`. */
const OPUS_ENCODINGS = ['opus', 'ogg-opus'];

export interface ResultsWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
}

export interface ResultsMessage {
  type: 'Results';
  channel_index: number[];
  duration: number;
  start: number;
  is_final: boolean;
  speech_final: boolean;
  from_finalize: boolean;
  channel: { alternatives: { transcript: string; confidence: number; words: ResultsWord[] }[] };
  metadata: { request_id: string; model_info: { name: string; version: string; arch: string }; model_uuid: string };
}

export interface MetadataMessage {
  type: 'Metadata';
  transaction_key: string;
  request_id: string;
  sha256: string;
  created: string;
  duration: number;
  channels: number;
}

export interface UtteranceEndMessage {
  type: 'UtteranceEnd';
  channel: number[];
  last_word_end: number;
}

export interface SpeechStartedMessage {
  type: 'SpeechStarted';
  channel: number[];
  timestamp: number;
}

/** Deepgram's in-band error (its Voice Agent's shape); the connection stays open. */
export interface ListenErrorMessage {
  type: 'Error';
  code: string;
  description: string;
}

/** Audio is mixed down to one channel: index 0 of 1. */
const CHANNEL = [0, 1];
const MODEL_INFO = { name: 'whisper', version: '1', arch: 'whisper' };
const MODEL_UUID = '00000000-0000-0000-0000-000000000000';
const LANGUAGE_TAG = /^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$/i;

export function parseListenQuery(query: URLSearchParams): ListenOptions {
  const audio = parseAudio(query);
  const channels = audio.kind === 'raw' ? audio.channels : 1;
  if (booleanParam(query, 'multichannel'))
    throw new ProtocolError('bad_option', 'multichannel=true is not supported: channels are mixed down to one');
  if (query.has('callback'))
    throw new ProtocolError('bad_option', 'callback is not supported: results come over this WebSocket only');
  const keyterms = query.getAll('keyterm');
  return {
    audio,
    channels,
    language: parseLanguage(singleParam(query, 'language')),
    interimResults: booleanParam(query, 'interim_results') ?? false,
    endpointingMs: parseEndpointing(query),
    utteranceEndMs: integerParam(query, 'utterance_end_ms', 1, 60_000),
    vadEvents: booleanParam(query, 'vad_events') ?? false,
    punctuate: (booleanParam(query, 'punctuate') ?? false) || (booleanParam(query, 'smart_format') ?? false),
    prompt: keyterms.length > 0 ? termsPrompt(keyterms) : undefined,
  };
}

/**
 * `encoding` and `sample_rate`, as Deepgram reads them: without `encoding` the audio is in a container (WAV, Ogg or
 * WebM, found from its first bytes); with a headerless one, `sample_rate` is required; Opus comes in Ogg or WebM.
 */
function parseAudio(query: URLSearchParams): AudioFormat {
  const encoding = singleParam(query, 'encoding')?.toLowerCase() ?? null;
  const sampleRate = integerParam(query, 'sample_rate', MIN_SAMPLE_RATE, MAX_SAMPLE_RATE);
  const channels = integerParam(query, 'channels', 1, MAX_CHANNELS) ?? 1;
  if (encoding === null) return { kind: 'container', accepted: ['wav', 'ogg', 'webm'] };
  if (OPUS_ENCODINGS.includes(encoding)) {
    return { kind: 'container', accepted: encoding === 'ogg-opus' ? ['ogg'] : ['ogg', 'webm'] };
  }
  const raw = RAW_ENCODINGS.find((known) => known === encoding);
  if (!raw) {
    const known = [...RAW_ENCODINGS, ...OPUS_ENCODINGS].join(', ');
    const message = `encoding must be one of ${known} (Opus in Ogg or WebM), or left out for audio in a container`;
    throw new ProtocolError('bad_option', `${message} (WAV, Ogg, WebM); got ${excerpt(encoding)}`);
  }
  if (sampleRate === undefined) {
    throw new ProtocolError('bad_option', `encoding=${raw} needs sample_rate (headerless audio does not say its rate)`);
  }
  return { kind: 'raw', encoding: raw, sampleRate, channels };
}

function parseLanguage(tag: string | null): string | undefined {
  if (tag === null) return undefined;
  if (tag === 'multi') return 'auto';
  if (!LANGUAGE_TAG.test(tag))
    throw new ProtocolError(
      'bad_option',
      `language must be a BCP-47 tag such as en or en-US, or multi; got ${excerpt(tag)}`,
    );
  return tag.replace(/-.*/, '').toLowerCase();
}

function parseEndpointing(query: URLSearchParams): number | null | undefined {
  const value = singleParam(query, 'endpointing');
  if (value === 'false') return null;
  return value === 'true' ? undefined : millisecondsParam(query, 'endpointing');
}

/** Parses a text message; throws ProtocolError for anything but the three control messages. */
export function parseControl(text: string): ListenControl {
  const type = parseObject(text, 'text messages must be JSON control messages such as {"type": "KeepAlive"}')['type'];
  if (type === 'KeepAlive' || type === 'Finalize' || type === 'CloseStream') return type;
  throw new ProtocolError(
    'unknown_type',
    `unknown message type ${excerpt(type)}; known types are "KeepAlive", "Finalize" and "CloseStream"`,
  );
}

export interface ResultsFields {
  requestId: string;
  /** Seconds of audio from the stream's start. */
  start: number;
  duration: number;
  isFinal: boolean;
  speechFinal: boolean;
  fromFinalize: boolean;
  transcript: string;
  confidence: number;
  words: ResultsWord[];
}

export function resultsMessage(fields: ResultsFields): string {
  const message: ResultsMessage = {
    type: 'Results',
    channel_index: CHANNEL,
    duration: fields.duration,
    start: fields.start,
    is_final: fields.isFinal,
    speech_final: fields.speechFinal,
    from_finalize: fields.fromFinalize,
    channel: { alternatives: [{ transcript: fields.transcript, confidence: fields.confidence, words: fields.words }] },
    metadata: { request_id: fields.requestId, model_info: MODEL_INFO, model_uuid: MODEL_UUID },
  };
  return JSON.stringify(message);
}

export function metadataMessage(
  requestId: string,
  sha256: string,
  created: string,
  duration: number,
  channels: number,
): string {
  const message: MetadataMessage = {
    type: 'Metadata',
    transaction_key: 'deprecated',
    request_id: requestId,
    sha256,
    created,
    duration,
    channels,
  };
  return JSON.stringify(message);
}

export function utteranceEndMessage(lastWordEnd: number): string {
  const message: UtteranceEndMessage = { type: 'UtteranceEnd', channel: CHANNEL, last_word_end: lastWordEnd };
  return JSON.stringify(message);
}

export function speechStartedMessage(timestamp: number): string {
  const message: SpeechStartedMessage = { type: 'SpeechStarted', channel: CHANNEL, timestamp };
  return JSON.stringify(message);
}

/** Our codes in Deepgram's style; a text message it cannot read gets Deepgram's own code for that. */
export function listenErrorMessage(code: ErrorCode, description: string): string {
  const unreadable = code === 'bad_json' || code === 'bad_message' || code === 'unknown_type';
  const message: ListenErrorMessage = {
    type: 'Error',
    code: unreadable ? 'UNPARSABLE_CLIENT_MESSAGE' : code.toUpperCase(),
    description,
  };
  return JSON.stringify(message);
}
