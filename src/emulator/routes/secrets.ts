/**
 * `/secrets`: set, get, update, delete, list, list versions, backup and restore.
 */
import { openBackup, sealBackup } from "../backup.js";
import { invalidName, methodNotAllowed, resourceNotFound } from "../errors.js";
import type { Exchange } from "../exchange.js";
import { sendPage } from "../paging.js";
import { isValidName, readRestoreBody, readSetBody, readUpdateBody } from "../requests.js";
import { decodeName } from "./names.js";

/**
 * Answers a request under `/secrets`.
 * @param x - the request
 */
export async function handleSecrets(x: Exchange): Promise<void> {
  const { method, segments, path, vault } = x;
  const { store, render } = vault;
  if (segments.length === 1) {
    if (method !== "GET") throw methodNotAllowed(method, path, "GET");
    sendPage(x, "/secrets", (after, max) => {
      const page = store.list(after, max);
      return { ...page, items: page.items.map((s) => render.latestItem(s, x.render)) };
    });
    return;
  }
  const name = decodeName(segments[1]);
  if (segments.length === 2 && name === "restore" && method === "POST") {
    const body = await x.readJson();
    const m = store.restore(openBackup(readRestoreBody(body), vault.backupKey));
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
