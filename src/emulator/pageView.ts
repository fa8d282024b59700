/**
 * The page's view of the store: secrets and deleted secrets with their properties and versions
 * (values only on demand), and the delete action, made durable as the API makes it.
 */
import type { PageDeletedSecret, PageSecret, PageVaultView, PageVersion } from "./pageRoutes.js";
import type { RenderContext, SecretStore, StoreRecord, StoredVersion } from "./store.js";
import { secretNotFound } from "./errors.js";

/** Ids are not shown, so the page renders with a neutral context. */
const render: RenderContext = { baseUrl: "", previousVersion: false, recoverableDays: true };

/**
 * Creates the page's view of a store.
 * @param store - the vault's store
 * @param persist - makes a record durable; undefined when the vault keeps no journal
 * @returns the view
 */
export function createPageView(
  store: SecretStore,
  persist: ((record: StoreRecord) => Promise<void>) | undefined,
): PageVaultView {
  return {
    secrets: () =>
      listAll((after, max) => store.list(after, max, render)).map((item) => {
        const { name, versions } = store.exportSecret(nameOf(item.id));
        const shown = versions.map(versionOf);
        const { version: _latest, ...latest } = shown[shown.length - 1];
        return { name, ...latest, versions: shown } satisfies PageSecret;
      }),
    deleted: () =>
      listAll((after, max) => store.listDeleted(after, max, render)).map((item) => {
        const a = item.attributes ?? {};
        const secret: PageDeletedSecret = {
          name: nameOf(item.recoveryId ?? item.id),
          enabled: a.enabled !== false,
          created: a.created ?? 0,
          updated: a.updated ?? 0,
        };
        if (a.nbf !== undefined) secret.notBefore = a.nbf;
        if (a.exp !== undefined) secret.expiresOn = a.exp;
        if (item.contentType !== undefined) secret.contentType = item.contentType;
        if (item.tags !== undefined) secret.tags = item.tags;
        if (item.deletedDate !== undefined) secret.deletedDate = item.deletedDate;
        if (item.scheduledPurgeDate !== undefined) {
          secret.scheduledPurgeDate = item.scheduledPurgeDate;
        }
        return secret;
      }),
    reveal: (name, version) => {
      const stored = store.exportSecret(name).versions.find((v) => v.version === version);
      if (stored === undefined) throw secretNotFound(`${name}/${version}`);
      return stored.value;
    },
    delete: async (name) => {
      const mutation = store.delete(name, render);
      await persist?.(mutation.record);
    },
  };
}

function versionOf(stored: StoredVersion): PageVersion {
  const version: PageVersion = {
    version: stored.version,
    enabled: stored.enabled,
    created: stored.created,
    updated: stored.updated,
  };
  if (stored.nbf !== undefined) version.notBefore = stored.nbf;
  if (stored.exp !== undefined) version.expiresOn = stored.exp;
  if (stored.contentType !== undefined) version.contentType = stored.contentType;
  if (stored.tags !== undefined) version.tags = stored.tags;
  return version;
}

function nameOf(id: string | undefined): string {
  const text = id ?? "";
  return text.slice(text.lastIndexOf("/") + 1);
}

function listAll<T>(
  page: (afterKey: string, max: number) => { items: T[]; lastKey: string; more: boolean },
): T[] {
  const all: T[] = [];
  let after = "";
  for (;;) {
    const result = page(after, 100);
    all.push(...result.items);
    if (!result.more) return all;
    after = result.lastKey;
  }
}
