import type { PollOperationState, PollerLike } from "@azure/core-lro";
import type { BeginDeleteSecretOptions, DeletedSecret, OperationOptions } from "../models.js";
import { beginSecretPoller } from "./secretPoller.js";
import type { SecretOperationDefinition } from "./secretPoller.js";

/** The requests the delete poller sends; `SecretClient` provides them. */
export interface DeleteSecretOperationClient {
  /**
   * `DELETE /secrets/{name}`.
   * @returns The deleted secret; `recoveryId` is absent when the vault has no soft delete.
   */
  deleteSecret(name: string, options: OperationOptions): Promise<DeletedSecret>;
  /**
   * `GET /deletedsecrets/{name}`.
   * @returns The deleted secret; rejects with a `RestError` of status 404 while the deletion
   *   runs, 403 when the caller may not read deleted secrets.
   */
  getDeletedSecret(name: string, options: OperationOptions): Promise<DeletedSecret>;
}

function deleteSecretDefinition(
  client: DeleteSecretOperationClient,
): SecretOperationDefinition<DeletedSecret> {
  return {
    kind: "delete secret",
    cancelMessage: "Canceling the deletion of a secret is not supported.",
    async start(name, options) {
      const deleted = await client.deleteSecret(name, options);
      // Without a recovery id the vault has no soft delete: the secret is gone, nothing to wait for.
      const recoveryId = deleted.recoveryId ?? deleted.properties?.recoveryId;
      return { result: deleted, isCompleted: !recoveryId };
    },
    poll: (name, options) => client.getDeletedSecret(name, options),
    isResult: (value) =>
      typeof value["name"] === "string" && typeof value["properties"] === "object",
  };
}

/**
 * Starts deleting a secret and returns a poller that waits until the deleted secret can be read
 * (Microsoft's 4.x secrets client behaviour): resolves after the `DELETE` and a first poll, so
 * `getResult()` already holds the deleted secret.
 *
 * @param client - Sends the delete and get-deleted requests.
 * @param name - The name of the secret to delete.
 * @param options - `intervalInMs` (default 2000), `resumeFrom` (a `toString()` of an earlier
 *   delete poller: continues it without sending `DELETE` again), and the options passed to every
 *   request (`abortSignal`, `requestOptions`, `tracingOptions`, `onResponse`).
 * @returns The poller; `pollUntilDone()` resolves to the deleted secret.
 * @throws TypeError for a `resumeFrom` that is not such a `toString()`, RangeError for a bad
 *   `intervalInMs`, before any request; the service's `RestError` when the `DELETE` fails.
 *
 * @example
 * ```ts
 * const poller = await beginDeleteSecretPoller(client, "my-secret", { intervalInMs: 500 });
 * const deleted = await poller.pollUntilDone();
 * console.log(deleted.recoveryId);
 * ```
 */
export function beginDeleteSecretPoller(
  client: DeleteSecretOperationClient,
  name: string,
  options: BeginDeleteSecretOptions = {},
): Promise<PollerLike<PollOperationState<DeletedSecret>, DeletedSecret>> {
  return beginSecretPoller(deleteSecretDefinition(client), name, options);
}
