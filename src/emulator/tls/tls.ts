/**
 * Self-signed certificates for the local vault's HTTPS, built without dependencies: a small DER
 * encoder assembles the X.509 structures and node:crypto signs them (ECDSA P-256 with SHA-256).
 */

import {
  X509Certificate,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from "node:crypto";
import { isIP } from "node:net";
import {
  derBitString,
  derBoolean,
  derElement,
  derExplicit,
  derImplicit,
  derInteger,
  derNamedBits,
  derObjectIdentifier,
  derOctetString,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
} from "./der.js";

/** A generated certificate chain: a CA and a server certificate it issued, all PEM. */
export interface GeneratedCertificate {
  /** The server (leaf) certificate, PEM. */
  cert: string;
  /** The server certificate's private key, PKCS#8 PEM. */
  key: string;
  /** The CA certificate clients trust (`ca` option, `NODE_EXTRA_CA_CERTS`), PEM. */
  caCert: string;
  /** The CA's private key, PKCS#8 PEM. The CA is name-constrained to the same hosts. */
  caKey: string;
}

const oid = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organizationName: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  nameConstraints: "2.5.29.30",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
const keyUsageBit = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

const organization = "keyvault-secrets local vault";
const millisecondsPerDay = 86_400_000;

interface Host {
  kind: "dns" | "ip";
  /** The DNS name as given, or the address octets. */
  value: string | Buffer;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split(".").map((part) => Number.parseInt(part, 10)));
}

function ipv6Bytes(address: string): Buffer {
  const groupsOf = (part: string): number[] => {
    if (part === "") {
      return [];
    }
    return part.split(":").flatMap((group) => {
      if (group.includes(".")) {
        const [a, b, c, d] = [...ipv4Bytes(group)] as [number, number, number, number];
        return [(a << 8) | b, (c << 8) | d];
      }
      return [Number.parseInt(group, 16)];
    });
  };
  const [head = "", tail] = address.split("::");
  const headGroups = groupsOf(head);
  const tailGroups = tail === undefined ? [] : groupsOf(tail);
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<number>(zeros).fill(0), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return bytes;
}

function parseHost(host: unknown): Host {
  if (typeof host !== "string" || host.trim() === "") {
    throw new TypeError(`Each host must be a non-empty string, got ${JSON.stringify(host)}.`);
  }
  // "[::1]" as written in URLs; a zone ("%eth0") is not part of a certificate's address.
  const bare = host.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const version = isIP(bare);
  if (version === 4) {
    return { kind: "ip", value: ipv4Bytes(bare) };
  }
  if (version === 6) {
    return { kind: "ip", value: ipv6Bytes(bare) };
  }
  if (
    !/^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(
      host,
    )
  ) {
    throw new RangeError(
      `"${host}" is neither an IP address nor a DNS name (letters, digits, '-', '.'; a leading '*.' is allowed).`,
    );
  }
  return { kind: "dns", value: host.toLowerCase() };
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function distinguishedName(commonName: string): Buffer {
  const attribute = (type: string, value: string): Buffer =>
    derSet(derSequence(derObjectIdentifier(type), derUtf8String(value)));
  return derSequence(
    attribute(oid.organizationName, organization),
    attribute(oid.commonName, commonName),
  );
}

/** An extension a verifier that does not know it may pass over. */
function extension(id: string, value: Buffer): Buffer {
  return derSequence(derObjectIdentifier(id), derOctetString(value));
}

/** An extension marked critical: a verifier that does not know it must refuse the certificate. */
function criticalExtension(id: string, value: Buffer): Buffer {
  return derSequence(derObjectIdentifier(id), derBoolean(true), derOctetString(value));
}

/** Subject key identifier: a hash of the public key (RFC 7093 method 1 style, 160 bits). */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest().subarray(0, 20);
}

/** A positive 128-bit serial number (RFC 5280 allows up to 20 octets). */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and never zero-led
  return serial;
}

function generalName(host: Host): Buffer {
  return host.kind === "dns"
    ? derImplicit(2, Buffer.from(host.value as string, "ascii"))
    : derImplicit(7, host.value as Buffer);
}

