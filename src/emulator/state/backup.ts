/**
 * Backup blobs: base64url of one length byte, the service's marker string, then the secret's
 * versions sealed with AES-256-GCM under the vault's backup key. Only a vault holding the same key
 * can open them; any change to the bytes fails authentication.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { backupCorrupt, backupNotDecryptable, malformedBackup } from "../wire/errors.js";
import { isServiceDate } from "../wire/requests.js";
import type { SerializedSecret, StoredVersion } from "./storeTypes.js";

/** The marker real blobs start with (after their length byte). */
export const backupMarker = "AzureKeyVaultSecretBackupV1.microsoft.com";

const markerBytes = Buffer.from(backupMarker, "ascii");
const ivLength = 12;
const tagLength = 16;

/**
 * Seals a secret into a backup blob.
 * @param secret - every version of the secret
 * @param key - the vault's 32-byte backup key
 * @returns the blob, base64url
 */
export function sealBackup(secret: SerializedSecret, key: Buffer): string {
  const iv = randomBytes(ivLength);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  // The marker is authenticated too, so a blob cannot be relabelled.
  cipher.setAAD(markerBytes);
  const payload = Buffer.from(JSON.stringify({ v: 1, secret }), "utf8");
  const sealed = Buffer.concat([cipher.update(payload), cipher.final()]);
  return Buffer.concat([
    Buffer.from([markerBytes.length]),
    markerBytes,
    iv,
    cipher.getAuthTag(),
    sealed,
  ]).toString("base64url");
}

/**
 * Opens a backup blob.
 * @param blob - the blob as sent (base64url)
 * @param key - the vault's 32-byte backup key
 * @returns the secret it holds
 * @throws VaultError 400 `Malformed backup blob` for bytes that are not a backup (`Backup blob is
 * corrupt.` when too short for a backup's header), 400
 * `BadParameter` `Cannot decrypt backup blob` for a blob this vault cannot open
 */
export function openBackup(blob: string, key: Buffer): SerializedSecret {
  const malformed = malformedBackup();
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(blob)) throw malformed;
  const bytes = Buffer.from(blob, "base64url");
  const headerEnd = 1 + markerBytes.length;
  // Too short to hold the header: the service calls the blob corrupt; a header that is not the
  // marker is an unknown version.
  if (bytes.length < headerEnd) throw backupCorrupt();
  if (bytes[0] !== markerBytes.length || !bytes.subarray(1, headerEnd).equals(markerBytes)) {
    throw malformed;
  }
  if (bytes.length < headerEnd + ivLength + tagLength) throw backupCorrupt();
  const cannotDecrypt = backupNotDecryptable();
  let plain: Buffer;
  try {
    const decipher = createDecipheriv(
      "aes-256-gcm",
      key,
      bytes.subarray(headerEnd, headerEnd + ivLength),
    );
    decipher.setAAD(markerBytes);
    decipher.setAuthTag(bytes.subarray(headerEnd + ivLength, headerEnd + ivLength + tagLength));
    plain = Buffer.concat([
      decipher.update(bytes.subarray(headerEnd + ivLength + tagLength)),
      decipher.final(),
    ]);
  } catch {
    throw cannotDecrypt;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain.toString("utf8"));
  } catch {
    throw malformed;
  }
  const secret = (parsed as { v?: unknown; secret?: SerializedSecret }).secret;
  if ((parsed as { v?: unknown }).v !== 1 || !isSerializedSecret(secret)) throw malformed;
  return secret;
}

function isSerializedSecret(value: unknown): value is SerializedSecret {
  if (typeof value !== "object" || value === null) return false;
  const { name, versions } = value as { name?: unknown; versions?: unknown };
  return (
    typeof name === "string" &&
    Array.isArray(versions) &&
    versions.length > 0 &&
    versions.every(
      (v: Partial<StoredVersion>) =>
        typeof v === "object" &&
        v !== null &&
        typeof v.version === "string" &&
        typeof v.value === "string" &&
        typeof v.created === "number" &&
        // A blob an older vault sealed may carry a date the vault now refuses.
        (v.nbf === undefined || isServiceDate(v.nbf)) &&
        (v.exp === undefined || isServiceDate(v.exp)),
    )
  );
}
