#!/usr/bin/env node
// Builds the N-API addon (engine/native) into build/Release/whisper.node, compiling whisper.cpp from source
// with it. Runs on `npm install`/`npm ci` and as `npm run build:addon`; plain JavaScript because it runs
// before the TypeScript is compiled. Switches (environment):
//   WHISPER_CPP_DIR     whisper.cpp source tree (default: the copy inside the nodejs-whisper npm package)
//   WHISPER_NATIVE=0    portable build: no -march=native, runs on any x86-64 CPU (slower)
//   GGML_CUDA=1         build the CUDA backend (needs the CUDA toolkit; pass useGpu to WhisperModel)
//   WHISPER_BUILD_JOBS  parallel compile jobs (default: number of CPUs)
//   WHISPER_ASAN=1      AddressSanitizer build with debug info, for hunting memory errors (run Node with libasan
//                       preloaded: see README); rebuild without it afterwards
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));
const buildDir = join(root, 'build', 'cmake');
const outputDir = join(root, 'build', 'Release');

function fail(message) {
  console.error(`build-addon: ${message}`);
  process.exit(1);
}

function enabled(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  return !['0', 'off', 'false', 'no'].includes(value.toLowerCase());
}

function whisperSourceDir() {
  if (process.env.WHISPER_CPP_DIR) return resolve(process.env.WHISPER_CPP_DIR);
  try {
    return join(dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp');
  } catch {
    fail('cannot find the nodejs-whisper package (it carries the whisper.cpp source); run npm install, or set WHISPER_CPP_DIR');
  }
}

function nodeIncludeDir() {
  const candidates = [
    process.env.NODE_INCLUDE_DIR,
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
  ].filter(Boolean);
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) fail(`cannot find Node's headers (node_api.h) in ${candidates.join(', ')}; set NODE_INCLUDE_DIR`);
  return found;
}

function run(command, args) {
  console.log(`build-addon: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root });
  if (result.error) fail(`${command} could not start (${result.error.message}); install it, e.g. apt-get install -y cmake g++`);
  if (result.status !== 0) fail(`${command} exited with code ${result.status}`);
}

const whisperDir = whisperSourceDir();
const cmakeLists = join(whisperDir, 'CMakeLists.txt');
if (!existsSync(cmakeLists)) fail(`no whisper.cpp source tree at ${whisperDir} (CMakeLists.txt missing)`);
const version = /project\("whisper\.cpp" VERSION ([\d.]+)\)/.exec(readFileSync(cmakeLists, 'utf8'))?.[1] ?? 'unknown';
if (!version.startsWith('1.9.')) console.warn(`build-addon: warning: whisper.cpp ${version} found; this addon is written against 1.9.x`);

if (process.argv.includes('--clean')) rmSync(buildDir, { recursive: true, force: true });

const native = enabled('WHISPER_NATIVE', true);
const cuda = enabled('GGML_CUDA', false);
const asan = enabled('WHISPER_ASAN', false);
const jobs = process.env.WHISPER_BUILD_JOBS ?? String(availableParallelism());
console.log(`build-addon: whisper.cpp ${version} from ${whisperDir} (${native ? 'native SIMD' : 'portable'}${cuda ? ', CUDA' : ''}${asan ? ', AddressSanitizer' : ''})`);
// The flags are always passed, empty without ASan, so a build after an ASan build drops them from the cmake cache.
const sanitize = asan ? '-fsanitize=address -fno-omit-frame-pointer' : '';

run('cmake', [
  '-S', join(root, 'engine', 'native'),
  '-B', buildDir,
  `-DCMAKE_BUILD_TYPE=${asan ? 'RelWithDebInfo' : 'Release'}`,
  `-DCMAKE_C_FLAGS=${sanitize}`,
  `-DCMAKE_CXX_FLAGS=${sanitize}`,
  `-DCMAKE_SHARED_LINKER_FLAGS=${asan ? '-fsanitize=address' : ''}`,
  `-DWHISPER_CPP_DIR=${whisperDir}`,
  `-DNODE_INCLUDE_DIR=${nodeIncludeDir()}`,
  `-DNODE_ADDON_API_DIR=${resolve(root, require('node-addon-api').include_dir)}`,
  `-DADDON_OUTPUT_DIR=${outputDir}`,
  `-DGGML_NATIVE=${native ? 'ON' : 'OFF'}`,
  `-DGGML_CUDA=${cuda ? 'ON' : 'OFF'}`,
  '-DGGML_CCACHE=OFF',
]);
run('cmake', ['--build', buildDir, '--target', 'whisper_addon', '--parallel', jobs]);
console.log(`build-addon: built ${join(outputDir, 'whisper.node')}`);
