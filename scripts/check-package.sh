#!/usr/bin/env bash
# Checks the package as a user gets it: `npm pack` this checkout, `npm install` the tarball into a new project in a
# temp folder (the whisper.cpp addon builds there from source; the npm registry must be reachable for the
# dependencies), then run the README's library, server-from-code and client snippets and the examples/ scripts
# against the installed copy, the examples from node_modules as they are, and check that its help and messages name
# commands that work there (npx whisper-stream ..., not this repository's npm scripts or dist/ paths). Exits non-zero
# on the first failure. KEEP_PACKAGE_CHECK=1 keeps the temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/whisper-stream-package.XXXXXX")
app="$work/app"
server_pid=

step() { printf '\n--- check-package: %s\n' "$*"; }
fail() { echo "check-package: FAILED: $*" >&2; exit 1; }
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP_PACKAGE_CHECK:-0}" = 1 ]; then echo "check-package: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Runs a server in the background, its output in `log`, until a line matches `pattern` (a minute at most).
start_server() {
  local log=$1 pattern=$2
  shift 2
  "$@" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    grep -qE "$pattern" "$log" && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$log"; fail "$* exited before it was ready"; }
    sleep 0.2
  done
  cat "$log"
  fail "$* was not ready within a minute"
}

# Stops the server start_server started with SIGINT, as Ctrl-C would; fails unless it exits with 0 within 30 s.
stop_server() {
  local pid=$server_pid status=0
  server_pid=
  kill -INT "$pid"
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    echo "check-package: $pid was still running 30 s after SIGINT" >&2
  fi
  wait "$pid" || status=$?
  return "$status"
}

# Prints the first ```ts block of README.md that imports `specifier`, so the README's snippets are what runs.
readme_snippet() {
  node -e '
    const [readme, specifier] = process.argv.slice(1);
    const text = require("node:fs").readFileSync(readme, "utf8");
    const blocks = [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    const block = blocks.find((b) => b.includes(`from '"'"'${specifier}'"'"';`));
    if (!block) { console.error(`no ts block in README.md imports ${specifier}`); process.exit(1); }
    process.stdout.write(block);
  ' "$root/README.md" "$1"
}

step "npm pack (prepack compiles the TypeScript afresh)"
npm pack --pack-destination "$work" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "npm pack"; }
tarballs=("$work"/whisper-stream-server-*.tgz)
tarball=${tarballs[0]}
[ -f "$tarball" ] || fail "npm pack made no tarball"
listing=$(tar -tzf "$tarball")
for path in package/LICENSE package/NOTICE package/README.md package/CHANGELOG.md package/dist/engine/index.js \
  package/dist/client/index.js package/dist/server/index.js package/dist/cli/main.js \
  package/dist/workers/transcribe-task.js package/engine/native/CMakeLists.txt \
  package/engine/assets/ggml-silero-v6.2.0.bin package/scripts/build-addon.mjs package/web/index.html \
  package/examples/stream-with-resume.mjs package/fixtures/speech/jfk.wav; do
  grep -qxF "$path" <<<"$listing" || fail "the tarball lacks $path"
done
# jfk.wav is the examples' default input; no other fixture goes in.
if grep -vxF package/fixtures/speech/jfk.wav <<<"$listing" |
  grep -qE '^package/(fixtures|test|bench|dist/test|dist/bench|models|build)/'; then
  fail "the tarball carries test, bench, model or build files"
fi
echo "$(basename "$tarball"): $(wc -l <<<"$listing") files, $(du -k "$tarball" | cut -f1) KiB"

step "new project: npm install the tarball (builds the addon)"
mkdir -p "$app"
cd "$app"
npm init -y >/dev/null
start=$SECONDS
npm install --no-audit --no-fund "$tarball" || fail "npm install of the tarball"
echo "npm install took $((SECONDS - start)) s"
installed="$app/node_modules/whisper-stream-server"
[ -f "$installed/build/Release/whisper.node" ] || fail "the install did not build build/Release/whisper.node"

# Fails unless `text` ($2) names `wanted` ($3) and none of this repository's own ways to run things.
names_installed_commands() {
  local what=$1 text=$2 wanted=$3
  grep -qF -- "$wanted" <<<"$text" || fail "$what does not name '$wanted':"$'\n'"$text"
  if grep -qE 'npm run |npm start|node dist/' <<<"$text"; then
    fail "$what names a command of the repository, not of the installed package:"$'\n'"$text"
  fi
}

step "help and errors of the installed package name npx whisper-stream"
names_installed_commands "serve --help" "$(npx --no-install whisper-stream serve --help)" \
  'Usage: npx whisper-stream serve [options]'
names_installed_commands "models fetch --help" "$(npx --no-install whisper-stream models fetch --help)" \
  'Usage: npx whisper-stream models fetch'
names_installed_commands "models synthetic --help" "$(npx --no-install whisper-stream models synthetic --help)" \
  'Usage: npx whisper-stream models synthetic'
