import { useEffect, useState } from 'preact/hooks';
import type { ImporterSettings } from '../shared/helpdesk/settings.js';
import { ruleActionKinds, settableFields } from '../shared/rules/ruleGrammar.js';
import type { RuleAction } from '../shared/rules/ruleSettings.js';
import { type ApiProblem, asProblem, call, helpdeskPath, settle } from './api.js';
import { ConditionEditor, newCondition } from './conditions.js';
import {
  ActionKindField,
  CheckField,
  type FieldProblem,
  FormContext,
  LinesField,
  ListEditor,
  NumberField,
  SelectField,
  setAt,
  TextField,
  useValue,
} from './form.js';
import { Problem, Section } from './ui.js';

// The choices of the settings schema (shared/helpdesk/settings.ts, shared/rules/ruleSettings.ts).
const SCANS = ['unread', 'sinceLastScan'] as const;
const POST_PROCESSING = ['markRead', 'move', 'delete'] as const;
const AUTO_REPLIES = ['skip', 'supplement'] as const;
const UNRELATED_SENDER = ['internalAndFlag', 'accept', 'acceptAndFlag', 'newTicket'] as const;
const KEEP = ['images', 'all'] as const;

/** An action with the fields it needs, empty, for when its kind is chosen. */
function newAction(action: RuleAction['action']): RuleAction {
  switch (action) {
    case 'setField':
      return { action, field: 'priorityId', value: '' };
    case 'link':
      return { action, entity: '', number: '' };
    case 'moveTo':
      return { action, folder: '' };
    default:
      return { action };
  }
}

function newRule(count: number): unknown {
  // Built from entries: a literal `then` key makes the object look like a promise to the linter.
  return Object.fromEntries([
    ['id', `rule-${count + 1}`],
    ['name', 'New rule'],
    ['enabled', true],
    ['when', newCondition()],
    ['then', [newAction('keepAside')]],
    ['stop', false],
  ]);
}

interface Loaded {
  settings: ImporterSettings;
  etag: string | null;
  /** Answered by a save (the form is drawn afresh from what the server stored). */
  saved: boolean;
}

export function SettingsPage({ helpdeskId }: { helpdeskId: string }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const load = () =>
    settle(
      call<ImporterSettings>('GET', helpdeskPath(helpdeskId, '/importer')),
      (response) => {
        setLoaded({ settings: response.body, etag: response.etag, saved: false });
      },
      setProblem,
    );
  useEffect(() => void load(), []);
  return (
    <>
      <h1>Settings of {helpdeskId}</h1>
      <Problem problem={problem} />
      {loaded && (
        <SettingsForm
          key={loaded.etag}
          helpdeskId={helpdeskId}
          loaded={loaded}
          onSaved={setLoaded}
          onReload={load}
        />
      )}
    </>
  );
}