/** Name constraints permitting exactly the hosts: a leaked CA key cannot impersonate other sites. */
function nameConstraints(hosts: Host[]): Buffer {
  const subtrees = hosts.map((host) => {
    if (host.kind === "dns") {
      const name = (host.value as string).replace(/^\*\./, "");
      return derSequence(derImplicit(2, Buffer.from(name, "ascii")));
    }
    const address = host.value as Buffer;
    const mask = Buffer.alloc(address.length, 0xff);
    return derSequence(derImplicit(7, Buffer.concat([address, mask])));
  });
  // permittedSubtrees [0] IMPLICIT GeneralSubtrees: a constructed [0] around the SEQUENCE OF's content.
  return derSequence(derElement(0xa0, Buffer.concat(subtrees)));
}

interface CertificateFields {
  issuer: Buffer;
  subject: Buffer;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}

function buildCertificate(fields: CertificateFields): Buffer {
  const signatureAlgorithm = derSequence(derObjectIdentifier(oid.ecdsaWithSha256));
  const tbsCertificate = derSequence(
    derExplicit(0, derInteger(2)), // v3
    derInteger(serialNumber()),
    signatureAlgorithm,
    fields.issuer,
    derSequence(derTime(fields.notBefore), derTime(fields.notAfter)),
    fields.subject,
    fields.publicKey.export({ type: "spki", format: "der" }),
    derExplicit(3, derSequence(...fields.extensions)),
  );
  // For EC keys node:crypto produces the DER ECDSA-Sig-Value X.509 expects.
  const signature = sign("sha256", tbsCertificate, fields.signingKey);
  return derSequence(tbsCertificate, signatureAlgorithm, derBitString(signature));
}

/**
 * Generates a certificate authority and a server certificate it issued for `hosts`, for the local
 * vault's HTTPS. Both use EC P-256 keys and ECDSA with SHA-256; validity starts one hour ago (to
 * tolerate clock skew) and lasts `validityDays`. The server certificate names every host in its
 * subjectAltName (DNS names and IP addresses) and is for serverAuth only; the CA may only issue
 * certificates for the same hosts (name constraints).
 *
 * @param options - `hosts`: DNS names and IP addresses the server answers on (at least one);
 *   `validityDays`: days the certificates stay valid (default 365)
 * @returns the PEM server certificate and key, and the PEM CA certificate and key
 * @throws TypeError or RangeError for an empty host list, a malformed host or a bad validity
 * @example
 * ```ts
 * import { createServer } from "node:https";
 * const { cert, key, caCert } = generateSelfSignedCertificate({ hosts: ["localhost", "127.0.0.1"] });
 * const server = createServer({ cert, key }, (_request, response) => response.end("ok"));
 * // clients trust `caCert`, for example through NODE_EXTRA_CA_CERTS
 * ```
 */
