import './console.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { HelpdesksPage } from './helpdesks.js';
import { MessageDetailPage, MessagesPage } from './messages.js';
import { HELPDESK_PAGES, href, type Place, placeOf } from './places.js';
import { PreviewPage } from './preview.js';
import { SettingsPage } from './settings.js';

const TITLES: Record<Place['page'], string> = {
  helpdesks: 'Helpdesks',
  settings: 'Settings',
  messages: 'Mail that needs a person',
  preview: 'Preview',
};

function App() {
  const [place, setPlace] = useState(() => placeOf(location.hash));
  useEffect(() => {
    const onHash = () => setPlace(placeOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    document.title = `${TITLES[place.page]}${place.helpdeskId ? ` · ${place.helpdeskId}` : ''} · Helpdesk mail importer`;
  }, [place]);
  const { helpdeskId } = place;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Helpdesk mail importer
        </a>
        <nav aria-label="Pages">
          <a href="#/" aria-current={place.page === 'helpdesks' ? 'page' : undefined}>
            Helpdesks
          </a>
          {helpdeskId &&
            HELPDESK_PAGES.map((page) => (
              <a
                key={page}
                href={href(helpdeskId, page)}
                aria-current={place.page === page ? 'page' : undefined}
              >
                {TITLES[page]}
              </a>
            ))}
        </nav>
        {helpdeskId && <span class="current">helpdesk {helpdeskId}</span>}
      </header>
      <main>
        {place.page === 'helpdesks' || !helpdeskId ? (
          <HelpdesksPage />
        ) : place.page === 'settings' ? (
          <SettingsPage key={helpdeskId} helpdeskId={helpdeskId} />
        ) : place.page === 'messages' ? (
          place.key ? (
            <MessageDetailPage key={place.key} helpdeskId={helpdeskId} messageKey={place.key} />
          ) : (
            <MessagesPage key={helpdeskId} helpdeskId={helpdeskId} />
          )
        ) : (
          <PreviewPage key={helpdeskId} helpdeskId={helpdeskId} />
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
