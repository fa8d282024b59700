import assert from "node:assert/strict";
import { clientOptionsFor, InjectError } from "../../../src/inject/connection.js";
import { settingsFromEnvironment } from "../../../src/inject/loadEnvironment.js";

describe("keyvault-secrets/env settings", () => {
  it("reads every variable", () => {
    assert.deepEqual(
      settingsFromEnvironment({
        KEYVAULT_URI: " https://myvault.vault.azure.net ",
        KEYVAULT_SECRETS_PREFIX: "orders-",
        KEYVAULT_SECRETS_NAMES: "orders-a, orders-b,,",
        KEYVAULT_SECRETS_TAG: "app=billing=eu",
        KEYVAULT_SECRETS_ENV_PREFIX: "APP_",
        KEYVAULT_SECRETS_STRIP_PREFIX: "TRUE",
        KEYVAULT_SECRETS_OVERRIDE: "0",
        KEYVAULT_SECRETS_ALLOW_MISSING: "1",
        KEYVAULT_SECRETS_ALLOW_EMPTY: "yes",
        KEYVAULT_SECRETS_VERBOSE: "On",
        KEYVAULT_REFERENCE_VAULTS: "myvault=http://127.0.0.1:8443",
      }),
      {
        vaultUrl: "https://myvault.vault.azure.net",
        prefix: "orders-",
        names: ["orders-a", "orders-b"],
        tag: { name: "app", value: "billing=eu" },
        envPrefix: "APP_",
        stripPrefix: true,
        override: false,
        allowMissing: true,
        allowEmpty: true,
        verbose: true,
        referenceVaults: {
          text: "myvault=http://127.0.0.1:8443",
          source: "KEYVAULT_REFERENCE_VAULTS",
        },
        settingNames: {
          prefix: "KEYVAULT_SECRETS_PREFIX",
          stripPrefix: "KEYVAULT_SECRETS_STRIP_PREFIX",
          names: "KEYVAULT_SECRETS_NAMES",
          tag: "KEYVAULT_SECRETS_TAG",
          allowEmpty: "set KEYVAULT_SECRETS_ALLOW_EMPTY=true",
        },
      },
    );
  });

  it("reads every true/false variable in one grammar: 1/0, true/false, yes/no, on/off, any case", () => {
    const flags = [
      ["KEYVAULT_SECRETS_STRIP_PREFIX", "stripPrefix"],
      ["KEYVAULT_SECRETS_OVERRIDE", "override"],
      ["KEYVAULT_SECRETS_ALLOW_MISSING", "allowMissing"],
      ["KEYVAULT_SECRETS_ALLOW_EMPTY", "allowEmpty"],
      ["KEYVAULT_SECRETS_VERBOSE", "verbose"],
    ] as const;
    for (const [variable, setting] of flags) {
      for (const [text, expected] of [
        ["1", true],
        ["TRUE", true],
        ["yes", true],
        ["On", true],
        ["0", false],
        ["false", false],
        ["NO", false],
        ["off", false],
      ] as const) {
        const settings = settingsFromEnvironment({
          KEYVAULT_SECRETS_PREFIX: "p-",
          [variable]: text,
        });
        assert.equal(settings[setting], expected, `${variable}=${text}`);
      }
    }
  });

  it("treats empty variables as unset", () => {
    const settings = settingsFromEnvironment({ KEYVAULT_URI: "", KEYVAULT_SECRETS_TAG: " " });
    assert.equal(settings.vaultUrl, undefined);
    assert.equal(settings.tag, undefined);
    assert.equal(settings.override, false);
    assert.equal(settings.allowMissing, false);
    assert.equal(settings.allowEmpty, false);
    assert.equal(settings.verbose, false);
  });

  it("refuses values it cannot use, with status 2", () => {
    for (const [env, message] of [
      [
        { KEYVAULT_SECRETS_OVERRIDE: "sure" },
        /^KEYVAULT_SECRETS_OVERRIDE must be true or false \(also 1\/0, yes\/no, on\/off\)/,
      ],
      [
        { KEYVAULT_SECRETS_ALLOW_MISSING: "maybe" },
        /KEYVAULT_SECRETS_ALLOW_MISSING must be true or false/,
      ],
      [{ KEYVAULT_SECRETS_ALLOW_EMPTY: "2" }, /KEYVAULT_SECRETS_ALLOW_EMPTY must be true or false/],
      [{ KEYVAULT_SECRETS_VERBOSE: "loud" }, /KEYVAULT_SECRETS_VERBOSE must be true or false/],
      [{ KEYVAULT_SECRETS_NAMES: " , " }, /KEYVAULT_SECRETS_NAMES must list secret names/],
      [{ KEYVAULT_SECRETS_TAG: "=v" }, /KEYVAULT_SECRETS_TAG must be a tag name/],
      [{ KEYVAULT_SECRETS_STRIP_PREFIX: "1" }, /needs KEYVAULT_SECRETS_PREFIX/],
    ] as const) {
      assert.throws(
        () => settingsFromEnvironment(env),
        (error: unknown) =>
          error instanceof InjectError && error.exitCode === 2 && message.test(error.message),
      );
    }
  });
});

