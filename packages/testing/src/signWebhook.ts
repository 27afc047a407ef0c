export { eventBody, type SignedWebhook, secretKey, signature, signWebhook } from "@hookstream/contracts";

/** A test secret in OpenAI's format. */
export const TEST_SECRET = `whsec_${Buffer.from("hookstream-test-secret-0123456789").toString("base64")}`;
