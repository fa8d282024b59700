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
import { decodeName } from "./names.js";

/**
 * Answers a request under `/secrets`.
 * @param x - the request
 */
export async function handleSecrets(x: Exchange): Promise<void> {
  const { method, segments, path, vault } = x;
  const { store, render } = vault;
  if (segments.length === 1) {
    if (method !== "GET") throw collectionMethodNotAllowed(method);
    sendPage(x, "/secrets", (after, max) => {
      const page = store.list(after, max);
      return { ...page, items: page.items.map((s) => render.latestItem(s, x.render)) };
    });
    return;
  }
  const name = decodeName(segments[1]);
  if (segments.length === 2 && name === "restore" && method === "POST") {
    const body = await x.readJson();
    const m = store.restore(openBackup(readRestoreBody(body), vault.backupKey), (n, v) =>
      render.secretId(n, v, x.render),
    );
    await x.commit(m.record, 200, render.latest(m.secret, x.render));
    return;
  }
  if (!isValidName(name)) throw invalidName(name);
  if (segments.length > 3) throw resourceNotFound(path);
  const third = segments.length === 3 ? segments[2] : "";
  if (third === "versions") {
    if (method !== "GET") throw methodNotAllowed(method, path, "GET");
    sendPage(x, `/secrets/${name}/versions`, (after, max) => {
      const page = store.listVersions(name, after, max);
      const secret = page.secret;
      return {
        ...page,
        items:
          secret === undefined ? [] : page.items.map((v) => render.item(secret, v, x.render, true)),
      };
    });
    return;
  }
  if (third === "backup") {
    if (method !== "POST") throw methodNotAllowed(method, path, "POST");
    x.send(200, { value: sealBackup(store.exportSecret(name), vault.backupKey) });
    return;
  }
  const version = third;
  switch (method) {
    case "GET": {
      const found = store.get(name, version);
      checkOutContentType(x);
      x.send(200, render.bundle(found.secret, found.version, x.render, true));
      return;
    }
    case "PATCH": {
      const body = await x.readJson();
      const m = store.update(name, version, readUpdateBody(body));
      await x.commit(m.record, 200, render.bundle(m.secret, m.version, x.render, false));
      return;
    }
    case "PUT": {
      if (version !== "") throw methodNotAllowed(method, path, "GET, PATCH");
      const body = await x.readJson();
      const m = store.set(name, readSetBody(body));
      await x.commit(m.record, 200, render.bundle(m.secret, m.version, x.render, true));
      return;
    }
    case "DELETE": {
      if (version !== "") throw methodNotAllowed(method, path, "GET, PATCH");
      const m = store.delete(name);
      await x.commit(m.record, 200, render.deletedBundle(m.secret, x.render));
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

/** `outContentType` values and the format each asks for. */
const outContentTypes: Record<string, "PEM" | "PFX"> = {
  "application/x-pem-file": "PEM",
  "application/x-pkcs12": "PFX",
};

/**
 * `outContentType` (api-version 2025-07-01 and later) converts a certificate-backed PFX secret;
 * this vault holds no certificates, so every secret answers as a non-PFX secret does.
 */
function checkOutContentType(x: Exchange): void {
  const asked = x.query.outContentType;
  if (asked === undefined || !x.apiVersion.startsWith("20") || x.apiVersion < "2025-07-01") return;
  throw transformationNotSupported(outContentTypes[asked.toLowerCase()] ?? "PEM");
}
