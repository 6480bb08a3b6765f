import { describe, expect, it } from 'vitest';
import { demoHelpdesk } from '../../local/demoHelpdesk.js';
import {
  PREVIEW_IMAGE_MAX_BYTES,
  PREVIEW_IMAGES_MAX_BYTES,
  previewMail,
  withImagesInline,
} from '../../shared/import/previewMail.js';
import { pngImage, rawMail } from '../support/mail.js';

describe('inline images in a preview', () => {
  it('shows them as data: URLs in displayHtml only; html keeps the references a ticket would store', async () => {
    const png = pngImage(5, 16, 16);
    const raw = await rawMail({
      from: 'Karin Klant <karin@customer.example>',
      to: 'desk@example.test',
      subject: 'With a picture',
      text: 'See the picture.\n',
      html: '<p>See:</p><img src="cid:pic@customer.example"><img src="cid:unknown@customer.example">',
      attachments: [{ content: png, contentType: 'image/png', cid: 'pic@customer.example' }],
    });
    const preview = await previewMail(raw, demoHelpdesk());
    const html = String(preview.html);
    const displayHtml = String(preview.displayHtml);
    expect(html).toMatch(/src="images\/[0-9a-f]{64}\.png"/);
    expect(html).not.toContain('data:');
    expect(displayHtml).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
    expect(displayHtml).not.toContain('images/');
  });

  it('leaves an image over the per-image cap, and images past the total, as references', () => {
    const image = (ref: string, bytes: number) => ({
      ref,
      type: 'image/png',
      content: Buffer.alloc(bytes, 1),
    });
    const refs = ['a', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6'].map((name) => `images/${name}.png`);
    const html = refs.map((ref) => `<img src="${ref}">`).join('');
    const shown = withImagesInline(html, [
      image('images/a.png', PREVIEW_IMAGE_MAX_BYTES + 1),
      ...refs.slice(1).map((ref) => image(ref, PREVIEW_IMAGES_MAX_BYTES / 5)),
    ]);
    expect(PREVIEW_IMAGES_MAX_BYTES / 5).toBeLessThanOrEqual(PREVIEW_IMAGE_MAX_BYTES);
    expect(shown).toContain('src="images/a.png"');
    for (const ref of refs.slice(1, 6)) expect(shown).not.toContain(ref);
    expect(shown).toContain('src="images/b6.png"');
    // An image the HTML does not show costs nothing of the total.
    expect(
      withImagesInline('<img src="images/b.png">', [image('images/x.png', 10), image('images/b.png', 10)]),
    ).toMatch(/^<img src="data:image\/png;base64,/);
  });
});
