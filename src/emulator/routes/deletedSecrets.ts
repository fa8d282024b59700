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
 * @param exchange - the request
 */
export async function handleDeletedSecrets(exchange: Exchange): Promise<void> {
  const { method, segments, path, vault } = exchange;
  const { store, render } = vault;
  if (segments.length === 1) {
    if (method !== "GET") throw methodNotAllowed(method, path, "GET");
    sendPage(exchange, "/deletedsecrets", (after, max) => {
      const page = store.listDeleted(after, max);
      return { ...page, items: page.items.map((s) => render.deletedItem(s, exchange.render)) };
    });
    return;
  }
  const name = decodeName(segments[1]);
  if (!isValidName(name)) throw invalidName(name);
  if (segments.length === 2) {
    if (method === "GET") {
      exchange.send(200, render.deletedBundle(store.getDeleted(name), exchange.render));
      return;
    }
    if (method === "DELETE") {
      await exchange.commit(store.purge(name), 204, undefined);
      return;
    }
    throw methodNotAllowed(method, path, "GET, DELETE");
  }
  if (segments.length === 3 && segments[2] === "recover") {
    if (method !== "POST") throw methodNotAllowed(method, path, "POST");
    const mutation = store.recover(name);
    await exchange.commit(mutation.record, 200, render.latest(mutation.secret, exchange.render));
    return;
  }
  throw resourceNotFound(path);
}
