/**
 * Rendering of the store's state as the service's wire bodies: SecretBundle, SecretItem and their
 * deleted forms, with ids built from the request's accepted vault URL.
 */
import type {
  DeletedSecretBundleWire,
  DeletedSecretItemWire,
  SecretAttributesWire,
  SecretBundleWire,
  SecretItemWire,
} from "../../api/wireTypes.js";
import type { SecretView, StoreSettings, StoredVersion } from "../state/storeTypes.js";

/** How bodies are rendered for one request. */
export interface RenderContext {
  /** `{scheme}://{host}` of the request, no trailing slash. */
  baseUrl: string;
  /** Whether `recoverableDays` is part of the api-version (7.1 and later). */
  recoverableDays: boolean;
}

/** Renders wire bodies with the vault's recovery settings. */
export class WireRenderer {
  private readonly softDelete: boolean;

  /**
   * Creates the renderer.
   * @param settings - recovery level and retention of the vault
   */
  constructor(private readonly settings: StoreSettings) {
    this.softDelete = settings.recoveryLevel !== "Purgeable";
  }

  /**
   * A SecretBundle.
   * @param secret - the secret
   * @param stored - the version to render
   * @param ctx - render context
   * @param options - `withValue`: whether the value is part of the answer (get and set only)
   * @returns the bundle
   */
  bundle(
    secret: SecretView,
    stored: StoredVersion,
    ctx: RenderContext,
    options: { withValue: boolean },
  ): SecretBundleWire {
    const bundle: SecretBundleWire = {};
    if (options.withValue) bundle.value = stored.value;
    bundle.id = this.secretId(secret.name, stored.version, ctx);
    if (stored.contentType !== undefined) bundle.contentType = stored.contentType;
    bundle.attributes = this.attributes(stored, ctx);
    if (stored.tags !== undefined) bundle.tags = stored.tags;
    // previousVersion belongs to certificate-backed secrets, which this vault does not hold: the
    // service never sends it for plain secrets, however many versions they have.
    return bundle;
  }

  /**
   * The id of one version.
   * @param name - the secret name
   * @param version - the version
   * @param ctx - render context
   * @returns the id
   */
  secretId(name: string, version: string, ctx: RenderContext): string {
    return `${ctx.baseUrl}/secrets/${name}/${version}`;
  }

  /**
   * The SecretBundle of the latest version, without value.
   * @param secret - the secret
   * @param ctx - render context
   * @returns the bundle
   */
  latest(secret: SecretView, ctx: RenderContext): SecretBundleWire {
    return this.bundle(secret, secret.versions[secret.versions.length - 1], ctx, {
      withValue: false,
    });
  }

  /**
   * A SecretItem of a list.
   * @param secret - the secret
   * @param stored - the version to render
   * @param ctx - render context
   * @param options - `idNamesVersion`: whether the id names the version (list versions) or the
   *   secret (list)
   * @returns the item
   */
  item(
    secret: SecretView,
    stored: StoredVersion,
    ctx: RenderContext,
    options: { idNamesVersion: boolean },
  ): SecretItemWire {
    const item: SecretItemWire = {
      id: `${ctx.baseUrl}/secrets/${secret.name}${options.idNamesVersion ? `/${stored.version}` : ""}`,
      attributes: this.attributes(stored, ctx),
    };
    if (stored.tags !== undefined) item.tags = stored.tags;
    if (stored.contentType !== undefined) item.contentType = stored.contentType;
    return item;
  }

  /**
   * The item of a secret in the list of secrets (its latest version, base id).
   * @param secret - the secret
   * @param ctx - render context
   * @returns the item
   */
  latestItem(secret: SecretView, ctx: RenderContext): SecretItemWire {
    return this.item(secret, secret.versions[secret.versions.length - 1], ctx, {
      idNamesVersion: false,
    });
  }

  /**
   * A DeletedSecretBundle (no value).
   * @param secret - the deleted secret
   * @param ctx - render context
   * @returns the bundle
   */
  deletedBundle(secret: SecretView, ctx: RenderContext): DeletedSecretBundleWire {
    return { ...this.deletionFields(secret, ctx), ...this.latest(secret, ctx) };
  }

  /**
   * A DeletedSecretItem of the list of deleted secrets.
   * @param secret - the deleted secret
   * @param ctx - render context
   * @returns the item
   */
  deletedItem(secret: SecretView, ctx: RenderContext): DeletedSecretItemWire {
    return { ...this.deletionFields(secret, ctx), ...this.latestItem(secret, ctx) };
  }

  private attributes(stored: StoredVersion, ctx: RenderContext): SecretAttributesWire {
    const attributes: SecretAttributesWire = { enabled: stored.enabled };
    if (stored.nbf !== undefined) attributes.nbf = stored.nbf;
    if (stored.exp !== undefined) attributes.exp = stored.exp;
    attributes.created = stored.created;
    attributes.updated = stored.updated;
    attributes.recoveryLevel = this.settings.recoveryLevel;
    if (this.softDelete && ctx.recoverableDays) {
      attributes.recoverableDays = this.settings.recoverableDays;
    }
    return attributes;
  }

  private deletionFields(secret: SecretView, ctx: RenderContext): DeletedSecretItemWire {
    if (secret.deletedDate === undefined) return {};
    return {
      recoveryId: `${ctx.baseUrl}/deletedsecrets/${secret.name}`,
      deletedDate: secret.deletedDate,
      scheduledPurgeDate: secret.scheduledPurgeDate,
    };
  }
}
