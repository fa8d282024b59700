/**
 * Private files of the local vault: created owner-only (0600, directories 0700) whatever the umask,
 * opened without following links or blocking on a planted FIFO, replaced atomically; and the
 * errors that name the vault's location when it cannot be written.
 */

import { randomBytes } from "node:crypto";
import { promises as fs, constants as fsConstants } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";

/** Files the vault creates are its owner's alone, whatever the umask. */
const privateFileMode = 0o600;
/** A directory the vault creates is its owner's alone. */
const privateDirectoryMode = 0o700;
/** `O_NOFOLLOW` where the platform has it (not on Windows, which has no such links to plant). */
export const noFollow = fsConstants.O_NOFOLLOW ?? 0;
/** Opening a planted FIFO must not block the start. */
export const noBlock = fsConstants.O_NONBLOCK ?? 0;

export function isErrnoException(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

const locationProblems: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOTDIR: "a part of the path is not a directory",
  EEXIST: "a part of the path is not a directory",
  ENOSPC: "no space is left on the device",
  EDQUOT: "the disk quota is exhausted",
};

/**
 * The error for a location the vault cannot create or write: it names the option and the
 * directory, never one of the vault's temporary files.
 */
export function locationError(root: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem =
    (code === undefined ? undefined : locationProblems[code]) ?? code ?? "unknown error";
  return new Error(
    `The local vault cannot write to its directory ${root} (the --location flag, or the ` +
      `location option): ${problem}. Choose a directory it can create and write to.`,
    { cause: error },
  );
}

function linkRefused(filePath: string): Error {
  return new Error(
    `The local vault refuses ${filePath}: it is a symbolic link, and the vault never follows ` +
      `links it did not create. The link and its target are left untouched; remove the link or ` +
      `choose another --location.`,
  );
}

/**
 * Makes sure the vault's directory exists: created owner-only (0700) when missing; an existing one
 * must be a real directory, not a link to one.
 */
export async function prepareDirectory(root: string): Promise<void> {
  let stats;
  try {
    stats = await fs.lstat(root);
  } catch (error) {
    if (!isErrnoException(error, "ENOENT")) {
      throw locationError(root, error);
    }
    try {
      await fs.mkdir(root, { recursive: true, mode: privateDirectoryMode });
      // mkdir's mode is filtered by the umask; the directory's own mode must not be.
      await fs.chmod(root, privateDirectoryMode);
    } catch (mkdirError) {
      throw locationError(root, mkdirError);
    }
    return;
  }
  if (stats.isSymbolicLink()) {
    throw new Error(
      `The local vault refuses the directory ${root}: it is a symbolic link, and the vault never ` +
        `follows links it did not create. Give the real directory as --location.`,
    );
  }
  if (!stats.isDirectory()) {
    throw locationError(root, Object.assign(new Error("not a directory"), { code: "ENOTDIR" }));
  }
}

/** Creates `filePath` exclusively (never through a link), owner-only, for reading and appending. */
export async function createPrivateFile(filePath: string): Promise<FileHandle> {
  const flags =
    fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_APPEND | noFollow;
  const handle = await fs.open(filePath, flags, privateFileMode);
  try {
    await handle.chmod(privateFileMode);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/**
 * Opens an existing vault file for reading and appending, without following a link and without
 * blocking on a planted FIFO; `undefined` when it does not exist. Anything but a regular file is
 * refused, and a file others could read is made owner-only.
 */
export async function openExistingFile(filePath: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(
      filePath,
      fsConstants.O_RDWR | fsConstants.O_APPEND | noFollow | noBlock,
    );
  } catch (error) {
    if (isErrnoException(error, "ENOENT")) return undefined;
    // Linux answers ELOOP for a final link under O_NOFOLLOW; some BSDs EMLINK.
    if (isErrnoException(error, "ELOOP") || isErrnoException(error, "EMLINK")) {
      throw linkRefused(filePath);
    }
    // A link to a directory, a socket, ...: check what it is without following it.
    const stats = await fs.lstat(filePath).catch(() => undefined);
    if (stats?.isSymbolicLink()) throw linkRefused(filePath);
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new Error(
        `The local vault refuses ${filePath}: it is not a regular file, and it is left untouched.`,
      );
    }
    if ((stats.mode & 0o077) !== 0) {
      await handle.chmod(privateFileMode);
    }
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

/** A fresh name for a file written aside before it is renamed into place. */
export function temporaryPath(filePath: string): string {
  return `${filePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
}

/**
 * Writes `content` to `filePath` atomically: aside (owner-only, created exclusively), synced, then
 * renamed into place (which replaces a link rather than following it) and the directory synced.
 * @returns the handle of the new file, open for appending
 */
export async function replaceFile(filePath: string, content: Buffer): Promise<FileHandle> {
  const temporary = temporaryPath(filePath);
  const handle = await createPrivateFile(temporary);
  try {
    await writeAll(handle, content);
    await handle.sync();
    await fs.rename(temporary, filePath);
  } catch (error) {
    await handle.close();
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(path.dirname(filePath));
  return handle;
}
/**
 * Writes a file the vault hands to others (the CA certificate) atomically and owner-only, never
 * through a link planted at `filePath`.
 * @param filePath - where to write
 * @param content - the file's content
 */
export async function writePrivateFile(filePath: string, content: string): Promise<void> {
  await (await replaceFile(path.resolve(filePath), Buffer.from(content, "utf8"))).close();
}
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(directory, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the file's own sync still holds.
  } finally {
    await handle?.close();
  }
}
