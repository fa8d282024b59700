/**
 * The page's view of the store: secrets and deleted secrets with their properties and versions
 * (values only on demand), and the delete action, made durable as the API makes it.
 */
import type { PageDeletedSecret, PageSecret, PageVaultView, PageVersion } from "./pageRoutes.js";
import type { SecretStore } from "../state/store.js";
import type { SecretView, StoreRecord, StoredVersion } from "../state/storeTypes.js";

/**
 * Creates the page's view of a store.
 * @param store - the vault's store (reads see durable state only)
 * @param persist - makes a record durable; undefined when the vault keeps no journal
 * @returns the view
 */
export function createPageView(
  store: Pick<SecretStore, "list" | "listDeleted" | "reveal" | "delete">,
  persist: ((record: StoreRecord) => Promise<void>) | undefined,
): PageVaultView {
  return {
    secrets: () =>
      listAll((after, max) => store.list(after, max)).map((secret) => {
        const shown = secret.versions.map(versionOf);
        const { version: _latest, ...latest } = shown[shown.length - 1];
        return { name: secret.name, ...latest, versions: shown } satisfies PageSecret;
      }),
    deleted: () =>
      listAll((after, max) => store.listDeleted(after, max)).map((secret: SecretView) => {
        const { version: _latest, ...latest } = versionOf(
          secret.versions[secret.versions.length - 1],
        );
        const shown: PageDeletedSecret = { name: secret.name, ...latest };
        if (secret.deletedDate !== undefined) shown.deletedDate = secret.deletedDate;
        if (secret.scheduledPurgeDate !== undefined) {
          shown.scheduledPurgeDate = secret.scheduledPurgeDate;
        }
        return shown;
      }),
    reveal: (name, version) => store.reveal(name, version),
    delete: async (name) => {
      const mutation = store.delete(name);
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
