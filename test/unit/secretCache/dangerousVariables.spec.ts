import assert from "node:assert/strict";
import { dangerousVariableReason } from "../../../src/secretCache/dangerousVariables.js";

describe("dangerousVariableReason", () => {
  it("names the variables that make a loader, shell, runtime or tool run code", () => {
    for (const key of [
      "LD_PRELOAD",
      "LD_LIBRARY_PATH",
      "LD_AUDIT",
      "DYLD_INSERT_LIBRARIES",
      "GLIBC_TUNABLES",
      "GCONV_PATH",
      "BASH_ENV",
      "ENV",
      "BASH_FUNC_ls%%",
      "SHELLOPTS",
      "PS4",
      "PROMPT_COMMAND",
      "IFS",
      "PATH",
      "HOME",
      "NODE_OPTIONS",
      "NODE_PATH",
      "NODE_REPL_EXTERNAL_MODULE",
      "npm_config_script_shell",
      "NPM_CONFIG_NODE_OPTIONS",
      "PYTHONSTARTUP",
      "PYTHONPATH",
      "PYTHONWARNINGS",
      "PERL5OPT",
      "RUBYOPT",
      "PHPRC",
      "JAVA_TOOL_OPTIONS",
      "_JAVA_OPTIONS",
      "JDK_JAVA_OPTIONS",
      "CLASSPATH",
      "DOTNET_STARTUP_HOOKS",
      "CORECLR_PROFILER_PATH",
      "COR_PROFILER",
      "GIT_SSH_COMMAND",
      "GIT_CONFIG_COUNT",
      "GIT_CONFIG_KEY_0",
      "GIT_EXTERNAL_DIFF",
      "SSH_ASKPASS",
      "EDITOR",
      "PAGER",
      "LESSOPEN",
      "BROWSER",
      "OPENSSL_CONF",
      "LUA_INIT_5_4",
      "VIMINIT",
    ]) {
      assert.ok(dangerousVariableReason(key) !== undefined, `${key} is not refused`);
    }
  });

  it("names the variables that decide trust, proxies, tokens and keyvault-secrets itself", () => {
    for (const [key, reason] of [
      ["NODE_EXTRA_CA_CERTS", /whom TLS trusts/],
      ["NODE_TLS_REJECT_UNAUTHORIZED", /whom TLS trusts/],
      ["HTTPS_PROXY", /through another host/],
      ["http_proxy", /through another host/],
      ["NO_PROXY", /through another host/],
      ["IDENTITY_ENDPOINT", /where tokens are requested/],
      ["IDENTITY_HEADER", /where tokens are requested/],
      ["MSI_ENDPOINT", /where tokens are requested/],
      ["AZURE_AUTHORITY_HOST", /where tokens are requested/],
      ["KEYVAULT_URI", /configures keyvault-secrets itself/],
      ["KEYVAULT_SECRETS_NAMES", /configures keyvault-secrets itself/],
      ["KEYVAULT_REFERENCE_VAULTS", /configures keyvault-secrets itself/],
    ] as const) {
      assert.match(dangerousVariableReason(key) ?? "", reason, key);
    }
  });

  it("compares case-insensitively, on the whole final name", () => {
    assert.equal(dangerousVariableReason("node_options"), dangerousVariableReason("NODE_OPTIONS"));
    assert.ok(dangerousVariableReason("Ld_Preload") !== undefined);
    for (const key of [
      "APP_NODE_OPTIONS",
      "NODE_OPTIONS_BACKUP",
      "PATH_PREFIX",
      "MY_PATH",
      "HOMEPAGE_URL",
      "LDAP_URL",
      "CORS_ORIGINS",
      "ENVIRONMENT",
      "GIT_TOKEN",
      "GITHUB_TOKEN",
      "NODE_ENV",
      "DB_PASSWORD",
      "DATABASE__PASSWORD",
      "AZURE_CLIENT_SECRET",
      "MALLOC_ARENA_MAX",
      "TZ",
      "LANG",
      "JAVA_VERSION",
    ]) {
      assert.equal(dangerousVariableReason(key), undefined, `${key} is refused`);
    }
  });
});
