// The help texts of `whisper-stream` and its subcommands, and its exit codes (documented in the help and README).

/** Exit codes: distinct per kind of failure, so scripts can tell a down server from a refused credential. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  cannotConnect: 3,
  refused: 4,
  recorder: 5,
} as const;

export const DEFAULT_URL = 'ws://127.0.0.1:8080/stream';

const EXIT_CODES = `Exit codes:
  ${EXIT.ok}  done
  ${EXIT.failed}  failed: an unreadable file, or the server ended the stream abnormally
  ${EXIT.usage}  usage error
  ${EXIT.cannotConnect}  cannot connect: nothing listening at the URL, or a network error
  ${EXIT.refused}  the server refused the connection (e.g. 401 missing credential, 503 too many sessions)
  ${EXIT.recorder}  mic: neither arecord nor sox is installed, or the recorder failed
`;

export const MAIN_HELP = `Usage: whisper-stream <command> [options]
       whisper-stream <command> --help    the command's options and their defaults

Commands:
  serve [server options]          start the server (whisper-stream serve --help lists its settings)
  transcribe FILE [options]       stream an audio file through /stream, printing partials on one line and finals below
  mic [options]                   stream the default microphone (needs arecord or sox)
  models list|fetch|synthetic     list official and installed models, download and verify them, or generate
                                  synthetic stand-ins
  hash-api-key KEY                print the sha256 digest of an API key, as API_KEY_HASHES takes it (or the key
                                  on stdin)

${EXIT_CODES}`;

const CONNECTION_OPTIONS = `  --url URL        server stream URL (default: $WHISPER_STREAM_URL, else ${DEFAULT_URL})
  --language CODE  ISO 639-1 code or auto (default: the server's DEFAULT_LANGUAGE)
  --token TOKEN    API key or JWT when the server requires one (default: none)
  --json           print every transcript (partials and finals) and error as a JSON line (default: off)`;

export const TRANSCRIBE_HELP = `Usage: whisper-stream transcribe FILE [options]

Streams an audio file (WAV, MP3, FLAC, Ogg Opus or Vorbis, WebM Opus; any rate and channel count; decoded here)
through /stream and prints what comes back: on a
terminal the newest partial on one updating line with the upload's progress and the finals above it, otherwise one
line per final.

Options:
${CONNECTION_OPTIONS}
  --fast           send the file as fast as the server takes it (default: off, real-time pace)
  -h, --help       this help

${EXIT_CODES}`;

export const MIC_HELP = `Usage: whisper-stream mic [options]

Streams the default microphone through /stream until Ctrl-C, then waits for the last final. Records with arecord
(alsa-utils), else sox.

Options:
${CONNECTION_OPTIONS}
  -h, --help       this help

${EXIT_CODES}`;

export const MODELS_HELP = `Usage: whisper-stream models <action> [names] [options]

Actions:
  list                 the official models, which of them models/ holds, and the other model files there
                       (synthetic stand-ins too)
  fetch [NAME...]      download official models into models/ and verify their sha256 (default: tiny.en);
                       whisper-stream models fetch --help lists the names and options
  synthetic [NAME...]  generate synthetic stand-ins: real compute, nonsense text (default: tiny.en tiny);
                       whisper-stream models synthetic --help lists the options
`;
