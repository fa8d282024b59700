/**
 * What the `keyvault-secrets run` and preload samples share: a vault whose secrets a child process
 * can read (a real one when KEYVAULT_URI is set, else a local vault with its identity endpoint),
 * and a child process runner.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { SecretClient } from "keyvault-secrets";
import { startLocalVault } from "keyvault-secrets/emulator";

/** A vault for a child process. */
export interface ChildVault {
  /** A client for seeding (the local vault only). */
  client: SecretClient | undefined;
  /** The environment a child needs to reach the vault (KEYVAULT_URI, and for the local vault its identity endpoint). */
  env: NodeJS.ProcessEnv;
  description: string;
  close(): Promise<void>;
}

/**
 * The vault named by KEYVAULT_URI (the child signs in with DefaultAzureCredential), or a new
 * local vault, whose identity endpoint gives the child its tokens.
 * @returns the vault
 */
export async function childVault(): Promise<ChildVault> {
  if (process.env["KEYVAULT_URI"]) {
    return {
      client: undefined,
      env: { ...process.env },
      description: `the vault at ${process.env["KEYVAULT_URI"]}`,
      close: async () => undefined,
    };
  }
  const vault = await startLocalVault();
  const client = new SecretClient(vault.vaultUrl, vault.credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
  });
  return {
    client,
    // What `keyvault-emulator` prints: the vault and its managed-identity endpoint.
    env: {
      ...process.env,
      KEYVAULT_URI: vault.vaultUrl,
      IDENTITY_ENDPOINT: vault.identityEndpoint,
      IDENTITY_HEADER: vault.identityHeader,
    },
    description: `a local vault at ${vault.vaultUrl} (set KEYVAULT_URI to use a real one)`,
    close: async () => {
      client.close();
      await vault.close();
    },
  };
}

/**
 * Runs a command with its output passed through, as a shell would.
 * @param command - the program
 * @param args - its arguments
 * @param env - its environment
 * @returns its exit status
 */
export function runChild(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/**
 * The installed `keyvault-secrets` command, found as any app would find a package's bin.
 * @returns the path of its entry file
 */
export function commandPath(): string {
  const packageJson = createRequire(import.meta.url).resolve("keyvault-secrets/package.json");
  const { bin } = JSON.parse(readFileSync(packageJson, "utf8")) as { bin: Record<string, string> };
  return join(dirname(packageJson), bin["keyvault-secrets"]!);
}

/** A command running in the background, its stdout passed through. */
export interface BackgroundChild {
  child: ChildProcess;
  /** Resolves once the command has printed the text on stdout. */
  waitFor(text: string): Promise<void>;
  /** Its exit status. */
  exited: Promise<number>;
}

/**
 * Starts a command whose stdout is passed through (and watched) and whose stderr is ours.
 * @param command - the program
 * @param args - its arguments
 * @param env - its environment
 * @returns the running command
 */
export function startInBackground(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): BackgroundChild {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  const waiting: Array<{ text: string; resolve: () => void }> = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    process.stdout.write(chunk);
    output += chunk;
    for (const waiter of waiting.filter((w) => output.includes(w.text))) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
  return {
    child,
    waitFor: (text) =>
      output.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiting.push({ text, resolve });
            exited.then(
              () => reject(new Error(`the command ended before printing "${text}"`)),
              reject,
            );
          }),
    exited,
  };
}
