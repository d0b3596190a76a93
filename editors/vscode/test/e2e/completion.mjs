// Ghost-text completion steps of the code-server end-to-end test (run.mjs
// calls completionSteps with its page and helpers). Completion is turned on
// by writing completion.* into config.yaml while the editor runs (the daemon
// registers textDocument/inlineCompletion with the window, with no restart),
// and turned off again at the end, so the other steps see no completion.
import * as fs from 'node:fs';
import * as path from 'node:path';

const STATUS_ITEM = '[id="hermesd.hermes-vscode.hermes.completion"]';

export async function completionSteps({ page, step, shot, waitFor, sleep, runCommand, upstreamPost, upstreamRequests, upstreamUrl, hermesHome, workspace, completion }) {
  const configFile = path.join(hermesHome, 'config.yaml');
  const item = page.locator(STATUS_ITEM);
  const ghost = page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text');
  let original;

  await step('completion configured while the editor runs: the daemon registers it and the status bar says on', async () => {
    original = fs.readFileSync(configFile, 'utf8');
    await upstreamPost('/__config', completion.upstream);
    fs.writeFileSync(configFile, original + completion.config(upstreamUrl));
    await item.locator('.codicon-sparkle').waitFor({ timeout: 30_000 });
  });

  await step('typing shows the ghost text, the superseded request is cancelled at the upstream, Tab accepts it', async () => {
    const disconnectsBefore = (await (await fetch(`${upstreamUrl}/__disconnects`)).json()).length;
    const before = (await upstreamRequests()).filter(completion.isRequest).length;
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill('fib.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'fib.py' }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-line', { hasText: 'def fib' }).first().waitFor({ timeout: 15_000 });
    await editor.locator('.view-lines').click();
    await page.keyboard.press('Control+End');
    // "r", then "e" once the first request has reached the model: the second supersedes it.
    await page.keyboard.type('r');
    await waitFor('the first completion request at the upstream', async () => (await upstreamRequests()).filter(completion.isRequest).length > before, 10_000, 20);
    await page.keyboard.type('e');
    const typed = Date.now();
    await ghost.first().waitFor({ timeout: 15_000 });
    const ghostMs = Date.now() - typed;
    const shown = (await ghost.allTextContents()).join('');
    if (!shown.includes(completion.ghost)) {
      throw new Error(`ghost text "${shown}", expected "${completion.ghost}"`);
    }
    await shot('22-completion-ghost');
    const disconnects = await waitFor(
      'the superseded request closed at the upstream',
      async () => {
        const all = await (await fetch(`${upstreamUrl}/__disconnects`)).json();
        return all.length > disconnectsBefore ? all.slice(disconnectsBefore) : undefined;
      },
      10_000,
    );
    if (!disconnects.some(([p]) => completion.isPath(p))) {
      throw new Error(`no completion request was closed: ${JSON.stringify(disconnects)}`);
    }
    await page.keyboard.press('Tab');
    await waitFor('the ghost text gone once accepted', async () => (await ghost.count()) === 0, 5_000);
    await page.keyboard.press('Control+S');
    const file = path.join(workspace, 'fib.py');
    await waitFor('the accepted text in the saved document', async () => fs.readFileSync(file, 'utf8').includes(`re${completion.ghost}`), 10_000);
    await shot('23-completion-accepted');
    console.log(`[e2e] completion: ghost text ${ghostMs} ms after the last keystroke`);
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

  await step('completion unset in config.yaml: the daemon unregisters it and the status bar says not set up', async () => {
    fs.writeFileSync(configFile, original);
    await item.locator('.codicon-circle-outline').waitFor({ timeout: 30_000 });
    const title = await item.getAttribute('aria-label');
    if (!title?.includes('Hermes')) {
      throw new Error(`status item: ${title}`);
    }
  });
}
