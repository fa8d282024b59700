/**
 * `/deletedsecrets`: get, list, purge and recover deleted secrets.
 */
import { invalidName, methodNotAllowed, resourceNotFound } from "../wire/errors.js";
import type { Exchange } from "../http/exchange.js";
import { sendPage } from "../wire/paging.js";
import { isValidName } from "../wire/requests.js";
import { decodeName } from "./names.js";

/**
 * Answers a request under `/deletedsecrets`.
 * @param x - the request
 */
export async function handleDeletedSecrets(x: Exchange): Promise<void> {
  const { method, segments, path, vault } = x;
  const { store, render } = vault;
  if (segments.length === 1) {
    if (method !== "GET") throw methodNotAllowed(method, path, "GET");
    sendPage(x, "/deletedsecrets", (after, max) => {
      const page = store.listDeleted(after, max);
      return { ...page, items: page.items.map((s) => render.deletedItem(s, x.render)) };
    });
    return;
  }
  const name = decodeName(segments[1]);
  if (!isValidName(name)) throw invalidName(name);
  if (segments.length === 2) {
    if (method === "GET") {
      x.send(200, render.deletedBundle(store.getDeleted(name), x.render));
      return;
    }
    if (method === "DELETE") {
      await x.commit(store.purge(name), 204, undefined);
      return;
    }
    throw methodNotAllowed(method, path, "GET, DELETE");
  }
  if (segments.length === 3 && segments[2] === "recover") {
    if (method !== "POST") throw methodNotAllowed(method, path, "POST");
    const m = store.recover(name);
    await x.commit(m.record, 200, render.latest(m.secret, x.render));
    return;
  }
  throw resourceNotFound(path);
}
