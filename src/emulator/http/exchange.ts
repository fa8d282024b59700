/**
 * One request and its answer: the parsed request, the service's response headers (or a local
 * tool's), JSON bodies read within a bound, and answers sent only once the change they report is
 * durable.
 */
import { randomUUID } from "node:crypto";
import { isIPv4 } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { VaultServerContext } from "../context.js";
import type { AcceptedHost } from "./hosts.js";
import { VaultError, bodyTooLarge, internalError } from "../wire/errors.js";
import type { RenderContext } from "../wire/render.js";
import { parseJsonObject } from "../wire/requests.js";
import type { StoreRecord } from "../state/storeTypes.js";

/** The version string reported in `x-ms-keyvault-service-version`. */
export const localServiceVersion = "1.9.0.0";

/** Largest request body read; secrets are at most 25,600 characters. */
export const maxBodyBytes = 1024 * 1024;

/** Query parameters, decoded (`$skiptoken` under its canonical spelling). */
export type Query = Record<string, string>;

/** One request being answered. */
export class Exchange {
  /** The request method. */
  readonly method: string;
  /** api-version of the request ("" on the local routes). */
  apiVersion = "";
  /** How bodies are rendered for this request; set once the request is accepted. */
  render: RenderContext = { baseUrl: "", recoverableDays: true };
  /** The accepted `Host`; set before any route sees the request. */
  host: AcceptedHost | undefined;
  /** Whether the request passed authentication (answers then name the role assignment). */
  authorized = false;
  /**
   * The headers of every answer in place of the service's, for the vault's own tools (the page,
   * health); undefined for the service's API and the test controls.
   */
  localHeaders: Readonly<Record<string, string>> | undefined;

  /**
   * Wraps a request.
   * @param req - the request
   * @param res - its response
   * @param vault - the vault
   * @param path - the path, without query (leading `//` collapsed)
   * @param segments - the path's segments (a trailing empty one dropped)
   * @param query - the decoded query
   */
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly vault: VaultServerContext,
    readonly path: string,
    readonly segments: string[],
    readonly query: Query,
  ) {
    this.method = req.method ?? "GET";
  }

  /**
   * Sends a JSON answer (or none) with the route's headers.
   * @param status - HTTP status
   * @param body - JSON body, or undefined for none
   * @param extra - more headers
   */
  send(status: number, body: unknown, extra?: Record<string, string>): void {
    const payload =
      body === undefined
        ? undefined
        : { contentType: "application/json; charset=utf-8", text: JSON.stringify(body) };
    this.answer(status, payload, extra);
  }

  /**
   * Sends a text answer (a page, its assets, health's `ok`) with the route's headers.
   * @param status - HTTP status
   * @param contentType - the `Content-Type`
   * @param text - the body
   * @param extra - more headers
   */
  sendText(
    status: number,
    contentType: string,
    text: string,
    extra?: Record<string, string>,
  ): void {
    this.answer(status, { contentType, text }, extra);
  }

  private answer(
    status: number,
    payload: { contentType: string; text: string } | undefined,
    extra: Record<string, string> | undefined,
  ): void {
    const headers: Record<string, string | number> =
      this.localHeaders === undefined ? this.serviceHeaders(status) : { ...this.localHeaders };
    if (extra !== undefined) Object.assign(headers, extra);
    if (payload !== undefined) {
      headers["content-type"] = payload.contentType;
      headers["content-length"] = Buffer.byteLength(payload.text);
    } else if (status !== 204) {
      headers["content-length"] = 0;
    }
    const res = this.res;
    const write = (): void => {
      if (res.destroyed || res.headersSent) return;
      res.writeHead(status, headers);
      res.end(payload?.text);
    };
    // Latency is a fault of the service's answers; the vault's own tools answer at once.
    const faults = this.vault.faults;
    const latency = this.localHeaders === undefined && faults.active ? faults.latencyMs : 0;
    if (latency > 0) setTimeout(write, latency);
    else write();
  }

  /** The headers the service sends with every answer. */
  private serviceHeaders(status: number): Record<string, string | number> {
    const headers: Record<string, string | number> = {
      "x-ms-request-id": randomUUID(),
      "x-ms-keyvault-service-version": localServiceVersion,
      "x-ms-keyvault-region": "local",
      "cache-control": "no-cache",
      pragma: "no-cache",
      expires: "-1",
      "x-content-type-options": "nosniff",
      "x-ms-keyvault-network-info": networkInfo(this.req.socket.remoteAddress),
    };
    // The service's 405 comes from its router, before any access check: no role assignment id
    // (as recorded for PUT /secrets/).
    if (this.authorized && status !== 405) {
      headers["x-ms-keyvault-rbac-assignment-id"] = this.vault.roleAssignmentId;
    }
    const clientRequestId = this.req.headers["x-ms-client-request-id"];
    if (typeof clientRequestId === "string") headers["x-ms-client-request-id"] = clientRequestId;
    if (this.vault.scheme === "https") {
      headers["strict-transport-security"] = "max-age=31536000;includeSubDomains";
    }
    return headers;
  }

  /**
   * Answers with an error: a {@link VaultError} as it is, anything else as a bare 500.
   * @param error - what went wrong
   */
  fail(error: unknown): void {
    const answer = error instanceof VaultError ? error : internalError();
    this.send(answer.status, answer.toWire(), answer.headers);
  }

  /**
   * Answers once the record is durable (at once without a journal).
   * @param record - the change
   * @param status - HTTP status
   * @param body - JSON body, or undefined for none
   * @returns a promise that resolves once answered
   */
  async commit(record: StoreRecord, status: number, body: unknown): Promise<void> {
    await this.vault.persist(record);
    this.send(status, body);
  }

  /**
   * Reads the request body as a JSON object: the one body reader of the vault.
   * @param maxBytes - the largest body read
   * @returns the object
   */
  readJson(maxBytes = maxBodyBytes): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      this.req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) tooLarge = true;
        else chunks.push(chunk);
      });
      this.req.on("end", () => {
        try {
          if (tooLarge) throw bodyTooLarge(maxBytes);
          resolve(parseJsonObject(Buffer.concat(chunks).toString("utf8")));
        } catch (error) {
          reject(error);
        }
      });
      this.req.on("error", () => this.res.destroy());
    });
  }
}

/** The `x-ms-keyvault-network-info` value for a client address, as the service words it. */
function networkInfo(address: string | undefined): string {
  const v4 = address?.startsWith("::ffff:") ? address.slice(7) : address;
  return v4 !== undefined && isIPv4(v4)
    ? `conn_type=Ipv4;addr=${v4};act_addr_fam=InterNetwork;`
    : `conn_type=Ipv6;addr=${address ?? ""};act_addr_fam=InterNetworkV6;`;
}