function SettingsForm({
  helpdeskId,
  loaded,
  onSaved,
  onReload,
}: {
  helpdeskId: string;
  loaded: Loaded;
  onSaved: (loaded: Loaded) => void;
  onReload: () => void;
}) {
  const [document] = useState(() => structuredClone(loaded.settings) as unknown as Record<string, unknown>);
  const [, setChanges] = useState(0);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(loaded.saved);
  const form = {
    document,
    change: (path: string, value: unknown) => {
      setAt(document, path, value);
      setChanges((n) => n + 1);
      setSaved(false);
    },
    problem: problem?.field ? ({ field: problem.field, message: problem.message } as FieldProblem) : null,
  };
  const conflict = problem && (problem.status === 409 || problem.status === 412);

  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setProblem(null);
    try {
      const response = await call<ImporterSettings>('PUT', helpdeskPath(helpdeskId, '/importer'), {
        json: document,
        ...(loaded.etag ? { ifMatch: loaded.etag } : {}),
      });
      onSaved({ settings: response.body, etag: response.etag, saved: true });
    } catch (error) {
      setProblem(asProblem(error));
      setSaved(false);
    } finally {
      setSaving(false);
    }
  };

  return (
    <FormContext.Provider value={form}>
      {/* noValidate: the server's checks are the ones that count, and it names the field. */}
      <form class="settings" noValidate onSubmit={save}>
        <Section title="Import">
          <CheckField path="enabled" label="Importer enabled (off: no import at all)" />
          <TextField path="defaultContactId" label="Default contact (id), for mail from unknown senders" />
          <div class="row">
            <TextField path="defaultEmployee.id" label="Default employee id" />
            <TextField path="defaultEmployee.name" label="Default employee name" />
          </div>
          <TextField path="replySeparator" label="Reply separator (only the text above it is imported)" />
          <SelectField path="autoReplies" label="Auto-replies to a known ticket" options={AUTO_REPLIES} />
          <SelectField
            path="unrelatedSender"
            label="A ticket number from a sender unrelated to the ticket"
            options={UNRELATED_SENDER}
          />
          <LinesField
            path="subjectPatterns"
            label="Extra subject patterns (regular expressions, one a line)"
          />
        </Section>

        <Section title="Mailboxes and their rules">
          <ListEditor
            path="mailboxes"
            itemName="Mailbox"
            newItem={() => ({ id: '', userId: '', folder: 'inbox', scan: 'unread', rules: [] })}
            render={(mailbox) => <MailboxFields path={mailbox} />}
          />
        </Section>

        <Section title="Link criteria">
          <ListEditor
            path="linkCriteria"
            itemName="Criterion"
            newItem={() => ({ keyword: '', entity: '' })}
            render={(criterion) => (
              <div class="row">
                <TextField path={`${criterion}.keyword`} label="Keyword in the subject" />
                <TextField path={`${criterion}.entity`} label="Links to (entity)" />
                <TextField
                  path={`${criterion}.numberPattern`}
                  label="Number pattern (optional regular expression)"
                  optional
                />
              </div>
            )}
          />
        </Section>

        <Section title="Attachments and limits">
          <div class="row">
            <NumberField path="attachments.maxImageBytes" label="Largest image (bytes)" />
            <NumberField path="attachments.maxImagesBytesPerMessage" label="All images of a mail (bytes)" />
            <NumberField path="attachments.maxMessageBytes" label="Largest mail (bytes)" />
          </div>
          <SelectField path="attachments.keep" label="Keep with the ticket" options={KEEP} />
          <CheckField path="attachments.archiveRawMail" label="Archive the raw .eml" />
          <CheckField path="attachments.archiveAttachments" label="Archive every attachment" />
          <CheckField path="attachments.allowExternalImages" label="Allow external images in the HTML" />
          <div class="row">
            <NumberField path="keepAside.maxAttempts" label="Attempts before a mail is kept aside" />
            <TextField path="keepAside.category" label="Category of kept-aside mail" />
            <TextField path="keepAside.folder" label="Move kept-aside mail to folder (optional)" optional />
          </div>
        </Section>

        <Section title="Acknowledgements">
          {(['newTicket', 'supplement'] as const).map((kind) => (
            <fieldset key={kind} class="item">
              <legend>{kind === 'newTicket' ? 'For a new ticket' : 'For a supplement'}</legend>
              <CheckField path={`acknowledgement.${kind}.enabled`} label="Send" />
              <TextField path={`acknowledgement.${kind}.subject`} label="Subject" />
              <TextField path={`acknowledgement.${kind}.body`} label="Body" multiline />
            </fieldset>
          ))}
          <p class="muted">Placeholders: {'{ticketNumber} {title} {contactName} {helpdeskName}'}</p>
          <div class="row">
            <NumberField path="acknowledgement.maxPerSenderPerHour" label="Per sender per hour" />
            <NumberField path="acknowledgement.maxPerSenderPerDay" label="Per sender per day" />
            <NumberField path="acknowledgement.maxPerHelpdeskPerHour" label="Per helpdesk per hour" />
          </div>
          <CheckField
            path="acknowledgement.onlyAuthenticatedSenders"
            label="Only to senders the receiving server authenticated"
          />
          <LinesField path="acknowledgement.trustedAuthservIds" label="Trusted authserv-ids (one a line)" />
        </Section>

        <Section title="Who may manage this helpdesk">
          <LinesField path="administrators.groupIds" label="Entra group object ids (one a line)" />
          <LinesField path="administrators.appRoles" label="App roles (one a line)" />
        </Section>

        <div class="save-bar">
          {problem && (
            <p class="problem" role="alert">
              {conflict
                ? 'Not saved: these settings were changed by someone else since you opened them. Reload them, then make your change again.'
                : `Not saved: ${problem.message}`}
            </p>
          )}
          {saved && <p class="saved">Saved.</p>}
          <button type="submit" disabled={saving}>
            {saving ? 'Saving…' : 'Save settings'}
          </button>
          {conflict && (
            <button type="button" onClick={onReload}>
              Reload the settings
            </button>
          )}
        </div>
      </form>
    </FormContext.Provider>
  );
}

function MailboxFields({ path }: { path: string }) {
  return (
    <>
      <div class="row">
        <TextField path={`${path}.id`} label="Id" />
        <TextField path={`${path}.userId`} label="Mailbox (address or Graph user id)" />
        <TextField path={`${path}.folder`} label="Folder" />
        <SelectField path={`${path}.scan`} label="Read" options={SCANS} />
      </div>
      <PostProcessingFields path={`${path}.postProcessing`} />
      <h3>Rules</h3>
      <ListEditor
        path={`${path}.rules`}
        itemName="Rule"
        newItem={newRule}
        render={(rule) => <RuleFields path={rule} />}
      />
    </>
  );
}

function PostProcessingFields({ path }: { path: string }) {
  const action = useValue(`${path}.action`);
  return (
    <div class="row">
      <ActionKindField
        path={path}
        label="After import"
        options={POST_PROCESSING}
        make={(action) => (action === 'move' ? { action, folder: '' } : { action })}
      />
      {action === 'move' && <TextField path={`${path}.folder`} label="Move to folder" />}
    </div>
  );
}

function RuleFields({ path }: { path: string }) {
  return (
    <>
      <div class="row">
        <TextField path={`${path}.id`} label="Rule id" />
        <TextField path={`${path}.name`} label="Name" />
        <CheckField path={`${path}.enabled`} label="Enabled" />
        <CheckField path={`${path}.stop`} label="Stop after this rule" />
      </div>
      <h4>When</h4>
      <ConditionEditor path={`${path}.when`} />
      <h4>Then</h4>
      <ListEditor
        path={`${path}.then`}
        itemName="Action"
        newItem={() => newAction('noAcknowledgement')}
        render={(action) => <ActionFields path={action} />}
      />
    </>
  );
}

function ActionFields({ path }: { path: string }) {
  const action = useValue(`${path}.action`);
  return (
    <div class="row">
      <ActionKindField
        path={path}
        label="Action"
        options={ruleActionKinds}
        make={(kind) => newAction(kind as RuleAction['action'])}
      />
      {action === 'setField' && (
        <>
          <SelectField path={`${path}.field`} label="Field" options={settableFields} />
          <TextField path={`${path}.value`} label="Value (id)" />
        </>
      )}
      {action === 'link' && (
        <>
          <TextField path={`${path}.entity`} label="Entity" />
          <TextField path={`${path}.number`} label="Number" />
        </>
      )}
      {action === 'moveTo' && <TextField path={`${path}.folder`} label="Folder" />}
    </div>
  );
}
