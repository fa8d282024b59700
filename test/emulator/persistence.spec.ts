import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  openJournal,
  type Journal,
  type JournalRecord,
} from "../../src/emulator/persistence/persistence.js";
import { writePrivateFile } from "../../src/emulator/persistence/privateFiles.js";
import { readStateFile, writeStateFile } from "../../src/emulator/persistence/stateFile.js";
import { spawnScript } from "../helpers/childProcesses.js";
import { startLocalVault, type LocalVault } from "../../src/emulator/index.js";
import { assertVaultError, callVault } from "./localVaultTestKit.js";
import { holdJournalOperation, nextTurn, type HeldJournalOperation } from "./journalSeam.js";

const journalFile = (directory: string): string => path.join(directory, "journal.log");
const lockFile = (directory: string): string => path.join(directory, "journal.lock");

describe("openJournal", () => {
  let directory: string;

  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-journal-"));
  });

  afterEach(async () => {
    await fs.rm(directory, { recursive: true, force: true });
  });

  it("creates a missing directory and starts with no records", async () => {
    const nested = path.join(directory, "a", "b");
    const journal = await openJournal(nested);
    assert.deepEqual(journal.records, []);
    assert.deepEqual((await fs.readdir(nested)).sort(), ["journal.lock", "journal.log"]);
    await journal.close();
    assert.deepEqual(await fs.readdir(nested), ["journal.log"]);
    assert.equal((await fs.stat(nested)).isDirectory(), true);
  });

  it("returns the appended records, in order, after a reopen", async () => {
    const first = await openJournal(directory);
    const written: JournalRecord[] = [
      { type: "set", name: "a", value: "ünïcødé ✓", tags: { k: "v" } },
      { type: "delete", name: "a", at: 1700000000 },
      { type: "set", name: "b", value: "line\nbreak\ttab" },
    ];
    for (const record of written) {
      await first.append(record);
    }
    assert.deepEqual(first.records, []);
    await first.close();

    const second = await openJournal(directory);
    assert.deepEqual(second.records, written);
    await second.append({ type: "purge", name: "a" });
    await second.close();

    const third = await openJournal(directory);
    assert.deepEqual(third.records, [...written, { type: "purge", name: "a" }]);
    await third.close();
  });

  it("writes one checksummed line per record", async () => {
    const journal = await openJournal(directory);
    await journal.append({ type: "set", name: "a" });
    await journal.append({ type: "set", name: "b" });
    await journal.close();
    const lines = (await fs.readFile(journalFile(directory), "utf8")).split("\n");
    assert.equal(lines.length, 4);
    assert.equal(lines[3], "");
    assert.match(lines[0]!, /^keyvault-secrets local vault journal v1 base=0$/);
    assert.match(lines[1]!, /^[0-9a-f]{8}\t\{"type":"set","name":"a"\}$/);
  });

  it("keeps 1,000 concurrent appends, in order, group-committed", async () => {
    const journal = await openJournal(directory);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 1000 }, (_, seq) =>
        journal.append({ type: "set", seq }).then(() => order.push(seq)),
      ),
    );
    assert.deepEqual(
      order,
      Array.from({ length: 1000 }, (_, seq) => seq),
      "appends resolve in order",
    );
    await journal.close();
    const reopened = await openJournal(directory);
    assert.deepEqual(
      reopened.records.map((record) => record.seq),
      Array.from({ length: 1000 }, (_, seq) => seq),
    );
    await reopened.close();
  });

  it("group-commits appends issued together into few syncs", async () => {
    const journal = await openJournal(directory);
    // Count datasync calls through the file handle's prototype used by the journal.
    const { FileHandle } = await (async () => {
      const handle = await fs.open(journalFile(directory), "r");
      const proto = Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
      await handle.close();
      return { FileHandle: proto };
    })();
    const original = FileHandle.datasync;
    let syncs = 0;
    FileHandle.datasync = function (this: unknown) {
      syncs++;
      return original.call(this);
    };
    try {
      await Promise.all(
        Array.from({ length: 200 }, (_, seq) => journal.append({ type: "x", seq })),
      );
    } finally {
      FileHandle.datasync = original;
    }
    assert.ok(syncs >= 1 && syncs <= 2, `expected 1 or 2 syncs for 200 appends, saw ${syncs}`);
    await journal.close();
  });

  it("drops a torn last line and truncates the file before appending", async () => {
    const journal = await openJournal(directory);
    await journal.append({ type: "set", name: "kept" });
    await journal.close();
    const good = await fs.readFile(journalFile(directory));
    await fs.appendFile(journalFile(directory), '1234abcd\t{"type":"set","na');

    const reopened = await openJournal(directory);
    assert.deepEqual(reopened.records, [{ type: "set", name: "kept" }]);
    assert.deepEqual(await fs.readFile(journalFile(directory)), good, "torn tail truncated");
    await reopened.append({ type: "set", name: "after" });
    await reopened.close();

    const third = await openJournal(directory);
    assert.deepEqual(third.records, [
      { type: "set", name: "kept" },
      { type: "set", name: "after" },
    ]);
    await third.close();
  });

  it("drops a complete last line whose checksum fails", async () => {
    const journal = await openJournal(directory);
    await journal.append({ type: "set", name: "kept" });
    await journal.close();
    await fs.appendFile(journalFile(directory), '00000000\t{"type":"set","name":"torn"}\n');
    const reopened = await openJournal(directory);
    assert.deepEqual(reopened.records, [{ type: "set", name: "kept" }]);
    await reopened.close();
  });

  it("rejects a corrupt line followed by intact records, naming the line", async () => {
    const journal = await openJournal(directory);
    for (const name of ["a", "b", "c"]) {
      await journal.append({ type: "set", name });
    }
    await journal.close();
    const text = await fs.readFile(journalFile(directory), "utf8");
    await fs.writeFile(journalFile(directory), text.replace('"name":"b"', '"name":"B"'));

    await assert.rejects(openJournal(directory), (error: Error) => {
      // Line 1 is the header.
      assert.match(error.message, /corrupt at line 3\b/);
      assert.ok(error.message.includes(journalFile(directory)), error.message);
      return true;
    });
    // A failed open releases the lock.
    await assert.rejects(fs.stat(lockFile(directory)), { code: "ENOENT" });
  });

  it("refuses a second open of the same directory while the first is open", async () => {
    const journal = await openJournal(directory);
    await assert.rejects(openJournal(directory), /is in use by process \d+/);
    await journal.close();
    const again = await openJournal(directory);
    await again.close();
  });

  it("refuses a directory locked by another live process", async () => {
    await fs.writeFile(lockFile(directory), `${process.ppid}\n`);
    await assert.rejects(openJournal(directory), new RegExp(`in use by process ${process.ppid}`));
  });

  it("takes over the stale lock of a process that no longer runs", async () => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const deadPid = child.pid!;
    await new Promise((resolve) => child.once("exit", resolve));
    await fs.writeFile(lockFile(directory), `${deadPid}\n`);
    const journal = await openJournal(directory);
    assert.equal((await fs.readFile(lockFile(directory), "utf8")).trim(), String(process.pid));
    await journal.close();
    await assert.rejects(fs.stat(lockFile(directory)), { code: "ENOENT" });
  });

  it("takes over a lock file without a pid", async () => {
    await fs.writeFile(lockFile(directory), "");
    const journal = await openJournal(directory);
    assert.equal((await fs.readFile(lockFile(directory), "utf8")).trim(), String(process.pid));
    await journal.close();
  });

  it("rejects appends after close and records that are not objects with a type", async () => {
    const journal = await openJournal(directory);
    await assert.rejects(
      journal.append({ name: "x" } as unknown as JournalRecord),
      (error: Error) => error instanceof TypeError && /string `type`/.test(error.message),
    );
    await journal.close();
    await assert.rejects(journal.append({ type: "set" }), /journal is closed/);
  });

  it("keeps every acknowledged record through kill -9, and nothing half-written", async function () {
    this.timeout(15000);
    const child = spawnScript("test/emulator/fixtures/journalWriter.ts", [directory]);
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        resolve();
      });
      child.once("exit", () => reject(new Error(`writer exited early: ${stderr}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");

    // Only complete lines of stdout are acknowledgements.
    const acknowledged = stdout
      .split("\n")
      .slice(0, -1)
      .map((line) => Number(line));
    assert.ok(acknowledged.length > 10, `only ${acknowledged.length} acknowledged`);

    const journal = await openJournal(directory);
    const seqs = journal.records.map((record) => record.seq as number);
    const present = new Set(seqs);
    for (const seq of acknowledged) {
      assert.ok(present.has(seq), `acknowledged record ${seq} is missing`);
    }
    // Appends are written in order, so the journal holds exactly the records 0..n-1, each whole.
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, seq) => seq),
    );
    for (const record of journal.records) {
      assert.deepEqual(record, {
        type: "set",
        seq: record.seq,
        payload: "x".repeat(((record.seq as number) * 37) % 900),
      });
    }
    await journal.close();
  });

  describe("files under the location", () => {
    const modeOf = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;
    let umask: number;
    beforeEach(() => {
      // The most permissive umask: the modes below must not depend on it.
      umask = process.umask(0);
    });
    afterEach(() => {
      process.umask(umask);
    });

    it("creates the directory 0700 and the journal, lock and state file 0600", async () => {
      const nested = path.join(directory, "vault");
      const journal = await openJournal(nested);
      assert.equal(await modeOf(nested), 0o700);
      assert.equal(await modeOf(journalFile(nested)), 0o600);
      assert.equal(await modeOf(lockFile(nested)), 0o600);
      await writeStateFile(nested, { key: "k" });
      assert.equal(await modeOf(path.join(nested, "state")), 0o600);
      assert.deepEqual(await readStateFile(nested), { key: "k" });
      await journal.append({ type: "set", value: "v" });
      await journal.close();
      assert.deepEqual((await fs.readdir(nested)).sort(), ["journal.log", "state"]);
    });

    it("makes an existing journal readable by others owner-only", async () => {
      await (await openJournal(directory)).close();
      await fs.chmod(journalFile(directory), 0o644);
      await (await openJournal(directory)).close();
      assert.equal(await modeOf(journalFile(directory)), 0o600);
    });

    it("writes a file it hands out (the CA) 0600, replacing a planted link, not its target", async () => {
      const target = path.join(directory, "target.txt");
      await fs.writeFile(target, "precious");
      const out = path.join(directory, "ca.pem");
      await fs.symlink(target, out);
      await writePrivateFile(out, "PEM");
      assert.equal(await fs.readFile(target, "utf8"), "precious");
      assert.equal((await fs.lstat(out)).isSymbolicLink(), false);
      assert.equal(await fs.readFile(out, "utf8"), "PEM");
      assert.equal(await modeOf(out), 0o600);
    });
  });

  describe("refuses what it did not write, leaving it untouched", () => {
    const refusal = (file: string, reason: RegExp) => (error: Error) => {
      assert.ok(error.message.includes(file), error.message);
      assert.match(error.message, reason);
      return true;
    };

    for (const [label, content] of [
      ["an unrelated journal.log", "my notes\nline two\n"],
      ["an empty journal.log", ""],
      ["a journal of another format", "keyvault-secrets local vault journal v9 base=0\n"],
    ] as const) {
      it(`${label}`, async () => {
        await fs.writeFile(journalFile(directory), content);
        await assert.rejects(openJournal(directory), refusal(journalFile(directory), /refuses/));
        assert.equal(await fs.readFile(journalFile(directory), "utf8"), content);
        await assert.rejects(fs.stat(lockFile(directory)), { code: "ENOENT" });
      });
    }

    it("a journal.log that is a symbolic link (its target is not touched)", async () => {
      const target = path.join(directory, "elsewhere.txt");
      await fs.writeFile(target, "precious\n");
      await fs.symlink(target, journalFile(directory));
      await assert.rejects(
        openJournal(directory),
        refusal(journalFile(directory), /symbolic link/),
      );
      assert.equal(await fs.readFile(target, "utf8"), "precious\n");
      assert.equal((await fs.lstat(journalFile(directory))).isSymbolicLink(), true);
    });

    it("a dangling symbolic link as journal.log (nothing is created at its target)", async () => {
      const target = path.join(directory, "created-through-link");
      await fs.symlink(target, journalFile(directory));
      await assert.rejects(openJournal(directory), /symbolic link/);
      await assert.rejects(fs.stat(target), { code: "ENOENT" });
    });

    it("a location that is a symbolic link to a directory", async () => {
      const real = path.join(directory, "real");
      await fs.mkdir(real);
      const link = path.join(directory, "link");
      await fs.symlink(real, link);
      await assert.rejects(openJournal(link), refusal(link, /symbolic link/));
      assert.deepEqual(await fs.readdir(real), []);
    });

    it("a state file that is a link or foreign", async () => {
      const state = path.join(directory, "state");
      const target = path.join(directory, "keys.txt");
      await fs.writeFile(target, "{}\n");
      await fs.symlink(target, state);
      await assert.rejects(readStateFile(directory), refusal(state, /symbolic link/));
      await fs.rm(state);
      await fs.writeFile(state, "{}\n");
      await assert.rejects(readStateFile(directory), refusal(state, /not the vault's own/));
      assert.equal(await fs.readFile(state, "utf8"), "{}\n");
    });
  });

  it("names the location flag and the directory when it cannot be written", async () => {
    const file = path.join(directory, "a-file");
    await fs.writeFile(file, "");
    for (const location of [file, path.join(file, "vault")]) {
      await assert.rejects(openJournal(location), (error: Error) => {
        assert.match(error.message, /--location/);
        assert.ok(error.message.includes(location), error.message);
        assert.doesNotMatch(error.message, /\.tmp\b/);
        return true;
      });
    }
  });

  describe("compaction", () => {
    const big = (n: number): JournalRecord => ({ type: "set", n, value: "x".repeat(20_000) });

    it("rewrites a journal grown past twice its live size, and the rewrite replays", async () => {
      const first = await openJournal(directory);
      for (let n = 0; n < 80; n++) await first.append(big(n));
      await first.close();
      const grown = (await fs.stat(journalFile(directory))).size;
      assert.ok(grown > 1024 * 1024, `journal of ${grown} bytes`);

      const second = await openJournal(directory);
      assert.equal(second.records.length, 80);
      const live = [second.records[79]!];
      await second.compactFrom(() => live);
      const compacted = (await fs.stat(journalFile(directory))).size;
      assert.ok(compacted < 25_000, `compacted to ${compacted} bytes`);
      assert.equal(second.size, compacted);
      assert.equal((await fs.stat(journalFile(directory))).mode & 0o777, 0o600);
      await second.append({ type: "after" });
      await second.close();

      const third = await openJournal(directory);
      assert.deepEqual(third.records, [big(79), { type: "after" }]);
      await third.close();
      assert.deepEqual(await fs.readdir(directory), ["journal.log"]);
    });

    it("leaves a journal alone while it is small or mostly live", async () => {
      const first = await openJournal(directory);
      let snapshots = 0;
      await first.compactFrom(() => {
        snapshots++;
        return [];
      });
      for (let n = 0; n < 10; n++) await first.append(big(n));
      assert.equal(snapshots, 0, "under 1 MiB: never rewritten");
      await first.close();
    });

    it("rewrites while appends go on, reporting each record durable before the rewrite", async () => {
      const journal = await openJournal(directory);
      // The live state: only the newest record of each name.
      const live = new Map<number, JournalRecord>();
      await journal.compactFrom(() => [...live.values()]);
      let written = 0;
      // 8 writers with an append each in flight: batches, with rewrites between them.
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 25; i++) {
            const n = w * 25 + i;
            const record = { type: "set", n, value: "y".repeat(20_000) };
            await journal.append(record, () => live.set(n % 3, record));
            written += 20_000;
          }
        }),
      );
      await journal.close();
      const size = (await fs.stat(journalFile(directory))).size;
      assert.ok(written > 3 * 1024 * 1024);
      assert.ok(size < 1.5 * 1024 * 1024, `journal at ${size} bytes after ${written} written`);
      const reopened = await openJournal(directory);
      // Replaying keeps the newest record of each name: the live state.
      const replayed = new Map<number, JournalRecord>();
      for (const record of reopened.records) replayed.set((record.n as number) % 3, record);
      assert.deepEqual([...replayed.entries()].sort(), [...live.entries()].sort());
      await reopened.close();
    });
  });
});

// A killed process keeps the page cache, so kill -9 cannot tell a record made visible before its
// sync from one made visible after it: these tests hold or fail the write and the sync themselves.
const diskError = (): Error => Object.assign(new Error("injected EIO"), { code: "EIO" });

describe("journal durability: a slow or failing disk", () => {
  let directory: string;
  let held: HeldJournalOperation | undefined;
  let journal: Journal | undefined;

  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-journal-held-"));
  });

  afterEach(async () => {
    // The real operations first: closing flushes what still waits.
    held?.restore();
    held = undefined;
    await journal?.close();
    journal = undefined;
    await fs.rm(directory, { recursive: true, force: true });
  });

  for (const operation of ["write", "sync"] as const) {
    it(`acknowledges a record and reports it durable only once its ${operation} is done`, async () => {
      journal = await openJournal(directory);
      held = holdJournalOperation(operation);
      const events: string[] = [];
      const appended = journal.append({ type: "set", name: "a" }, () => events.push("durable"));
      void appended.then(() => events.push("acknowledged"));
      await held.called;
      await nextTurn();
      assert.deepEqual(events, [], `nothing before the ${operation} is done`);
      held.release();
      await appended;
      assert.deepEqual(events, ["durable", "acknowledged"]);
      await journal.close();
      journal = undefined;
      const reopened = await openJournal(directory);
      assert.deepEqual(reopened.records, [{ type: "set", name: "a" }]);
      await reopened.close();
    });

    it(`refuses the batch and every later append when its ${operation} fails, reporting none durable`, async () => {
      const opened = (journal = await openJournal(directory));
      held = holdJournalOperation(operation);
      const durable: string[] = [];
      const append = (name: string): Promise<void> =>
        opened.append({ type: "set", name }, () => durable.push(name));
      const batch = [append("a"), append("b")];
      await held.called;
      const queued = append("c"); // waits behind the batch in flight
      const injected = diskError();
      held.fail(injected);
      const refusal = /journal could not be written: injected EIO/;
      for (const appended of [...batch, queued]) await assert.rejects(appended, refusal);
      await assert.rejects(batch[0]!, (error: Error) => error.cause === injected);
      held.restore();
      // The disk works again, but what reached it is unknown: the journal stays refused.
      await assert.rejects(append("d"), refusal);
      assert.deepEqual(durable, []);
      assert.equal(held.calls, 1, "the queued append was never written");
    });
  }
});

describe("local vault with a location: a change is visible only once durable", () => {
  let location: string;
  let vault: LocalVault;
  let held: HeldJournalOperation | undefined;

  beforeEach(async () => {
    location = await fs.mkdtemp(path.join(os.tmpdir(), "kv-vault-held-"));
    vault = await startLocalVault({ location });
  });

  afterEach(async () => {
    // The real operations first: closing flushes what still waits.
    held?.restore();
    held = undefined;
    await vault.close();
    await fs.rm(location, { recursive: true, force: true });
  });

  it("answers a change and shows it to readers only after its journal sync", async () => {
    held = holdJournalOperation("sync");
    let answered = false;
    const put = callVault(vault, "PUT", "/secrets/pending", { body: { value: "v" } });
    void put.then(() => (answered = true));
    await held.called;
    assert.equal((await callVault(vault, "GET", "/secrets/pending")).status, 404);
    assert.deepEqual((await callVault(vault, "GET", "/secrets")).body.value, []);
    assert.equal(answered, false, "the change is not acknowledged before its sync");
    held.release();
    assert.equal((await put).status, 200);
    const read = await callVault(vault, "GET", "/secrets/pending");
    assert.equal(read.status, 200);
    assert.equal(read.body.value, "v");
  });

  it("answers 500 to a change whose sync fails, shows it to no reader, and refuses later changes", async () => {
    held = holdJournalOperation("sync");
    const put = callVault(vault, "PUT", "/secrets/lost", { body: { value: "v" } });
    await held.called;
    held.fail(diskError());
    assertVaultError(await put, 500, "InternalServerError", /./);
    held.restore();
    assert.equal((await callVault(vault, "GET", "/secrets/lost")).status, 404);
    const later = await callVault(vault, "PUT", "/secrets/later", { body: { value: "w" } });
    assert.equal(later.status, 500);
    assert.equal((await callVault(vault, "GET", "/secrets/later")).status, 404);
    assert.ok(!JSON.stringify(later.body).includes("EIO"), "no file system detail leaks");
  });
});

describe("journal housekeeping", () => {
  let directory: string;
  let held: HeldJournalOperation | undefined;

  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "kv-journal-house-"));
  });

  afterEach(async () => {
    held?.restore();
    held = undefined;
    await fs.rm(directory, { recursive: true, force: true });
  });

  const big = (n: number): JournalRecord => ({ type: "set", n, value: "x".repeat(20_000) });

  /** A record whose journal line (checksum, TAB, JSON, LF) takes exactly `bytes`. */
  const lineOf = (bytes: number): JournalRecord => {
    const empty = JSON.stringify({ type: "pad", value: "" }).length;
    return { type: "pad", value: "x".repeat(bytes - 10 - empty) };
  };
  /** Appends records, one batch each, until the journal's records take exactly `target` bytes. */
  const fillTo = async (journal: Journal, headerBytes: number, target: number): Promise<void> => {
    let left = target - (journal.size - headerBytes);
    while (left > 0) {
      // Lines of 20 kB, then one or two that land on the target (never a line too short to be one).
      const bytes = left > 40_000 ? 20_000 : left > 20_000 ? Math.ceil(left / 2) : left;
      await journal.append(lineOf(bytes));
      left = target - (journal.size - headerBytes);
    }
    assert.equal(journal.size - headerBytes, target);
  };
  const mebibyte = 1024 * 1024;

  it("is rewritten once its records pass 1 MiB, not at 1 MiB exactly", async () => {
    const journal = await openJournal(directory);
    const headerBytes = journal.size;
    let snapshots = 0;
    await journal.compactFrom(() => {
      snapshots++;
      return [];
    });
    await fillTo(journal, headerBytes, mebibyte);
    assert.equal(snapshots, 0, "1 MiB of records: not due");
    await journal.append(lineOf(40));
    assert.equal(snapshots, 1, "past 1 MiB: rewritten");
    // Written after the rewrite, which runs between batches.
    await journal.append(lineOf(40));
    assert.equal(journal.size, headerBytes + 40, "rewritten from an empty live state");
    await journal.close();
  });

  it("after a failed rewrite, tries again once its records pass twice what they were, not at twice exactly", async () => {
    const journal = await openJournal(directory);
    const headerBytes = journal.size;
    let snapshots = 0;
    await journal.compactFrom(() => {
      snapshots++;
      return [];
    });
    held = holdJournalOperation("rewrite");
    held.fail(diskError());
    await fillTo(journal, headerBytes, mebibyte + 40);
    assert.equal(snapshots, 1, "past 1 MiB: a rewrite was tried");
    held.restore();
    await fillTo(journal, headerBytes, 2 * (mebibyte + 40));
    assert.equal(snapshots, 1, "twice the records of the failed rewrite: not due");
    await journal.append(lineOf(40));
    assert.equal(snapshots, 2, "past twice: tried again");
    await journal.append(lineOf(40));
    assert.equal(journal.size, headerBytes + 40, "the second rewrite worked");
    await journal.close();
  });

  it("never rewrites a journal whose write failed: what reached its file is left as it is", async () => {
    const journal = await openJournal(directory);
    const headerBytes = journal.size;
    // No live state handed over yet: past 1 MiB, nothing is rewritten.
    await fillTo(journal, headerBytes, mebibyte + 40);
    const written = (await fs.stat(journalFile(directory))).size;
    held = holdJournalOperation("write");
    const failed = journal.append({ type: "set", name: "lost" });
    await held.called;
    // Handed over while the write is in flight: a rewrite is due after it.
    let snapshots = 0;
    const compacted = journal.compactFrom(() => {
      snapshots++;
      return [];
    });
    held.fail(diskError());
    await assert.rejects(failed, /journal could not be written/);
    await compacted;
    assert.equal(snapshots, 0);
    assert.equal((await fs.stat(journalFile(directory))).size, written);
    await journal.close();
  });

  it("removes the temporary files of an interrupted rewrite at open, and nothing else", async () => {
    await (await openJournal(directory)).close();
    const leftovers = ["journal.log.123.abcdef01.tmp", "state.9.0123abcd.tmp"];
    const kept = [
      "xjournal.log.1.abcdef01.tmp",
      "journal.log.1.abcdef01.tmp.bak",
      "journal.log.x.abcdef01.tmp",
      "journal.log.1.abcdef0.tmp",
      "journal.log.1.ABCDEF01.tmp",
      "journal.log.1.ghijklmn.tmp",
      "journal.lock.1.abcdef01.tmp",
      "notes.txt",
    ];
    for (const name of [...leftovers, ...kept]) {
      await fs.writeFile(path.join(directory, name), "x");
    }
    const journal = await openJournal(directory);
    await journal.close();
    assert.deepEqual((await fs.readdir(directory)).sort(), ["journal.log", ...kept].sort());
  });

  it("closes only after the appends in flight are durable", async () => {
    const journal = await openJournal(directory);
    const appends = [1, 2, 3].map((n) => journal.append({ type: "set", n }));
    await journal.close();
    await Promise.all(appends);
    const reopened = await openJournal(directory);
    assert.equal(reopened.records.length, 3);
    await reopened.close();
  });

  it("closes even when its lock file was removed by hand", async () => {
    const journal = await openJournal(directory);
    await fs.rm(lockFile(directory));
    await journal.close();
    assert.deepEqual(await fs.readdir(directory), ["journal.log"]);
  });

  it("remembers the live size of its last rewrite across a reopen: no rewrite until it doubles", async () => {
    const first = await openJournal(directory);
    const live: JournalRecord[] = [];
    for (let n = 0; n < 60; n++) {
      live.push(big(n));
      await first.append(big(n));
    }
    // Everything is live: the rewrite keeps all 1.2 MB and notes that size in its header.
    await first.compactFrom(() => live);
    await first.close();
    const reopened = await openJournal(directory);
    let snapshots = 0;
    await reopened.compactFrom(() => {
      snapshots++;
      return live;
    });
    assert.equal(snapshots, 0, "1.2 MB of records after a rewrite of 1.2 MB: not due");
    await reopened.close();
  });

  it("keeps using the old journal when a rewrite fails, and tries again once it doubles again", async () => {
    const journal = await openJournal(directory);
    const live = new Map<number, JournalRecord>();
    let snapshots = 0;
    await journal.compactFrom(() => {
      snapshots++;
      return [...live.values()];
    });
    held = holdJournalOperation("rewrite");
    held.fail(diskError());
    let n = 0;
    // Past 1 MiB of records: a rewrite is due, and fails.
    while (snapshots === 0) {
      const record = big(n);
      await journal.append(record, () => live.set(0, record));
      n++;
    }
    const failedAt = journal.size;
    assert.equal(held.calls, 1);
    held.restore();
    // Appends go on in the old journal; no new attempt until its records double once more.
    while (journal.size < failedAt * 1.9) await journal.append(big(n++), () => undefined);
    assert.equal(snapshots, 1, "not tried again before the journal doubled");
    while (snapshots === 1) await journal.append(big(n++), () => undefined);
    // Written after the rewrite, which runs between batches.
    await journal.append({ type: "after" });
    assert.ok(journal.size < failedAt, "the second rewrite worked");
    await journal.close();
    const reopened = await openJournal(directory);
    assert.deepEqual(reopened.records[0], live.get(0));
    assert.deepEqual(reopened.records.at(-1), { type: "after" });
    await reopened.close();
  });
});
