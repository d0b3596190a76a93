// Ghost-text completion steps of the code-server end-to-end test (run.mjs
// calls completionSteps with its page and helpers, right after activation).
// config.yaml names a completion model from the start (run.mjs writes it), so
// the daemon registers textDocument/inlineCompletion with the window at once;
// the last step turns completion off in the editor (hermes.completion.enabled),
// so the chat steps after these run without it.
import * as fs from 'node:fs';
import * as path from 'node:path';

const STATUS_ITEM = '[id="hermesd.hermes-vscode.hermes.completion"]';

export async function completionSteps({ page, step, shot, waitFor, runCommand, upstreamPost, upstreamRequests, upstreamUrl, workspace, completion }) {
  const item = page.locator(STATUS_ITEM);
  const file = path.join(workspace, 'ghost.py');
  const ghost = page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text');

  await step('completion configured: the daemon registered it with the window and the status bar says on', async () => {
    await upstreamPost('/__config', completion.upstream);
    await item.locator('.codicon-sparkle').waitFor({ timeout: 30_000 });
  });

  let disconnectsBefore = 0;
  await step('typing shows the ghost text from the request that superseded the first, and Tab accepts it', async () => {
    disconnectsBefore = (await (await fetch(`${upstreamUrl}/__disconnects`)).json()).length;
    const before = (await upstreamRequests()).filter(completion.isRequest).length;
    // A file of its own: the chat steps after these read fib.py as run.mjs wrote it.
    fs.writeFileSync(file, 'def fib(n):\n    # the n-th Fibonacci number\n');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(path.basename(file));
    await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(file) }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-line', { hasText: 'def fib' }).first().waitFor({ timeout: 15_000 });
    await editor.locator('.view-lines').click();
    await page.keyboard.press('Control+End');
    // "r", then "e" once the request for "r" has reached the (slow) model: the second supersedes
    // it. The model is fast from then on, so the superseded stream is the only slow one.
    await page.keyboard.type('r');
    await waitFor('the first completion request at the upstream', async () => (await upstreamRequests()).filter(completion.isRequest).length > before, 10_000, 20);
    await upstreamPost('/__config', { chunk_delay: 0 });
    await page.keyboard.type('e');
    const typed = Date.now();
    await ghost.first().waitFor({ timeout: 15_000 });
    const ghostMs = Date.now() - typed;
    const shown = (await ghost.allTextContents()).join('').replace(/\u00a0/g, ' '); // Monaco draws spaces as NBSP
    if (!shown.includes(completion.ghost)) {
      throw new Error(`ghost text "${shown}", expected "${completion.ghost}"`);
    }
    await shot('22-completion-ghost');
    const prompts = (await upstreamRequests()).filter(completion.isRequest).slice(before).map((r) => r.json?.prompt ?? '');
    if (!completion.typed(prompts[0], 'r') || !completion.typed(prompts[1], 're')) {
      throw new Error(`the first two FIM prompts are not for "r" and "re": ${JSON.stringify(prompts.slice(0, 2))}`);
    }
    // Accepting moves the cursor, and VS Code asks again there: the model now answers only blanks, which the
    // daemon never offers, so no new suggestion can take the accepted one's place before we look.
    await upstreamPost('/__config', { reply_text: '  ' });
    await page.keyboard.press('Tab');
    await waitFor('the ghost text gone once accepted', async () => (await ghost.count()) === 0, 5_000);
    await page.keyboard.press('Control+S');
    await waitFor('the accepted text in the saved document', async () => fs.readFileSync(file, 'utf8').includes(`re${completion.ghost}`), 10_000);
    await shot('23-completion-accepted');
    console.log(`[e2e] completion: ghost text ${ghostMs} ms after the last keystroke`);
  });

  await step('the superseded request is closed at the upstream before its stream ends', async () => {
    const closed = await waitFor(
      'the superseded stream closed at the upstream',
      async () => {
        const all = await (await fetch(`${upstreamUrl}/__disconnects`)).json();
        return all.length > disconnectsBefore ? all.slice(disconnectsBefore) : undefined;
      },
      5_000,
    );
    if (!completion.isPath(closed[0][0]) || !(closed[0][1] < completion.streamSeconds)) {
      throw new Error(`closed: ${JSON.stringify(closed)}`);
    }
  });

  await step('the status bar snoozes completion for 5 minutes and resumes it', async () => {
    await item.click();
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Snooze completion for 5 minutes' }).first().click();
    await item.locator('.codicon-clock').waitFor({ timeout: 5_000 });
    await shot('24-completion-snoozed');
    await item.click();
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Resume completion' }).first().click();
    await item.locator('.codicon-sparkle').waitFor({ timeout: 5_000 });
  });

  await step('Toggle Inline Completion turns it off: the status bar says so and typing asks nothing', async () => {
    await runCommand('Hermes: Toggle Inline Completion (This Window)');
    await item.locator('.codicon-circle-slash').waitFor({ timeout: 5_000 });
    const before = (await upstreamRequests()).filter(completion.isRequest).length;
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('x');
    await new Promise((r) => setTimeout(r, 1_000));
    const after = (await upstreamRequests()).filter(completion.isRequest).length;
    if (after !== before || (await ghost.count()) !== 0) {
      throw new Error(`completion off, yet ${after - before} request(s) and ${await ghost.count()} ghost text(s)`);
    }
    await shot('25-completion-off');
    await page.keyboard.press('Control+Z');
    await page.keyboard.press('Control+S');
    await runCommand('View: Close All Editors');
  });
}
