/**
 * The lock that keeps a second vault out of a directory in use: a file holding the owner's pid,
 * taken over when its process no longer runs.
 */

import { promises as fs, constants as fsConstants } from "node:fs";
import {
  createPrivateFile,
  isErrnoException,
  locationError,
  noBlock,
  noFollow,
  temporaryPath,
  writeAll,
} from "./privateFiles.js";

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return !isErrnoException(error, "ESRCH");
  }
}

/** Takes the directory's lock file, taking over a lock left by a process that no longer runs. */
export async function acquireLock(lockPath: string, directory: string): Promise<void> {
  // The lock appears with its content at once (written aside, then linked), so a reader never
  // mistakes a lock being written for an empty, stale one.
  const candidate = temporaryPath(lockPath);
  try {
    const handle = await createPrivateFile(candidate);
    try {
      await writeAll(handle, Buffer.from(`${process.pid}\n`));
    } finally {
      await handle.close();
    }
  } catch (error) {
    await fs.rm(candidate, { force: true });
    throw locationError(directory, error);
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // link() never follows a link planted at lockPath: it fails with EEXIST.
        await fs.link(candidate, lockPath);
        return;
      } catch (error) {
        if (!isErrnoException(error, "EEXIST")) {
          throw locationError(directory, error);
        }
      }
      await removeStaleLock(lockPath, directory);
    }
  } finally {
    await fs.rm(candidate, { force: true });
  }
  throw new Error(
    `Could not take the lock ${lockPath}: another process keeps taking it. Choose another location.`,
  );
}

/** Removes the lock when its process no longer runs; throws when it does. */
async function removeStaleLock(lockPath: string, directory: string): Promise<void> {
  let owner: number;
  try {
    const handle = await fs.open(lockPath, fsConstants.O_RDONLY | noFollow | noBlock);
    try {
      owner = Number.parseInt((await handle.readFile("utf8")).trim(), 10);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isErrnoException(error, "ENOENT")) {
      return; // released in the meantime
    }
    // A link or something unreadable planted as the lock: never a live vault's lock.
    owner = Number.NaN;
  }
  if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || isProcessAlive(owner))) {
    throw new Error(
      `The local vault directory ${directory} is in use by process ${owner}` +
        `${owner === process.pid ? " (this process)" : ""}. Stop that vault or choose another location.`,
    );
  }
  // Stale (its process is gone) or unreadable: take it over (rm removes a link, not its target).
  await fs.rm(lockPath, { force: true });
}
