#!/usr/bin/env bash
# Makes fixtures/audio/ from fixtures/speech/jfk.wav (public domain speech) with Debian's ffmpeg, once: the files are
# committed, so tests never need ffmpeg. Rerun it only to change them (apt-get install ffmpeg first).
#   bash scripts/make-audio-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=fixtures/speech/jfk.wav
out=fixtures/audio
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y -bitexact "$@"; }

# What OpenAI's file API takes, as people make them: MP3 at 22.05 kHz, Ogg Opus, WebM Opus.
ff -i "$src" -ar 22050 -ac 1 -c:a libmp3lame -b:a 32k "$out/jfk.mp3"
ff -i "$src" -c:a libopus -b:a 24k -application voip "$out/jfk.opus"
# WebM as MediaRecorder streams it: written to a pipe, so Segment and Clusters have unknown sizes.
ff -i "$src" -ar 48000 -c:a libopus -b:a 24k -f webm -live 1 pipe:1 > "$out/jfk.webm"
# The first 3 s in the other formats the file API takes, and in one it does not (AAC in MP4).
ff -i "$src" -t 3 -c:a flac "$out/jfk-3s.flac"
ff -i "$src" -t 3 -ar 44100 -ac 2 -c:a libvorbis -q:a 0 "$out/jfk-3s.ogg"
ff -i "$src" -t 3 -c:a aac -b:a 32k "$out/jfk-3s.m4a"
# Telephony: headerless 8 kHz G.711, as Twilio Media Streams and SIP gateways send it.
ff -i "$src" -ar 8000 -ac 1 -f mulaw "$out/jfk-8k.ulaw"
ff -i "$src" -t 3 -ar 8000 -ac 1 -f alaw "$out/jfk-3s-8k.alaw"
ls -l "$out"
