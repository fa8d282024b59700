/**
 * The local vault in its own process, seeded for the benchmark: the secret the get scenarios read
 * and `items` secrets for the list scenarios. Started by `bench/run.ts` with `fork` (argv[2] =
 * ServerConfig JSON); reports its URL over IPC once seeded and exits when the parent goes away.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { startLocalVault, type LocalVault } from "../src/emulator/index.js";
import { closeWithParent } from "./processes.js";
import {
  benchApiVersion,
  getSecretName,
  getSecretValue,
  listSecretName,
  type ServerConfig,
  type ServerReady,
} from "./protocol.js";

const seedConcurrency = 16;

async function seed(vault: LocalVault, items: number): Promise<void> {
  const token = await vault.credential.getToken("https://vault.azure.net/.default");
  if (token === null) throw new Error("The local vault's credential gave no token.");
  const url = new URL(vault.vaultUrl);
  const https = url.protocol === "https:";
  const agent = https
    ? new HttpsAgent({ keepAlive: true, ca: vault.caCertificate })
    : new HttpAgent({ keepAlive: true });
  const put = (name: string, value: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ value });
      const req = (https ? httpsRequest : httpRequest)(
        {
          host: url.hostname,
          port: url.port,
          path: `/secrets/${name}?api-version=${benchApiVersion}`,
          method: "PUT",
          agent,
          headers: {
            authorization: `Bearer ${token.token}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200
              ? resolve()
              : reject(new Error(`Seeding ${name} answered ${res.statusCode}.`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  await put(getSecretName, getSecretValue);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items) {
      const index = next++;
      await put(listSecretName(index), `value-${index}`);
    }
  };
  await Promise.all(Array.from({ length: seedConcurrency }, worker));
  agent.destroy();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as ServerConfig;
  const vault = await startLocalVault({ https: config.https });
  closeWithParent(vault);
  await seed(vault, config.items);
  const ready: ServerReady = { type: "listening", url: vault.vaultUrl };
  if (vault.caCertificate !== undefined) ready.caCertificate = vault.caCertificate;
  process.send?.(ready);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
