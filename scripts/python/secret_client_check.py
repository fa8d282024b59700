"""Microsoft's Python SecretClient against the local vault, every method, verification on.

Run by scripts/python/run.sh, which starts the vault (`keyvault-emulator --https --hostname
myvault.localhost --strict-auth`) and sets:

  VAULT_URL           https://myvault.localhost:<port>  (the name the vault challenges for)
  IDENTITY_ENDPOINT   the vault's managed identity endpoint (App Service protocol)
  IDENTITY_HEADER     its header value
  REQUESTS_CA_BUNDLE  the vault's generated CA (the one trust step)

The client is used as published: `verify_challenge_resource` keeps its default (on), and the
credential is azure-identity's ManagedIdentityCredential. Exits non-zero on the first failure.
"""

import os
import socket
import sys
import uuid
from datetime import datetime, timedelta, timezone

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient, __version__ as secrets_version

_system_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    # Stands in for an /etc/hosts line "127.0.0.1 myvault.localhost": glibc does not resolve
    # *.localhost by itself, and CI does not edit the machine's hosts file.
    if isinstance(host, str) and host.lower().endswith(".localhost"):
        host = "127.0.0.1"
    return _system_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo


class Scopes:
    """Wraps the credential to record the scopes the client asked for."""

    def __init__(self, inner):
        self.inner = inner
        self.asked = []

    def get_token(self, *scopes, **kwargs):
        self.asked.extend(scopes)
        return self.inner.get_token(*scopes, **kwargs)

    def get_token_info(self, *scopes, **kwargs):
        self.asked.extend(scopes)
        return self.inner.get_token_info(*scopes, **kwargs)


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}")


def main():
    vault_url = os.environ["VAULT_URL"]
    credential = Scopes(ManagedIdentityCredential())
    name = f"py-{uuid.uuid4().hex[:8]}"
    print(f"azure-keyvault-secrets {secrets_version} against {vault_url}")
    with SecretClient(vault_url, credential) as client:
        check(client.vault_url == vault_url, "vault_url")

        # set_secret, get_secret (latest and by version), with properties
        expires = datetime(2031, 1, 1, tzinfo=timezone.utc)
        first = client.set_secret(name, "first", content_type="text/plain", tags={"a": "1"})
        check(first.value == "first" and first.properties.content_type == "text/plain", "set_secret")
        port = vault_url.rsplit(":", 1)[1]
        check(
            set(credential.asked) == {f"https://localhost:{port}/.default"},
            f"the challenge named https://localhost:{port} and the token was asked for it",
        )
        second = client.set_secret(name, "second", expires_on=expires, enabled=True)
        check(client.get_secret(name).value == "second", "get_secret (latest)")
        check(
            client.get_secret(name, first.properties.version).value == "first",
            "get_secret (version)",
        )
        check(second.properties.expires_on == expires, "expires_on round trip")

        # update_secret_properties
        updated = client.update_secret_properties(
            name, first.properties.version, enabled=False, tags={"b": "2"}
        )
        check(updated.enabled is False and updated.tags == {"b": "2"}, "update_secret_properties")
        try:
            client.get_secret(name, first.properties.version)
            check(False, "a disabled version cannot be read")
        except HttpResponseError as error:
            check(error.status_code == 403, "a disabled version answers 403")

        # list_properties_of_secrets, list_properties_of_secret_versions (paged)
        names = [p.name for p in client.list_properties_of_secrets()]
        check(name in names, "list_properties_of_secrets")
        versions = [p.version for p in client.list_properties_of_secret_versions(name, max_page_size=1)]
        check(sorted(versions) == versions and len(versions) == 2, "list_properties_of_secret_versions (by id, paged)")

        # backup_secret
        backup = client.backup_secret(name)
        check(isinstance(backup, bytes) and len(backup) > 0, "backup_secret")

        # begin_delete_secret, get_deleted_secret, list_deleted_secrets (pollers every 50 ms with
        # `_polling_interval`, as the SDK's own tests do, instead of every 2 s)
        # result() does not wait for the operation; wait() does.
        poller = client.begin_delete_secret(name, _polling_interval=0.05)
        poller.wait()
        deleted = poller.result()
        check(deleted.name == name and deleted.recovery_id, "begin_delete_secret")
        check(client.get_deleted_secret(name).name == name, "get_deleted_secret")
        check(name in [d.name for d in client.list_deleted_secrets()], "list_deleted_secrets")

        # begin_recover_deleted_secret
        poller = client.begin_recover_deleted_secret(name, _polling_interval=0.05)
        poller.wait()
        recovered = poller.result()
        check(recovered.name == name and client.get_secret(name).value == "second", "begin_recover_deleted_secret")

        # purge_deleted_secret, restore_secret_backup
        client.begin_delete_secret(name, _polling_interval=0.05).wait()
        client.purge_deleted_secret(name)
        restored = client.restore_secret_backup(backup)
        check(restored.name == name and client.get_secret(name).value == "second", "purge_deleted_secret, restore_secret_backup")

        # errors
        try:
            client.get_secret(f"{name}-missing")
            check(False, "a missing secret answers 404")
        except ResourceNotFoundError as error:
            check("was not found in this key vault" in error.message, "ResourceNotFoundError for a missing secret")

        try:
            client.get_secret(name, out_content_type="application/x-pem-file")
            check(False, "out_content_type on a plain secret answers 400")
        except HttpResponseError as error:
            check(error.status_code == 400, "get_secret(out_content_type=...) on a plain secret: 400, as the service")

        # send_request
        response = client.send_request(HttpRequest("GET", f"/secrets/{name}"))
        check(response.status_code == 200 and response.json()["value"] == "second", "send_request")

        client.begin_delete_secret(name, _polling_interval=0.05).wait()
        client.purge_deleted_secret(name)
    print("python SecretClient: every method passed with challenge verification on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
