import type { FileHandle } from 'node:fs/promises';

/** FileHandle.write may write less than asked; loop until all of `data` is on disk. */
export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await fh.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}
