import type { PollOperationState, PollerLike } from "@azure/core-lro";
import { isRestError } from "@azure/core-rest-pipeline";
import type {
  BeginRecoverDeletedSecretOptions,
  OperationOptions,
  SecretProperties,
} from "../models.js";
import { beginSecretPoller } from "./secretPoller.js";
import type { SecretOperationDefinition } from "./secretPoller.js";

/** The requests the recover poller sends; `SecretClient` provides them. */
export interface RecoverDeletedSecretOperationClient {
  /**
   * `POST /deletedsecrets/{name}/recover`.
   * @param name - The name of the deleted secret.
   * @returns The properties of the recovered secret.
   */
  recoverDeletedSecret(name: string, options: OperationOptions): Promise<SecretProperties>;
  /**
   * `GET /secrets/{name}/` (the latest version).
   * @returns The properties of the secret; rejects with a `RestError` of status 404 while the
   *   recovery runs, 403 when the caller may not get secrets.
   */
  getSecret(name: string, options: OperationOptions): Promise<SecretProperties>;
}

function recoverDeletedSecretDefinition(
  client: RecoverDeletedSecretOperationClient,
): SecretOperationDefinition<SecretProperties> {
  return {
    kind: "recover deleted secret",
    cancelMessage: "Canceling the recovery of a deleted secret is not supported.",
    async start(name, options) {
      // As 4.x: a secret that can already be read needs no recovery, and the poller is done.
      try {
        return {
          result: await client.getSecret(name, options),
          isCompleted: true,
          isStarted: false,
        };
      } catch (error) {
        if (!isRestError(error) || error.statusCode === undefined) throw error;
      }
      return { result: await client.recoverDeletedSecret(name, options), isCompleted: false };
    },
    poll: (name, options) => client.getSecret(name, options),
    isResult: (value) => typeof value["name"] === "string" && !("properties" in value),
  };
}

/**
 * Starts recovering a deleted secret and returns a poller that waits until the secret can be read
 * again (Microsoft's 4.x secrets client behaviour): resolves after the recover request and a first
 * poll, so `getResult()` already holds the recovered secret's properties.
 *
 * @param client - Sends the recover and get requests.
 * @param name - The name of the deleted secret.
 * @param options - `intervalInMs` (default 2000), `resumeFrom` (a `toString()` of an earlier
 *   recover poller: continues it without sending the recover request again), and the options
 *   passed to every request (`abortSignal`, `requestOptions`, `tracingOptions`, `onResponse`).
 * @returns The poller; `pollUntilDone()` resolves to the secret's properties.
 * @throws TypeError for a `resumeFrom` that is not such a `toString()`, RangeError for a bad
 *   `intervalInMs`, before any request; the service's `RestError` when the recover request fails.
 *
 * @example
 * ```ts
 * const poller = await beginRecoverDeletedSecretPoller(client, "my-secret");
 * const properties = await poller.pollUntilDone();
 * console.log(properties.version);
 * ```
 */
export function beginRecoverDeletedSecretPoller(
  client: RecoverDeletedSecretOperationClient,
  name: string,
  options: BeginRecoverDeletedSecretOptions = {},
): Promise<PollerLike<PollOperationState<SecretProperties>, SecretProperties>> {
  return beginSecretPoller(recoverDeletedSecretDefinition(client), name, options);
}
