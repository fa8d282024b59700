/**
 * Environment variables that a secret's name may not choose: those that make a dynamic loader, a
 * shell, a runtime or a tool run code, choose which program runs, whom TLS trusts, where requests
 * and tokens go, or how keyvault-secrets itself loads. Whoever can write a secret named
 * `node-options` would otherwise run their code in every app (and every child of an app) that loads
 * all secrets. A variable of this list is set from a secret only when the secret is named
 * explicitly (`names` of the cache, `--names` of `run`, `KEYVAULT_SECRETS_NAMES` of the preload).
 *
 * Only the final variable name counts, compared case-insensitively (Windows ignores case, and
 * tools read `http_proxy` as well as `HTTP_PROXY`): `--env-prefix APP_` makes `APP_NODE_OPTIONS`,
 * which nothing reads, while an env prefix of `LD_` makes a secret `preload` dangerous.
 *
 * Judged and left out, because they run nothing and point nowhere that receives secrets: locale,
 * time zone and terminal settings (`LANG`, `LC_*`, `TZ`, `TZDIR`, `TERM`), allocator tuning
 * (`MALLOC_*`: it changes how memory is handed out, not what runs; `GLIBC_TUNABLES` is listed since
 * the loader parses it, CVE-2023-4911), output locations (`NODE_V8_COVERAGE`, `TMPDIR`) and the
 * credentials of a sign-in (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`: apps do keep those in a vault;
 * where the sign-in goes, `AZURE_AUTHORITY_HOST`, is listed).
 */

/** Variables (upper case, exact or by prefix) and why a secret may not set them. */
interface DangerousGroup {
  reason: string;
  names: string[];
  prefixes?: string[];
}

