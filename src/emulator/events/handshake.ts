/**
 * The webhook handshake, as Event Grid makes it before a subscription takes events: a
 * `Microsoft.EventGrid.SubscriptionValidationEvent` whose code the webhook echoes (Event Grid
 * schema), or the CloudEvents `OPTIONS` request whose origin the webhook allows. Until it
 * succeeds, the webhook gets nothing else from the vault.
 */
import { randomUUID } from "node:crypto";
import {
  eventGridOrigin,
  subscriptionValidationEventType,
  type EventGridEventJson,
} from "../../events/keyVaultEvents.js";
import { isRecord } from "../../util/guards.js";
import { eventTimeText, vaultResourceId, type VaultIdentity } from "./eventEnvelope.js";
import type { Subscription } from "./subscriptions.js";
import type { WebhookAnswer, WebhookClient, WebhookRequest } from "./webhookClient.js";

/** The outcome of one attempt: the handshake done, or what the webhook answered instead. */
export type AttemptOutcome = { ok: true } | { ok: false; outcome: string; status?: number };

/**
 * Makes one handshake attempt.
 * @param client - sends the request
 * @param subscription - the subscription (its webhook, schema and validation code)
 * @param identity - the vault
 * @returns whether the webhook completed the handshake
 */
export async function attemptHandshake(
  client: WebhookClient,
  subscription: Subscription,
  identity: VaultIdentity,
): Promise<AttemptOutcome> {
  const cloud = subscription.schema === "CloudEventSchemaV1_0";
  const request = cloud ? originRequest() : validationRequest(subscription, identity);
  let answer: WebhookAnswer;
  try {
    answer = await client.send(subscription.endpoint, request);
  } catch (error) {
    return { ok: false, outcome: (error as Error).message };
  }
  const done = cloud ? allowsOrigin(answer) : echoesCode(answer, subscription.validationCode);
  if (done) return { ok: true };
  return {
    ok: false,
    status: answer.status,
    outcome: cloud
      ? `HTTP ${answer.status} without WebHook-Allowed-Origin: ${eventGridOrigin}`
      : `HTTP ${answer.status} without the validation code as validationResponse`,
  };
}

/** The CloudEvents handshake: `OPTIONS` naming Event Grid as the origin. */
function originRequest(): WebhookRequest {
  return { method: "OPTIONS", headers: { "webhook-request-origin": eventGridOrigin } };
}

/** The Event Grid handshake: the validation event, alone in an array. */
function validationRequest(subscription: Subscription, identity: VaultIdentity): WebhookRequest {
  const event: EventGridEventJson<{ validationCode: string }> = {
    id: randomUUID(),
    topic: vaultResourceId(identity.vaultName),
    subject: "",
    eventType: subscriptionValidationEventType,
    eventTime: eventTimeText(Date.now()),
    data: { validationCode: subscription.validationCode },
    dataVersion: "1",
    metadataVersion: "1",
  };
  return {
    method: "POST",
    headers: {
      "content-type": "application/json; charset=utf-8",
      "aeg-event-type": "SubscriptionValidation",
      "aeg-subscription-name": subscription.name.toUpperCase(),
      "aeg-delivery-count": String(subscription.handshakeAttempts),
      "aeg-data-version": "1",
      "aeg-metadata-version": "1",
    },
    body: JSON.stringify([event]),
  };
}

/** Whether a 2xx answer's JSON body holds `validationResponse` (any case) equal to the code. */
function echoesCode(answer: WebhookAnswer, code: string): boolean {
  if (answer.status < 200 || answer.status > 299) return false;
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return false;
  }
  if (!isRecord(body)) return false;
  const key = Object.keys(body).find((name) => name.toLowerCase() === "validationresponse");
  return key !== undefined && body[key] === code;
}

/** Whether a 2xx answer allows Event Grid's origin (or every origin). */
function allowsOrigin(answer: WebhookAnswer): boolean {
  if (answer.status < 200 || answer.status > 299) return false;
  const allowed = answer.headers["webhook-allowed-origin"];
  const values = (Array.isArray(allowed) ? allowed.join(",") : (allowed ?? "")).split(",");
  return values.some((value) => {
    const origin = value.trim().toLowerCase();
    return origin === "*" || origin === eventGridOrigin;
  });
}
