// A2A test peer for the ruvector A2A client tests, built on the official
// JavaScript SDK (@a2a-js/sdk 1.3.0).
//
//   node peer.mjs <port>        (0 = any free port)
//
// Listens on 127.0.0.1 only. Once listening, prints exactly one line
// "PORT <n>" to stdout; everything else goes to stderr. Serves several
// agents, each under its own base path:
//
//   <base>/.well-known/agent-card.json   AgentCard
//   POST <base>                          JSON-RPC (v1.0 with header
//                                        "A2A-Version: 1.0"; v0.3 without it)
//
// Agents: /echo /streamer /slow /failing /signed /tampered (see AGENTS below).
// Env: PEER_JWKS_OUT=<path> writes the /signed card's public key as a JWKS.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import {
  A2A_PROTOCOL_VERSION,
  AGENT_CARD_PATH,
  Role,
  TaskState,
  generateAgentCardSignature,
} from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';

// stdout carries only the PORT line; route any library logging to stderr.
console.log = console.error;
console.info = console.error;

const STEP_MS = 100;
const SLOW_MS = 30_000;

// ---- event helpers (SDK-internal protobuf-style objects; the SDK renders
// them as v1.0 or v0.3 JSON depending on the request's version) ----

const textPart = (text) => ({
  content: { $case: 'text', value: text },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});

function agentMessage(ctx, text, metadata) {
  return {
    role: Role.ROLE_AGENT,
    messageId: crypto.randomUUID(),
    parts: [textPart(text)],
    taskId: ctx.taskId,
    contextId: ctx.contextId,
    extensions: [],
    metadata: metadata ?? {},
    referenceTaskIds: [],
  };
}

function inputText(msg) {
  const p = msg.parts.find((x) => x.content?.$case === 'text');
  return p ? p.content.value : '';
}

// A small per-task API handed to each agent script.
function makeRun(rc, bus, signal) {
  const meta = rc.userMessage.metadata ?? {};
  const ids = { taskId: rc.taskId, contextId: rc.contextId };
  const status = (state, text, final = false) =>
    bus.publish(
      AgentEvent.statusUpdate({
        ...ids,
        status: {
          state,
          // Echo the caller's metadata (trace_id, depth, ...) on the final status message.
          message: text === undefined ? undefined : agentMessage(ids, text, final ? meta : {}),
          timestamp: new Date().toISOString(),
        },
        metadata: {},
      })
    );
  return {
    text: inputText(rc.userMessage),
    submitted() {
      // Every execution must publish a Task (or Message) first.
      bus.publish(
        AgentEvent.task(
          rc.task ?? {
            id: rc.taskId,
            contextId: rc.contextId,
            status: { state: TaskState.TASK_STATE_SUBMITTED, timestamp: new Date().toISOString(), message: undefined },
            artifacts: [],
            history: [rc.userMessage],
            metadata: meta, // caller's metadata echoed as task metadata
          }
        )
      );
    },
    working: (text) => status(TaskState.TASK_STATE_WORKING, text),
    completed: (text) => status(TaskState.TASK_STATE_COMPLETED, text, true),
    failed: (text) => status(TaskState.TASK_STATE_FAILED, text, true),
    canceled: (text) => status(TaskState.TASK_STATE_CANCELED, text, true),
    artifact(name, text) {
      bus.publish(
        AgentEvent.artifactUpdate({
          ...ids,
          artifact: { artifactId: name, name, description: '', parts: [textPart(text)], metadata: undefined, extensions: [] },
          append: false,
          lastChunk: true,
          metadata: undefined,
        })
      );
    },
    // Rejects with AbortError when the task is canceled.
    sleep: (ms) => sleep(ms, undefined, { signal }),
  };
}

// Generic executor: runs an async script; CancelTask aborts the script's
// pending sleep, and the executor then publishes the final canceled status
// (DefaultRequestHandler.cancelTask waits for that terminal event).
class ScriptExecutor {
  constructor(script) {
    this.script = script;
    this.running = new Map(); // taskId -> AbortController
  }
  cancelTask = async (taskId) => {
    this.running.get(taskId)?.abort();
  };
  execute = async (rc, bus) => {
    const ac = new AbortController();
    this.running.set(rc.taskId, ac);
    const run = makeRun(rc, bus, ac.signal);
    try {
      await this.script(run);
    } catch (e) {
      if (!ac.signal.aborted) throw e;
      run.canceled('canceled');
    } finally {
      this.running.delete(rc.taskId);
    }
  };
}

