/**
 * The console page: status, live events, recordings and a player, over the public REST API. When a
 * call answers 401 the page asks for an API key; the key is kept in this tab's sessionStorage and
 * sent as `Authorization: Bearer` by every call (never in a URL: media and events go through
 * signed links and tickets), and "Forget key" drops it.
 */
import { forgetKey, maxKeyLength, storedKey, storeKey, whenUnauthorized } from './api.js';
import { EventFeed } from './events.js';
import { byId } from './markup.js';
import { Player } from './player.js';
import { RecordingList } from './recordings.js';
import { refreshStatus } from './status.js';

/** The status is asked again this often while the page is shown. */
const statusEveryMs = 15_000;

const player = new Player();
const play = (recordId: string): void => void player.play(recordId);
const recordings = new RecordingList(play);
let eventPort: string | undefined;
const feed = new EventFeed({
  onPlay: play,
  onRecording: () => recordings.recordingSaved(),
  // The status panel shows the event port too: read it again when the stream says it changed.
  onEventPort: (state) => {
    if (eventPort !== undefined && state !== eventPort) void refreshStatus();
    eventPort = state;
  },
});

const accessPanel = byId('access');
const keyForm = byId<HTMLFormElement>('key-form');
const keyInput = byId<HTMLInputElement>('key-input');
const keyReason = byId('access-reason');
const keyState = byId('key-state');
keyInput.maxLength = maxKeyLength;

function showKeyState(): void {
  keyState.hidden = storedKey() === undefined;
}

function askForKey(reason: string): void {
  keyReason.textContent = reason;
  if (accessPanel.hidden) {
    accessPanel.hidden = false;
    keyInput.focus();
  }
}

whenUnauthorized(() => askForKey(storedKey() ? 'The gateway refused this API key. Enter another.' : 'This gateway needs an API key.'));

/** Everything the page shows, asked again (after a key is given or forgotten). */
function loadAll(): void {
  void refreshStatus();
  void recordings.refresh();
  void feed.start();
}

keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  storeKey(key);
  keyInput.value = '';
  accessPanel.hidden = true;
  showKeyState();
  loadAll();
});

byId('forget-key').addEventListener('click', () => {
  forgetKey();
  showKeyState();
  feed.stop();
  loadAll();
});

byId('status-refresh').addEventListener('click', () => void refreshStatus());
window.setInterval(() => {
  if (document.visibilityState === 'visible') void refreshStatus();
}, statusEveryMs);

showKeyState();
loadAll();
