import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { chatHtml, contentSecurityPolicy, escapeAttr, makeNonce } from '../src/logic/html';
import { WEBVIEW_COMMANDS, isFromWebview } from '../src/logic/chatTypes';

describe('webview HTML', () => {
  const html = chatHtml({
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    nonce: 'abc123',
    scriptUri: 'https://x/dist/webview.js',
    styleUri: 'https://x/media/chat.css',
  });

  it('has a strict CSP: default-src none, nonce script, no unsafe-inline', () => {
    const csp = contentSecurityPolicy('vscode-src', 'n0nce');
    expect(csp.startsWith("default-src 'none'")).toBe(true);
    expect(csp).toContain("script-src 'nonce-n0nce'");
    expect(csp).toContain('style-src vscode-src');
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(html).toContain(`content="default-src 'none'; img-src https://file+.vscode-resource.vscode-cdn.net data:;`);
  });

  it('lets images come only from the extension and data:, never a remote scheme', () => {
    const imgSrc = contentSecurityPolicy('vscode-src', 'n').split('; ').find((d) => d.startsWith('img-src'));
    expect(imgSrc).toBe('img-src vscode-src data:');
  });

  it('loads its one script with the nonce and has no inline handlers or styles', () => {
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script nonce="abc123" src="https://x/dist/webview.js"></script>');
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toContain('<style');
  });

  it('makes fresh, attribute-safe nonces', () => {
    const a = makeNonce();
    expect(a).toMatch(/^[A-Za-z0-9]{16,}$/);
    expect(makeNonce()).not.toBe(a);
    expect(escapeAttr('"<x>&')).toBe('&quot;&lt;x&gt;&amp;');
  });
});

describe('isFromWebview', () => {
  it('accepts the known messages only', () => {
    expect(isFromWebview({ type: 'ready' })).toBe(true);
    expect(isFromWebview({ type: 'send', text: 'hi' })).toBe(true);
    expect(isFromWebview({ type: 'send' })).toBe(false);
    expect(isFromWebview({ type: 'command', command: 'hermes.runDoctor' })).toBe(true);
    expect(isFromWebview({ type: 'command', command: 'workbench.action.terminal.sendSequence' })).toBe(false);
    expect(isFromWebview({ type: 'eval' })).toBe(false);
    expect(isFromWebview(null)).toBe(false);
    expect(isFromWebview('ready')).toBe(false);
  });

  it('lets the view run only the commands its buttons name, each one the extension declares', () => {
    const root = path.join(__dirname, '..');
    const webview = ['main.ts', 'render.ts'].map((f) => fs.readFileSync(path.join(root, 'src', 'webview', f), 'utf8')).join('\n');
    const posted = new Set([...webview.matchAll(/'(hermes\.[A-Za-z]+)'|data-command="(hermes\.[A-Za-z]+)"/g)].map((m) => m[1] ?? m[2]));
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const declared = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
    expect([...WEBVIEW_COMMANDS].sort()).toEqual([...posted].sort());
    for (const command of WEBVIEW_COMMANDS) {
      expect(declared.has(command)).toBe(true);
    }
    for (const command of ['hermes.setMinCodingScore', 'hermes.acceptProposal', 'vscode.open', 'workbench.action.reloadWindow']) {
      expect(isFromWebview({ type: 'command', command })).toBe(false);
    }
  });
});