// ---- agent scripts ----

async function echo(run) {
  run.submitted();
  run.artifact('echo', `echo: ${run.text}`);
  run.completed(`echo: ${run.text}`);
}

async function streamer(run) {
  run.submitted();
  await run.sleep(STEP_MS);
  run.working('step 1');
  await run.sleep(STEP_MS);
  run.artifact('part-1', 'a');
  await run.sleep(STEP_MS);
  run.working('step 2');
  await run.sleep(STEP_MS);
  run.artifact('part-2', 'b');
  await run.sleep(STEP_MS);
  run.completed('done');
}

async function slow(run) {
  run.submitted();
  run.working('working slowly');
  await run.sleep(SLOW_MS);
  run.completed('done');
}

async function failing(run) {
  run.submitted();
  run.working('about to fail');
  await run.sleep(STEP_MS);
  run.failed('deliberate failure');
}

// base path -> [script, streaming capability, description, signing]
const AGENTS = {
  echo: [echo, false, 'Replies with the input text prefixed by "echo: ".'],
  streamer: [streamer, true, 'Streams two working updates and two artifacts, then completes.'],
  slow: [slow, true, 'Works for 30 s before completing; cancelable.'],
  failing: [failing, true, 'Goes to working, then fails with "deliberate failure".'],
  signed: [echo, false, 'Echo agent with a signed AgentCard (ES256 JWS).', 'sign'],
  tampered: [echo, false, 'Echo agent whose signed AgentCard was modified after signing.', 'tamper'],
};

function makeCard(name, url, streaming, description) {
  return {
    name: `ruvector test ${name}`,
    description,
    // One v1.0 JSONRPC interface plus its v0.3 twin (required for the
    // v0.3 compat path: the server validates the requested version
    // against the card's interfaces).
    supportedInterfaces: duplicateInterfacesForLegacy(
      [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_PROTOCOL_VERSION }],
      ['JSONRPC']
    ),
    provider: { organization: 'ruvector tests', url: 'https://example.invalid/ruvector' },
    version: '1.0.0',
    capabilities: { streaming, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: name,
        name,
        description,
        tags: ['test'],
        examples: ['hello'],
        inputModes: ['text/plain'],
        outputModes: ['text/plain'],
        securityRequirements: [],
      },
    ],
    documentationUrl: '',
    signatures: [],
  };
}

// ---- signing key (ES256, generated per run) ----

const KID = 'ruvector-test-es256';
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = generateAgentCardSignature(privateKey, { alg: 'ES256', kid: KID, typ: 'JOSE' });

function writeJwks(path) {
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const tmp = `${path}.tmp${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify({ keys: [{ kty, crv, x, y, kid: KID }] }) + '\n');
  fs.renameSync(tmp, path);
}

// ---- server ----

const app = express();
const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1');
server.on('error', (err) => {
  console.error(`peer: listen failed: ${err.message}`);
  process.exit(1);
});
server.on('listening', () => {
  const port = server.address().port;
  for (const [name, [script, streaming, description, signing]] of Object.entries(AGENTS)) {
    const base = `/${name}`;
    const card = makeCard(name, `http://127.0.0.1:${port}${base}`, streaming, description);
    const handler = new DefaultRequestHandler(
      card,
      new InMemoryTaskStore(),
      new ScriptExecutor(script),
      undefined, // event bus manager
      undefined, // push notification store
      undefined, // push notification sender
      undefined, // extended card
      signing ? signer : undefined // re-signs on every card fetch (ES256 is randomised)
    );
    const cardProvider =
      signing === 'tamper'
        ? async () => ({ ...(await handler.getAgentCard()), description: `${description} (TAMPERED)` })
        : handler;
    // With legacyCompat the card's shape follows the A2A-Version request
    // header: v1.0 card for "1.0", a v0.3-shaped card when absent or "0.3".
    app.use(`${base}/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: cardProvider, legacyCompat: { enabled: true } }));
    app.use(
      base,
      jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } })
    );
  }
  if (process.env.PEER_JWKS_OUT) writeJwks(process.env.PEER_JWKS_OUT);
  process.stdout.write(`PORT ${port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
