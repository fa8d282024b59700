import { strict as assert } from "node:assert";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import {
  generateSelfSignedCertificate,
  reuseOrGenerateCertificate,
} from "../../src/emulator/tls/tls.js";

const hosts = ["localhost", "127.0.0.1", "::1"];

function get(
  url: string,
  ca: string | undefined,
): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body }));
    });
    request.on("error", reject);
  });
}

describe("generateSelfSignedCertificate", () => {
  // Generated when mocha loads the file, minutes before the tests run in a long suite: the
  // validity is checked against this moment, not against the time the test runs.
  const generatedAt = Date.now();
  const generated = generateSelfSignedCertificate({ hosts, validityDays: 30 });
  const leaf = new X509Certificate(generated.cert);
  const ca = new X509Certificate(generated.caCert);

  it("returns PEM certificates and PKCS#8 keys", () => {
    assert.match(
      generated.cert,
      /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/,
    );
    assert.match(generated.caCert, /^-----BEGIN CERTIFICATE-----\n/);
    assert.match(generated.key, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(generated.caKey, /^-----BEGIN PRIVATE KEY-----\n/);
  });

  it("issues the server certificate from the CA, signed with the CA key", () => {
    assert.equal(leaf.checkIssued(ca), true);
    assert.equal(leaf.verify(ca.publicKey), true);
    assert.equal(ca.verify(ca.publicKey), true, "the CA is self-signed");
    assert.equal(leaf.issuer, ca.subject);
    const other = new X509Certificate(generateSelfSignedCertificate({ hosts }).caCert);
    assert.equal(leaf.verify(other.publicKey), false);
    assert.equal(leaf.checkIssued(other), false);
  });

  it("marks the CA as a CA and the server certificate as a serverAuth end entity", () => {
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  });

  it("names every host in subjectAltName, and no other", () => {
    assert.equal(
      leaf.subjectAltName,
      "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    assert.equal(leaf.checkHost("localhost"), "localhost");
    assert.equal(leaf.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(leaf.checkIP("::1"), "::1");
    assert.equal(leaf.checkHost("example.com"), undefined);
    assert.equal(leaf.checkIP("127.0.0.2"), undefined);
  });

  it("encodes other IPv6 forms and DNS names", () => {
    const cert = new X509Certificate(
      generateSelfSignedCertificate({
        hosts: ["Vault.Example.test", "[fe80::1:2]", "2001:db8::192.0.2.1", "10.1.2.3"],
      }).cert,
    );
    assert.equal(cert.checkHost("vault.example.test"), "vault.example.test");
    assert.equal(cert.checkIP("fe80::1:2"), "fe80::1:2");
    assert.equal(cert.checkIP("2001:db8::c000:201"), "2001:db8::c000:201");
    assert.equal(cert.checkIP("10.1.2.3"), "10.1.2.3");
  });

  it("pairs the server key with the server certificate", () => {
    const derived = createPublicKey(createPrivateKey(generated.key)).export({
      type: "spki",
      format: "der",
    });
    assert.deepEqual(derived, leaf.publicKey.export({ type: "spki", format: "der" }));
    const caDerived = createPublicKey(createPrivateKey(generated.caKey)).export({
      type: "spki",
      format: "der",
    });
    assert.deepEqual(caDerived, ca.publicKey.export({ type: "spki", format: "der" }));
  });

  it("is valid from an hour ago for validityDays, with a random serial", () => {
    const from = Date.parse(leaf.validFrom);
    const to = Date.parse(leaf.validTo);
    assert.ok(Math.abs(generatedAt - 3_600_000 - from) < 2_000, `validFrom ${leaf.validFrom}`);
    assert.ok(
      Math.abs(to - from - (30 * 86_400_000 + 3_600_000)) < 2_000,
      `validTo ${leaf.validTo}`,
    );
    const again = new X509Certificate(generateSelfSignedCertificate({ hosts }).cert);
    assert.notEqual(again.serialNumber, leaf.serialNumber);
    assert.match(leaf.serialNumber, /^[0-9A-F]{32}$/);
  });

  it("rejects an empty host list, a malformed host and a bad validity", () => {
    assert.throws(() => generateSelfSignedCertificate({ hosts: [] }), TypeError);
    assert.throws(() => generateSelfSignedCertificate({ hosts: [""] }), TypeError);
    assert.throws(
      () => generateSelfSignedCertificate({ hosts: ["not a host"] }),
      (error: Error) => error instanceof RangeError && error.message.includes('"not a host"'),
    );
    assert.throws(() => generateSelfSignedCertificate({ hosts, validityDays: 0 }), RangeError);
    assert.throws(
      () => generateSelfSignedCertificate({ hosts, validityDays: Number.NaN }),
      RangeError,
    );
  });

  describe("in a TLS handshake", () => {
    let server: https.Server;
    let port: number;

    before(async () => {
      server = https.createServer(
        { cert: generated.cert, key: generated.key },
        (_request, response) => response.end("hello"),
      );
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as AddressInfo).port;
    });

    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it("is trusted through the CA at https://localhost", async () => {
      const response = await get(`https://localhost:${port}/`, generated.caCert);
      assert.deepEqual(response, { status: 200, body: "hello" });
    });

    it("is trusted through the CA at https://127.0.0.1", async () => {
      const response = await get(`https://127.0.0.1:${port}/`, generated.caCert);
      assert.deepEqual(response, { status: 200, body: "hello" });
    });

    it("is refused without the CA", async () => {
      await assert.rejects(get(`https://127.0.0.1:${port}/`, undefined), {
        code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      });
    });

    it("is refused with another vault's CA", async () => {
      const otherCa = generateSelfSignedCertificate({ hosts }).caCert;
      await assert.rejects(get(`https://localhost:${port}/`, otherCa), {
        code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      });
    });
  });
});

describe("reuseOrGenerateCertificate", () => {
  it("reuses a saved chain for the same hosts, and generates anew otherwise", () => {
    const first = reuseOrGenerateCertificate(undefined, ["localhost", "127.0.0.1"]);
    assert.equal(first.generated, true);
    assert.deepEqual(first.certificate.hosts, ["localhost", "127.0.0.1"]);
    const again = reuseOrGenerateCertificate(first.certificate, ["localhost", "127.0.0.1"]);
    assert.equal(again.generated, false);
    assert.equal(again.certificate.caCert, first.certificate.caCert);

    const otherHosts = reuseOrGenerateCertificate(first.certificate, ["localhost"]);
    assert.equal(otherHosts.generated, true);
    assert.notEqual(otherHosts.certificate.caCert, first.certificate.caCert);
    // A key that does not belong to the certificate, or something that is not a chain at all.
    const mismatched = { ...first.certificate, key: otherHosts.certificate.key };
    assert.equal(
      reuseOrGenerateCertificate(mismatched, ["localhost", "127.0.0.1"]).generated,
      true,
    );
    assert.equal(reuseOrGenerateCertificate({ hosts: 1 }, ["localhost"]).generated, true);
  });
});