describe("clientOptionsFor", () => {
  const local = {
    IDENTITY_ENDPOINT: "http://127.0.0.1:8443/__local/identity/token",
    IDENTITY_HEADER: "abc",
  };

  it("gives a vault that is not on this machine the client's defaults", () => {
    assert.deepEqual(clientOptionsFor("https://myvault.vault.azure.net", local), {});
    assert.deepEqual(clientOptionsFor("https://127.0.0.1.example.com", {}), {});
  });

  it("gives a loopback vault the local vault's options when the identity endpoint is the vault's own", () => {
    assert.deepEqual(clientOptionsFor("http://127.0.0.1:8443", local), {
      disableChallengeResourceVerification: true,
      allowInsecureConnection: true,
    });
    assert.deepEqual(
      clientOptionsFor("https://localhost:8443/", {
        ...local,
        IDENTITY_ENDPOINT: "https://LOCALHOST:8443/__local/identity/token",
      }),
      { disableChallengeResourceVerification: true, allowInsecureConnection: false },
    );
  });

  it("refuses a loopback vault when the token could come from elsewhere, saying what to set", () => {
    for (const env of [
      {},
      { IDENTITY_HEADER: "abc" },
      { ...local, IDENTITY_HEADER: "" },
      { ...local, IDENTITY_ENDPOINT: "http://169.254.169.254/metadata/identity" },
      { ...local, IDENTITY_ENDPOINT: "not a url" },
      // App Service on Windows and Container Apps: the platform's identity, on another port.
      { ...local, IDENTITY_ENDPOINT: "http://127.0.0.1:41741/MSI/token/" },
      { ...local, IDENTITY_ENDPOINT: "http://localhost:42356/msi/token" },
      // Another host or scheme of this machine is another origin.
      { ...local, IDENTITY_ENDPOINT: "http://127.0.0.1:8443/__local/identity/token" },
      { ...local, IDENTITY_ENDPOINT: "https://localhost:8443/__local/identity/token" },
    ]) {
      assert.throws(
        () => clientOptionsFor("http://localhost:8443", env),
        (error: unknown) =>
          error instanceof InjectError &&
          error.message.includes("is on this machine") &&
          error.message.includes(
            "IDENTITY_ENDPOINT=http://localhost:8443/__local/identity/token and its IDENTITY_HEADER",
          ),
      );
    }
  });

  it("refuses a vault URL that does not parse, with status 2", () => {
    assert.throws(
      () => clientOptionsFor("myvault", local),
      (error: unknown) => error instanceof InjectError && error.exitCode === 2,
    );
  });
});