const groups: DangerousGroup[] = [
  {
    reason: "the dynamic loader and the C library load the libraries and data it names",
    names: ["GLIBC_TUNABLES", "GCONV_PATH", "GETCONF_DIR", "LOCPATH", "NLSPATH"],
    // LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT (glibc); DYLD_INSERT_LIBRARIES and kin (macOS).
    prefixes: ["LD_", "DYLD_"],
  },
  {
    // Choosing the binary that a bare command name finds is running code as much as a preload.
    reason: "it chooses which program runs",
    names: ["PATH", "PATHEXT", "COMSPEC", "SHELL", "SYSTEMROOT", "WINDIR"],
  },
  {
    reason: "a shell runs or evaluates what it names (startup files, functions, prompts, traces)",
    names: [
      "BASH_ENV",
      "ENV",
      "SHELLOPTS",
      "BASHOPTS",
      "PS1",
      "PS2",
      "PS3",
      "PS4",
      "PROMPT_COMMAND",
      "IFS",
      "CDPATH",
      "ZDOTDIR",
    ],
    // Exported functions: bash imports BASH_FUNC_name%% as a function that replaces a command.
    prefixes: ["BASH_FUNC_"],
  },
  {
    reason: "it chooses configuration files that can run commands (.bashrc, .gitconfig, .npmrc)",
    names: ["HOME", "XDG_CONFIG_HOME", "KUBECONFIG", "DOCKER_CONFIG", "AWS_CONFIG_FILE"],
  },
  {
    reason: "Node.js loads the code it names (--require, --import, module paths)",
    names: [
      "NODE_OPTIONS",
      "NODE_PATH",
      "NODE_REPL_EXTERNAL_MODULE",
      "NODE_COMPILE_CACHE",
      "ELECTRON_RUN_AS_NODE",
    ],
  },
  {
    reason:
      "npm, yarn and corepack read their settings from it (script-shell, node-options, registry)",
    names: [],
    prefixes: ["NPM_CONFIG_", "YARN_", "COREPACK_"],
  },
  {
    reason: "Python imports or runs the code it names",
    names: [
      "PYTHONSTARTUP",
      "PYTHONPATH",
      "PYTHONHOME",
      "PYTHONINSPECT",
      // -W's category is imported by name.
      "PYTHONWARNINGS",
      "PYTHONBREAKPOINT",
      "PYTHONUSERBASE",
      "PYTHONPYCACHEPREFIX",
      "PYTHONEXECUTABLE",
      "PYTHONPLATLIBDIR",
    ],
  },
  {
    reason: "Perl, Ruby or PHP loads the code it names",
    names: [
      "PERL5OPT",
      "PERL5LIB",
      "PERLLIB",
      "PERL5DB",
      "RUBYOPT",
      "RUBYLIB",
      "GEM_HOME",
      "GEM_PATH",
      "BUNDLE_GEMFILE",
      // An ini file can prepend a script to every request (auto_prepend_file).
      "PHPRC",
      "PHP_INI_SCAN_DIR",
    ],
  },
  {
    reason: "the JVM or its launch scripts load the agents and classes it names",
    names: [
      "JAVA_TOOL_OPTIONS",
      "_JAVA_OPTIONS",
      "JDK_JAVA_OPTIONS",
      "JAVA_OPTS",
      "JAVA_HOME",
      "CLASSPATH",
      "MAVEN_OPTS",
      "GRADLE_OPTS",
    ],
  },
  {
    reason: ".NET loads the assemblies, profilers or runtime it names",
    names: ["DOTNET_STARTUP_HOOKS", "DOTNET_ADDITIONAL_DEPS", "DOTNET_SHARED_STORE", "DOTNET_ROOT"],
    // CORECLR_PROFILER_PATH (.NET), COR_PROFILER_PATH (.NET Framework) and their switches.
    prefixes: ["CORECLR_", "COR_"],
  },
  {
    reason: "a runtime (Lua, Erlang, R, PowerShell) runs or loads the code it names",
    names: [
      "LUA_PATH",
      "LUA_CPATH",
      "ERL_AFLAGS",
      "ERL_FLAGS",
      "ERL_ZFLAGS",
      "ELIXIR_ERL_OPTIONS",
      "R_PROFILE",
      "R_PROFILE_USER",
      "PSMODULEPATH",
    ],
    // LUA_INIT and LUA_INIT_5_4: code run before every script.
    prefixes: ["LUA_INIT"],
  },
  {
    reason: "a build or package tool runs the program or fetches the code it names",
    names: [
      "MAKEFLAGS",
      "GNUMAKEFLAGS",
      "MAKEFILES",
      "CC",
      "CXX",
      "RUSTC",
      "RUSTC_WRAPPER",
      // -toolexec runs a program around every tool.
      "GOFLAGS",
      "GOPROXY",
      "GOTOOLCHAIN",
      "PIP_INDEX_URL",
      "PIP_EXTRA_INDEX_URL",
    ],
  },
  {
    reason: "git runs the command it names or reads configuration (which can run commands) from it",
    names: [
      "GIT_SSH_COMMAND",
      "GIT_SSH",
      "GIT_EXTERNAL_DIFF",
      "GIT_ASKPASS",
      "GIT_EDITOR",
      "GIT_SEQUENCE_EDITOR",
      "GIT_PAGER",
      "GIT_EXEC_PATH",
      "GIT_PROXY_COMMAND",
      "GIT_TEMPLATE_DIR",
      "GIT_DIR",
      "GIT_CONFIG",
      // ext:: URLs run a command.
      "GIT_ALLOW_PROTOCOL",
    ],
    // GIT_CONFIG_COUNT / KEY_n / VALUE_n, GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM, _PARAMETERS.
    prefixes: ["GIT_CONFIG_"],
  },
  {
    reason: "a tool runs the command it names (an editor, pager, browser or password prompt)",
    names: [
      "EDITOR",
      "VISUAL",
      "FCEDIT",
      "SUDO_EDITOR",
      "SYSTEMD_EDITOR",
      "PAGER",
      "MANPAGER",
      "MANOPT",
      "SYSTEMD_PAGER",
      // less: LESSOPEN/LESSCLOSE run input preprocessors, LESS can hold a "+!command".
      "LESS",
      "LESSOPEN",
      "LESSCLOSE",
      "BROWSER",
      "SSH_ASKPASS",
      "SSH_ASKPASS_REQUIRE",
      "SUDO_ASKPASS",
      // vi runs the ex commands they hold, ":!command" included.
      "VIMINIT",
      "EXINIT",
    ],
  },
  {
    reason: "OpenSSL loads the configuration, engines and providers it names (shared libraries)",
    names: ["OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES"],
  },
  {
    // Trust, not execution, but a CA of the writer's choosing (or none at all) lets them read and
    // change TLS connections, to the vault and to Microsoft Entra ID included.
    reason: "it chooses whom TLS trusts, so connections (to a vault, to Entra ID) can be read",
    names: [
      "NODE_EXTRA_CA_CERTS",
      "NODE_TLS_REJECT_UNAUTHORIZED",
      "SSL_CERT_FILE",
      "SSL_CERT_DIR",
      "REQUESTS_CA_BUNDLE",
      "CURL_CA_BUNDLE",
      "GIT_SSL_NO_VERIFY",
    ],
  },
  {
    // Azure SDKs (ours included) and most HTTP clients send every request through the proxy they
    // name; over http (the local vault) the proxy reads the bearer token, and NO_PROXY decides
    // which requests skip a proxy that the operator set.
    reason: "it sends requests, with their tokens, through another host",
    names: ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"],
  },
  {
    // Managed identity endpoints (App Service, Service Fabric, Azure Arc, the local vault) and the
    // authority host decide where tokens are requested; the local vault's shortcuts follow
    // IDENTITY_ENDPOINT too.
    reason: "it chooses where tokens are requested",
    names: [
      "IDENTITY_ENDPOINT",
      "IDENTITY_HEADER",
      "IDENTITY_SERVER_THUMBPRINT",
      "IMDS_ENDPOINT",
      "MSI_ENDPOINT",
      "MSI_SECRET",
      "AZURE_AUTHORITY_HOST",
      "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    ],
  },
  {
    // KEYVAULT_URI, KEYVAULT_SECRETS_* and KEYVAULT_REFERENCE_VAULTS steer a preload in the app or
    // in its children: which vault it trusts, what it overrides, whether it runs at all.
    reason:
      "it configures keyvault-secrets itself (which vault a preload loads, what it overrides)",
    names: [],
    prefixes: ["KEYVAULT_"],
  },
];

const reasonsByName = new Map<string, string>(
  groups.flatMap((group) => group.names.map((name) => [name, group.reason] as const)),
);
const reasonsByPrefix = groups.flatMap((group) =>
  (group.prefixes ?? []).map((prefix) => ({ prefix, reason: group.reason })),
);

/**
 * Why a secret may not choose this environment variable.
 * @param key - the final variable name (after any prefix), in any case
 * @returns the reason, or undefined when a secret may set it
 */
export function dangerousVariableReason(key: string): string | undefined {
  const upper = key.toUpperCase();
  return (
    reasonsByName.get(upper) ??
    reasonsByPrefix.find(({ prefix }) => upper.startsWith(prefix))?.reason
  );
}