names_installed_commands "models list" "$(npx --no-install whisper-stream models list)" \
  '(npx whisper-stream models fetch NAME)'
names_installed_commands "a mistyped flag" "$(npx --no-install whisper-stream serve --prot 9 2>&1)" \
  'did you mean --port? (npx whisper-stream serve --help lists'
names_installed_commands "a library with no model" \
  "$(node --input-type=module -e "import { WhisperModel } from 'whisper-stream-server'; new WhisperModel();" 2>&1)" \
  'npx whisper-stream models fetch tiny.en'
echo "help, errors and the model hints name npx whisper-stream"

step "synthetic model through the installed CLI"
npx --no-install whisper-stream models synthetic tiny.en || fail "whisper-stream models synthetic"
model="$installed/models/ggml-tiny.en-synthetic.bin"
[ -f "$model" ] || fail "no $model: the installed package did not find its own root"
synthetic="import { WhisperModel } from 'whisper-stream-server'; new WhisperModel().free();"
names_installed_commands "the library's synthetic-model warning" "$(node --input-type=module -e "$synthetic" 2>&1)" \
  'npx whisper-stream models fetch tiny.en'

step "examples run from node_modules as they are (no arguments: the package's own jfk.wav)"
example=node_modules/whisper-stream-server/examples/transcribe-file.mjs
node "$example" >installed-example.out 2>&1 || { cat installed-example.out; fail "$example"; }
grep -q '^text: ' installed-example.out ||
  fail "the installed transcribe-file.mjs printed no text: $(cat installed-example.out)"

cp "$root/fixtures/speech/jfk.wav" speech.wav
cp "$installed"/examples/*.mjs .

step "README: the engine as a library"
readme_snippet whisper-stream-server >readme-library.mjs
node readme-library.mjs >library.out || fail "the README library snippet"
grep -q 'encodeMs' library.out || fail "the README library snippet printed no timings: $(cat library.out)"

step "examples/transcribe-file.mjs"
node transcribe-file.mjs speech.wav | tee transcribe.out
grep -qxF "model: $model" transcribe.out || fail "transcribe-file.mjs did not use the package's own models/"
grep -q '^text: ' transcribe.out || fail "transcribe-file.mjs printed no text"

step "README: the server started from code"
readme_snippet whisper-stream-server/server >readme-server.mjs
PORT=0 LOG_LEVEL=warn start_server server-code.log 'serving ws://' node readme-server.mjs
url=$(sed -nE 's#^serving ws://[^ ]+ and (http://[^ ]+)$#\1#p' server-code.log)
curl -fsS "$url/readyz" | grep -q '"status":"ready"' || fail "the server started from code is not ready at $url/readyz"
stop_server || fail "the server started from code did not stop cleanly on SIGINT"
echo "served at $url, stopped on SIGINT"

step "the installed server (node_modules/.bin/whisper-stream serve)"
start_server server.log '"msg":"ready"' node_modules/.bin/whisper-stream serve --port 0
port=$(sed -nE 's/.*"msg":"listening".*"port":([0-9]+).*/\1/p' server.log | head -1)
curl -fsS "http://127.0.0.1:$port/readyz" | grep -q '"status":"ready"' || fail "/readyz is not ready"
names_installed_commands "the server's synthetic-model warning" "$(grep '"level":"warn"' server.log)" \
  'npx whisper-stream models fetch tiny.en'
echo "serving on port $port"

step "README: the client library"
readme_snippet whisper-stream-server/client | sed "s#ws://localhost:8080/#ws://127.0.0.1:$port/#" >readme-client.mjs
grep -q "127.0.0.1:$port" readme-client.mjs ||
  fail "the README client snippet no longer names ws://localhost:8080/stream"
node readme-client.mjs | tee client.out || fail "the README client snippet"
[ "$(grep -cv '^\.\.\. ' client.out)" -ge 2 ] || fail "the README client snippet printed fewer than two finals"

step "examples/stream-with-resume.mjs"
node stream-with-resume.mjs speech.wav "ws://127.0.0.1:$port/stream" | tee stream.out || fail "stream-with-resume.mjs"
[ "$(grep -c '^final ' stream.out)" -ge 2 ] || fail "stream-with-resume.mjs printed fewer than two finals"
[ "$(tail -1 stream.out)" = "closed 1000 end of stream" ] || fail "stream-with-resume.mjs did not end with close 1000"

step "examples/upload-file.mjs"
node upload-file.mjs speech.wav "http://127.0.0.1:$port/v1/audio/transcriptions" | tee upload.out ||
  fail "upload-file.mjs"
grep -qxF 'duration: 11 s, language: english' upload.out || fail "upload-file.mjs printed no verbose_json result"

stop_server || fail "the installed server did not stop cleanly on SIGINT"

echo
echo "check-package: OK ($(basename "$tarball") installs, builds its addon and runs the README snippets and examples)"
