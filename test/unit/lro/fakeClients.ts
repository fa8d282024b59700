import { RestError } from "@azure/core-rest-pipeline";
import type { DeletedSecret, OperationOptions, SecretProperties } from "../../../src/models.js";

/** One recorded call of a fake client method. */
export interface RecordedCall {
  name: string;
  options: OperationOptions;
}

/** A fake client method: answers from a script (the last answer repeats) and records its calls. */
export interface ScriptedMethod<T> {
  (name: string, options: OperationOptions): Promise<T>;
  calls: RecordedCall[];
}

/**
 * A fake client method. Each answer is a value to resolve to, or an Error to reject with; the
 * last answer repeats.
 */
export function scripted<T>(...answers: Array<T | Error>): ScriptedMethod<T> {
  const method = (async (name: string, options: OperationOptions): Promise<T> => {
    method.calls.push({ name, options });
    const answer = answers[Math.min(method.calls.length - 1, answers.length - 1)];
    if (answer instanceof Error) throw answer;
    return answer as T;
  }) as ScriptedMethod<T>;
  method.calls = [];
  return method;
}

/** The 404 the service answers while the operation runs. */
export function notFound(): RestError {
  return new RestError("Deleted Secret not found: my-secret", {
    statusCode: 404,
    code: "SecretNotFound",
  });
}

/** The 403 the service answers when the caller may not read the outcome. */
export function forbidden(): RestError {
  return new RestError("The user does not have secrets get permission.", {
    statusCode: 403,
    code: "Forbidden",
  });
}

const vaultUrl = "https://my-vault.vault.azure.net";

/** A deleted secret as the DELETE answers it (a vault without soft delete when `recoveryId` is null). */
export function deletedSecret(
  recoveryIdOrNull: string | null = `${vaultUrl}/deletedsecrets/my-secret`,
  extra: Partial<DeletedSecret> = {},
): DeletedSecret {
  const recoveryId = recoveryIdOrNull ?? undefined;
  return {
    name: "my-secret",
    recoveryId,
    deletedOn: new Date("2026-01-02T03:04:05.000Z"),
    scheduledPurgeDate: new Date("2026-04-02T03:04:05.000Z"),
    properties: {
      vaultUrl,
      name: "my-secret",
      version: "v1",
      id: `${vaultUrl}/secrets/my-secret/v1`,
      createdOn: new Date("2025-12-01T00:00:00.000Z"),
      recoveryId,
      deletedOn: new Date("2026-01-02T03:04:05.000Z"),
      scheduledPurgeDate: new Date("2026-04-02T03:04:05.000Z"),
    },
    ...extra,
  };
}

/** The properties of a (recovered) secret. */
export function secretProperties(version = "v1"): SecretProperties {
  return {
    vaultUrl,
    name: "my-secret",
    version,
    id: `${vaultUrl}/secrets/my-secret/${version}`,
    enabled: true,
    createdOn: new Date("2025-12-01T00:00:00.000Z"),
    updatedOn: new Date("2025-12-01T00:00:00.000Z"),
  };
}
