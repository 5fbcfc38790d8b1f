// The official @a2a-js/sdk client against the database's own A2A endpoint
// (tests/server/a2a_endpoint.sh): discovers the AgentCard, then calls rulake.search.
//
//   node endpoint_client.mjs <base-url> <token> <data-part-json>
//
// Prints one JSON line on stdout: {"skills": [...ids], "results": [...]} on success, or
// {"skills": [...], "error": "<message>", "code": <JSON-RPC code or null>} when the call
// fails. Exit 0 in both cases; 1 when discovery itself fails.
import crypto from 'node:crypto';
import { Role } from '@a2a-js/sdk';
import { AgentCardResolver, ClientFactory } from '@a2a-js/sdk/client';

const [base, token, data] = process.argv.slice(2);
let card;
try {
  card = await AgentCardResolver.default.resolve(base);
} catch (e) {
  console.error(`discovery failed: ${e.message}`);
  process.exit(1);
}
const skills = card.skills.map((s) => s.id);
const client = await new ClientFactory().createFromAgentCard(card);
try {
  const result = await client.sendMessage(
    {
      message: {
        messageId: crypto.randomUUID(),
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'data', value: JSON.parse(data) } }],
      },
    },
    { serviceParameters: { Authorization: `Bearer ${token}` } },
  );
  // A message answer: its data part holds the rows.
  const message = result.message ?? result;
  const part = message.parts.find((p) => p.content?.$case === 'data');
  console.log(JSON.stringify({ skills, results: part.content.value.results }));
} catch (e) {
  console.log(JSON.stringify({ skills, error: e.message, code: e.envelopeCode ?? null }));
}
