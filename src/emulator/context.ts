/**
 * What the listener and the route modules need from a running vault.
 */
import type { LocalVaultFaultOptions } from "./options.js";
import type { VaultAuth } from "./http/auth.js";
import type { FaultInjector } from "./http/faults.js";
import type { PageRoutes } from "./page/pageRoutes.js";
import type { HostPolicy } from "./http/hosts.js";
import type { WireRenderer } from "./wire/render.js";
import type { DurableStore } from "./state/durableStore.js";
import type { StoreRecord } from "./state/storeTypes.js";
import type { VaultEvents } from "./events/vaultEvents.js";

/** Everything the request listener needs from the vault. */
export interface VaultServerContext {
  /** Changes are made at once; reads see only what is durable. */
  store: DurableStore;
  render: WireRenderer;
  auth: VaultAuth;
  faults: FaultInjector;
  scheme: "http" | "https";
  /** The names the vault answers to. */
  hosts: HostPolicy;
  /** Id reported in `x-ms-keyvault-rbac-assignment-id` on authorized answers (per vault). */
  roleAssignmentId: string;
  backupKey: Buffer;
  emptyPages: boolean;
  identityHeader: string;
  /**
   * Makes a record durable (at once without a journal), then hands it to the events.
   */
  persist: (record: StoreRecord) => Promise<void>;
  /** The vault's events: subscriptions, deliveries, dead letters. */
  events: VaultEvents;
  /** Test control: forget every secret; resolves once durable. */
  reset(): Promise<void>;
  /** Test control: shift the vault clock; resolves once durable. */
  advanceClock(ms: number): Promise<void>;
  /** Test control: replace fault settings. */
  setFaults(faults: LocalVaultFaultOptions): void;
  /** The page to look inside (`/__local/page`), when the vault serves it. */
  page?: PageRoutes;
}
