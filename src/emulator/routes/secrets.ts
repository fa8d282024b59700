/**
 * `/secrets`: set, get, update, delete, list, list versions, backup and restore.
 */
import { openBackup, sealBackup } from "../state/backup.js";
import {
  collectionMethodNotAllowed,
  invalidName,
  methodNotAllowed,
  resourceNotFound,
  transformationNotSupported,
} from "../wire/errors.js";
import type { Exchange } from "../http/exchange.js";
import { sendPage } from "../wire/paging.js";
import { isValidName, readRestoreBody, readSetBody, readUpdateBody } from "../wire/requests.js";
import type { Mutation } from "../state/storeTypes.js";
import { decodeName } from "./names.js";

/**
 * Answers a request under `/secrets`.
 * @param exchange - the request
 */
export async function handleSecrets(exchange: Exchange): Promise<void> {
  const { method, segments, path, vault } = exchange;
  const { store, render } = vault;
  if (segments.length === 1) {
    if (method !== "GET") throw collectionMethodNotAllowed(method);
    sendPage(exchange, "/secrets", (after, max) => {
      const page = store.list(after, max);
      return { ...page, items: page.items.map((s) => render.latestItem(s, exchange.render)) };
    });
    return;
  }
  const name = decodeName(segments[1]);
  if (segments.length === 2 && name === "restore" && method === "POST") {
    const body = await exchange.readJson();
    const mutation = store.restore(openBackup(readRestoreBody(body), vault.backupKey), (n, v) =>
      render.secretId(n, v, exchange.render),
    );
    await exchange.commit(mutation.record, 200, render.latest(mutation.secret, exchange.render));
    return;
  }
  if (!isValidName(name)) throw invalidName(name);
  if (segments.length > 3) throw resourceNotFound(path);
  const third = segments.length === 3 ? segments[2] : "";
  if (third === "versions") {
    if (method !== "GET") throw methodNotAllowed(method, path, "GET");
    sendPage(exchange, `/secrets/${name}/versions`, (after, max) => {
      const page = store.listVersions(name, after, max);
      const secret = page.secret;
      return {
        ...page,
        items:
          secret === undefined
            ? []
            : page.items.map((v) =>
                render.item(secret, v, exchange.render, { idNamesVersion: true }),
              ),
      };
    });
    return;
  }
  if (third === "backup") {
    if (method !== "POST") throw methodNotAllowed(method, path, "POST");
    exchange.send(200, { value: sealBackup(store.exportSecret(name), vault.backupKey) });
    return;
  }
  const version = third;
  switch (method) {
    case "GET": {
      const found = store.get(name, version);
      checkOutContentType(exchange);
      exchange.send(
        200,
        render.bundle(found.secret, found.version, exchange.render, { withValue: true }),
      );
      return;
    }
    case "PATCH": {
      const body = await exchange.readJson();
      const mutation = store.update(name, version, readUpdateBody(body));
      await commitBundle(exchange, mutation, { withValue: false });
      return;
    }
    case "PUT": {
      if (version !== "") throw methodNotAllowed(method, path, "GET, PATCH");
      const body = await exchange.readJson();
      await commitBundle(exchange, store.set(name, readSetBody(body)), { withValue: true });
      return;
    }
    case "DELETE": {
      if (version !== "") throw methodNotAllowed(method, path, "GET, PATCH");
      const mutation = store.delete(name);
      await exchange.commit(
        mutation.record,
        200,
        render.deletedBundle(mutation.secret, exchange.render),
      );
      return;
    }
    default:
      throw methodNotAllowed(
        method,
        path,
        version === "" ? "GET, PUT, PATCH, DELETE" : "GET, PATCH",
      );
  }
}

/** Answers with the changed version's SecretBundle once the change is durable. */
function commitBundle(
  exchange: Exchange,
  mutation: Mutation,
  options: { withValue: boolean },
): Promise<void> {
  const { render } = exchange.vault;
  const bundle = render.bundle(mutation.secret, mutation.version, exchange.render, options);
  return exchange.commit(mutation.record, 200, bundle);
}

/** `outContentType` values and the format each asks for. */
const outContentTypes: Record<string, "PEM" | "PFX"> = {
  "application/x-pem-file": "PEM",
  "application/x-pkcs12": "PFX",
};

/**
 * `outContentType` (api-version 2025-07-01 and later) converts a certificate-backed PFX secret;
 * this vault holds no certificates, so every secret answers as a non-PFX secret does.
 */
function checkOutContentType(exchange: Exchange): void {
  const asked = exchange.query.outContentType;
  if (
    asked === undefined ||
    !exchange.apiVersion.startsWith("20") ||
    exchange.apiVersion < "2025-07-01"
  )
    return;
  throw transformationNotSupported(outContentTypes[asked.toLowerCase()] ?? "PEM");
}
