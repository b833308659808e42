// An algorithm file that lives outside this package (as a user's would), run by `ccp-bt connect` as a
// real process: it loads, is created by the agent for each flow and steers it. Such a file is compiled
// outside this ESM package and may get its own copy of the agent API; it must work all the same.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAll, makeFixture, startAgent, startLeecher, startSeeder, type Fixture } from '../control/cli-process.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  killAll();
  for (const f of fixtures.splice(0)) f.remove();
});
afterAll(() => killAll());

const apiUrl = pathToFileURL(resolve('agent/api.ts')).href;

describe('an algorithm file outside the package', () => {
  it('is loaded by ccp-bt connect, created per flow and steers it', async () => {
    const f = await makeFixture(2_000_000);
    fixtures.push(f);
    const file = join(f.dir, 'slow.ts');
    writeFileSync(
      file,
      `import { Algorithm, program } from '${apiUrl}';
const P = program('(def (Report (volatile sent 0))) (when true (:= Report.sent (+ Report.sent Event.sent)) (fallthrough)) (when (> Micros 100000) (report))');
export default class Slow extends Algorithm {
  onCreate(): void { this.datapath.install(P); this.datapath.updateField('Rate', 200000); }
  onReport(r: { sent: number }): void { void r; }
}
`,
    );
    const agent = startAgent(f, ['--alg', file, '--heartbeat', '200']);
    const { port } = await startSeeder(f);
    await agent.waitFor(/attached to datapath/, 20_000);
    const leecher = startLeecher(f, 1, port);
    await leecher.waitFor(/"event":"complete"/, 45_000);
    // 2 MB at 200 kB/s: the Rate the user's algorithm set held the transfer to ~10 s (unsteered: well under 1 s).
    const pts = leecher.progress().filter((p) => p.downloadedBytes > 0);
    const spanMs = pts.at(-1)!.madeMs - pts[0]!.madeMs;
    expect(spanMs).toBeGreaterThan(6000);
    expect(agent.lines.map((l) => l.text).join('\n')).not.toMatch(/created by the agent|threw/);
  }, 90_000);
});