export function generateSelfSignedCertificate(options: {
  hosts: string[];
  validityDays?: number;
}): GeneratedCertificate {
  const validityDays = options.validityDays ?? 365;
  if (typeof validityDays !== "number" || !Number.isFinite(validityDays) || validityDays <= 0) {
    throw new RangeError(`validityDays must be a positive number of days, got ${validityDays}.`);
  }
  if (!Array.isArray(options.hosts) || options.hosts.length === 0) {
    throw new TypeError("hosts must name at least one DNS name or IP address.");
  }
  const hosts = options.hosts.map(parseHost);

  const now = Date.now();
  const notBefore = new Date(Math.floor(now / 1000) * 1000 - 3_600_000);
  const notAfter = new Date(Math.floor(now / 1000) * 1000 + validityDays * millisecondsPerDay);

  const ca = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const leaf = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const caKeyId = keyIdentifier(ca.publicKey);
  const leafKeyId = keyIdentifier(leaf.publicKey);
  // A distinct CA name per generation, so trusted CAs of several vaults never shadow each other.
  const caName = distinguishedName(`${organization} CA ${caKeyId.subarray(0, 4).toString("hex")}`);

  const caCert = buildCertificate({
    issuer: caName,
    subject: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      // CA:TRUE, pathLenConstraint 0: it issues server certificates, never other CAs.
      criticalExtension(oid.basicConstraints, derSequence(derBoolean(true), derInteger(0))),
      criticalExtension(oid.keyUsage, derNamedBits([keyUsageBit.keyCertSign, keyUsageBit.cRLSign])),
      extension(oid.subjectKeyIdentifier, derOctetString(caKeyId)),
      criticalExtension(oid.nameConstraints, nameConstraints(hosts)),
    ],
  });

  const firstDnsName = hosts.find((host) => host.kind === "dns")?.value as string | undefined;
  const leafCommonName =
    firstDnsName !== undefined && firstDnsName.length <= 64 ? firstDnsName : organization;
  const cert = buildCertificate({
    issuer: caName,
    subject: distinguishedName(leafCommonName),
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      criticalExtension(oid.basicConstraints, derSequence()), // CA:FALSE (the default, omitted)
      criticalExtension(oid.keyUsage, derNamedBits([keyUsageBit.digitalSignature])),
      extension(oid.extKeyUsage, derSequence(derObjectIdentifier(oid.serverAuth))),
      extension(oid.subjectAltName, derSequence(...hosts.map(generalName))),
      extension(oid.subjectKeyIdentifier, derOctetString(leafKeyId)),
      extension(oid.authorityKeyIdentifier, derSequence(derImplicit(0, caKeyId))),
    ],
  });

  return {
    cert: toPem("CERTIFICATE", cert),
    key: leaf.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    caCert: toPem("CERTIFICATE", caCert),
    caKey: ca.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** A generated certificate chain as the local vault keeps it under its location. */
export interface SavedCertificate extends GeneratedCertificate {
  /** The hosts it was generated for, in the order given. */
  hosts: string[];
}

/** A saved certificate is renewed this long before it expires. */
const renewBeforeMs = millisecondsPerDay;

function isSavedCertificate(value: unknown): value is SavedCertificate {
  const saved = value as Partial<SavedCertificate> | null | undefined;
  return (
    typeof saved === "object" &&
    saved !== null &&
    Array.isArray(saved.hosts) &&
    saved.hosts.every((host) => typeof host === "string") &&
    [saved.cert, saved.key, saved.caCert, saved.caKey].every((pem) => typeof pem === "string")
  );
}

/** Whether the saved chain is sound, for the same hosts, and valid for at least another day. */
function isReusable(saved: SavedCertificate, hosts: string[], nowMs: number): boolean {
  if (saved.hosts.length !== hosts.length || saved.hosts.some((host, i) => host !== hosts[i])) {
    return false;
  }
  try {
    const leaf = new X509Certificate(saved.cert);
    const ca = new X509Certificate(saved.caCert);
    return (
      leaf.checkPrivateKey(createPrivateKey(saved.key)) &&
      ca.checkPrivateKey(createPrivateKey(saved.caKey)) &&
      leaf.verify(ca.publicKey) &&
      Date.parse(leaf.validTo) - renewBeforeMs > nowMs &&
      Date.parse(ca.validTo) - renewBeforeMs > nowMs
    );
  } catch {
    return false;
  }
}

/**
 * Reuses a saved certificate chain when it is for the same hosts and still valid for a day, and
 * generates a new one (see {@link generateSelfSignedCertificate}) otherwise. A CA that clients
 * trust (`NODE_EXTRA_CA_CERTS`, a trust store) thus stays the same across restarts of a vault
 * that keeps its state.
 *
 * @param saved - the chain kept from an earlier start (anything else is ignored)
 * @param hosts - the hosts the server answers on
 * @returns the chain to serve, and whether it was generated now (and should be saved)
 * @example
 * ```ts
 * const first = reuseOrGenerateCertificate(undefined, ["localhost"]);
 * const again = reuseOrGenerateCertificate(first.certificate, ["localhost"]);
 * // again.generated === false and again.certificate.caCert === first.certificate.caCert
 * ```
 */
export function reuseOrGenerateCertificate(
  saved: unknown,
  hosts: string[],
): { certificate: SavedCertificate; generated: boolean } {
  if (isSavedCertificate(saved) && isReusable(saved, hosts, Date.now())) {
    return { certificate: saved, generated: false };
  }
  return {
    certificate: { hosts: [...hosts], ...generateSelfSignedCertificate({ hosts }) },
    generated: true,
  };
}
